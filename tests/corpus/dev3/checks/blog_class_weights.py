"""dev3/blog_class_weights.md: class-weighted cross-entropy, class index c; batch normalised by the total weight."""

import numpy as np

from _harness import Steps, grad, rng, softmax

S = Steps("dev3/blog_class_weights.md")
K, N = 4, 5

for _ in range(6):
    alpha = rng.uniform(0.2, 5.0, size=K)
    s = rng.normal(size=K)
    p = softmax(s)
    I = np.eye(K)
    dlogp = grad(lambda v: np.log(softmax(v)), s)            # [a, k] = d log p_a / d s_k
    for c in range(K):
        dl = grad(lambda v: -alpha[c] * np.log(softmax(v)[c]), s)
        for k in range(K):
            r1 = -alpha[c] * dlogp[c, k]
            r2 = -alpha[c] * (I[k, c] - p[k])
            r3 = alpha[c] * (p[k] - I[k, c])
            S.step(16, dl[k], r1, occ=0)
            S.step(16, r1, r2, occ=1)
            S.step(16, r2, r3, occ=2)
            S.step(22, dl[k], alpha[k] * (p[k] - I[k, c]))
            S.step(28, dl[k], alpha[c] * (p[c] - 1) if k == c else alpha[c] * p[k])

    def batch(alpha, cls):
        Sc = rng.normal(size=(N, K))
        A = alpha[cls].sum()

        def L_of(Sf):
            P = softmax(Sf, axis=1)
            return np.sum(alpha[cls] * -np.log(P[np.arange(N), cls])) / A

        return Sc, A, grad(L_of, Sc), softmax(Sc, axis=1)

    cls = rng.integers(K, size=N)
    Sc, A, dL, P = batch(alpha, cls)
    for n in range(N):
        for k in range(K):
            ind = float(k == cls[n])
            S.step(44, dL[n, k], alpha[cls[n]] / A * (P[n, k] - ind))
            S.step(48, dL[n, k], alpha[cls[n]] / N * (P[n, k] - ind))
        r1 = alpha[cls[n]] / A * (P[n].sum() - 1)
        S.step(57, dL[n].sum(), r1, occ=0)
        S.step(57, r1, 0.0, occ=1)

    # equal weights, as the text states for the last display
    eq = np.full(K, rng.uniform(0.2, 5.0))
    Sc, A, dL, P = batch(eq, cls)
    for n in range(N):
        for k in range(K):
            S.step(61, dL[n, k], (P[n, k] - float(k == cls[n])) / N)

S.finish()
