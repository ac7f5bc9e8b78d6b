"""dev3/bishop_exercise_basis.tex: softmax regression on basis vectors, sum over N patterns, 1-of-K targets."""

import numpy as np

from _harness import Steps, grad, one_hot, rng, softmax

S = Steps("dev3/bishop_exercise_basis.tex")
N, K, M = 4, 3, 5

for _ in range(5):
    W = rng.normal(size=(K, M))                      # row k is w_k
    Phi = rng.normal(size=(N, M))                    # row n is phi_n
    T = np.array([one_hot(rng.integers(K), K) for _ in range(N)])
    I = np.eye(K)

    def Y_of(A):
        return softmax(A, axis=1)

    def E_of_A(A):
        return -np.sum(T * np.log(Y_of(A)))

    def E_of_W(Wf):
        return E_of_A(Phi @ Wf.reshape(K, M).T)

    A = Phi @ W.T
    Y = Y_of(A)
    sums = np.exp(A).sum(axis=1)
    # dY[n, k, m, j] = d y_nk / d a_mj ; keep m = n
    dY_full = grad(Y_of, A)
    dY = np.array([[[dY_full[n, k, n, j] for j in range(K)] for k in range(K)] for n in range(N)])

    for n in range(N):
        for k in range(K):
            for j in range(K):
                lhs = dY[n, k, j]
                r26 = (I[k, j] * np.exp(A[n, k]) * sums[n] - np.exp(A[n, k]) * np.exp(A[n, j])) / sums[n] ** 2
                r27 = Y[n, k] * I[k, j] - Y[n, k] * Y[n, j]
                r28 = Y[n, k] * (I[k, j] - Y[n, j])
                S.step(26, lhs, r26)
                S.step(27, r26, r27)
                S.step(28, r27, r28)
                if k != j:                                           # the text: "When k != j"
                    S.step(32, lhs, -Y[n, k] * Y[n, j])

    dE_dA = grad(E_of_A, A)
    for n in range(N):
        for j in range(K):
            r38 = -sum(T[n, k] / Y[n, k] * dY[n, k, j] for k in range(K))
            r39 = -sum(T[n, k] * (I[k, j] - Y[n, j]) for k in range(K))
            r40 = Y[n, j] * T[n].sum() - T[n, j]
            r41 = Y[n, j] - T[n, j]
            S.step(38, dE_dA[n, j], r38)
            S.step(39, r38, r39)
            S.step(40, r39, r40)
            S.step(41, r40, r41)

    gW = grad(E_of_W, W.ravel()).reshape(K, M)        # row j is grad wrt w_j
    for j in range(K):
        # grad_{w_j} a_nk = delta_kj phi_n
        r48 = sum(dE_dA[n, k] * (I[k, j] * Phi[n]) for n in range(N) for k in range(K))
        r49 = sum(dE_dA[n, j] * Phi[n] for n in range(N))
        r50 = sum((Y[n, j] - T[n, j]) * Phi[n] for n in range(N))
        S.step(48, gW[j], r48)
        S.step(49, r48, r49)
        S.step(50, r49, r50)

    # Hessian blocks: d^2 E / d w_k d w_j, by central second differences of E
    h = 1e-4
    x0 = W.ravel()
    H = np.zeros((K * M, K * M))
    for a in range(K * M):
        for b in range(K * M):
            ea, eb = np.zeros(K * M), np.zeros(K * M)
            ea[a], eb[b] = h, h
            H[a, b] = (E_of_W(x0 + ea + eb) - E_of_W(x0 + ea - eb) - E_of_W(x0 - ea + eb) + E_of_W(x0 - ea - eb)) / (4 * h * h)
    for k in range(K):
        for j in range(K):
            block = H[k * M:(k + 1) * M, j * M:(j + 1) * M]
            right = sum(Y[n, k] * (I[k, j] - Y[n, j]) * np.outer(Phi[n], Phi[n]) for n in range(N))
            S.step(58, block, right, rtol=1e-4, atol=1e-5)
            S.step(62, block, -right, rtol=1e-4, atol=1e-5)

S.finish()
