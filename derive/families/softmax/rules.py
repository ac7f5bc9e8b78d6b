"""The rules the softmax family adds, small data classes like those of :mod:`derive.engine.rules`.

- ``definition`` (:class:`UnfoldFamily`): the tempered softmax, the smoothed labels, the shifted softmax;
- ``fold-definition`` (:class:`FoldTempered`): e^{z_a / T} / Σ_i e^{z_i / T} is ŷ_a again;
- ``exp-of-sum`` (:class:`ExpOfSum`): e^{a + b} = e^a e^b;
- ``sum-linearity`` (:class:`SumLinearity`): Σ_j (λ a_j + b_j) = λ Σ_j a_j + Σ_j b_j, and Σ_{j=1}^n λ = n λ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import sympy as sp

from ... import model as mdl
from ...engine.rules import Rule, RuleDoesNotApply, Unfold, rewrite_everywhere
from .model import FamilyModel, ShiftedSoftmax, T, shifted_softmax_written_out, smoothed_label, ysmooth


@dataclass
class UnfoldFamily(Unfold):
    """definition: the model's own quantities written out: ŷ_j as softmax(z / T)_j, y^LS_j as
    (1 − ε) y_j + ε / n, softmax(z − c)_k as e^{z_k − c} / Σ_i e^{z_i − c}; the loss as the model says."""

    model: FamilyModel = field(default_factory=FamilyModel)
    only: sp.Expr | None = None  # unfold this entry only (y^LS_k, not the y^LS_j of a sum)

    def match(self, node: sp.Basic) -> bool:
        if self.only is not None and node != self.only:
            return False
        if isinstance(node, ShiftedSoftmax):
            return "shifted" in self.names
        return super().match(node)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        if isinstance(node, ShiftedSoftmax):
            self.facts.setdefault("prob", node)
            return shifted_softmax_written_out(node.args[0])
        if isinstance(node, sp.Indexed) and node.base == ysmooth:
            self.facts.setdefault("label", node)
            self.facts.setdefault("label_index", node.indices[-1])
            return smoothed_label(node.indices[-1])
        if isinstance(node, sp.Indexed) and node.base == mdl.yhat and len(node.indices) == 1:
            after = self.model.softmax(node.indices[0])
            if "prob" not in self.facts:
                numerator, partition = sp.fraction(after)
                self.facts.update(prob=node, numerator=numerator, partition=partition)
            return after
        return super().rewrite(node)


def is_tempered_partition(node: sp.Basic) -> bool:
    """Σ_i e^{z_i / T} over all classes."""
    if not isinstance(node, sp.Sum) or len(node.limits) != 1:
        return False
    var, lo, hi = node.limits[0]
    return lo == 1 and hi == mdl.n and node.function == sp.exp(mdl.z[var] / T)


def _tempered_entry(factor: sp.Expr) -> sp.Expr | None:
    """The index a of e^{z_a / T}, else None."""
    if isinstance(factor, sp.exp):
        arg = factor.args[0] * T
        if isinstance(arg, sp.Indexed) and arg.base == mdl.z and len(arg.indices) == 1:
            return arg.indices[0]
    return None


def fold_tempered(expr: sp.Expr) -> sp.Expr:
    """In every product, pair one e^{z_a / T} with one 1 / Σ_i e^{z_i / T} into ŷ_a."""
    if isinstance(expr, sp.Mul):
        factors = list(expr.args)
        denominator = next((f for f in factors if f.is_Pow and is_tempered_partition(f.base) and f.exp == -1), None)
        entry = next((f for f in factors if _tempered_entry(f) is not None), None)
        if denominator is not None and entry is not None:
            factors.remove(denominator)
            factors.remove(entry)
            return sp.Mul(mdl.yhat[_tempered_entry(entry)], *(fold_tempered(f) for f in factors))
    if not expr.args or isinstance(expr, (sp.Indexed, sp.Symbol, sp.Sum)):
        return expr
    return expr.func(*(fold_tempered(a) for a in expr.args))


@dataclass
class FoldTempered(Rule):
    """fold-definition: e^{z_a / T} / Σ_i e^{z_i / T} is ŷ_a again (the tempered softmax read backwards)."""

    id: ClassVar[str] = "fold-definition"

    def match(self, node: sp.Basic) -> bool:
        return isinstance(node, sp.Mul) and fold_tempered(node) != node

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        after = fold_tempered(node)
        made = sorted((e for e in after.atoms(sp.Indexed) if e.base == mdl.yhat), key=sp.default_sort_key)
        if made and "prob" not in self.facts:
            a = made[0].indices[0]
            self.facts.update(prob=made[0], exp=sp.exp(mdl.z[a] / T),
                              partition=next(s for s in node.atoms(sp.Sum) if is_tempered_partition(s)))
        return after


@dataclass
class ExpOfSum(Rule):
    """exp-of-sum: e^{a + b} = e^a e^b (e^{z_k − c} = e^{z_k} e^{−c})."""

    id: ClassVar[str] = "exp-of-sum"

    def match(self, node: sp.Basic) -> bool:
        return isinstance(node, sp.exp) and isinstance(node.args[0], sp.Add)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        terms = sp.Add.make_args(node.args[0])
        if "exp" not in self.facts:
            self.facts.update(exp=node, product=sp.Mul(*(sp.exp(t) for t in terms), evaluate=False))
        return sp.Mul(*(sp.exp(t) for t in terms))


@dataclass
class SumLinearity(Rule):
    """sum-linearity: a sum of terms is summed term by term, a factor free of the summation index leaves the
    sum, and a term free of it is added once per value of the index: Σ_{j=1}^n c = n c.

    ``outer`` restricts the rule to sums over that index (the loss's Σ_j, not the softmax's Σ_i)."""

    id: ClassVar[str] = "sum-linearity"
    outer: sp.Symbol | None = None

    def _terms(self, node: sp.Basic) -> list[sp.Expr] | None:
        if not isinstance(node, sp.Sum) or len(node.limits) != 1:
            return None
        var = node.limits[0][0]
        if self.outer is not None and var != self.outer:
            return None
        terms = [t for term in sp.Add.make_args(node.function) for t in sp.Add.make_args(_distribute(term, var))]
        movable = len(terms) > 1 or any(var not in f.free_symbols for f in sp.Mul.make_args(terms[0]))
        return terms if movable else None

    def match(self, node: sp.Basic) -> bool:
        return self._terms(node) is not None

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        terms = self._terms(node)
        assert terms is not None, "rewrite called on a node its rule did not match"
        var, lower, upper = node.limits[0]
        out = []
        for term in terms:
            factors = sp.Mul.make_args(term)
            outside = _product([f for f in factors if var not in f.free_symbols])
            inside = [f for f in factors if var in f.free_symbols]
            with sp.evaluate(True):  # a Sum built with evaluation off writes its summand as 1·a_j
                summed = sp.Sum(_product(inside), (var, lower, upper)) if inside else upper - lower + 1
            out.append(outside * summed)
        self.facts.setdefault("index", var)
        return sp.Add(*out)


def _distribute(term: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """y_j (a_j − b) as y_j a_j − y_j b: a bracket that varies with ``var`` is multiplied out; one that does
    not, such as (1 − ε), stays a factor."""
    factors = sp.Mul.make_args(term)
    bracket = next((f for f in factors if isinstance(f, sp.Add) and var in f.free_symbols), None)
    if bracket is None:
        return term
    rest = _product([f for f in factors if f is not bracket])
    return sp.Add(*(rest * t for t in bracket.args))


def _product(factors: list[sp.Expr]) -> sp.Expr:
    """The product of ``factors``, without a one-factor Mul when evaluation is off."""
    return sp.S.One if not factors else factors[0] if len(factors) == 1 else sp.Mul(*factors)


def rewrite_unevaluated(expr: sp.Expr, rule: Rule) -> sp.Expr:
    """``rule`` applied everywhere with SymPy's evaluation off, so that what the step does stays visible
    (e^{−c} pulled out of a sum in the denominator, not cancelled at once against the numerator's)."""
    with sp.evaluate(False):
        after, count = rewrite_everywhere(expr, rule)
    if not count:
        raise RuleDoesNotApply(f"{rule.id} does not apply to {expr}")
    return after

