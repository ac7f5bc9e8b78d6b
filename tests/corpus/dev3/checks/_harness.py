"""Numeric checks of the dev3 documents, independent of derive.

Each checks/NAME.py evaluates both sides of every step of tests/corpus/dev3/NAME at random points (under the case
the text states, with targets as the text states them) and records, per step line, whether the two sides agreed.
`finish` then asserts: every correct step held at every point, every wrong step failed at some point, and the lines
checked are exactly the `steps` / `wrong` of the document's entry in tests/corpus/expected.json.

Run one: `python tests/corpus/dev3/checks/NAME.py`; all: `python tests/corpus/dev3/checks/_harness.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent
RTOL, ATOL = 1e-6, 1e-8

rng = np.random.default_rng(20261201)


def close(a, b, rtol: float = RTOL, atol: float = ATOL) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    return bool(np.allclose(a, b, rtol=rtol, atol=atol))


def grad(f, x, h: float = 1e-6):
    """Central-difference gradient of a scalar (or array-valued) f at the array x: result[..., index of x]."""
    x = np.array(x, dtype=float)
    f0 = np.asarray(f(x), dtype=float)
    out = np.zeros(f0.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        out[(Ellipsis,) + idx] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h)
    return out


def hessian(f, x, h: float = 1e-4):
    """Central second differences of a scalar f at the vector x."""
    x = np.array(x, dtype=float)
    n = x.size
    H = np.zeros((n, n))
    for a in range(n):
        for b in range(n):
            ea, eb = np.zeros(n), np.zeros(n)
            ea[a], eb[b] = h, h
            H[a, b] = (f(x + ea + eb) - f(x + ea - eb) - f(x - ea + eb) + f(x - ea - eb)) / (4 * h * h)
    return H


def softmax(z, axis=-1):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def one_hot(c, n):
    v = np.zeros(n)
    v[c] = 1.0
    return v


class Steps:
    """Records, per step (its line and, when a line holds several steps, `occ`: 0 for the first, 1 for the second
    ...), whether both sides agreed at every point it was evaluated at."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.held: dict[tuple[int, int], bool] = {}     # (line, occurrence) -> held at every point so far
        self.count: Counter = Counter()                  # line -> number of steps on it

    def step(self, line: int, lhs, rhs, occ: int = 0, **tol) -> None:
        self.count[line] = max(self.count[line], occ + 1)
        ok = close(lhs, rhs, **tol)
        self.held[(line, occ)] = self.held.get((line, occ), True) and ok

    def finish(self) -> None:
        entry = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))[self.key]
        wrong = set(entry["wrong"])
        problems = []
        for (line, occ), held in sorted(self.held.items()):
            if line in wrong and held:
                problems.append(f"line {line}: marked wrong but held at every point")
            if line not in wrong and not held:
                problems.append(f"line {line} (step {occ + 1} on it): failed at some point")
        checked = Counter()
        for line, n in self.count.items():
            checked[line] = n
        if checked != Counter(entry["steps"]):
            problems.append(f"lines checked {sorted(checked.elements())} != expected steps {sorted(entry['steps'])}")
        for line in wrong:
            if self.count[line] != 1:
                problems.append(f"wrong line {line} carries {self.count[line]} steps")
        n_steps = sum(self.count.values())
        if problems:
            print(f"{self.key}: FAILED")
            for p in problems:
                print("  " + p)
            sys.exit(1)
        print(f"{self.key}: {n_steps} steps checked, {len(wrong)} wrong step(s) fail, the others hold")


if __name__ == "__main__":
    status = 0
    for script in sorted(HERE.glob("*.py")):
        if script.name.startswith("_"):
            continue
        status |= subprocess.call([sys.executable, str(script)])
    sys.exit(status)
