"""Calculus rules that hold for any model, as small data classes like those of ``derive.engine.rules``: the
constant rule, the identity rule and constant factors, for a scalar variable (the sigmoid's z) as for an entry of
a vector (z_k). What depends on what is asked of the model, through its expansion into base quantities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import sympy as sp

from ..model import D, Model
from .rules import ConstantFactor, Rule, derivative_parts


def varies(expr: sp.Expr, var: sp.Expr, model: Model) -> bool:
    """Whether ``expr`` (folded) depends on ``var``, a scalar symbol or an entry z_s (any entry of its vector:
    z_t may equal z_s, so it counts as depending)."""
    base = model.to_base(expr)
    plain = model.to_base(var)
    if isinstance(plain, sp.Indexed):
        return any(entry.base == plain.base for entry in base.atoms(sp.Indexed))
    return plain in base.free_symbols


@dataclass
class ConstantRule(Rule):
    """constant-rule: what does not depend on the variable has derivative 0 (∂1/∂z = 0)."""

    id: ClassVar[str] = "constant-rule"
    model: Model = field(default_factory=Model)

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

    model: Model = field(default_factory=Model)  # type: ignore[assignment]

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
