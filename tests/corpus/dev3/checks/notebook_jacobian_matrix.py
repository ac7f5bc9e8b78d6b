"""dev3/notebook_jacobian_matrix.md: 3-class softmax Jacobian, delta forms, vector-Jacobian product, one-hot CE."""

import numpy as np

from _harness import Steps, grad, one_hot, rng, softmax

S = Steps("dev3/notebook_jacobian_matrix.md")
n = 3
d = np.eye(n)

for _ in range(6):
    z = rng.normal(size=n) * 1.5
    s = softmax(z)
    ez = np.exp(z)
    tot = ez.sum()
    J = grad(softmax, z)                      # J[i, j] = d sigma_i / d z_j

    r = (ez[0] * tot - ez[0] * ez[0]) / tot ** 2
    S.step(16, J[0, 0], r, occ=0)
    S.step(16, r, s[0] - s[0] ** 2, occ=1)
    r = (0 - ez[0] * ez[1]) / tot ** 2
    S.step(18, J[0, 1], r, occ=0)
    S.step(18, r, -s[0] * s[1], occ=1)

    full = np.array([[s[i] * (1 - s[i]) if i == j else -s[i] * s[j] for j in range(n)] for i in range(n)])
    S.step(25, J, full)
    split = np.diag(s) - s.reshape(n, 1) @ s.reshape(1, n)
    S.step(36, J, split)
    S.step(39, split, np.diag(s) - np.outer(s, s))

    for i in range(n):
        for j in range(n):
            right = d[i, j] * s[i] * (1 - s[j]) - (1 - d[i, j]) * s[i] * s[j]
            S.step(47, J[i, j], right)
            S.step(51, J[i, j], d[i, j] * s[i] * (1 - s[j]) - d[i, j] * s[i] * s[j])
            r2 = d[i, j] * s[i] - s[i] * s[j]
            S.step(56, right, r2, occ=0)
            S.step(56, r2, s[i] * (d[i, j] - s[j]), occ=1)

    # the backward pass holds for any loss L of sigma: a generic smooth one, and the one-hot cross-entropy
    c = rng.normal(size=n)
    y = one_hot(rng.integers(n), n)
    losses = [lambda sig: c @ sig + sig[0] * sig[1] * sig[2] + np.sin(sig).sum(),
              lambda sig: -np.sum(y * np.log(sig))]
    for L in losses:
        g = grad(L, s)
        dz = grad(lambda v: L(softmax(v)), z)
        for j in range(n):
            r1 = sum(g[i] * J[i, j] for i in range(n))
            r2 = sum(g[i] * s[i] * (d[i, j] - s[j]) for i in range(n))
            r3 = s[j] * (g[j] - sum(g[i] * s[i] for i in range(n)))
            S.step(63, dz[j], r1, occ=0)
            S.step(63, r1, r2, occ=1)
            S.step(63, r2, r3, occ=2)
        S.step(67, dz, s * (g - (g @ s) * np.ones(n)))

    dz = grad(lambda v: -np.sum(y * np.log(softmax(v))), z)
    for j in range(n):
        r1 = s[j] * (-y[j] / s[j] + 1)
        S.step(72, dz[j], r1, occ=0)
        S.step(72, r1, s[j] - y[j], occ=1)

S.finish()
