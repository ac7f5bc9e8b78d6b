"""dev3/problem_set_confidence_penalty.md: J = -log q_c - beta H(q), class index c; (d) with all logits equal."""

import numpy as np

from _harness import Steps, grad, rng, softmax

S = Steps("dev3/problem_set_confidence_penalty.md")
C = 4
d = np.eye(C)


def H_of(q):
    return -np.sum(q * np.log(q))


for _ in range(6):
    eta = rng.normal(size=C) * 1.5
    beta = rng.uniform(0.1, 2.0)
    q = softmax(eta)
    H = H_of(q)
    dlogq = grad(lambda v: np.log(softmax(v)), eta)        # [k, j]
    dq = grad(softmax, eta)
    dH = grad(lambda v: H_of(softmax(v)), eta)
    for k in range(C):
        S.step(11, np.log(q[k]), eta[k] - np.log(np.exp(eta).sum()))
        for j in range(C):
            r1 = d[k, j] - np.exp(eta[j]) / np.exp(eta).sum()
            S.step(15, dlogq[k, j], r1, occ=0)
            S.step(15, r1, d[k, j] - q[j], occ=1)
    for j in range(C):
        r1 = -sum((np.log(q[k]) + 1) * dq[k, j] for k in range(C))
        r2 = -sum((np.log(q[k]) + 1) * q[k] * (d[k, j] - q[j]) for k in range(C))
        r3 = -q[j] * (np.log(q[j]) + 1) + q[j] * sum(q[k] * (np.log(q[k]) + 1) for k in range(C))
        r4 = -q[j] * np.log(q[j]) + q[j] * sum(q[k] * np.log(q[k]) for k in range(C))
        r5 = -q[j] * (np.log(q[j]) + H)
        S.step(21, dH[j], r1)
        S.step(23, r1, r2)
        S.step(25, r2, r3)
        S.step(27, r3, r4)
        S.step(29, r4, r5)
    for c in range(C):
        dJ = grad(lambda v: -np.log(softmax(v)[c]) - beta * H_of(softmax(v)), eta)
        for j in range(C):
            r1 = q[j] - d[j, c] - beta * dH[j]
            r2 = q[j] - d[j, c] + beta * q[j] * (np.log(q[j]) + H)
            S.step(35, dJ[j], r1, occ=0)
            S.step(35, r1, r2, occ=1)
        r1 = 1 - 1 + beta * (np.sum(q * np.log(q)) + H)
        S.step(39, dJ.sum(), r1, occ=0)
        S.step(39, r1, 0.0, occ=1)

    # (d): all logits equal
    flat = np.full(C, rng.normal())
    dHu = grad(lambda v: H_of(softmax(v)), flat)
    for j in range(C):
        r1 = -1 / C * (np.log(1 / C) + np.log(C))
        S.step(44, dHu[j], r1, occ=0)
        S.step(44, r1, 0.0, occ=1)

S.finish()
