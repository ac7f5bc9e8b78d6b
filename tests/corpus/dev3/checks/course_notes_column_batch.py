"""dev3/course_notes_column_batch.md: examples as columns, Z = WX + b, mean over m columns, one-hot columns of Y."""

import numpy as np

from _harness import Steps, grad, rng, softmax

S = Steps("dev3/course_notes_column_batch.md")
K, nx, m = 3, 4, 5

for _ in range(5):
    W = rng.normal(size=(K, nx))
    b = rng.normal(size=(K, 1))
    X = rng.normal(size=(nx, m))
    Y = np.zeros((K, m))
    Y[rng.integers(K, size=m), np.arange(m)] = 1.0

    def A_of(Z):
        return softmax(Z, axis=0)                       # column-wise

    def J_of_Z(Z):
        return -np.sum(Y * np.log(A_of(Z))) / m

    def J_of(Wf, bf, Xf):
        return J_of_Z(Wf @ Xf + bf)

    Z = W @ X + b
    A = A_of(Z)
    dZ = grad(J_of_Z, Z)
    dW = grad(lambda w: J_of(w, b, X), W)
    db = grad(lambda v: J_of(W, v, X), b)
    dX = grad(lambda x: J_of(W, b, x), X)
    d = np.eye(K)

    for k in range(K):
        for i in range(m):
            r1 = -sum(Y[j, i] * (d[j, k] - A[k, i]) for j in range(K)) / m
            r2 = (A[k, i] * Y[:, i].sum() - Y[k, i]) / m
            r3 = (A[k, i] - Y[k, i]) / m
            S.step(21, dZ[k, i], r1, occ=0)
            S.step(21, r1, r2, occ=1)
            S.step(21, r2, r3, occ=2)
    S.step(25, dZ, (A - Y) / m)

    for k in range(K):
        for dd in range(nx):
            r1 = sum(dZ[k, i] * X[dd, i] for i in range(m))
            r2 = sum((A[k, i] - Y[k, i]) * X[dd, i] for i in range(m)) / m
            S.step(32, dW[k, dd], r1, occ=0)
            S.step(32, r1, r2, occ=1)
    S.step(36, dW, (A - Y) @ X.T / m)

    for k in range(K):
        r1 = sum(dZ[k, i] for i in range(m))
        r2 = sum(A[k, i] - Y[k, i] for i in range(m)) / m
        S.step(40, db[k, 0], r1, occ=0)
        S.step(40, r1, r2, occ=1)
    S.step(42, db, (A - Y) @ np.ones((m, 1)) / m)

    for dd in range(nx):
        for i in range(m):
            r1 = sum(W[k, dd] * dZ[k, i] for k in range(K))
            r2 = (W.T @ (A - Y))[dd, i] / m
            S.step(49, dX[dd, i], r1, occ=0)
            S.step(49, r1, r2, occ=1)

    for i in range(m):
        lhs = dZ[:, i].sum()
        r1 = (A[:, i].sum() - Y[:, i].sum()) / m
        S.step(61, lhs, r1, occ=0)
        S.step(61, r1, 0.0, occ=1)

S.finish()
