"""What is differentiated: softmax, cross-entropy and their parts as SymPy expressions, symbolic in n.

Expressions are kept *folded*: the probabilities are the IndexedBase ``yhat`` and the loss the Symbol ``L``,
as a person writes them. :meth:`Model.to_base` expands them into base quantities (logits, labels, sizes) for
verification and for the certificate. A probability that is itself a variable of differentiation (∂L/∂ŷ_j in
the chain rule) cannot be expanded inside ``Derivative``; it stays ``yhat`` and :meth:`Model.definitions`
says how to substitute it once the derivative is evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import sympy as sp

from .notation import Target

# Canonical names; the printer maps them onto the user's notation.
z = sp.IndexedBase("z")
y = sp.IndexedBase("y")
yhat = sp.IndexedBase("yhat")
n = sp.Symbol("n", integer=True, positive=True)
N = sp.Symbol("N", integer=True, positive=True)
i, j, k, m = sp.symbols("i j k m", integer=True)
t, s = sp.symbols("t s", integer=True)           # example indices of a batch: summed (t), differentiated (s)
c = sp.Symbol("c", integer=True)                  # a class label, as in 1[k = c]
h = sp.Symbol("h", integer=True)                  # the hot index of a one-hot label when it is not named
L = sp.Symbol("L")
ell = sp.IndexedBase("ell")                       # per-example loss of a batch
W, x, b = sp.IndexedBase("W"), sp.IndexedBase("x"), sp.IndexedBase("b")   # a linear layer o = W x + b
M = sp.Symbol("m", integer=True, positive=True)   # input size of the linear layer
l, r = sp.symbols("l r", integer=True)  # noqa: E741  input indices: free (W_kl) and summed

INDEX_SYMBOLS = (i, j, k, m, t, s, c, h, l, r)
SIZE_SYMBOLS = (n, N, M)


def D(expr: sp.Expr, var: sp.Expr) -> sp.Derivative:
    """An unevaluated first derivative: the engine decides when and how it is evaluated."""
    return sp.Derivative(expr, var, evaluate=False)


def class_sum(body: sp.Expr, index: sp.Symbol) -> sp.Sum:
    return sp.Sum(body, (index, 1, n))


def fresh_index(*avoid: sp.Expr) -> sp.Symbol:
    """The first of i, j, k, m not free in ``avoid``: a summation variable that captures nothing."""
    taken = set().union(*(a.free_symbols for a in avoid)) if avoid else set()
    for candidate in (i, j, k, m):
        if candidate not in taken:
            return candidate
    raise ValueError("no free summation index")


def logits_at(index: sp.Expr, example: sp.Expr | None = None) -> sp.Expr:
    return z[example, index] if example is not None else z[index]


def partition_sum(example: sp.Expr | None = None, avoid: tuple[sp.Expr, ...] = ()) -> sp.Sum:
    """Σ_i e^{z_i}: the softmax denominator."""
    dummy = fresh_index(*avoid)
    return class_sum(sp.exp(logits_at(dummy, example)), dummy)


def linear_logits(index: sp.Expr) -> sp.Expr:
    """o_index = Σ_r W_{index r} x_r + b_index."""
    dummy = r if r not in sp.sympify(index).free_symbols else l
    return sp.Sum(W[index, dummy] * x[dummy], (dummy, 1, M)) + b[index]


def softmax(index: sp.Expr, example: sp.Expr | None = None) -> sp.Expr:
    """softmax(z)_index = e^{z_index} / Σ_i e^{z_i}."""
    return sp.exp(logits_at(index, example)) / partition_sum(example, avoid=(index,))


@dataclass(frozen=True)
class Model:
    """The quantities of one derivation and how they expand.

    ``probs_defined`` is False when the probabilities are the independent variables (the `cross-entropy`
    derivation), True when they are softmax of the logits.
    """

    target: Target = Target()
    probs_defined: bool = True
    batch: bool = False
    defined_loss: sp.Expr | None = None
    example_indices: tuple[sp.Symbol, ...] = (t, s)
    mistake: str | None = None
    linear: bool = False
    input_indices: tuple[sp.Symbol, ...] = (l, r)

    @property
    def label_index(self) -> sp.Symbol | None:
        """The symbol of a named hot index / class label, else None."""
        return c if self.target.name else None

    def loss(self, example: sp.Expr | None = None) -> sp.Expr:
        """The loss in folded form: -Σ_j y_j log ŷ_j, or -log ŷ_c for a class label."""
        if self.defined_loss is not None and example is None:
            return self.defined_loss
        if self.batch and example is None:
            return sp.Sum(ell[t], (t, 1, N)) / N
        if self.target.kind == "class":
            return -sp.log(self.prob(c, example))
        return -class_sum(self.label(j, example) * sp.log(self.prob(j, example)), j)

    def prob(self, index: sp.Expr, example: sp.Expr | None = None) -> sp.Expr:
        return yhat[example, index] if example is not None else yhat[index]

    def label(self, index: sp.Expr, example: sp.Expr | None = None) -> sp.Expr:
        return y[example, index] if example is not None else y[index]

    # -- expansion into base quantities -------------------------------------------------------------------

    def to_base(self, expr: sp.Expr, keep: tuple[str, ...] = ()) -> sp.Expr:
        """Replace every defined quantity (loss, probabilities, linear logits) by its definition, except the
        quantity a derivative is taken by, inside that derivative (see module docstring), and ``keep``."""
        return _expanded(self, expr, frozenset(keep))

    def _expand(self, expr: sp.Expr, keep: frozenset[str], build: Callable[..., sp.Expr]) -> sp.Expr:
        if expr == L:
            return self._expand(self.loss(), keep, build)
        if isinstance(expr, sp.Indexed) and expr.base == ell:
            return self._expand(self.loss(example=expr.indices[0]), keep, build)
        if isinstance(expr, sp.Indexed) and expr.base == yhat:
            if "yhat" in keep or not self.probs_defined:
                return expr
            return self._expand(build(expr.indices[-1], expr.indices[0] if len(expr.indices) == 2 else None),
                                keep, build)
        if isinstance(expr, sp.Indexed) and expr.base == z and self.linear and "z" not in keep:
            return linear_logits(expr.indices[0])
        if isinstance(expr, sp.Derivative):
            var = expr.variables[0]
            name = var.base.label.name if isinstance(var, sp.Indexed) else ""
            inner_build = mistaken_softmax(self.mistake) if self.mistake and name != "yhat" else build
            inner = self._expand(expr.expr, keep | {name}, inner_build)
            return sp.Derivative(inner, var, evaluate=False)
        if not expr.args or isinstance(expr, (sp.Indexed, sp.Symbol)):
            return expr
        return expr.func(*(self._expand(arg, keep, build) for arg in expr.args))

    def definitions(self) -> dict[str, tuple[tuple[sp.Symbol, ...], sp.Expr]]:
        """Definitions a re-checker substitutes after ``doit()``: name -> (indices, expression)."""
        if not self.probs_defined:
            return {}
        q = sp.Symbol("q", integer=True)  # an index used nowhere else, so nothing is captured
        found = {"yhat": ((t, q), softmax(q, t))} if self.batch else {"yhat": ((q,), softmax(q))}
        if self.linear:
            found["z"] = ((q,), linear_logits(q))
        return found


@lru_cache(maxsize=4096)
def _expanded(model: Model, expr: sp.Expr, keep: frozenset[str]) -> sp.Expr:
    """Memoised expansion: each step's "before" is the previous step's "after"."""
    return model._expand(expr, keep, softmax)


def mistaken_softmax(mistake: str) -> Callable[..., sp.Expr]:
    """Softmax as a student who made ``mistake`` differentiates it (for diagnoses of wrong steps):
    "denominator" holds Σ_i e^{z_i} constant; "sigmoid" lets entry j depend on its own logit only."""
    from .numeric import Frozen

    def build(index: sp.Expr, example: sp.Expr | None = None) -> sp.Expr:
        numerator = sp.exp(logits_at(index, example))
        if mistake == "denominator":
            return numerator / Frozen(partition_sum(example, avoid=(index,)))
        dummy = fresh_index(index)
        others = sp.Sum((1 - sp.KroneckerDelta(dummy, index)) * sp.exp(logits_at(dummy, example)), (dummy, 1, n))
        return numerator / (numerator + Frozen(others))
    return build


# -- matrix forms -------------------------------------------------------------------------------------------
# Whole vectors and matrices, for the step that writes an index result as (p - y) x^T. Vectors are columns.
MATRICES = {"yhat": sp.MatrixSymbol("yhat", n, 1), "y": sp.MatrixSymbol("y", n, 1), "z": sp.MatrixSymbol("z", n, 1),
            "x": sp.MatrixSymbol("x", M, 1), "b": sp.MatrixSymbol("b", n, 1), "W": sp.MatrixSymbol("W", n, M)}


class ShapeMismatch(ValueError):
    """A product or sum of matrices whose shapes do not fit."""


def shape_of(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr]:
    """The shape of a matrix expression, checked factor by factor (SymPy lets n×1 times m×1 through)."""
    if isinstance(expr, sp.MatrixSymbol):
        return expr.shape
    if isinstance(expr, sp.DiagMatrix):
        rows, cols = shape_of(expr.args[0])
        if cols != 1:
            raise ShapeMismatch(f"diag of a {_shape_text((rows, cols))} matrix")
        return rows, rows
    if isinstance(expr, sp.Derivative) and isinstance(expr.variables[0], sp.MatrixSymbol):
        if isinstance(expr.expr, sp.MatrixExpr):  # a Jacobian: rows of f by rows of v
            return shape_of(expr.expr)[0], expr.variables[0].shape[0]
        return expr.variables[0].shape
    if not isinstance(expr, sp.MatrixExpr):
        return sp.Integer(1), sp.Integer(1)
    if isinstance(expr, sp.Transpose):
        rows, cols = shape_of(expr.arg)
        return cols, rows
    if isinstance(expr, sp.MatAdd):
        shapes = {shape_of(a) for a in expr.args if isinstance(a, sp.MatrixExpr)}
        if len(shapes) != 1:
            raise ShapeMismatch("cannot add matrices of shapes " + " and ".join(_shape_text(s) for s in shapes))
        return shapes.pop()
    if isinstance(expr, sp.MatMul):
        factors = [a for a in expr.args if isinstance(a, sp.MatrixExpr)]
        rows, cols = shape_of(factors[0])
        for factor in factors[1:]:
            f_rows, f_cols = shape_of(factor)
            if cols != f_rows:
                raise ShapeMismatch(f"cannot multiply {_shape_text((rows, cols))} by {_shape_text((f_rows, f_cols))}")
            cols = f_cols
        return rows, cols
    raise ShapeMismatch(f"no shape for {type(expr).__name__}")


def _shape_text(shape: tuple[sp.Expr, sp.Expr]) -> str:
    return f"{shape[0]}×{shape[1]}"


def derivative_entry(expr: sp.Derivative, row: sp.Expr, col: sp.Expr) -> sp.Expr:
    """Entry (row, col) of ∂F/∂V: ∂F/∂V_{row col} for a scalar F; the Jacobian ∂f_row/∂v_col for vectors."""
    inner, var = expr.expr, expr.variables[0]
    if isinstance(inner, sp.MatrixExpr):
        return D(matrix_entry(inner, row, sp.Integer(1)), matrix_entry(var, col, sp.Integer(1)))
    return D(inner, matrix_entry(var, row, col))


def matrix_entry(expr: sp.Basic, row: sp.Expr, col: sp.Expr) -> sp.Expr:
    """Entry (row, col), 1-based, of a matrix expression, in index notation: ((p - y) x^T)_{kl} = (p_k - y_k) x_l."""
    if isinstance(expr, sp.DiagMatrix):
        return sp.KroneckerDelta(row, col) * matrix_entry(expr.args[0], row, sp.Integer(1))
    if isinstance(expr, sp.MatrixSymbol):
        base = sp.IndexedBase(expr.name)
        rows, cols = expr.shape
        if cols == 1:
            return base[row]
        if rows == 1:
            return base[col]
        return base[row, col]
    if isinstance(expr, sp.Transpose):
        return matrix_entry(expr.arg, col, row)
    if isinstance(expr, sp.MatAdd):
        return sp.Add(*(matrix_entry(a, row, col) for a in expr.args))
    if isinstance(expr, sp.MatMul):
        shape_of(expr)
        scalars = [a for a in expr.args if not isinstance(a, sp.MatrixExpr)]
        factors = [a for a in expr.args if isinstance(a, sp.MatrixExpr)]
        value = matrix_entry(factors[0], row, sp.Integer(1)) if len(factors) == 1 else None
        if len(factors) == 2:
            inner = shape_of(factors[0])[1]
            if inner != 1:
                dummy = sp.Symbol("u", integer=True)
                value = sp.Sum(matrix_entry(factors[0], row, dummy) * matrix_entry(factors[1], dummy, col),
                               (dummy, 1, inner))
            else:
                value = matrix_entry(factors[0], row, 1) * matrix_entry(factors[1], 1, col)
        if value is None:
            raise ShapeMismatch("products of more than two matrices are not read")
        return sp.Mul(*scalars) * value
    raise ShapeMismatch(f"not a matrix expression: {type(expr).__name__}")


def matrix_form(entry: sp.Expr, row: sp.Symbol, col: sp.Expr) -> sp.Expr:
    """The matrix whose (row, col) entry is ``entry``: (ŷ_k − y_k) x_l -> (ŷ − y) xᵀ; ŷ_j δ_jk − ŷ_j ŷ_k ->
    diag(ŷ) − ŷ ŷᵀ. Entries indexed by ``row`` become column vectors, by ``col`` transposed row vectors.
    Built with evaluate=False: SymPy's matrix arithmetic sets up its dispatch tables on first use (0.1 s)."""
    if isinstance(entry, sp.Add):
        return sp.MatAdd(*(matrix_form(term, row, col) for term in entry.args), evaluate=False)
    factors = list(sp.Mul.make_args(entry))
    diagonal = sp.KroneckerDelta(row, col) in factors
    if diagonal:
        factors.remove(sp.KroneckerDelta(row, col))
    scalars = [f for f in factors if row not in f.free_symbols and col not in f.free_symbols]
    columns = [f for f in factors if row in f.free_symbols]
    rows = [f for f in factors if col in f.free_symbols and row not in f.free_symbols]
    if len(columns) != 1 or len(rows) > 1:
        raise ShapeMismatch(f"cannot write {entry} as a matrix")
    column = columns[0]
    if isinstance(column, sp.Add):
        vector = matrix_form(column, row, sp.Integer(1))
    elif isinstance(column, sp.Indexed) and column.indices == (row,) and column.base.label.name in MATRICES:
        vector = MATRICES[column.base.label.name]
    else:
        raise ShapeMismatch(f"cannot write {column} as a vector")
    parts: list[sp.Expr] = [sp.DiagMatrix(vector) if diagonal else vector]
    if rows:
        (row_factor,) = rows
        if not (isinstance(row_factor, sp.Indexed) and row_factor.indices == (col,)):
            raise ShapeMismatch(f"cannot write {row_factor} as a row vector")
        parts.append(sp.Transpose(MATRICES[row_factor.base.label.name]))
    scalar = sp.Mul(*scalars)
    if scalar == 1 and len(parts) == 1:
        return parts[0]
    return sp.MatMul(*([scalar] if scalar != 1 else []), *parts, evaluate=False)
