"""dev3/forum_attention_weights.md: attention weights = softmax of scores, scalar values, c = sum alpha_j v_j."""

import numpy as np

from _harness import Steps, grad, rng, softmax

S = Steps("dev3/forum_attention_weights.md")
n, d = 5, 3
delta = np.eye(n)


def Lc(c):                       # some loss downstream of c
    return np.sin(c) + 0.5 * c ** 2


for _ in range(6):
    s = rng.normal(size=n) * 1.5
    v = rng.normal(size=n)
    al = softmax(s)
    c = al @ v
    dc = grad(lambda ss: softmax(ss) @ v, s)
    dal = grad(softmax, s)                                  # [i, j] = d alpha_i / d s_j
    for j in range(n):
        S.step(14, dc[j], v[j] * dal[j, j])
        S.step(16, v[j] * dal[j, j], v[j] * al[j] * (1 - al[j]))
        r1 = sum(v[i] * dal[i, j] for i in range(n))
        r2 = sum(v[i] * al[i] * (delta[i, j] - al[j]) for i in range(n))
        r3 = al[j] * v[j] - al[j] * sum(al[i] * v[i] for i in range(n))
        r4 = al[j] * (v[j] - c)
        S.step(29, dc[j], r1, occ=0)
        S.step(29, r1, r2, occ=1)
        S.step(29, r2, r3, occ=2)
        S.step(29, r3, r4, occ=3)
        S.step(33, r4, v[j] * al[j] * (1 - al[j]) - al[j] * sum(al[i] * v[i] for i in range(n) if i != j))
        g = grad(Lc, np.array(c))
        dLs = grad(lambda ss: Lc(softmax(ss) @ v), s)
        S.step(41, dLs[j], g * al[j] * (v[j] - c))
    r1 = al @ v - c * al.sum()
    S.step(50, dc.sum(), r1, occ=0)
    S.step(50, r1, 0.0, occ=1)

    # scaled dot-product scores s_j = q . k_j / sqrt(d)
    q = rng.normal(size=d)
    Kmat = rng.normal(size=(n, d))
    sq = Kmat @ q / np.sqrt(d)
    alq = softmax(sq)
    cq = alq @ v
    gq = grad(Lc, np.array(cq))
    dLs = grad(lambda ss: Lc(softmax(ss) @ v), sq)
    dLq = grad(lambda qq: Lc(softmax(Kmat @ qq / np.sqrt(d)) @ v), q)
    r1 = sum(dLs[j] * Kmat[j] for j in range(n)) / np.sqrt(d)
    r2 = gq / np.sqrt(d) * sum(alq[j] * (v[j] - cq) * Kmat[j] for j in range(n))
    S.step(45, dLq, r1, occ=0)
    S.step(45, r1, r2, occ=1)

S.finish()
