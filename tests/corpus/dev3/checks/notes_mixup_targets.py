"""dev3/notes_mixup_targets.md: blended target lambda e_a + (1 - lambda) e_b with a != b; lambda = 1 at the end."""

import numpy as np

from _harness import Steps, grad, rng, softmax

S = Steps("dev3/notes_mixup_targets.md")
K = 5
ind = np.eye(K)

for _ in range(8):
    lam = rng.uniform(0, 1)
    a, b = rng.choice(K, size=2, replace=False)
    ty = lam * ind[a] + (1 - lam) * ind[b]
    r = rng.normal(size=K) * 1.5
    yh = softmax(r)

    def L_of(rr, lam=lam):
        t = lam * ind[a] + (1 - lam) * ind[b]
        return -np.sum(t * np.log(softmax(rr)))

    S.step(19, -np.sum(ty * np.log(yh)), -lam * np.log(yh[a]) - (1 - lam) * np.log(yh[b]))
    dL = grad(L_of, r)
    dlog = grad(lambda v: np.log(softmax(v)), r)        # [m, k] = d log yhat_m / d r_k
    for k in range(K):
        r1 = -lam * dlog[a, k] - (1 - lam) * dlog[b, k]
        r2 = -lam * (ind[k, a] - yh[k]) - (1 - lam) * (ind[k, b] - yh[k])
        r3 = yh[k] - lam * ind[k, a] - (1 - lam) * ind[k, b]
        S.step(23, dL[k], r1, occ=0)
        S.step(23, r1, r2, occ=1)
        S.step(23, r2, r3, occ=2)
        S.step(25, r3, yh[k] - ty[k])
        case = yh[a] - lam if k == a else (yh[b] - (1 - lam) if k == b else yh[k])
        S.step(34, dL[k], case)
    S.step(29, dL, yh - lam * ind[a] - (1 - lam) * ind[b])
    dL1 = grad(lambda rr: L_of(rr, lam=1.0), r)
    S.step(45, dL1, yh - ind[a])

S.finish()
