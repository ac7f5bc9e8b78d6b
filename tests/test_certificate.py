"""Every step of every certificate re-checked with plain SymPy: ``doit`` and ``evalf``, nothing shared with
derive's own verifier (which uses its own dual-number evaluator).

A side evaluated at a point is evaluated once per test process: consecutive steps share a side, and the sides of
a combined step are sides of the single steps, at the same points."""

from __future__ import annotations

import itertools
import json
import random
from functools import lru_cache

import pytest
import sympy

from helpers import ROUTES, run_cli

from sympy.functions.elementary.piecewise import ExprCondPair

NAMESPACE = {name: getattr(sympy, name) for name in dir(sympy)} | {"ExprCondPair": ExprCondPair}


@lru_cache(maxsize=None)
def load(text: str) -> sympy.Expr:
    return eval(text, dict(NAMESPACE))  # our own certificate, not user input


DETAILS = ("full", "notes", "brief")


def certificate(name: str, *notation: str, method: str = "index", detail: str = "notes") -> dict:
    return json.loads(_certificate_text(name, notation, method, detail))


@lru_cache(maxsize=None)
def _certificate_text(name: str, notation: tuple[str, ...], method: str, detail: str) -> str:
    """What ``derive show NAME --format json`` prints, asked once per test process."""
    args = ["show", name, "--format", "json", "--method", method, "--detail", detail] + \
        [f"--notation={n}" for n in notation]
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def points(cert: dict, step: dict, sizes=(2, 3), per_size: int = 6):
    """Concrete sizes, all index values the case allows, labels the assumptions allow."""
    symbols = cert["symbols"]
    names = list(symbols["indices"]) + ([symbols["label_index"]] if symbols["label_index"] else [])
    case = step["case"] or {"equal": [], "distinct": []}
    rng = random.Random(3)
    for n in sizes:
        ranges = [range(1, 3) if name in ("s", "t") else range(1, n + 2) if name in ("l", "r") else range(1, n + 1)
                  for name in names]  # N = 2 examples, m = n + 1 inputs
        combos = list(itertools.product(*ranges))
        for values in rng.sample(combos, min(per_size, len(combos))):
            assign = dict(zip(names, values))
            if any(assign.get(a, 0) != assign.get(b, 0) for a, b in case["equal"]):
                continue
            if any(a in assign and b in assign and assign[a] == assign[b] for a, b in case["distinct"]):
                continue
            yield n, assign, rng


def written_out(node: sympy.Sum) -> sympy.Expr:
    """Σ_{i=a}^{b} f(i) as f(a) + ... + f(b). (Not Sum.doit: it would also differentiate, slowly, and SymPy's
    Sum takes a derivative by an entry y_j for independent of j and pulls it out of the sum.)"""
    body, (var, lower, upper) = node.function, node.limits[0]
    terms = sympy.Add(*(body.xreplace({var: value}) for value in range(int(lower), int(upper) + 1)))
    return terms if len(node.limits) == 1 else written_out(sympy.Sum(terms, *node.limits[1:]))


_VALUES: dict[tuple, float] = {}


def value_of(cert: dict, side: dict, n: int, assign: dict, arrays: dict) -> float:
    """The value of a side of a step (its ``sympy`` text) at a point; each (side, point) computed once."""
    key = (json.dumps(cert["definitions"], sort_keys=True), side["sympy"], n, tuple(sorted(assign.items())),
           tuple((name, tuple(sorted(entries.items()))) for name, entries in sorted(arrays.items())))
    if key not in _VALUES:
        _VALUES[key] = value(cert, load(side["sympy"]), n, assign, arrays)
    return _VALUES[key]


def value(cert: dict, expr: sympy.Expr, n: int, assign: dict, arrays: dict) -> float:
    sizes = {s: {"n": n, "N": 2, "m": n + 1}[s.name] for s in expr.atoms(sympy.Symbol)
             if s.is_positive and s.name in ("n", "N", "m")}
    # Write out the sums over their concrete ranges (innermost first, by substitution only), put in the index
    # values, then the values of everything that is neither a variable of differentiation nor defined, so
    # that SymPy differentiates small expressions.
    expr = expr.xreplace(sizes).replace(lambda e: isinstance(e, sympy.Sum), written_out)
    expr = expr.xreplace({s: assign[s.name] for s in expr.atoms(sympy.Symbol) if s.name in assign})
    varied = {v.base for d in expr.atoms(sympy.Derivative) for v in d.variables if isinstance(v, sympy.Indexed)}
    expr = expr.xreplace({e: arrays[e.base.label.name][tuple(int(i) for i in e.indices)]
                          for e in expr.atoms(sympy.Indexed)
                          if e.base not in varied and e.base.label.name not in cert["definitions"]}).doit()
    for name, definition in cert["definitions"].items():
        body = load(definition["sympy"])
        index_syms = [s for s in body.atoms(sympy.Symbol) if s.name in definition["indices"]]
        by_name = {s.name: s for s in index_syms}

        def expand(entry, body=body, by_name=by_name, names=definition["indices"]):
            mapping = {by_name[nm]: ix for nm, ix in zip(names, entry.indices) if nm in by_name}
            sizes = {"n": n, "m": n + 1}
            return body.xreplace(mapping).xreplace({s: sizes[s.name] for s in body.atoms(sympy.Symbol)
                                                    if s.name in sizes and s.is_positive})
        expr = expr.replace(lambda e: isinstance(e, sympy.Indexed) and e.base.label.name == name, expand).doit()
    table = {}
    for entry in expr.atoms(sympy.Indexed):
        table[entry] = arrays[entry.base.label.name][tuple(int(i) for i in entry.indices)]
    return float(expr.xreplace(table).evalf(20))


