"""dev3/blog_quotient_g_over_h.md: S(z_i) = softmax entry; quotient rule with named g and h; cases i = k, i != k."""

import numpy as np

from _harness import Steps, grad, rng, softmax

S = Steps("dev3/blog_quotient_g_over_h.md")
N = 4

# line 17: the quotient rule for f = g / h, for some arbitrary smooth g and h (h nonzero)
pairs = [(lambda x: np.sin(x) + x ** 2, lambda x: 2.0 + np.cos(x)),
         (lambda x: np.exp(0.3 * x), lambda x: 1.0 + x ** 2)]
for gf, hf in pairs:
    for x in rng.normal(size=4):
        fp = grad(lambda v: gf(v) / hf(v), np.array(x))
        gp = grad(gf, np.array(x))
        hp = grad(hf, np.array(x))
        S.step(17, fp, (gp * hf(x) - gf(x) * hp) / hf(x) ** 2)

for _ in range(6):
    z = rng.normal(size=N) * 1.5
    Sz = softmax(z)
    ez, tot = np.exp(z), np.exp(z).sum()
    J = grad(softmax, z)                                    # J[i, k] = d S(z_i) / d z_k
    dh = grad(lambda v: np.exp(v).sum(), z)
    for k in range(N):
        r1 = grad(lambda v: np.exp(v).sum(), z)[k]         # d/dz_k of the written-out sum
        S.step(22, dh[k], r1, occ=0)
        S.step(22, r1, ez[k], occ=1)
    for i in range(N):
        for k in range(N):
            if i == k:
                a = (ez[i] * tot - ez[i] * ez[k]) / tot ** 2
                b = ez[i] / tot * (tot - ez[k]) / tot
                c = Sz[i] * (1 - Sz[k])
                S.step(29, J[i, k], a)
                S.step(30, a, b)
                S.step(31, b, c)
                S.step(55, J[i, k], Sz[i] * (1 - Sz[i]))
            else:
                wrong = (ez[k] * tot - ez[i] * ez[k]) / tot ** 2
                S.step(39, J[i, k], wrong)
                S.step(40, wrong, Sz[k] - Sz[i] * Sz[k])
                a = (0 * tot - ez[i] * ez[k]) / tot ** 2
                b = -ez[i] / tot * ez[k] / tot
                S.step(47, J[i, k], a)
                S.step(48, a, b)
                S.step(49, b, -Sz[i] * Sz[k])
                S.step(55, J[i, k], -Sz[i] * Sz[k])
        r1 = Sz[i] * (1 - Sz[i]) - sum(Sz[i] * Sz[k] for k in range(N) if k != i)
        r2 = Sz[i] - Sz[i] * Sz.sum()
        S.step(64, J[i].sum(), r1, occ=0)
        S.step(64, r1, r2, occ=1)
        S.step(64, r2, 0.0, occ=2)

S.finish()
