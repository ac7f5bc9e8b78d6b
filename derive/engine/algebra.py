"""Algebraic moves that make a regrouping visible, one at a time (never one opaque ``simplify``).

Each move is a plain function on expressions, registered under the detail name the templates explain.
"""

from __future__ import annotations

from typing import Callable

import sympy as sp

from .differentials import MATRIX_MOVES
from .rules import excluded_index, sum_excluding


def evaluated(expr: sp.Expr) -> sp.Expr:
    """Rebuild an expression kept unevaluated for display, letting SymPy cancel and combine."""
    if not expr.args or isinstance(expr, (sp.Indexed, sp.Symbol)):
        return expr
    return expr.func(*(evaluated(a) for a in expr.args))


def _sum_out(node: sp.Sum) -> sp.Expr:
    var, _, upper = node.limits[0]
    found = excluded_index(node.function, var)
    body = found[1] if found else node.function
    factors = body.args if isinstance(body, sp.Mul) else (body,)
    outside = [f for f in factors if var not in f.free_symbols]
    inside = sp.Mul(*(f for f in factors if var in f.free_symbols))
    inner = sum_excluding(inside, var, found[0], upper) if found else sp.Sum(inside, (var, 1, upper))
    return sp.Mul(*outside) * inner


def pull_out_of_sums(expr: sp.Expr) -> sp.Expr:
    """Σ_j c a_j = c Σ_j a_j for every factor c that does not involve j."""
    return expr.replace(lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1, _sum_out)


def distribute(expr: sp.Expr) -> sp.Expr:
    """Multiply out products with a sum factor, at the top level only (sums stay as they are)."""
    terms = expr.args if isinstance(expr, sp.Add) else (expr,)
    out: list[sp.Expr] = []
    for term in terms:
        factors = term.args if isinstance(term, sp.Mul) else (term,)
        adds = [f for f in factors if isinstance(f, sp.Add)]
        if adds:
            rest = sp.Mul(*(f for f in factors if f is not adds[0]))
            out.extend(rest * a for a in adds[0].args)
        else:
            out.append(term)
    return sp.Add(*out)


def collect_common(expr: sp.Expr) -> sp.Expr:
    """Factor out of a sum of terms the factor they share most (ŷ_k in −y_k + y_k ŷ_k + ŷ_k Σ y_j)."""
    if not isinstance(expr, sp.Add):
        return expr
    counts: dict[sp.Expr, int] = {}
    for term in expr.args:
        for factor in set(sp.Mul.make_args(term)):
            if not factor.is_Number:
                counts[factor] = counts.get(factor, 0) + 1
    if not counts:
        return expr
    common = max(counts, key=lambda f: (counts[f], sp.default_sort_key(f)))
    if counts[common] < 2:
        return expr
    with_it = [term / common for term in expr.args if common in sp.Mul.make_args(term)]
    without = [term for term in expr.args if common not in sp.Mul.make_args(term)]
    return sp.Add(sp.Mul(common, sp.Add(*with_it), evaluate=False), *without)


def factor_common(expr: sp.Expr) -> sp.Expr:
    """Factor out what every term shares: ŷ_j δ_jk − ŷ_j ŷ_k = ŷ_j(δ_jk − ŷ_k)."""
    return sp.factor_terms(expr)


def log_of_quotient(expr: sp.Expr) -> sp.Expr:
    """log(e^a / S) = a − log S."""
    def split(node: sp.log) -> sp.Expr:
        numer, denom = sp.fraction(node.args[0], exact=True)
        head = numer.args[0] if isinstance(numer, sp.exp) else sp.log(numer)
        return head - sp.log(denom)
    return expr.replace(lambda e: isinstance(e, sp.log) and sp.fraction(e.args[0], exact=True)[1] != 1, split)


MOVES: dict[str, Callable[[sp.Expr], sp.Expr]] = MATRIX_MOVES | {
    "cancel": evaluated,
    "pull-out-of-sum": pull_out_of_sums,
    "distribute": distribute,
    "collect": collect_common,
    "factor": factor_common,
    "log-of-quotient": log_of_quotient,
}
