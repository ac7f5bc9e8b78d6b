"""Rules of the sigmoid family, as small data classes like those of ``derive.engine.rules``.

The sigmoid's definition read both ways, the two regroupings that turn e^{−z}/(1 + e^{−z})² into
σ(z)(1 − σ(z)), and the substitution of a result derived earlier. Each rewrites a node;
:func:`derive.engine.rules.rewrite_everywhere` applies it throughout. The calculus of a scalar variable (the
constant and identity rules, constant factors) is in ``derive.engine.calculus``, shared with other families.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import sympy as sp

from ...engine.calculus import ConstantRule, IdentityRule, ScalarConstantFactor, varies  # noqa: F401 (the family's rules)
from ...engine.rules import Rule
from .model import Logistic, sigmoid_definition


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
