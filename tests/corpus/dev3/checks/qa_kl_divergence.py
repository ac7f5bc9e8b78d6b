"""dev3/qa_kl_divergence.md: soft targets q_n (distributions), KL and CE means over N; hard labels in the comment."""

import numpy as np

from _harness import Steps, grad, rng, softmax

S = Steps("dev3/qa_kl_divergence.md")
N, K = 3, 4


def xlogy_over(q, p):
    """q log(q / p) with 0 log 0 = 0."""
    out = np.zeros_like(q)
    mask = q > 0
    out[mask] = q[mask] * np.log(q[mask] / p[mask])
    return out


for trial in range(6):
    U = rng.normal(size=(N, K))
    Q = softmax(rng.normal(size=(N, K)) * 2, axis=1)       # each row a distribution

    def P_of(Uf):
        return softmax(Uf, axis=1)

    def H_of(Uf):
        return -np.sum(Q * np.log(P_of(Uf))) / N

    def D_of(Uf):
        return np.sum(xlogy_over(Q, P_of(Uf))) / N

    def Dmean_of(Uf):
        return np.sum(xlogy_over(Q, P_of(Uf))) / (N * K)

    P = P_of(U)
    D, H = D_of(U), H_of(U)
    ent = -np.sum(Q * np.log(Q), axis=1)
    r1 = np.sum(Q * np.log(Q)) / N - np.sum(Q * np.log(P)) / N
    S.step(20, D, r1, occ=0)
    S.step(20, r1, H - ent.sum() / N, occ=1)

    dlogP = grad(lambda Uf: np.log(P_of(Uf)), U)           # [n, k, m, j]
    dD, dH, dDm = grad(D_of, U), grad(H_of, U), grad(Dmean_of, U)
    ib = np.eye(K)
    for n in range(N):
        for j in range(K):
            for k in range(K):
                S.step(26, dlogP[n, k, n, j], ib[k, j] - P[n, j])
            a = -sum(Q[n, k] * (ib[k, j] - P[n, j]) for k in range(K)) / N
            b = -(Q[n, j] - P[n, j] * Q[n].sum()) / N
            c = (P[n, j] - Q[n, j]) / N
            S.step(30, dD[n, j], a, occ=0)
            S.step(30, a, b, occ=1)
            S.step(30, b, c, occ=2)
            S.step(34, dH[n, j], dD[n, j])
            S.step(43, dDm[n, j], (P[n, j] - Q[n, j]) / (N * K))
    S.step(39, Dmean_of(U), D / K)

    # the comment: hard labels q_nk = [k = c_n]
    cls = rng.integers(K, size=N)
    Qh = np.eye(K)[cls]
    Dh = np.sum(xlogy_over(Qh, P)) / N
    S.step(51, Dh, -np.mean(np.log(P[np.arange(N), cls])))

S.finish()
