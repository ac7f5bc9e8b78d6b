"""Rules of the Hessian derivation, as small data classes like those of ``derive.engine.rules``.

- ``substitute`` (:class:`UseGradient`): in ∂²L/∂z_j∂z_k = ∂/∂z_j (∂L/∂z_k), the first derivative's value;
- ``substitute`` (:class:`UseEntries`): every ∂²L/∂z_a∂z_b of a sum replaced by the entry derived for it;
- ``algebra`` (:class:`DistributeSum`): Σ_j Σ_k c (a − b) = Σ_j Σ_k c a − Σ_j Σ_k c b;
- ``kronecker-sum`` (:class:`KroneckerDoubleSum`): Σ_j Σ_k a_jk δ_jk = Σ_j a_jj;
- ``algebra`` (:class:`ProductOfSums`): Σ_j Σ_k a_j a_k = (Σ_j a_j)²;
- ``algebra`` (:class:`Variance`): Σ_j p_j v_j² − (Σ_j p_j v_j)² = Σ_j p_j (v_j − Σ_k p_k v_k)² where Σ_j p_j = 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import sympy as sp

from ... import model as mdl
from ...engine.rules import Rule
from ...model import D


@dataclass
class UseGradient(Rule):
    """substitute: ∂²F/∂a∂b = ∂/∂a (∂F/∂b), and ∂F/∂b is known (``first`` = ``value``)."""

    id: ClassVar[str] = "substitute"
    first: sp.Expr = sp.S.Zero
    value: sp.Expr = sp.S.Zero

    def match(self, node: sp.Basic) -> bool:
        return isinstance(node, sp.Derivative) and len(node.variables) == 2 and \
            D(node.expr, node.variables[0]) == self.first

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        self.facts.setdefault("derivative", self.first)
        self.facts.setdefault("value", self.value)
        return D(self.value, node.variables[1])


@dataclass
class UseEntries(Rule):
    """substitute: each ∂²L/∂z_a∂z_b replaced by ``entry``, written for ∂²L/∂z_j∂z_k (a for j, b for k)."""

    id: ClassVar[str] = "substitute"
    entry: sp.Expr = sp.S.Zero

    def match(self, node: sp.Basic) -> bool:
        return isinstance(node, sp.Derivative) and node.expr == mdl.L and len(node.variables) == 2 and \
            all(isinstance(v, sp.Indexed) and v.base == mdl.z for v in node.variables)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        inner, outer = node.variables  # Derivative(L, z_b, z_a) is ∂/∂z_a (∂L/∂z_b)
        self.facts.setdefault("derivative", D(D(mdl.L, mdl.z[mdl.k]), mdl.z[mdl.j]))
        self.facts.setdefault("value", self.entry)
        return self.entry.xreplace({mdl.j: outer.indices[0], mdl.k: inner.indices[0]})


def _double_sum(node: sp.Basic) -> tuple[sp.Expr, tuple, tuple] | None:
    """(body, first limits, second limits) of Σ_j Σ_k body (SymPy keeps a sum of a sum as one Sum), else None."""
    if isinstance(node, sp.Sum) and len(node.limits) == 2:
        return node.function, node.limits[0], node.limits[1]
    return None


def double_sum(body: sp.Expr, first: tuple, second: tuple) -> sp.Expr:
    """Σ_j Σ_k body, with a number in front of the sums rather than inside."""
    coeff, rest = sp.expand(body).as_coeff_Mul()
    return coeff * sp.Sum(rest, first, second)


@dataclass
class KroneckerDoubleSum(Rule):
    """kronecker-sum: Σ_j Σ_k a_jk δ_jk = Σ_j a_jj (of the inner sum only the term k = j remains)."""

    id: ClassVar[str] = "kronecker-sum"

    @staticmethod
    def _find(node: sp.Basic) -> tuple[sp.KroneckerDelta, tuple, sp.Symbol] | None:
        found = _double_sum(node)
        if found is None:
            return None
        body, first, second = found
        for factor in sp.Mul.make_args(body):
            if isinstance(factor, sp.KroneckerDelta) and set(factor.args) == {first[0], second[0]}:
                return factor, first, second[0]
        return None

    def match(self, node: sp.Basic) -> bool:
        return self._find(node) is not None

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        delta, kept, gone = self._find(node)  # type: ignore[misc]
        self.facts.setdefault("delta", delta)
        self.facts.setdefault("index", gone)
        self.facts.setdefault("partner", kept[0])
        return sp.Sum((node.function / delta).xreplace({gone: kept[0]}), kept)


@dataclass
class DistributeSum(Rule):
    """algebra: multiply out the body of a double sum and give each term a double sum of its own."""

    id: ClassVar[str] = "algebra"

    def match(self, node: sp.Basic) -> bool:
        found = _double_sum(node)
        return found is not None and isinstance(sp.expand(found[0]), sp.Add)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        body, first, second = _double_sum(node)  # type: ignore[misc]
        return sp.Add(*(double_sum(term, first, second) for term in sp.Add.make_args(sp.expand(body))))


@dataclass
class ProductOfSums(Rule):
    """algebra: Σ_j Σ_k a_j b_k = (Σ_j a_j)(Σ_k b_k); the square (Σ_j a_j)² where b is a written with k."""

    id: ClassVar[str] = "algebra"

    @staticmethod
    def _split(node: sp.Basic) -> tuple[sp.Expr, sp.Expr, sp.Expr, tuple, tuple] | None:
        found = _double_sum(node)
        if found is None:
            return None
        body, outer, inner = found
        j, k = outer[0], inner[0]  # Σ_j Σ_k: j is the first limit
        factors = sp.Mul.make_args(body)
        if any(j in f.free_symbols and k in f.free_symbols for f in factors):
            return None
        by_j = sp.Mul(*(f for f in factors if j in f.free_symbols))
        by_k = sp.Mul(*(f for f in factors if k in f.free_symbols))
        rest = sp.Mul(*(f for f in factors if not f.free_symbols & {j, k}))
        return rest, by_j, by_k, outer, inner

    def match(self, node: sp.Basic) -> bool:
        return self._split(node) is not None

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        rest, by_j, by_k, outer, inner = self._split(node)  # type: ignore[misc]
        first = sp.Sum(by_j, outer)
        if by_k.xreplace({inner[0]: outer[0]}) == by_j and inner[1:] == outer[1:]:
            return rest * first ** 2
        return rest * first * sp.Sum(by_k, inner)


@dataclass
class Variance(Rule):
    """algebra: Σ_j p_j v_j² − (Σ_j p_j v_j)² = Σ_j p_j (v_j − m)² with m = Σ_k p_k v_k, for weights p
    that sum to one (expand the square: Σ p v² − 2m Σ p v + m² Σ p = Σ p v² − m²)."""

    id: ClassVar[str] = "algebra"
    weights: sp.IndexedBase = mdl.yhat

    def _parts(self, node: sp.Basic) -> tuple[sp.Expr, sp.Expr, sp.Symbol, tuple] | None:
        """(p_j, v_j, j, limits) where ``node`` is Σ_j p_j v_j² − (Σ_j p_j v_j)²."""
        if not isinstance(node, sp.Add) or len(node.args) != 2:
            return None
        squares = [t for t in node.args if isinstance(-t, sp.Pow) and (-t).exp == 2 and isinstance((-t).base, sp.Sum)]
        sums = [t for t in node.args if isinstance(t, sp.Sum)]
        if len(squares) != 1 or len(sums) != 1:
            return None
        mean = (-squares[0]).base
        (var, *_), limits = mean.limits[0], mean.limits[0]
        weight = [f for f in sp.Mul.make_args(mean.function) if isinstance(f, sp.Indexed) and f.base == self.weights]
        if len(weight) != 1:
            return None
        value = mean.function / weight[0]
        second = sums[0]
        if second.limits[0] != limits or sp.expand(second.function - weight[0] * value ** 2) != 0:
            return None
        return weight[0], value, var, limits

    def match(self, node: sp.Basic) -> bool:
        return self._parts(node) is not None

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        weight, value, var, limits = self._parts(node)  # type: ignore[misc]
        other = next(s for s in (mdl.k, mdl.i, mdl.m) if s != var)
        mean = sp.Sum(weight.xreplace({var: other}) * value.xreplace({var: other}), (other, *limits[1:]))
        self.facts.setdefault("mean", mean)
        return sp.Sum(weight * (value - mean) ** 2, limits)
