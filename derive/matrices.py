"""Whole vectors and matrices: their shapes, their entries in index notation, and the objects of the
differentials route (the Frobenius product A : B, the differential dF, the elementwise logarithm).

Every matrix expression reads back as index notation entry by entry (:func:`matrix_entry`), so a matrix step is
verified, and re-checked from its certificate, by the same scalar machinery as an index step. Vectors are
columns. Products and sums are built with ``evaluate=False``: SymPy's matrix arithmetic would reorder or
simplify them, and sets up its dispatch tables on first use (0.1 s).
"""

from __future__ import annotations

import sympy as sp

from .model import M, D, TotalDifferential, n

MATRICES = {"yhat": sp.MatrixSymbol("yhat", n, 1), "y": sp.MatrixSymbol("y", n, 1), "z": sp.MatrixSymbol("z", n, 1),
            "x": sp.MatrixSymbol("x", M, 1), "b": sp.MatrixSymbol("b", n, 1), "W": sp.MatrixSymbol("W", n, M)}
ONES = sp.OneMatrix(n, 1)     # the vector of ones: 1ᵀy = Σ_j y_j
IDENTITY = sp.Identity(n)
PARAMETERS = ("W", "b")       # what the differentials route differentiates by
VARYING = ("W", "b", "z", "yhat")  # quantities that change with the parameters


class ShapeMismatch(ValueError):
    """A product or sum of matrices whose shapes do not fit."""


class Frobenius(sp.Expr):
    """A : B = Σ_ab A_ab B_ab = tr(AᵀB), the inner product of two matrices (or vectors) of one shape."""

    is_commutative = True


class MatrixDifferential(sp.MatrixExpr):
    """dF of a vector or matrix F: the matrix of the entries' differentials (same shape as F)."""

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.args[0].shape


class ElementwiseLog(sp.MatrixExpr):
    """log(v) applied entry by entry (SymPy's own functions of a matrix are matrix functions)."""

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.args[0].shape


class RowOf(sp.MatrixExpr):
    """Row ``index`` of a matrix, a 1×m row vector: w_k = W_{k,:}, whose gradient is a row too."""

    _diff_wrt = True  # a variable of differentiation, like a MatrixSymbol

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return sp.Integer(1), self.args[0].shape[1]


class ExampleOf(sp.MatrixExpr):
    """The vector of one example of a batch, x⁽ᵗ⁾: entry k is x_{t k}."""

    _diff_wrt = True  # a variable of differentiation (∇_{θ_r} J), like a MatrixSymbol

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.args[0].shape


class BatchSum(sp.MatrixExpr):
    """Σ_t F⁽ᵗ⁾ over the examples of a batch, a matrix of F's shape (SymPy's Sum is for scalars)."""

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.args[0].shape


def differential(expr: sp.Basic) -> sp.Basic:
    """dF, as a matrix for a matrix F and as a scalar otherwise."""
    return MatrixDifferential(expr) if isinstance(expr, sp.MatrixExpr) else TotalDifferential(expr)


def product(*factors: sp.Basic) -> sp.Basic:
    """A matrix product kept as written; one factor stands for itself."""
    factors = tuple(f for f in factors if f != 1)
    return factors[0] if len(factors) == 1 else sp.MatMul(*factors, evaluate=False)


def matrix_sum(*terms: sp.Basic) -> sp.Basic:
    return terms[0] if len(terms) == 1 else sp.MatAdd(*terms, evaluate=False)


def varies(expr: sp.Basic) -> bool:
    """Whether a matrix expression changes with the layer's parameters (contains W, b, z or ŷ)."""
    return any(s.name in VARYING for s in expr.atoms(sp.MatrixSymbol))


# -- shapes ---------------------------------------------------------------------------------------------------

