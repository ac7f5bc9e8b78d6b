"""dev3/cheatsheet_logistic_regression.md: sigmoid g, h_theta(x) = g(theta^T x), mean over m, labels in {0, 1}."""

import numpy as np

from _harness import Steps, grad, hessian, rng

S = Steps("dev3/cheatsheet_logistic_regression.md")
m, n = 6, 3


def g(z):
    return 1.0 / (1.0 + np.exp(-z))


for _ in range(5):
    X = np.hstack([np.ones((m, 1)), rng.normal(size=(m, n))])
    y = rng.integers(2, size=m).astype(float)
    theta = rng.normal(size=n + 1)
    lam = rng.uniform(0.1, 2.0)

    def J(th):
        h = g(X @ th)
        return -np.mean(y * np.log(h) + (1 - y) * np.log(1 - h))

    for z in rng.normal(size=4) * 2:
        gp = grad(lambda v: g(v), np.array(z))
        r = np.exp(-z) / (1 + np.exp(-z)) ** 2
        S.step(19, gp, r, occ=0)
        S.step(19, r, g(z) * (1 - g(z)), occ=1)
        S.step(21, 1 - g(z), g(-z))
        S.step(23, np.log(g(z)), -np.log(1 + np.exp(-z)))
        S.step(25, np.log(1 - g(z)), -z - np.log(1 + np.exp(-z)))

    S.step(29, J(theta), np.mean(np.log(1 + np.exp(-X @ theta)) + (1 - y) * (X @ theta)))

    h = g(X @ theta)
    for i in range(m):
        dlogh = grad(lambda th: np.log(g(X[i] @ th)), theta)
        dlog1mh = grad(lambda th: np.log(1 - g(X[i] @ th)), theta)
        for j in range(n + 1):
            S.step(33, dlogh[j], (1 - h[i]) * X[i, j])
            S.step(35, dlog1mh[j], -h[i] * X[i, j])

    dJ = grad(J, theta)
    for j in range(n + 1):
        r1 = -np.mean((y * (1 - h) - (1 - y) * h) * X[:, j])
        r2 = np.mean((h - y) * X[:, j])
        S.step(37, dJ[j], r1, occ=0)
        S.step(37, r1, r2, occ=1)
    S.step(43, dJ, X.T @ (g(X @ theta) - y) / m)

    dreg = grad(lambda th: J(th) + lam / (2 * m) * np.sum(th[1:] ** 2), theta)
    for j in range(1, n + 1):                          # the text: j >= 1
        S.step(47, dreg[j], np.mean((h - y) * X[:, j]) + lam / m * theta[j])

    H = hessian(J, theta)
    for j in range(n + 1):
        for k in range(n + 1):
            S.step(51, H[j, k], np.mean(h * (1 - h) * X[:, j] * X[:, k]), rtol=1e-4, atol=1e-6)

S.finish()
