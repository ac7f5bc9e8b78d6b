"""Rules of the differentials route: matrix calculus as in the answer to the linear-layer question.

The loss is written with the Frobenius product, L = −y : log ŷ; its differential is pushed inward by the rules
of differentials (linearity, constant factors, the logarithm), the Jacobian of softmax is substituted, the
Frobenius product moves every factor off the parameters' differentials, and the gradients are read off
dL = G_W : dW + G_b : db. Each rule is a small data class like those of :mod:`derive.engine.rules`, applied by
the same tracer, and each step is verified entry by entry in index notation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import sympy as sp

from .. import model as mdl
from ..matrices import (IDENTITY, MATRICES, ONES, ElementwiseLog, Frobenius, MatrixDifferential, differential,
                        matrix_sum, product, varies)
from ..model import TotalDifferential
from .rules import Rule

DIFFERENTIALS = (TotalDifferential, MatrixDifferential)


def loss_as_frobenius() -> sp.Expr:
    """L = −y : log ŷ, the cross-entropy as an inner product of the labels and the elementwise log."""
    return Frobenius(product(-1, MATRICES["y"]), ElementwiseLog(MATRICES["yhat"]))


def layer_definition(bias: bool = True) -> sp.Expr:
    """z = Wx + b, or z = Wx for a layer the user wrote without a bias."""
    weighted = product(MATRICES["W"], MATRICES["x"])
    return matrix_sum(weighted, MATRICES["b"]) if bias else weighted


MATRIX_DEFINITIONS: dict[sp.Basic, sp.Expr] = {
    mdl.L: loss_as_frobenius(),
    MATRICES["z"]: layer_definition(),
}


def coefficient_and_factors(node: sp.Basic) -> tuple[sp.Expr, list[sp.Basic]]:
    """A matrix product as (scalar coefficient, matrix factors); any other matrix as (1, [itself])."""
    if isinstance(node, sp.MatMul):
        scalars = [a for a in node.args if not isinstance(a, sp.MatrixExpr)]
        return sp.Mul(*scalars), [a for a in node.args if isinstance(a, sp.MatrixExpr)]
    return sp.Integer(1), [node]


@dataclass
class UnfoldMatrix(Rule):
    """definition: a quantity replaced by its matrix definition (the loss as −y : log ŷ, z = Wx + b)."""

    id: ClassVar[str] = "definition"
    names: tuple[sp.Basic, ...] = (mdl.L,)
    bias: bool = True  # whether the layer z = Wx + b has its bias

    def match(self, node: sp.Basic) -> bool:
        return node in self.names

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        return layer_definition(self.bias) if node == MATRICES["z"] else MATRIX_DEFINITIONS[node]


@dataclass
class DifferentialSum(Rule):
    """differential: d(A + B) = dA + dB."""

    id: ClassVar[str] = "differential"

    def match(self, node: sp.Basic) -> bool:
        return isinstance(node, DIFFERENTIALS) and isinstance(node.args[0], (sp.MatAdd, sp.Add))

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        terms = [differential(term) for term in node.args[0].args]
        return matrix_sum(*terms) if isinstance(node, MatrixDifferential) else sp.Add(*terms)


@dataclass
class DifferentialConstant(Rule):
    """differential: what does not change with the parameters stays outside, d(A : F) = A : dF,
    d(F c) = dF c, d(cF) = c dF."""

    id: ClassVar[str] = "differential"

    def match(self, node: sp.Basic) -> bool:
        if not isinstance(node, DIFFERENTIALS):
            return False
        inner = node.args[0]
        if isinstance(inner, Frobenius):
            return not varies(inner.args[0]) and varies(inner.args[1])
        if isinstance(inner, sp.MatMul):
            return sum(varies(f) for f in coefficient_and_factors(inner)[1]) == 1
        return False

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        inner = node.args[0]
        if isinstance(inner, Frobenius):
            self.facts.update(fixed=product(*coefficient_and_factors(inner.args[0])[1]), inner_product=sp.Integer(1))
            return Frobenius(inner.args[0], differential(inner.args[1]))
        coeff, factors = coefficient_and_factors(inner)
        self.facts.update(fixed=product(*(f for f in factors if not varies(f))), inner_product=sp.Integer(0))
        return product(coeff, *(differential(f) if varies(f) else f for f in factors))


@dataclass
class DifferentialLog(Rule):
    """log-rule: d log v = diag(v)⁻¹ dv, entry by entry d log v_j = dv_j / v_j."""

    id: ClassVar[str] = "log-rule"

    def match(self, node: sp.Basic) -> bool:
        return isinstance(node, MatrixDifferential) and isinstance(node.args[0], ElementwiseLog)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        vector = node.args[0].args[0]
        return product(sp.Inverse(sp.DiagMatrix(vector)), MatrixDifferential(vector))


@dataclass
class SubstituteMatrix(Rule):
    """substitute: replace a quantity by a result derived elsewhere (dŷ = J dz with J the Jacobian)."""

    id: ClassVar[str] = "substitute"
    lhs: sp.Basic = sp.S.Zero
    rhs: sp.Basic = sp.S.Zero

    def match(self, node: sp.Basic) -> bool:
        return node == self.lhs or (isinstance(node, sp.MatMul) and self.lhs in node.args)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        self.facts.update(replaced=self.lhs, by=self.rhs, by_matrix=coefficient_and_factors(self.rhs)[1][0])
        if node == self.lhs:
            return self.rhs
        coeff, factors = coefficient_and_factors(node)  # keep one flat product: A (B C) is A B C
        spliced = [g for f in factors for g in (coefficient_and_factors(self.rhs)[1] if f == self.lhs else [f])]
        return product(coeff * coefficient_and_factors(self.rhs)[0], *spliced)


# Products the algebra knows: diag(v)⁻¹ diag(v) = I, diag(v)⁻¹ v = 1, I A = A, A I = A.
def _pair_product(left: sp.Basic, right: sp.Basic) -> sp.Basic | None:
    if isinstance(left, sp.Inverse) and isinstance(left.arg, sp.DiagMatrix):
        if right == left.arg:
            return IDENTITY
        if right == left.arg.args[0]:
            return ONES
    if left == IDENTITY:
        return right
    if right == IDENTITY:
        return left
    return None


def simplify_product(node: sp.Basic) -> sp.Basic:
    """Apply the known pair products inside one matrix product, left to right."""
    coeff, factors = coefficient_and_factors(node)
    out: list[sp.Basic] = []
    for factor in factors:
        joined = _pair_product(out[-1], factor) if out else None
        if joined is not None:
            out[-1] = joined
        else:
            out.append(factor)
    return product(coeff, *out)


def distribute_products(expr: sp.Basic) -> sp.Basic:
    """A (B + C) D = A B D + A C D for the first sum factor of a product, each term then simplified."""
    coeff, factors = coefficient_and_factors(expr)
    for position, factor in enumerate(factors):
        if isinstance(factor, sp.MatAdd):
            before, after = factors[:position], factors[position + 1:]
            terms = []
            for term in factor.args:
                term_coeff, term_factors = coefficient_and_factors(term)
                terms.append(simplify_product(product(coeff * term_coeff, *before, *term_factors, *after)))
            return matrix_sum(*terms)
    return expr


def cancel_inverse(expr: sp.Basic) -> sp.Basic:
    """diag(ŷ)⁻¹ (diag(ŷ) − ŷ ŷᵀ) = I − 1 ŷᵀ: multiply the inverse into the bracket and cancel."""
    def rewrite(node: sp.MatMul) -> sp.Basic:
        coeff, factors = coefficient_and_factors(node)
        first, second, rest = factors[0], factors[1], factors[2:]
        return product(coeff, distribute_products(product(first, second)), *rest)
    return expr.replace(
        lambda e: isinstance(e, sp.MatMul) and len(coefficient_and_factors(e)[1]) >= 2
        and isinstance(coefficient_and_factors(e)[1][0], sp.Inverse)
        and isinstance(coefficient_and_factors(e)[1][1], sp.MatAdd), rewrite)


def transpose_out(expr: sp.Basic) -> sp.Basic:
    """−(I − 1 ŷᵀ)ᵀ y = (ŷ 1ᵀ − I) y: transpose each term of the bracket and take the sign inside."""
    def transposed(term: sp.Basic) -> sp.Basic:
        coeff, factors = coefficient_and_factors(term)
        flipped = [f.arg if isinstance(f, sp.Transpose) else f if f == IDENTITY else sp.Transpose(f)
                   for f in reversed(factors)]
        return product(-coeff, *flipped)

    def rewrite(node: sp.MatMul) -> sp.Basic:
        coeff, factors = coefficient_and_factors(node)
        bracket = factors[0].arg
        return product(-coeff, matrix_sum(*(transposed(t) for t in bracket.args)), *factors[1:])
    return expr.replace(
        lambda e: isinstance(e, sp.MatMul) and coefficient_and_factors(e)[0].could_extract_minus_sign()
        and isinstance(coefficient_and_factors(e)[1][0], sp.Transpose)
        and isinstance(coefficient_and_factors(e)[1][0].arg, sp.MatAdd), rewrite)


def expand_first_product(expr: sp.Basic) -> sp.Basic:
    """(ŷ 1ᵀ − I) y xᵀ = (ŷ (1ᵀ y) − y) xᵀ: the bracket times the vector after it."""
    coeff, factors = coefficient_and_factors(expr)
    if len(factors) < 2 or not isinstance(factors[0], sp.MatAdd):
        return expr
    bracket, vector, rest = factors[0], factors[1], factors[2:]
    terms = []
    for term in bracket.args:
        term_coeff, term_factors = coefficient_and_factors(term)
        if len(term_factors) == 2 and isinstance(term_factors[1], sp.Transpose):  # u vᵀ y = u (vᵀ y)
            terms.append(product(term_coeff, term_factors[0], product(term_factors[1], vector)))
        else:
            terms.append(simplify_product(product(term_coeff, *term_factors, vector)))
    return product(coeff, matrix_sum(*terms), *rest)


MATRIX_MOVES = {
    "cancel-inverse": cancel_inverse,
    "transpose": transpose_out,
    "expand-product": expand_first_product,
}


@dataclass
class FrobeniusLinear(Rule):
    """frobenius: A : (B + C) = A : B + A : C."""

    id: ClassVar[str] = "frobenius"

    def match(self, node: sp.Basic) -> bool:
        return isinstance(node, Frobenius) and isinstance(node.args[1], sp.MatAdd)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        left, right = node.args
        return sp.Add(*(Frobenius(left, term) for term in right.args))


@dataclass
class FrobeniusMove(Rule):
    """frobenius: A : B dX C = Bᵀ A Cᵀ : dX — the factors around a differential move to the other side
    (A : BC = BᵀA : C and A : BC = ACᵀ : B, the cyclic property of the trace)."""

    id: ClassVar[str] = "frobenius"

    def match(self, node: sp.Basic) -> bool:
        if not isinstance(node, Frobenius) or not isinstance(node.args[1], sp.MatMul):
            return False
        factors = coefficient_and_factors(node.args[1])[1]
        return sum(isinstance(f, MatrixDifferential) for f in factors) == 1 and len(factors) > 1

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        left, right = node.args
        coeff, factors = coefficient_and_factors(right)
        where = next(i for i, f in enumerate(factors) if isinstance(f, MatrixDifferential))
        before, after = factors[:where], factors[where + 1:]
        left_coeff, left_factors = coefficient_and_factors(left)
        moved = [sp.Transpose(f) for f in reversed(before)] + left_factors + [sp.Transpose(f) for f in reversed(after)]
        self.facts["side"] = sp.Integer(1 if before else 0)
        return Frobenius(product(coeff * left_coeff, *moved), factors[where])


@dataclass
class MatrixOneHot(Rule):
    """one-hot: 1ᵀy = Σ_j y_j = 1 for one-hot labels (or a distribution)."""

    id: ClassVar[str] = "one-hot"

    def match(self, node: sp.Basic) -> bool:
        return isinstance(node, sp.MatMul) and any(_is_label_sum(a) for a in node.args)

    def rewrite(self, node: sp.Basic) -> sp.Basic:
        coeff, factors = coefficient_and_factors(node)
        return product(coeff, *(f for f in factors if not _is_label_sum(f)))


@dataclass
class MatrixSumToOne(MatrixOneHot):
    """sum-to-one: 1ᵀy = 1 for labels that form a distribution."""

    id: ClassVar[str] = "sum-to-one"


def _is_label_sum(node: sp.Basic) -> bool:
    return isinstance(node, sp.MatMul) and node.args == (sp.Transpose(ONES), MATRICES["y"])


def read_off(differential_form: sp.Expr, parameter: sp.MatrixSymbol) -> sp.Expr:
    """G in dL = … + G : dX + …: the gradient by X, since dL = Σ ∂L/∂X_ac dX_ac for every direction."""
    for term in sp.Add.make_args(differential_form):
        if isinstance(term, Frobenius) and term.args[1] == MatrixDifferential(parameter):
            return term.args[0]
    raise ValueError(f"no term in d{parameter} in {differential_form}")