def shape_of(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr]:
    """The shape of a matrix expression, checked factor by factor (SymPy lets n×1 times m×1 through)."""
    if hasattr(expr, "derive_shape"):  # a family's own matrix expression (the network's f'(a), ⊙)
        return expr.derive_shape()
    if isinstance(expr, (sp.MatrixSymbol, sp.Identity, sp.OneMatrix, RowOf)):
        return expr.shape
    if isinstance(expr, sp.DiagMatrix):
        rows, cols = shape_of(expr.args[0])
        if cols != 1:
            raise ShapeMismatch(f"diag of a {_shape_text((rows, cols))} matrix")
        return rows, rows
    if isinstance(expr, sp.MatPow) and expr.args[1] == -1:  # Inverse is a MatPow; A * B may make either
        rows, cols = shape_of(expr.args[0])
        if rows != cols:
            raise ShapeMismatch(f"the inverse of a {_shape_text((rows, cols))} matrix")
        return rows, cols
    if isinstance(expr, (MatrixDifferential, ElementwiseLog, ExampleOf, BatchSum)):  # the shape of what they hold
        return shape_of(expr.args[0])
    if isinstance(expr, sp.HadamardProduct):  # a ⊙ b: one shape for both
        shapes = {shape_of(a) for a in expr.args}
        if len(shapes) != 1:
            raise ShapeMismatch("⊙ of matrices of shapes " + " and ".join(_shape_text(s) for s in shapes))
        return shapes.pop()
    if isinstance(expr, sp.Derivative) and isinstance(expr.variables[0], sp.MatrixExpr):
        if isinstance(expr.expr, sp.MatrixExpr):  # a Jacobian: rows of f by rows of v
            return shape_of(expr.expr)[0], expr.variables[0].shape[0]
        return expr.variables[0].shape
    if isinstance(expr, sp.Mul) and not isinstance(expr, sp.MatrixExpr) and is_matrix(expr):  # (∂L/∂f_k)(∂f_k/∂w_k)
        found = [shape_of(f) for f in expr.args if is_matrix(f)]
        if len(found) != 1:
            raise ShapeMismatch("a product of derivatives by matrices is not read")
        return found[0]
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


# -- entries --------------------------------------------------------------------------------------------------

def _fresh(count: int, *taken: sp.Expr) -> list[sp.Symbol]:
    """Summation indices u1, u2, ... that capture nothing in ``taken`` (entries nest: inner sums avoid outer)."""
    used = set().union(*(sp.sympify(t).free_symbols for t in taken)) if taken else set()
    out: list[sp.Symbol] = []
    number = 0
    while len(out) < count:
        number += 1
        candidate = sp.Symbol(f"u{number}", integer=True)
        if candidate not in used:
            out.append(candidate)
    return out


def derivative_entry(expr: sp.Derivative, row: sp.Expr, col: sp.Expr) -> sp.Expr:
    """Entry (row, col) of ∂F/∂V: ∂F/∂V_{row col} for a scalar F; the Jacobian ∂f_row/∂v_col for vectors."""
    inner, var = expr.expr, expr.variables[0]
    if isinstance(inner, sp.MatrixExpr):
        return D(matrix_entry(inner, row, sp.Integer(1)), matrix_entry(var, col, sp.Integer(1)))
    return D(inner, matrix_entry(var, row, col))


def matrix_entry(expr: sp.Basic, row: sp.Expr, col: sp.Expr) -> sp.Expr:
    """Entry (row, col), 1-based, of a matrix expression, in index notation: ((p - y) x^T)_{kl} = (p_k - y_k) x_l."""
    if hasattr(expr, "derive_entry"):  # a family's own matrix expression (the network's f'(a), ⊙)
        return expr.derive_entry(row, col)
    if isinstance(expr, sp.Derivative) and isinstance(expr.variables[0], sp.MatrixExpr):
        return derivative_entry(expr, row, col)
    if isinstance(expr, sp.Mul) and not isinstance(expr, sp.MatrixExpr) and is_matrix(expr):
        return sp.Mul(*(matrix_entry(f, row, col) if is_matrix(f) else f for f in expr.args))
    if isinstance(expr, RowOf):
        return matrix_entry(expr.args[0], expr.args[1], col)
    if isinstance(expr, ExampleOf):
        vector, example = expr.args
        return sp.IndexedBase(vector.name)[example, row]
    if isinstance(expr, BatchSum):
        body, example, upper = expr.args
        return sp.Sum(matrix_entry(body, row, col), (example, 1, upper))
    if isinstance(expr, sp.DiagMatrix):
        return sp.KroneckerDelta(row, col) * matrix_entry(expr.args[0], row, sp.Integer(1))
    if isinstance(expr, sp.MatPow) and expr.args[1] == -1 and isinstance(expr.args[0], sp.DiagMatrix):
        return sp.KroneckerDelta(row, col) / matrix_entry(expr.args[0].args[0], row, sp.Integer(1))
    if isinstance(expr, sp.Identity):
        return sp.KroneckerDelta(row, col)
    if isinstance(expr, sp.OneMatrix):
        return sp.Integer(1)
    if isinstance(expr, ElementwiseLog):
        return sp.log(matrix_entry(expr.args[0], row, col))
    if isinstance(expr, MatrixDifferential):
        inner = expr.args[0]
        if isinstance(inner, sp.MatrixSymbol) and inner.name in PARAMETERS:  # dW, db: the direction itself
            return matrix_entry(sp.MatrixSymbol("d" + inner.name, *inner.shape), row, col)
        return TotalDifferential(matrix_entry(inner, row, col))
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
    if isinstance(expr, sp.HadamardProduct):
        shape_of(expr)
        return sp.Mul(*(matrix_entry(a, row, col) for a in expr.args))
    if isinstance(expr, sp.MatAdd):
        return sp.Add(*(matrix_entry(a, row, col) for a in expr.args))
    if isinstance(expr, sp.MatMul):
        return _product_entry(expr, row, col)
    raise ShapeMismatch(f"not a matrix expression: {type(expr).__name__}")


