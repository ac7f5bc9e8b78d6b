"""Rules of the hinge family, as small data classes like those of ``derive.engine.rules``.

The derivative of max(0, u) (the indicator of a positive margin times the derivative of u), the sum rule for a sum
that leaves out the true class, the definition of the scores written out where they are differentiated, and the two
facts about a sum over j ≠ c that the cases use: a delta δ_jk keeps the term j = k when k ≠ c, and δ_jc is 0 in it.
Each rewrites a node; :func:`derive.engine.rules.rewrite_everywhere` applies it throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import sympy as sp

from ... import model as mdl
from ...engine.rules import Rule, derivative_of, derivative_parts, excluded_index, sum_excluding
from ...model import D
from .model import Hinge, Positive


@dataclass
class HingeRule(Rule):
    """hinge-rule: ∂ max(0, u)/∂θ = 1[u > 0] ∂u/∂θ (max(0, u) is u where u > 0 and 0 where u < 0)."""

    id: ClassVar[str] = "hinge-rule"

    def match(self, node: sp.Basic) -> bool:
        parts = derivative_parts(node)
        return parts is not None and isinstance(parts[0], Hinge)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        expr, var = derivative_of(node)
        inner = expr.args[0]
        self.facts.setdefault("u", inner)
        self.facts.setdefault("indicator", Positive(inner))
        return sp.Mul(Positive(inner), D(inner, var), evaluate=False)


@dataclass
class ExcludedSumRule(Rule):
    """sum-rule: ∂/∂θ Σ_{j≠c} a_j = Σ_{j≠c} ∂a_j/∂θ (the sum keeps leaving out the term j = c)."""

    id: ClassVar[str] = "sum-rule"

    def match(self, node: sp.Basic) -> bool:
        parts = derivative_parts(node)
        return parts is not None and isinstance(parts[0], sp.Sum) and len(parts[0].limits) == 1 and \
            excluded_index(parts[0].function, parts[0].limits[0][0]) is not None

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        expr, var = derivative_of(node)
        index, lower, upper = expr.limits[0]
        excluded, body = excluded_index(expr.function, index)  # type: ignore[misc]
        return sum_excluding(D(body, var), index, excluded, upper, keep=True)


@dataclass
class UnfoldScores(Rule):
    """definition: a score s_a = Σ_r W_ar x_r written out where it is differentiated (elsewhere it stays s_a)."""

    id: ClassVar[str] = "definition"
    bias: bool = False

    def match(self, node: sp.Basic) -> bool:
        parts = derivative_parts(node)
        return parts is not None and isinstance(parts[0], sp.Indexed) and parts[0].base == mdl.z

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        expr, var = derivative_of(node)
        self.facts.setdefault("score", expr)
        written = mdl.linear_logits(expr.indices[0], bias=self.bias)
        self.facts.setdefault("definition", written)
        return D(written, var)


def _excluded_sum(node: sp.Basic) -> tuple[sp.Symbol, sp.Expr, sp.Expr, sp.Expr] | None:
    """(j, c, body, upper) where ``node`` is Σ_{j≠c} body, else None."""
    if not isinstance(node, sp.Sum) or len(node.limits) != 1:
        return None
    index, lower, upper = node.limits[0]
    found = excluded_index(node.function, index)
    return (index, found[0], found[1], upper) if found else None


@dataclass
class ExcludedKroneckerSum(Rule):
    """kronecker-sum: Σ_{j≠c} a_j δ_jk = a_k when k ≠ c (the term j = k is one of the terms summed)."""

    id: ClassVar[str] = "kronecker-sum"
    distinct: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # the case's distinct pairs

    def _find(self, node: sp.Basic) -> tuple[sp.Symbol, sp.Expr, sp.Expr, sp.KroneckerDelta, sp.Expr] | None:
        found = _excluded_sum(node)
        if found is None:
            return None
        index, excluded, body, _ = found
        for factor in sp.Mul.make_args(body):
            if isinstance(factor, sp.KroneckerDelta) and index in factor.args:
                partner = factor.args[1] if factor.args[0] == index else factor.args[0]
                if {(str(partner), str(excluded)), (str(excluded), str(partner))} & set(self.distinct):
                    return index, excluded, body, factor, partner
        return None

    def match(self, node: sp.Basic) -> bool:
        return self._find(node) is not None

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        index, excluded, body, delta, partner = self._find(node)  # type: ignore[misc]
        self.facts.setdefault("delta", delta)
        self.facts.setdefault("index", index)
        self.facts.setdefault("partner", partner)
        self.facts.setdefault("excluded", excluded)
        rest = sp.Mul(*(f for f in sp.Mul.make_args(body) if f is not delta))
        return rest.xreplace({index: partner})


@dataclass
class ExcludedIndex(Rule):
    """excluded-index: in Σ_{j≠c}, j is never c, so δ_jc = 0 in every term."""

    id: ClassVar[str] = "excluded-index"

    def _deltas(self, node: sp.Basic) -> set[sp.KroneckerDelta]:
        found = _excluded_sum(node)
        if found is None:
            return set()
        index, excluded, body, _ = found
        return {d for d in body.atoms(sp.KroneckerDelta) if set(d.args) == {index, excluded}}

    def match(self, node: sp.Basic) -> bool:
        return bool(self._deltas(node))

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        index, excluded, body, upper = _excluded_sum(node)  # type: ignore[misc]
        deltas = self._deltas(node)
        self.facts.setdefault("delta", next(iter(deltas)))
        self.facts.setdefault("index", index)
        self.facts.setdefault("excluded", excluded)
        return sum_excluding(body.xreplace({d: sp.S.Zero for d in deltas}), index, excluded, upper)
