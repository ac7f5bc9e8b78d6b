"""dev3/readme_lm_padding_mask.md: tied output embedding o = E h per position, masked mean over M real tokens."""

import numpy as np

from _harness import Steps, grad, rng, softmax

S = Steps("dev3/readme_lm_padding_mask.md")
V, T, d = 5, 6, 3

for _ in range(5):
    E = rng.normal(size=(V, d))
    Hs = rng.normal(size=(T, d))
    w = rng.integers(V, size=T)
    mask = np.array([1, 1, 1, 1, 0, 0], dtype=float)
    if rng.random() < 0.5:
        mask = np.array([1, 1, 1, 1, 1, 0], dtype=float)
    M = mask.sum()

    def loss_o(O):
        P = softmax(O, axis=1)
        return -np.sum(mask * np.log(P[np.arange(T), w])) / M

    O = Hs @ E.T
    P = softmax(O, axis=1)
    dO = grad(loss_o, O)
    dlogP = grad(lambda Of: np.log(softmax(Of, axis=1)[np.arange(T), w]), O)   # [t, t', v]
    dH = grad(lambda Hf: loss_o(Hf @ E.T), Hs)
    dE = grad(lambda Ef: loss_o(Hs @ Ef.T), E)
    delta = np.eye(V)

    for t in range(T):
        for v in range(V):
            r1 = -mask[t] / M * dlogP[t, t, v]
            r2 = -mask[t] / M * (delta[v, w[t]] - P[t, v])
            r3 = mask[t] / M * (P[t, v] - delta[v, w[t]])
            S.step(30, dO[t, v], r1, occ=0)
            S.step(30, r1, r2, occ=1)
            S.step(30, r2, r3, occ=2)
        S.step(34, dO[t], mask[t] / M * (P[t] - delta[w[t]]))
        for r in range(d):
            r1 = sum(dO[t, v] * E[v, r] for v in range(V))
            r2 = mask[t] / M * sum((P[t, v] - delta[v, w[t]]) * E[v, r] for v in range(V))
            r3 = mask[t] / M * (sum(P[t, v] * E[v, r] for v in range(V)) - E[w[t], r])
            S.step(41, dH[t, r], r1, occ=0)
            S.step(41, r1, r2, occ=1)
            S.step(41, r2, r3, occ=2)
        r1 = mask[t] / M * (P[t].sum() - 1)
        S.step(56, dO[t].sum(), r1, occ=0)
        S.step(56, r1, 0.0, occ=1)

    for v in range(V):
        for r in range(d):
            r1 = sum(dO[t, v] * Hs[t, r] for t in range(T))
            r2 = sum(mask[t] * (P[t, v] - delta[v, w[t]]) * Hs[t, r] for t in range(T)) / M
            S.step(50, dE[v, r], r1, occ=0)
            S.step(50, r1, r2, occ=1)

S.finish()
