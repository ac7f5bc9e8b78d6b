"""Differentiation and rewriting rules as small data classes.

Each rule has a kebab-case ``id`` (contract §4), a ``match`` that recognises the node it rewrites, and a
``rewrite`` that returns the new node. :func:`rewrite_everywhere` applies a rule to every matching node of an
expression (outermost first), which is one step of a derivation. The prose that explains a rule lives in the
templates, keyed by the same id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import sympy as sp

from .. import model as mdl
from ..model import D, Model


class RuleDoesNotApply(Exception):
    """A plan asked for a rule where no node matches: a bug in the plan."""


@dataclass
class Rule:
    """Base: subclasses set ``id`` and implement ``match`` and ``rewrite``."""

    id: ClassVar[str] = "rule"
    facts: dict[str, sp.Expr] = field(default_factory=dict, init=False, repr=False)

    def match(self, node: sp.Basic) -> bool:
        raise NotImplementedError

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        raise NotImplementedError


def rewrite_everywhere(expr: sp.Basic, rule: Rule) -> tuple[sp.Basic, int]:
    """Rewrite every node ``rule`` matches, outermost first; return the result and the number of rewrites."""
    if rule.match(expr):
        return rule.rewrite(expr), 1
    if isinstance(expr, sp.Derivative):
        inner, count = rewrite_everywhere(expr.expr, rule)
        return (D(inner, expr.variables[0]) if count else expr), count
    if not expr.args or isinstance(expr, (sp.Indexed, sp.Symbol, sp.IndexedBase)):
        return expr, 0
    total, args = 0, []
    for arg in expr.args:
        new, count = rewrite_everywhere(arg, rule)
        args.append(new)
        total += count
    return (expr.func(*args) if total else expr), total


def derivative_parts(node: sp.Basic) -> tuple[sp.Expr, sp.Expr] | None:
    """(expression, variable) of a first derivative, else None."""
    if isinstance(node, sp.Derivative) and len(node.variables) == 1:
        return node.expr, node.variables[0]
    return None


def derivative_of(node: sp.Basic) -> tuple[sp.Expr, sp.Expr]:
    """(expression, variable) of a node a rule has already matched as a first derivative."""
    parts = derivative_parts(node)
    assert parts is not None, "rewrite called on a node its rule did not match"
    return parts


def is_partition_sum(node: sp.Basic) -> bool:
    """Σ_i e^{z_i} (or Σ_i e^{z_{t i}} in a batch) over all classes."""
    if not isinstance(node, sp.Sum) or len(node.limits) != 1:
        return False
    var, lo, hi = node.limits[0]
    body = node.function
    return (lo == 1 and hi == mdl.n and isinstance(body, sp.exp) and isinstance(body.args[0], sp.Indexed)
            and body.args[0].base == mdl.z and body.args[0].indices[-1] == var)


def depends_on(expr: sp.Expr, var: sp.Expr, model: Model) -> bool:
    """Whether ``expr`` (folded) varies with the entry ``var``."""
    base = model.to_base(expr, keep=(var.base.label.name,))
    bases = {ix.base for ix in base.atoms(sp.Indexed)}
    return var.base in bases


# -- definitions --------------------------------------------------------------------------------------------

@dataclass
class Unfold(Rule):
    """definition: replace a defined quantity (ŷ_j, L, ℓ_t) by its definition."""

    id: ClassVar[str] = "definition"
    model: Model = field(default_factory=Model)
    names: tuple[str, ...] = ("yhat", "L")

    def match(self, node: sp.Basic) -> bool:
        if node == mdl.L:
            return "L" in self.names
        return isinstance(node, sp.Indexed) and node.base.label.name in self.names

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        if node == mdl.L:
            return self.model.loss()
        if node.base == mdl.ell:
            return self.model.loss(example=node.indices[0])
        if node.base == mdl.z:
            return mdl.linear_logits(node.indices[0], bias=self.model.bias)
        indices = node.indices
        example = indices[0] if len(indices) == 2 else None
        if "prob" not in self.facts:  # the prose names the entry the formula writes out
            self.facts.update(prob=node, numerator=sp.exp(mdl.logits_at(indices[-1], example)))
        return mdl.softmax(indices[-1], example)


@dataclass
class Fold(Rule):
    """fold-definition: e^{z_a} / Σ_i e^{z_i} is ŷ_a again, also inside sums of such terms."""

    id: ClassVar[str] = "fold-definition"

    def match(self, node: sp.Basic) -> bool:
        return isinstance(node, (sp.Mul, sp.Pow)) and any(is_partition_sum(a) for a in node.atoms(sp.Sum))

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        after = fold_softmax(node)
        made = sorted((e for e in after.atoms(sp.Indexed) if e.base == mdl.yhat), key=sp.default_sort_key)
        if made and "prob" not in self.facts:  # the prose names a probability the step really formed
            self.facts.update(prob=made[0], exp=sp.exp(mdl.z[made[0].indices]))
        return after


def _exp_entries(factor: sp.Expr) -> list[sp.Indexed] | None:
    """The logits entries of e^{z_a} (or e^{2 z_a} counted twice), else None."""
    if isinstance(factor, sp.Pow) and isinstance(factor.base, sp.exp) and factor.exp.is_Integer:
        inner = _exp_entries(factor.base)
        return inner * int(factor.exp) if inner and factor.exp > 0 else None
    if isinstance(factor, sp.exp):
        arg = factor.args[0]
        coeff, entry = arg.as_coeff_Mul()
        if isinstance(entry, sp.Indexed) and entry.base == mdl.z and coeff.is_Integer and coeff > 0:
            return [entry] * int(coeff)
    return None


def fold_softmax(expr: sp.Expr) -> sp.Expr:
    """Pair each e^{z_a} with one 1/Σ e^{z_i}; a leftover 1/Σ is distributed over a sum factor."""
    if isinstance(expr, sp.Add):
        return sp.Add(*(fold_softmax(term) for term in expr.args))
    factors = list(expr.args) if isinstance(expr, sp.Mul) else [expr]
    denominator, power, entries, rest = None, 0, [], []
    for factor in factors:
        base, exponent = factor.as_base_exp()
        if is_partition_sum(base) and exponent.is_Integer and exponent < 0:
            denominator, power = base, -int(exponent)
        elif (found := _exp_entries(factor)) is not None:
            entries.extend(found)
        else:
            rest.append(factor)
    if denominator is None:
        return expr
    pairs = min(power, len(entries))
    folded = [mdl.yhat[e.indices] if len(e.indices) > 1 else mdl.yhat[e.indices[0]] for e in entries[:pairs]]
    unpaired = [sp.exp(e) for e in entries[pairs:]]
    power -= pairs
    result = sp.Mul(*folded, *unpaired)
    if power:
        sums = [f for f in rest if isinstance(f, sp.Add)]
        if sums:
            rest.remove(sums[0])
            spread = sp.Add(*(fold_softmax(term * denominator ** -power) for term in sums[0].args))
            return sp.Mul(result, *rest, spread)
        return sp.Mul(result, *rest, denominator ** -power)
    return sp.Mul(result, *rest)


# -- differentiation ----------------------------------------------------------------------------------------

@dataclass
class QuotientRule(Rule):
    """quotient-rule: d(u/v) = (u' v − u v') / v²."""

    id: ClassVar[str] = "quotient-rule"

    def match(self, node: sp.Basic) -> bool:
        parts = derivative_parts(node)
        return parts is not None and self._split(parts[0]) is not None

    @staticmethod
    def _split(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
        numer, denom = sp.fraction(expr, exact=True)
        return (numer, denom) if denom != 1 else None

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        expr, var = derivative_of(node)
        u, v = self._split(expr)  # type: ignore[misc]
        self.facts.update(u=u, v=v)
        return (D(u, var) * v - u * D(v, var)) / v ** 2


@dataclass
class SumRule(Rule):
    """sum-rule: the derivative of a sum (finite ``Sum`` or ``Add``) is the sum of the derivatives."""

    id: ClassVar[str] = "sum-rule"

    def match(self, node: sp.Basic) -> bool:
        parts = derivative_parts(node)
        return parts is not None and isinstance(parts[0], (sp.Sum, sp.Add))

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        expr, var = derivative_of(node)
        if isinstance(expr, sp.Add):
            return sp.Add(*(D(term, var) for term in expr.args))
        return sp.Sum(D(expr.function, var), *expr.limits)


@dataclass
class ConstantFactor(Rule):
    """constant-factor: factors that do not depend on the variable move out of the derivative."""

    id: ClassVar[str] = "constant-factor"
    model: Model = field(default_factory=Model)

    def _split(self, node: sp.Basic) -> tuple[list[sp.Expr], list[sp.Expr], sp.Expr] | None:
        parts = derivative_parts(node)
        if not parts or not isinstance(parts[0], sp.Mul):
            return None
        expr, var = parts
        const = [f for f in expr.args if not depends_on(f, var, self.model)]
        varying = [f for f in expr.args if depends_on(f, var, self.model)]
        return (const, varying, var) if const and varying else None

    def match(self, node: sp.Basic) -> bool:
        return self._split(node) is not None

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        const, varying, var = self._split(node)  # type: ignore[misc]
        return sp.Mul(*const) * D(sp.Mul(*varying), var)


@dataclass
class ExpRule(Rule):
    """exp-rule: d e^u = e^u du."""

    id: ClassVar[str] = "exp-rule"

    def match(self, node: sp.Basic) -> bool:
        parts = derivative_parts(node)
        return parts is not None and isinstance(parts[0], sp.exp)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        expr, var = derivative_of(node)
        return expr * D(expr.args[0], var)


@dataclass
class LogRule(Rule):
    """log-rule: d log u = du / u."""

    id: ClassVar[str] = "log-rule"

    def match(self, node: sp.Basic) -> bool:
        parts = derivative_parts(node)
        return parts is not None and isinstance(parts[0], sp.log)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        expr, var = derivative_of(node)
        inner = expr.args[0]
        self.facts.update(u=inner)
        return sp.Mul(sp.Pow(inner, -1), D(inner, var))


@dataclass
class IndexDerivative(Rule):
    """index-derivative: ∂x_a/∂x_b = δ_ab (per index: δ_ts δ_ab for two-index entries)."""

    id: ClassVar[str] = "index-derivative"

    def match(self, node: sp.Basic) -> bool:
        parts = derivative_parts(node)
        return (parts is not None and isinstance(parts[0], sp.Indexed) and isinstance(parts[1], sp.Indexed)
                and parts[0].base == parts[1].base and len(parts[0].indices) == len(parts[1].indices))

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        expr, var = derivative_of(node)
        delta = sp.Mul(*(sp.KroneckerDelta(a, b) for a, b in zip(expr.indices, var.indices)))
        if "derivative" not in self.facts and isinstance(delta, sp.KroneckerDelta):
            self.facts.update(derivative=node, delta=delta, a=expr.indices[-1], b=var.indices[-1])
        return delta


@dataclass
class ChainRule(Rule):
    """chain-rule: ∂F/∂x_k = Σ_j ∂F/∂u_j · ∂u_j/∂x_k, through the named intermediate u (the probabilities)."""

    id: ClassVar[str] = "chain-rule"
    through: sp.IndexedBase = mdl.yhat
    index: sp.Symbol = mdl.j

    def match(self, node: sp.Basic) -> bool:
        parts = derivative_parts(node)
        return parts is not None and parts[0] == mdl.L and parts[1].base not in (self.through, mdl.yhat)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        expr, var = derivative_of(node)
        entry = self.through[self.index]
        return mdl.class_sum(sp.Mul(D(expr, entry), D(entry, var), evaluate=False), self.index)


@dataclass
class Independent(Rule):
    """independent: the derivative of something that does not depend on the variable is 0 (∂b_j/∂W_kl = 0)."""

    id: ClassVar[str] = "independent"
    model: Model = field(default_factory=Model)

    def match(self, node: sp.Basic) -> bool:
        parts = derivative_parts(node)
        return parts is not None and isinstance(parts[1], sp.Indexed) and \
            not depends_on(parts[0], parts[1], self.model)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        return sp.S.Zero


# -- sums and Kronecker deltas ------------------------------------------------------------------------------

def _delta_partner(delta: sp.Basic, var: sp.Symbol) -> sp.Expr | None:
    if isinstance(delta, sp.KroneckerDelta) and var in delta.args:
        other = delta.args[1] if delta.args[0] == var else delta.args[0]
        return other if var not in other.free_symbols else None
    return None


@dataclass
class KroneckerSum(Rule):
    """kronecker-sum: Σ_j a_j δ_jk = a_k (the sum keeps only the term j = k)."""

    id: ClassVar[str] = "kronecker-sum"

    def _find(self, node: sp.Basic) -> tuple[sp.Expr, sp.Symbol, sp.Expr] | None:
        if not isinstance(node, sp.Sum) or len(node.limits) != 1:
            return None
        var = node.limits[0][0]
        factors = node.function.args if isinstance(node.function, sp.Mul) else (node.function,)
        for factor in factors:
            if (partner := _delta_partner(factor, var)) is not None:
                return factor, var, partner
        return None

    def match(self, node: sp.Basic) -> bool:
        return self._find(node) is not None

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        delta, var, partner = self._find(node)  # type: ignore[misc]
        if "delta" not in self.facts:
            self.facts.update(delta=delta, index=var, partner=partner)
        body = node.function / delta
        return body.xreplace({var: partner})


def excluded_index(summand: sp.Expr, var: sp.Symbol) -> tuple[sp.Expr, sp.Expr] | None:
    """For Σ_{j≠k} written as Σ_j (1 − δ_jk) a_j: return (k, a_j), else None."""
    factors = summand.args if isinstance(summand, sp.Mul) else (summand,)
    for factor in factors:
        if isinstance(factor, sp.Add) and len(factor.args) == 2 and sp.S.One in factor.args:
            other = factor.args[0] if factor.args[1] == 1 else factor.args[1]
            if isinstance(other, sp.Mul) and other.args[0] == -1 and len(other.args) == 2:
                partner = _delta_partner(other.args[1], var)
                if partner is not None:
                    return partner, sp.Mul(*(f for f in factors if f is not factor))
    return None


def sum_excluding(body: sp.Expr, var: sp.Symbol, excluded: sp.Expr, upper: sp.Expr = mdl.n,
                  keep: bool = False) -> sp.Sum:
    """Σ_{var ≠ excluded} body, represented in plain SymPy as Σ_var (1 − δ) body. ``keep`` leaves ``body`` as it
    is (a substitution must not also multiply out what it inserted)."""
    factor = 1 - sp.KroneckerDelta(var, excluded)
    return sp.Sum(sp.Mul(factor, body, evaluate=False) if keep else factor * body, (var, 1, upper))


@dataclass
class SplitSum(Rule):
    """split-sum: Σ_j a_j = a_k + Σ_{j≠k} a_j (or, merging, the reverse)."""

    id: ClassVar[str] = "split-sum"
    at: sp.Symbol = mdl.k

    def match(self, node: sp.Basic) -> bool:
        return (isinstance(node, sp.Sum) and len(node.limits) == 1 and node.limits[0][0] != self.at
                and excluded_index(node.function, node.limits[0][0]) is None)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        var, _, upper = node.limits[0]
        body = node.function
        return sp.Add(body.xreplace({var: self.at}), sum_excluding(body, var, self.at, upper), evaluate=False)


@dataclass
class MergeSum(Rule):
    """split-sum, read backwards: a_k + Σ_{j≠k} a_j = Σ_j a_j."""

    id: ClassVar[str] = "split-sum"

    def _find(self, node: sp.Basic) -> tuple[sp.Expr, sp.Sum, sp.Expr] | None:
        if not isinstance(node, sp.Add):
            return None
        for term in node.args:
            if isinstance(term, sp.Sum) and len(term.limits) == 1:
                var, _, upper = term.limits[0]
                found = excluded_index(term.function, var)
                if found:
                    excluded, body = found
                    single = body.xreplace({var: excluded})
                    if single in node.args:
                        return single, term, sp.Sum(body, (var, 1, upper))
        return None

    def match(self, node: sp.Basic) -> bool:
        return self._find(node) is not None

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        single, partial, whole = self._find(node)  # type: ignore[misc]
        rest = [a for a in node.args if a != single and a != partial]
        return sp.Add(whole, *rest)


@dataclass
class OneHot(Rule):
    """one-hot: Σ_j y_j = 1; with a named hot index c, also y_a = δ_ac."""

    id: ClassVar[str] = "one-hot"
    label_index: sp.Symbol | None = None

    def match(self, node: sp.Basic) -> bool:
        if isinstance(node, sp.Sum) and len(node.limits) == 1:
            var, lo, hi = node.limits[0]
            return node.function == mdl.y[var] and lo == 1 and hi == mdl.n
        return (self.label_index is not None and isinstance(node, sp.Indexed) and node.base == mdl.y
                and node.indices[0] != self.label_index)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        if isinstance(node, sp.Sum):
            return sp.S.One
        self.facts["hot"] = sp.KroneckerDelta(node.indices[0], self.label_index)
        return self.facts["hot"]


@dataclass
class SumToOne(OneHot):
    """sum-to-one: Σ_j y_j = 1 for labels that form a distribution (what a one-hot vector also satisfies)."""

    id: ClassVar[str] = "sum-to-one"


# -- substitution of known results ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Lemma:
    """A result derived earlier: ∂f_a/∂x_b in general and, optionally, in the cases a = b and a ≠ b.

    ``pattern`` is a Derivative with index symbols ``a`` and ``b`` that are renamed on use; ``factor`` is a
    condition that multiplies the result when the outer index differs (δ_ts for per-example losses).
    """

    pattern: sp.Derivative
    general: sp.Expr
    indices: tuple[sp.Symbol, ...]
    equal: sp.Expr | None = None
    distinct: sp.Expr | None = None


@dataclass
class Substitute(Rule):
    """substitute: replace derivatives by results derived in an earlier part, case by case."""

    id: ClassVar[str] = "substitute"
    lemmas: tuple[Lemma, ...] = ()
    excluded: dict[sp.Symbol, sp.Expr] = field(default_factory=dict)

    def _bind(self, lemma: Lemma, node: sp.Basic) -> dict[sp.Symbol, sp.Expr] | None:
        parts, pattern = derivative_parts(node), lemma.pattern
        if not parts:
            return None
        expr, var = parts
        if not (isinstance(expr, type(pattern.expr)) and isinstance(var, sp.Indexed)
                and var.base == pattern.variables[0].base):
            return None
        if isinstance(expr, sp.Indexed):
            if expr.base != pattern.expr.base:
                return None
            values = (*expr.indices, *var.indices)
            names = (*pattern.expr.indices, *pattern.variables[0].indices)
        else:
            values, names = var.indices, pattern.variables[0].indices
            if expr != pattern.expr:
                return None
        return dict(zip(names, values))

    def match(self, node: sp.Basic) -> bool:
        return any(self._bind(lemma, node) is not None for lemma in self.lemmas)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        for lemma in self.lemmas:
            binding = self._bind(lemma, node)
            if binding is None:
                continue
            a, b = (binding.get(x) for x in (*lemma.indices, None)[:2])
            if lemma.equal is not None and a == b:
                return lemma.equal.xreplace(binding)
            if lemma.distinct is not None and self.excluded.get(a) == b:
                return lemma.distinct.xreplace(binding)
            return lemma.general.xreplace(binding)
        return node


def substitute_lemmas(expr: sp.Expr, lemmas: tuple[Lemma, ...]) -> sp.Expr:
    """Apply :class:`Substitute`, knowing inside each Σ_{j≠k} that j ≠ k."""
    if isinstance(expr, sp.Sum) and len(expr.limits) == 1:
        var = expr.limits[0][0]
        found = excluded_index(expr.function, var)
        if found:
            excluded, body = found
            inner = _substitute(body, Substitute(lemmas=lemmas, excluded={var: excluded}))
            return sum_excluding(inner, var, excluded, expr.limits[0][2], keep=True)
    if isinstance(expr, (sp.Add, sp.Mul)):
        return expr.func(*(substitute_lemmas(a, lemmas) for a in expr.args), evaluate=False)
    return _substitute(expr, Substitute(lemmas=lemmas))


def _substitute(expr: sp.Expr, rule: Substitute) -> sp.Expr:
    if rule.match(expr):
        return rule.rewrite(expr)
    if isinstance(expr, (sp.Add, sp.Mul)):
        return expr.func(*(_substitute(a, rule) for a in expr.args), evaluate=False)
    new, _ = rewrite_everywhere(expr, rule)
    return new
