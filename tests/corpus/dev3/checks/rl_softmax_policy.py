"""dev3/rl_softmax_policy.md: softmax over action preferences h = theta^T x(s, a); a is the action taken."""

import numpy as np

from _harness import Steps, grad, rng, softmax

S = Steps("dev3/rl_softmax_policy.md")
nA, D = 4, 3

for _ in range(5):
    theta = rng.normal(size=D)
    X = rng.normal(size=(nA, D))            # row b is x(s, b)
    Ahat = rng.normal()

    def h_of(th):
        return X @ th

    def logpi(hv):
        return np.log(softmax(hv))

    h = h_of(theta)
    pi = softmax(h)
    one = np.eye(nA)
    dlogpi = grad(logpi, h)                 # [a, c] = d ln pi_a / d h_c

    for a in range(nA):
        S.step(17, logpi(h)[a], h[a] - np.log(np.exp(h).sum()))
        for c in range(nA):
            r1 = one[a, c] - np.exp(h[c]) / np.exp(h).sum()
            S.step(21, dlogpi[a, c], r1, occ=0)
            S.step(21, r1, one[a, c] - pi[c], occ=1)
        # eligibility vector: gradient wrt theta of ln pi(a | s, theta)
        g = grad(lambda th: logpi(h_of(th))[a], theta)
        r1 = sum(dlogpi[a, c] * X[c] for c in range(nA))      # grad h_c = x(s, c)
        r2 = sum((one[a, c] - pi[c]) * X[c] for c in range(nA))
        r3 = X[a] - sum(pi[b] * X[b] for b in range(nA))
        S.step(29, g, r1, occ=0)
        S.step(29, r1, r2, occ=1)
        S.step(29, r2, r3, occ=2)

    for c in range(nA):
        lhs = sum(pi[a] * dlogpi[a, c] for a in range(nA))
        r1 = sum(pi[a] * (one[a, c] - pi[c]) for a in range(nA))
        r2 = pi[c] - pi[c] * pi.sum()
        S.step(39, lhs, r1, occ=0)
        S.step(39, r1, r2, occ=1)
        S.step(39, r2, 0.0, occ=2)

    # tabular case: the parameters of the current state are the preferences themselves
    th_tab = rng.normal(size=nA)
    pi_tab = softmax(th_tab)
    dtab = grad(logpi, th_tab)
    for a in range(nA):
        for c in range(nA):
            S.step(46, dtab[a, c], one[a, c] - pi_tab[c])

    for a in range(nA):
        dL = grad(lambda hv: -Ahat * logpi(hv)[a], h)
        for c in range(nA):
            r1 = -Ahat * (one[a, c] - pi[c])
            S.step(53, dL[c], r1, occ=0)
            S.step(53, r1, Ahat * (pi[c] - one[a, c]), occ=1)

S.finish()
