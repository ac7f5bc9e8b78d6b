"""Rules of the two-layer network, as small data classes like those of ``derive.engine.rules``.

- ``definition`` (:class:`UnfoldLayer`): z_i, h_q, a_q written out as the network defines them;
- ``chain-rule`` (:class:`ActivationRule`): ∂f(a_q)/∂v = f'(a_q) ∂a_q/∂v, the activation's derivative inserted;
- ``algebra`` (:class:`PullOut`): factors of a sum's body that do not involve its index move in front (f'(a_j), x_l).
And the matrix objects of the matrix forms: f'(a) entry by entry, and the entrywise product u ⊙ v.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import sympy as sp

from ... import model as mdl
from ...engine.rules import Rule, derivative_parts
from ...model import D
from .model import Activation, ActivationPrime, NetworkModel, a, h, output_logit, pre_activation


@dataclass
class UnfoldLayer(Rule):
    """definition: a quantity of the network written out (z_i = Σ_q W⁽²⁾_iq h_q + b⁽²⁾_i, h_q = f(a_q),
    a_q = Σ_r W⁽¹⁾_qr x_r + b⁽¹⁾_q); only where it stands inside a derivative, the quantity being differentiated."""

    id: ClassVar[str] = "definition"
    name: str = "z"
    model: NetworkModel = field(default_factory=NetworkModel)

    def match(self, node: sp.Basic) -> bool:
        parts = derivative_parts(node)
        return parts is not None and isinstance(parts[0], sp.Indexed) and parts[0].base.label.name == self.name

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        entry, var = derivative_parts(node)  # type: ignore[misc]
        (index,) = entry.indices
        written = {"z": output_logit, "a": pre_activation,
                   "h": lambda u: Activation(a[u], self.model.kind)}[self.name](index)
        self.facts.setdefault("quantity", entry)
        self.facts.setdefault("definition", written)
        return D(written, var)


@dataclass
class ActivationRule(Rule):
    """chain-rule: ∂f(u)/∂v = f'(u) ∂u/∂v (tanh' = 1 − tanh², ReLU' = 1[u > 0])."""

    id: ClassVar[str] = "chain-rule"

    def match(self, node: sp.Basic) -> bool:
        parts = derivative_parts(node)
        return parts is not None and isinstance(parts[0], Activation)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        inner, var = derivative_parts(node)  # type: ignore[misc]
        u, kind = inner.args
        self.facts.setdefault("activation", inner)
        self.facts.setdefault("prime", ActivationPrime(u, kind))
        return sp.Mul(ActivationPrime(u, kind), D(u, var), evaluate=False)


def _pull(node: sp.Sum) -> sp.Expr:
    var = node.limits[0][0]
    factors = sp.Mul.make_args(node.function)
    outside = [f for f in factors if var not in f.free_symbols]
    inside = [f for f in factors if var in f.free_symbols]
    return sp.Mul(sp.Sum(sp.Mul(*inside), *node.limits), *outside, evaluate=False)


@dataclass
class PullOut(Rule):
    """algebra: Σ_i c u_i = (Σ_i u_i) c for every factor c without the index i (f'(a_j), x_l leave the sum)."""

    id: ClassVar[str] = "algebra"

    def match(self, node: sp.Basic) -> bool:
        if not (isinstance(node, sp.Sum) and len(node.limits) == 1 and isinstance(node.function, sp.Mul)):
            return False
        var = node.limits[0][0]
        factors = node.function.args
        return any(var not in f.free_symbols for f in factors) and any(var in f.free_symbols for f in factors)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        return _pull(node)


# -- matrix objects -------------------------------------------------------------------------------------------

class PrimeVector(sp.MatrixExpr):
    """f'(a), the activation's derivative entry by entry: a column of H entries (args: the vector a, kind)."""

    def derive_shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.args[0].shape

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.args[0].shape

    def derive_entry(self, row: sp.Expr, col: sp.Expr) -> sp.Expr:
        return ActivationPrime(a[row], self.args[1])

    def _derive_latex(self, printer) -> str:  # type: ignore[no-untyped-def]
        if self.args[1] == 0:
            return r"\left(1 - h \odot h\right)"
        return r"\mathbb{1}\left[a > 0\right]"

    def _derive_text(self, printer) -> str:  # type: ignore[no-untyped-def]
        return "(1 − h ⊙ h)" if self.args[1] == 0 else "1[a > 0]"


class Hadamard(sp.MatrixExpr):
    """u ⊙ v, the entrywise product of two matrices of one shape."""

    bracket_in_product = True  # (u ⊙ v) xᵀ: bracketed where it is a factor of a matrix product

    def derive_shape(self) -> tuple[sp.Expr, sp.Expr]:
        from ...matrices import ShapeMismatch, shape_of

        shapes = {shape_of(arg) for arg in self.args}
        if len(shapes) != 1:
            raise ShapeMismatch("⊙ needs two matrices of one shape")
        return shapes.pop()

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.derive_shape()

    def derive_entry(self, row: sp.Expr, col: sp.Expr) -> sp.Expr:
        from ...matrices import matrix_entry

        return sp.Mul(*(matrix_entry(arg, row, col) for arg in self.args))

    def _derive_latex(self, printer) -> str:  # type: ignore[no-untyped-def]
        return r" \odot ".join(_bracketed(printer, arg, r"\left({}\right)") for arg in self.args)

    def _derive_text(self, printer) -> str:  # type: ignore[no-untyped-def]
        return " ⊙ ".join(_bracketed(printer, arg, "({})") for arg in self.args)


def _bracketed(printer, arg, pattern: str) -> str:  # type: ignore[no-untyped-def]
    text = printer._print(arg)
    return pattern.format(text) if isinstance(arg, (sp.MatMul, sp.MatAdd, Hadamard)) else text