def _product_entry(expr: sp.MatMul, row: sp.Expr, col: sp.Expr) -> sp.Expr:
    """(A B C)_{row col} = Σ_{u1 u2} A_{row u1} B_{u1 u2} C_{u2 col}; inner sizes of 1 need no sum."""
    shape_of(expr)
    scalars = [a for a in expr.args if not isinstance(a, sp.MatrixExpr)]
    factors = [a for a in expr.args if isinstance(a, sp.MatrixExpr)]
    inner_sizes = [shape_of(f)[1] for f in factors[:-1]]
    dummies = iter(_fresh(len(inner_sizes), row, col))
    indices: list[sp.Expr] = [row]
    limits = []
    for size in inner_sizes:
        if size == 1:
            indices.append(sp.Integer(1))
        else:
            dummy = next(dummies)
            indices.append(dummy)
            limits.append((dummy, 1, size))
    indices.append(col)
    body = sp.Mul(*(matrix_entry(f, a, b) for f, a, b in zip(factors, indices, indices[1:])))
    return sp.Mul(*scalars) * (sp.Sum(body, *limits) if limits else body)


def frobenius_sum(node: Frobenius) -> sp.Expr:
    """A : B in index notation, Σ_ab A_ab B_ab."""
    left, right = node.args
    rows, cols = shape_of(left)
    if (rows, cols) != shape_of(right):
        raise ShapeMismatch(f"A : B needs one shape, not {_shape_text((rows, cols))} and "
                            f"{_shape_text(shape_of(right))}")
    a, c = _fresh(2)
    row, col = (a if rows != 1 else sp.Integer(1)), (c if cols != 1 else sp.Integer(1))
    limits = [(v, 1, size) for v, size in ((a, rows), (c, cols)) if size != 1]
    body = matrix_entry(left, row, col) * matrix_entry(right, row, col)
    return sp.Sum(body, *limits) if limits else body


def is_matrix(expr: sp.Basic) -> bool:
    """A vector or matrix, a derivative that is one (∂L/∂W, ∂ŷ/∂z), or a number times one."""
    if isinstance(expr, sp.Mul) and not isinstance(expr, sp.MatrixExpr):  # (MatMul is a Mul too)
        return any(is_matrix(factor) for factor in expr.args)
    return isinstance(expr, sp.MatrixExpr) or (isinstance(expr, sp.Derivative)
                                               and isinstance(expr.variables[0], sp.MatrixExpr))


def index_form(expr: sp.Basic, row: sp.Expr | None = None, col: sp.Expr | None = None) -> sp.Expr:
    """Any expression of a derivation in index notation: a matrix by its entry (row, col), a scalar with its
    Frobenius products written as sums."""
    if is_matrix(expr):
        assert row is not None and col is not None, "a matrix needs the entry to read"
        return matrix_entry(expr, row, col)
    if isinstance(expr, Frobenius):
        return frobenius_sum(expr)
    if not expr.args or isinstance(expr, (sp.Indexed, sp.Symbol)) or not expr.has(Frobenius):
        return expr
    return expr.func(*(index_form(a) for a in expr.args))


