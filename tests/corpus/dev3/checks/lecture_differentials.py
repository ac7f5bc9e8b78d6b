"""dev3/lecture_differentials.tex: differentials, evaluated as directional derivatives along random dz, dW, db."""

import numpy as np

from _harness import Steps, grad, one_hot, rng, softmax

S = Steps("dev3/lecture_differentials.tex")
K, D = 4, 3
one, I = np.ones(K), np.eye(K)

for _ in range(6):
    W = rng.normal(size=(K, D))
    b = rng.normal(size=K)
    x = rng.normal(size=D)
    y = one_hot(rng.integers(K), K)
    z = W @ x + b
    p = softmax(z)

    def loss_z(zz):
        return -y @ np.log(softmax(zz))

    S.step(23, np.log(p), z - one * np.log(one @ np.exp(z)))

    dz = rng.normal(size=K)
    dlogp = grad(lambda zz: np.log(softmax(zz)), z) @ dz          # differential of log p along dz
    r1 = dz - one * (np.exp(z) @ dz) / (one @ np.exp(z))
    r2 = dz - one * (p @ dz)
    r3 = (I - np.outer(one, p)) @ dz
    S.step(28, dlogp, r1)
    S.step(29, r1, r2)
    S.step(30, r2, r3)

    dl = grad(loss_z, z) @ dz
    r1 = -y @ dlogp
    r2 = -y @ (I - np.outer(one, p)) @ dz
    r3 = (-y + (y @ one) * p) @ dz
    r4 = (p - y) @ dz
    S.step(39, dl, r1)
    S.step(40, r1, r2)
    S.step(41, r2, r3)
    S.step(42, r3, r4)
    S.step(46, grad(loss_z, z), p - y)

    dW, db = rng.normal(size=(K, D)), rng.normal(size=K)
    gW = grad(lambda w: loss_z(w @ x + b), W)
    gb = grad(lambda v: loss_z(W @ x + v), b)
    dl = np.sum(gW * dW) + gb @ db
    r1 = (p - y) @ dW @ x + (p - y) @ db
    r2 = np.trace(np.outer(x, p - y) @ dW) + (p - y) @ db
    S.step(54, dl, r1)
    S.step(55, r1, r2)
    S.step(60, gW, np.outer(p - y, x), occ=0)
    S.step(60, gb, p - y, occ=1)

    dp = grad(softmax, z) @ dz
    r1 = np.diag(p) @ (I - np.outer(one, p)) @ dz
    r2 = (np.diag(p) - np.outer(p, p)) @ dz
    S.step(68, dp, r1)
    S.step(69, r1, r2)

S.finish()
