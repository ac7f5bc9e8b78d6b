"""dev3/exam_solution_infonce.tex: InfoNCE with similarities s_j = q.k_j / tau, positive index c."""

import numpy as np

from _harness import Steps, grad, rng, softmax

S = Steps("dev3/exam_solution_infonce.tex")
N, d = 5, 3
I = np.eye(N)

for _ in range(6):
    q = rng.normal(size=d)
    Kmat = rng.normal(size=(N, d))
    tau = rng.uniform(0.2, 2.0)
    c = rng.integers(N)

    def L_of_s(s):
        return -np.log(np.exp(s[c]) / np.exp(s).sum())

    def L_full(qq, KK, t):
        return L_of_s(KK @ qq / t)

    s = Kmat @ q / tau
    P = softmax(s)
    dLs = grad(L_of_s, s)
    inner = grad(lambda ss: -ss[c] + np.log(np.exp(ss).sum()), s)
    for j in range(N):
        r2 = -I[j, c] + np.exp(s[j]) / np.exp(s).sum()
        S.step(23, dLs[j], inner[j])
        S.step(24, inner[j], r2, occ=0)
        S.step(24, r2, P[j] - I[j, c], occ=1)

    dLq = grad(lambda qq: L_full(qq, Kmat, tau), q)
    r1 = sum(dLs[j] * Kmat[j] / tau for j in range(N))
    r2 = sum((P[j] - I[j, c]) * Kmat[j] for j in range(N)) / tau
    r3 = (sum(P[j] * Kmat[j] for j in range(N)) - Kmat[c]) / tau
    S.step(31, dLq, r1)
    S.step(32, r1, r2)
    S.step(33, r2, r3)

    dLK = grad(lambda KK: L_full(q, KK.reshape(N, d), tau), Kmat.ravel()).reshape(N, d)
    for j in range(N):
        S.step(40, dLK[j], (P[j] - I[j, c]) * q / tau)
    S.step(44, dLK[c], (P[c] - 1) * q / tau)

    dLt = grad(lambda t: L_full(q, Kmat, t), np.array(tau))
    r1 = sum((P[j] - I[j, c]) * (-s[j] / tau) for j in range(N))
    r2 = (s[c] - P @ s) / tau
    S.step(50, dLt, r1)
    S.step(51, r1, r2)

S.finish()