def random_point(n: int, rng: random.Random, hot: int | None, one_hot: bool, batch: bool) -> dict:
    """Values of every array at n classes and m = n + 1 inputs. One layer W, b (and a direction dW, db);
    per example t of a batch of 2: logits, probabilities, labels and inputs keyed (t, k), besides the
    single example's keyed (k,)."""
    rat = lambda lo, hi, den=10: sympy.Rational(rng.randint(lo, hi), den)  # noqa: E731
    arrays: dict = {name: {} for name in ("z", "y", "yhat", "W", "x", "b", "dW", "db")}
    for row in range(1, n + 1):
        arrays["b"][(row,)], arrays["db"][(row,)] = rat(-10, 10), rat(-10, 10)
        for col in range(1, n + 2):
            arrays["W"][(row, col)], arrays["dW"][(row, col)] = rat(-10, 10), rat(-10, 10)
    for example in (None, 1, 2) if batch else (None,):
        key = (lambda k: (k,)) if example is None else (lambda k, e=example: (e, k))
        hot_here = hot if hot is not None else rng.randint(1, n)
        for col in range(1, n + 2):
            arrays["x"][key(col)] = rat(-10, 10)
        for cls in range(1, n + 1):
            arrays["z"][key(cls)], arrays["yhat"][key(cls)] = rat(-20, 20), rat(1, 20, 20)
            arrays["y"][key(cls)] = (1 if cls == hot_here else 0) if one_hot else rat(-10, 20)
    return arrays


@pytest.mark.parametrize("detail", DETAILS)
@pytest.mark.parametrize("name, method", [  # the details of a route run in one process: they share values
    pytest.param(*route, marks=pytest.mark.xdist_group("certificate-" + "-".join(route))) for route in ROUTES])
def test_every_step_rechecks_with_plain_sympy(name, method, detail):
    cert = certificate(name, method=method, detail=detail)
    assert cert["steps"] and cert["detail"] == detail
    for number, step in enumerate(cert["steps"], 1):
        assert step["verified"] is True
        assert step["rule"] in step["rules"] and (detail != "full" or step["rules"] == [step["rule"]])
        for side in ("before", "after"):
            assert isinstance(load(step[side]["sympy"]), sympy.Basic)  # both sides read back as SymPy
        per_size = 3 if name.startswith("linear") else 6  # plain SymPy writes out every sum: a layer is large
        for n, assign, rng in points(cert, step, sizes=(2, 3), per_size=per_size):
            arrays = random_point(n, rng, assign.get("c"), "one-hot" in step["assumes"], bool(cert["symbols"]["batch"]))
            a, b = (value_of(cert, step[side], n, assign, arrays) for side in ("before", "after"))
            assert a == pytest.approx(b, rel=1e-9, abs=1e-12), (name, number, step["rule"], n, assign)


@pytest.mark.parametrize("method", ["index", "differentials"])
def test_a_layer_without_a_bias_rechecks_with_plain_sympy(method):
    """Written row by row without a bias, the layer's certificate defines z without b and still re-checks."""
    cert = certificate("linear-softmax-cross-entropy", "linear=f_j = w_j x", method=method)
    layer = load(cert["definitions"]["z"]["sympy"])
    assert {e.base.label.name for e in layer.atoms(sympy.Indexed)} == {"W", "x"}
    assert not any(s["part"] == "bias" for s in cert["steps"])
    for number, step in enumerate(cert["steps"], 1):
        before, after = load(step["before"]["sympy"]), load(step["after"]["sympy"])
        assert not any(e.base.label.name == "b" for side in (before, after) for e in side.atoms(sympy.Indexed))
        for n, assign, rng in points(cert, step, sizes=(2,), per_size=3):
            arrays = random_point(n, rng, assign.get("c"), "one-hot" in step["assumes"], bool(cert["symbols"]["batch"]))
            a, b = (value_of(cert, step[side], n, assign, arrays) for side in ("before", "after"))
            assert a == pytest.approx(b, rel=1e-9, abs=1e-12), (method, number, step["rule"], n, assign)


def test_grouped_steps_name_every_rule_they_combine():
    full, notes = (certificate("softmax-cross-entropy", detail=d)["steps"] for d in ("full", "notes"))
    assert [r for s in notes for r in s["rules"]] == [s["rule"] for s in full]
    quotient = next(s for s in notes if s["rule"] == "quotient-rule")
    assert quotient["rules"][:2] == ["definition", "quotient-rule"] and "Kronecker sum" in quotient["justification"]


def test_algebraic_regroupings_are_also_proved_exactly():
    steps = certificate("softmax-cross-entropy", detail="full")["steps"]
    algebra = [s for s in steps if s["rule"] == "algebra"]
    assert algebra and any(s["symbolic"] is True for s in algebra)
    assert all(s["symbolic"] in (True, None) for s in steps)