def row_form(entry: sp.Expr, col: sp.Symbol) -> sp.Expr:
    """The row vector whose entry ``col`` is ``entry``: (ŷ_k − 1[k = c]) x_l -> (ŷ_k − 1[k = c]) xᵀ."""
    factors = list(sp.Mul.make_args(entry))
    along = [f for f in factors if col in f.free_symbols]
    if len(along) != 1 or not (isinstance(along[0], sp.Indexed) and along[0].indices == (col,)):
        raise ShapeMismatch(f"cannot write {entry} as a row vector")
    scalar = sp.Mul(*(f for f in factors if f is not along[0]))
    return sp.MatMul(scalar, sp.Transpose(MATRICES[along[0].base.label.name]), evaluate=False)


def matrix_form(entry: sp.Expr, row: sp.Symbol, col: sp.Expr) -> sp.Expr:
    """The matrix whose (row, col) entry is ``entry``: (ŷ_k − y_k) x_l -> (ŷ − y) xᵀ; ŷ_j δ_jk − ŷ_j ŷ_k ->
    diag(ŷ) − ŷ ŷᵀ. Entries indexed by ``row`` become column vectors, by ``col`` transposed row vectors."""
    if isinstance(entry, sp.Add):
        return sp.MatAdd(*(matrix_form(term, row, col) for term in entry.args), evaluate=False)
    if isinstance(entry, sp.Sum):  # over the examples of a batch: Σ_t (ŷ_tk − y_tk) x_tl -> Σ_t (ŷ⁽ᵗ⁾ − y⁽ᵗ⁾) x⁽ᵗ⁾ᵀ
        (example, lower, upper), = entry.limits
        if lower != 1:
            raise ShapeMismatch(f"cannot write {entry} as a matrix")
        return BatchSum(matrix_form(entry.function, row, col), example, upper)
    factors = list(sp.Mul.make_args(entry))
    sums = [f for f in factors if isinstance(f, sp.Sum)]
    if len(sums) == 1 and all(not {row, col} & f.free_symbols for f in factors if f is not sums[0]):
        scalar = sp.Mul(*(f for f in factors if f is not sums[0]))  # (1/N) Σ_t ...
        return sp.MatMul(scalar, matrix_form(sums[0], row, col), evaluate=False)
    diagonal = sp.KroneckerDelta(row, col) in factors
    if diagonal:
        factors.remove(sp.KroneckerDelta(row, col))
    scalars = [f for f in factors if row not in f.free_symbols and col not in f.free_symbols]
    columns = [f for f in factors if row in f.free_symbols]
    rows = [f for f in factors if col in f.free_symbols and row not in f.free_symbols]
    if len(columns) != 1 or len(rows) > 1:
        raise ShapeMismatch(f"cannot write {entry} as a matrix")
    column = columns[0]
    vector = matrix_form(column, row, sp.Integer(1)) if isinstance(column, sp.Add) else _vector(column, row)
    parts: list[sp.Expr] = [sp.DiagMatrix(vector) if diagonal else vector]
    if rows:
        (row_factor,) = rows
        parts.append(sp.Transpose(_vector(row_factor, col)))
    scalar = sp.Mul(*scalars)
    if scalar == 1 and len(parts) == 1:
        return parts[0]
    return sp.MatMul(*([scalar] if scalar != 1 else []), *parts, evaluate=False)


def _vector(entry: sp.Basic, index: sp.Expr) -> sp.Expr:
    """The whole vector of which ``entry`` is entry ``index``: ŷ_k -> ŷ; ŷ_{t k} -> ŷ⁽ᵗ⁾ of example t."""
    if isinstance(entry, sp.Indexed) and entry.indices[-1] == index and entry.base.label.name in MATRICES:
        whole = MATRICES[entry.base.label.name]
        if len(entry.indices) == 1:
            return whole
        if len(entry.indices) == 2:
            return ExampleOf(whole, entry.indices[0])
    raise ShapeMismatch(f"cannot write {entry} as a vector")
