"""Rules of the sigmoid family, as small data classes like those of ``derive.engine.rules``.

Scalar differentiation (a constant, the variable itself, constant factors of a scalar variable), the
sigmoid's definition read both ways, and the two regroupings that turn e^{−z}/(1 + e^{−z})² into
σ(z)(1 − σ(z)). Each rewrites a node; :func:`derive.engine.rules.rewrite_everywhere` applies it throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import sympy as sp

from ...engine.rules import ConstantFactor, Rule, derivative_parts
from ...model import D
from .model import Logistic, SigmoidModel, sigmoid_definition


def varies(expr: sp.Expr, var: sp.Expr, model: SigmoidModel) -> bool:
    """Whether ``expr`` (folded) depends on ``var``, a scalar symbol or an entry z_s (any entry of its vector:
    z_t may equal z_s, so it counts as depending)."""
    base = model.to_base(expr)
    plain = model.to_base(var)
    if isinstance(plain, sp.Indexed):
        return any(entry.base == plain.base for entry in base.atoms(sp.Indexed))
    return plain in base.free_symbols


# -- the definition ------------------------------------------------------------------------------------------

@dataclass
class UnfoldSigmoid(Rule):
    """definition: σ(u) = 1/(1 + e^{−u})."""

    id: ClassVar[str] = "definition"

    def match(self, node: sp.Basic) -> bool:
        return isinstance(node, Logistic)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        written = sigmoid_definition(node.args[0])
        self.facts.setdefault("prob", node)
        self.facts.setdefault("definition", written)
        return written


def _sigmoid_argument(node: sp.Basic) -> sp.Expr | None:
    """u where ``node`` is 1/(1 + e^{−u}), else None."""
    if not (isinstance(node, sp.Pow) and node.exp == -1 and isinstance(node.base, sp.Add)):
        return None
    terms = node.base.args
    if len(terms) != 2 or sp.S.One not in terms:
        return None
    other = terms[0] if terms[1] == 1 else terms[1]
    return -other.args[0] if isinstance(other, sp.exp) else None


@dataclass
class FoldSigmoid(Rule):
    """fold-definition: 1/(1 + e^{−u}) is σ(u) again."""

    id: ClassVar[str] = "fold-definition"

    def match(self, node: sp.Basic) -> bool:
        return _sigmoid_argument(node) is not None

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        folded = Logistic(_sigmoid_argument(node))
        self.facts.setdefault("prob", folded)
        self.facts.setdefault("definition", node)
        return folded


# -- scalar differentiation ----------------------------------------------------------------------------------

@dataclass
class ConstantRule(Rule):
    """constant-rule: what does not depend on the variable has derivative 0 (∂1/∂z = 0)."""

    id: ClassVar[str] = "constant-rule"
    model: SigmoidModel = field(default_factory=SigmoidModel)

    def match(self, node: sp.Basic) -> bool:
        parts = derivative_parts(node)
        return parts is not None and not varies(parts[0], parts[1], self.model)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        self.facts.setdefault("derivative", node)
        return sp.S.Zero


@dataclass
class IdentityRule(Rule):
    """identity-rule: the variable by itself, ∂z/∂z = 1."""

    id: ClassVar[str] = "identity-rule"

    def match(self, node: sp.Basic) -> bool:
        parts = derivative_parts(node)
        return parts is not None and parts[0] == parts[1] and isinstance(parts[1], sp.Symbol)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        self.facts.setdefault("derivative", node)
        return sp.S.One


@dataclass
class ScalarConstantFactor(ConstantFactor):
    """constant-factor: factors that do not depend on the variable (−1, the label y) move out of the derivative."""

    model: SigmoidModel = field(default_factory=SigmoidModel)  # type: ignore[assignment]

    def _split(self, node: sp.Basic) -> tuple[list[sp.Expr], list[sp.Expr], sp.Expr] | None:
        parts = derivative_parts(node)
        if not parts or not isinstance(parts[0], sp.Mul):
            return None
        expr, var = parts
        const = [f for f in expr.args if not varies(f, var, self.model)]
        varying = [f for f in expr.args if varies(f, var, self.model)]
        return (const, varying, var) if const and varying else None

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        const, varying, var = self._split(node)  # type: ignore[misc]
        return sp.Mul(*const, D(sp.Mul(*varying), var))  # one product: −1 times (1 − y) stays −(1 − y)


# -- regroupings ----------------------------------------------------------------------------------------------

def _over_square(node: sp.Basic) -> tuple[sp.Expr, sp.Expr] | None:
    """(a, v) where ``node`` is a / v², else None."""
    if not isinstance(node, sp.Mul):
        return None
    squares = [f for f in node.args if isinstance(f, sp.Pow) and f.exp == -2]
    if len(squares) != 1:
        return None
    rest = sp.Mul(*(f for f in node.args if f is not squares[0]))
    return rest, squares[0].base


def shown_product(*factors: sp.Expr) -> sp.Mul:
    """A product kept as written, each factor a fraction of its own: (1/v)·(a/v), not a/v². The factors are
    unevaluated products themselves, which is what tells the printer to show them side by side."""
    return sp.Mul(*(sp.Mul(sp.S.One, f, evaluate=False) if isinstance(f, sp.Pow) else f for f in factors),
                  evaluate=False)


@dataclass
class SplitFraction(Rule):
    """algebra: a / v² = (1/v) · (a/v), one factor of the square under each fraction."""

    id: ClassVar[str] = "algebra"

    def match(self, node: sp.Basic) -> bool:
        return _over_square(node) is not None

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        numerator, v = _over_square(node)  # type: ignore[misc]
        self.facts.setdefault("denominator", v)
        return shown_product(sp.Pow(v, -1), sp.Mul(numerator, sp.Pow(v, -1)))


def _complement(node: sp.Basic) -> tuple[sp.Expr, sp.Expr] | None:
    """(c, v) where ``node`` is a / v with v = c + a (a fraction whose denominator exceeds the numerator by c)."""
    if not isinstance(node, sp.Mul):
        return None
    inverses = [f for f in node.args if isinstance(f, sp.Pow) and f.exp == -1 and isinstance(f.base, sp.Add)]
    if len(inverses) != 1:
        return None
    v = inverses[0].base
    numerator = sp.Mul(*(f for f in node.args if f is not inverses[0]))
    if numerator.is_Number or numerator not in v.args:
        return None
    return v - numerator, v


@dataclass
class Complement(Rule):
    """algebra: a / (c + a) = 1 − c / (c + a), e.g. e^{−z}/(1 + e^{−z}) = 1 − 1/(1 + e^{−z})."""

    id: ClassVar[str] = "algebra"

    def match(self, node: sp.Basic) -> bool:
        return _complement(node) is not None or (isinstance(node, sp.Mul) and any(
            _complement(factor) is not None for factor in node.args))

    def _rewrite_one(self, node: sp.Basic) -> sp.Expr:
        c, v = _complement(node)  # type: ignore[misc]
        self.facts.setdefault("fraction", node)
        self.facts.setdefault("complement", 1 - c / v)
        return 1 - c / v

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        if _complement(node) is not None:
            return self._rewrite_one(node)
        return shown_product(*(self._rewrite_one(f) if _complement(f) is not None else f for f in node.args))


@dataclass
class UseResult(Rule):
    """substitute: a derivative derived in an earlier part (∂σ(z)/∂z = σ(z)(1 − σ(z))) replaces its occurrences.
    The product it lands in is kept as it stands, so the reader sees what is inserted before anything cancels."""

    id: ClassVar[str] = "substitute"
    lhs: sp.Expr = sp.S.Zero
    rhs: sp.Expr = sp.S.Zero

    def match(self, node: sp.Basic) -> bool:
        return node == self.lhs or (isinstance(node, sp.Mul) and self.lhs in node.args)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        self.facts.setdefault("derivative", self.lhs)  # not "lhs": that fact starts a new chain of equalities
        self.facts.setdefault("value", self.rhs)
        if node == self.lhs:
            return self.rhs
        rest = sp.Mul(*(f for f in node.args if f != self.lhs))
        return sp.Mul(rest, self.rhs, evaluate=False)
