"""Numeric evaluation of SymPy expression trees, with forward-mode derivatives.

Why not ``lambdify`` or ``doit``: ``lambdify`` calls ``eval`` (and runs code hidden in symbol names), and
``doit`` on sums of softmax is slow and sometimes wrong. This evaluator compiles a tree once into closures,
then evaluates it at many concrete points. ``Derivative(f, x_k)`` is evaluated exactly by dual numbers,
independently of SymPy's own differentiation, so a verified step is checked by a second method.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Callable

import sympy as sp
from sympy.core.function import AppliedUndef

from .model import DIRECTIONS, TotalDifferential, n as SIZE_OF_CLASSES


Frozen = sp.Function("Frozen")  # a value held constant under differentiation (models a forgotten dependence)
ALONG_DIRECTION = ("along", "direction")  # a seed: every parameter entry moves along its direction


class EvaluationError(Exception):
    """The expression contains something this evaluator does not know, or a value outside its domain."""


class Dual:
    """a + b·ε with ε² = 0: a value and its derivative along one seeded variable."""

    __slots__ = ("v", "d")

    def __init__(self, v: float, d: float = 0.0) -> None:
        self.v, self.d = v, d

    def __add__(self, o):  # type: ignore[no-untyped-def]
        return Dual(self.v + o.v, self.d + o.d) if isinstance(o, Dual) else Dual(self.v + o, self.d)

    __radd__ = __add__

    def __mul__(self, o):  # type: ignore[no-untyped-def]
        if isinstance(o, Dual):
            return Dual(self.v * o.v, self.d * o.v + self.v * o.d)
        return Dual(self.v * o, self.d * o)

    __rmul__ = __mul__

    def __pow__(self, p: float) -> "Dual":
        return Dual(self.v ** p, p * self.v ** (p - 1) * self.d if self.d else 0.0)


def _lift(*derivatives: Callable[[float], float]):  # type: ignore[no-untyped-def]
    """A scalar function that also carries derivatives through dual numbers, nested ones included (a second
    derivative evaluates a dual of duals): ``derivatives`` are the function and its first derivatives."""
    def at_order(order: int, x):  # type: ignore[no-untyped-def]
        if isinstance(x, Dual):
            return Dual(at_order(order, x.v), at_order(order + 1, x.v) * x.d)
        if order >= len(derivatives):
            raise EvaluationError("derivatives of this order are not evaluated")
        return derivatives[order](x)
    return lambda x: at_order(0, x)


def _logistic(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


class Sigmoid(sp.Function):
    """The logistic sigmoid 1 / (1 + e^{-x}); its own node so that a document's σ(x) reads as written."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return Sigmoid(self.args[0]) * (1 - Sigmoid(self.args[0]))


SCALAR_FUNCTIONS: dict[type, Callable[..., object]] = {
    sp.tanh: _lift(math.tanh, lambda v: 1.0 - math.tanh(v) ** 2,
                   lambda v: -2.0 * math.tanh(v) * (1.0 - math.tanh(v) ** 2)),
    Sigmoid: _lift(_logistic, lambda v: _logistic(v) * (1.0 - _logistic(v)),
                   lambda v: _logistic(v) * (1.0 - _logistic(v)) * (1.0 - 2.0 * _logistic(v))),
    sp.sin: _lift(math.sin, math.cos, lambda v: -math.sin(v)),
    sp.cos: _lift(math.cos, lambda v: -math.sin(v), lambda v: -math.cos(v)),
}


Value = "float | Dual"
CLASS_INDEX = -1   # the "class axis" of a label array that holds class indices (y^{(i)} in 1{y^{(i)} = j})
MAX_ORDER = 2   # second derivatives (a Hessian entry) at most: each order doubles the work


@dataclass
class Point:
    """A concrete point: integer values of sizes and indices, and entries of the indexed quantities.

    ``arrays`` may be :class:`Inputs`, which draws the entries of a document's own inputs on first use."""

    ints: dict[sp.Symbol, int]
    arrays: dict[str, dict[tuple[int, ...], float]]
    seed: tuple[tuple[object, ...], ...] | None = field(default=None)  # the seeds of the derivatives taken,
    # outermost first: (name, key) of one entry each, or ALONG_DIRECTION
    memo: dict[tuple[object, ...], "float | Dual"] = field(default_factory=dict)  # see _compile_sum


Compiled = Callable[[Point], "float | Dual"]

SCALAR = ()  # the key of a scalar input's one entry


class Inputs(dict):  # type: ignore[type-arg]
    """The arrays of a point, with a document's own inputs drawn when first read.

    A name nobody sampled is an independent input: its entries are drawn at random (positive where the document
    divides by it or takes its logarithm), the same entry always the same value at one point. A name in
    ``defined`` is a quantity the document defined: its entries are its definition evaluated at the point (it
    is read as a leaf only where a derivative is taken by it). An unknown function letter is a random smooth
    function, a different one at every point, so a step about f holds only if it holds for every f."""

    def __init__(self, seed: str, positive: frozenset[str] = frozenset(),
                 defined: dict[str, tuple[tuple[sp.Symbol, ...], Compiled]] | None = None,
                 labels: dict[str, int] | None = None, assumes: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.seed, self.positive, self.defined = seed, positive, defined or {}
        self.labels, self.assumes = labels or {}, assumes
        self.point: Point | None = None

    def __missing__(self, name: str) -> "_Entries":
        entries = self[name] = _Entries(self, name)
        return entries

    def draw(self, name: str, key: tuple[int, ...]) -> float:
        if name in self.defined:
            return self.defined_value(name, key)
        if name in self.labels and self.point is not None and key:
            return self.label_value(name, key)
        rng = random.Random(f"{self.seed}|{name}|{key}")
        return rng.uniform(0.1, 0.9) if name in self.positive else rng.uniform(-1.5, 1.5)

    def label_value(self, name: str, key: tuple[int, ...]) -> float:
        """An entry of a label array, classes along its index ``self.labels[name]``: one-hot or summing to
        one along it when the target says so, else any number."""
        axis = self.labels[name]
        classes = self.point.ints[SIZE_OF_CLASSES] if self.point is not None else 1
        if axis == CLASS_INDEX:
            return float(random.Random(f"{self.seed}|{name}|{key}").randint(1, classes))
        if axis >= len(key):
            raise EvaluationError(f"{name[2:]} is used with fewer indices than its labels have")
        rest, cls = key[:axis] + key[axis + 1:], key[axis]
        rng = random.Random(f"{self.seed}|{name}|{rest}")
        if "one-hot" in self.assumes:
            return 1.0 if cls == rng.randint(1, classes) else 0.0
        if "sum-to-one" in self.assumes:
            row = [rng.uniform(0.1, 1.0) for _ in range(classes)]
            return row[cls - 1] / sum(row) if 1 <= cls <= classes else 0.0
        return random.Random(f"{self.seed}|{name}|{key}").uniform(-1.0, 2.0)

    def defined_value(self, name: str, key: tuple[int, ...]) -> float:
        params, body = self.defined[name]
        point = self.point
        if point is None or len(params) != len(key):
            raise EvaluationError(f"{name} is defined with {len(params)} indices, used with {len(key)}")
        saved_ints = {s: point.ints.get(s) for s in params}
        saved_seed, point.seed = point.seed, None
        try:
            point.ints.update(zip(params, key))
            return _real(body(point))
        finally:
            point.seed = saved_seed
            for symbol, value in saved_ints.items():
                if value is None:
                    point.ints.pop(symbol, None)
                else:
                    point.ints[symbol] = value

    def function(self, name: str) -> "SmoothFunction":
        return SmoothFunction(random.Random(f"{self.seed}|function|{name}"))


class _Entries(dict):  # type: ignore[type-arg]
    def __init__(self, owner: Inputs, name: str) -> None:
        super().__init__()
        self.owner, self.name = owner, name

    def __missing__(self, key: tuple[int, ...]) -> float:
        value = self[key] = self.owner.draw(self.name, key)
        return value


class SmoothFunction:
    """a·sin(bx + c) + d·x²/2 + e·x + g·e^{hx}: random, smooth, with every derivative in closed form."""

    def __init__(self, rng: random.Random) -> None:
        self.a, self.b, self.c = rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.5), rng.uniform(0.0, math.pi)
        self.d, self.e = rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)
        self.g, self.h = rng.uniform(0.2, 1.0), rng.uniform(-0.8, 0.8)

    def derivative(self, order: int, x: float) -> float:
        value = self.a * self.b ** order * math.sin(self.b * x + self.c + order * math.pi / 2)
        value += self.g * self.h ** order * math.exp(self.h * x)
        value += {0: self.d * x * x / 2 + self.e * x, 1: self.d * x + self.e, 2: self.d}.get(order, 0.0)
        return value

    def __call__(self, order: int, x: "float | Dual") -> "float | Dual":
        if isinstance(x, Dual):
            return Dual(self(order, x.v), self(order + 1, x.v) * x.d)
        return self.derivative(order, x)


def function_order(name: str) -> tuple[str, int]:
    """``f''`` -> (f, 2): an arbitrary function's name and how often it is differentiated."""
    base = name.rstrip("'")
    return base, len(name) - len(base)


def _exp(x):  # type: ignore[no-untyped-def]
    if isinstance(x, Dual):
        e = _exp(x.v)
        return Dual(e, e * x.d)
    return math.exp(x)


def _log(x):  # type: ignore[no-untyped-def]
    if _real(x) <= 0:
        raise EvaluationError("logarithm of a non-positive number")
    if isinstance(x, Dual):
        return Dual(_log(x.v), x.d * x.v ** -1.0)
    return math.log(x)


def _int(value: "float | Dual") -> int:
    v = _real(value)
    if abs(v - round(v)) > 1e-9:
        raise EvaluationError(f"index {v} is not an integer")
    return int(round(v))


def compile_expr(expr: sp.Basic) -> Compiled:
    """Compile ``expr`` into a closure evaluated at a :class:`Point`."""
    if isinstance(expr, (sp.Integer, sp.Rational, sp.Float)) or expr.is_Number:
        value = float(expr)
        return lambda p: value
    if isinstance(expr, sp.Symbol):
        return _compile_index(expr) if expr.is_integer else _compile_scalar(expr)
    if isinstance(expr, sp.Indexed):
        name = expr.base.label.name
        key_of = _compile_key([_compile_index(a) for a in expr.indices])

        def indexed(p: Point):  # type: ignore[no-untyped-def]
            key = key_of(p)
            try:
                v = p.arrays[name][key]
            except KeyError:
                raise EvaluationError(f"no value for {name}{list(key)}") from None
            if p.seed is not None:
                return _leaf(p, v, (name, key))
            return v
        return indexed
    if isinstance(expr, sp.Add):
        terms = [compile_expr(a) for a in expr.args]
        return lambda p: _sum(f(p) for f in terms)
    if isinstance(expr, sp.Mul):
        factors = [compile_expr(a) for a in expr.args]

        def product(p: Point):  # type: ignore[no-untyped-def]
            r = 1.0
            for f in factors:
                r = f(p) * r
            return r
        return product
    if isinstance(expr, sp.Pow):
        base, ex = compile_expr(expr.base), expr.exp
        if not ex.is_Number:
            raise EvaluationError(f"non-numeric exponent {ex}")
        power = float(ex)
        if ex.is_Integer and int(ex) < 0:
            def reciprocal(p: Point):  # type: ignore[no-untyped-def]
                b = base(p)
                if _real(b) == 0:
                    raise EvaluationError("division by zero")
                return b ** power
            return reciprocal
        return lambda p: base(p) ** power
    if isinstance(expr, sp.exp):
        arg = compile_expr(expr.args[0])
        return lambda p: _exp(arg(p))
    if isinstance(expr, sp.log):
        if len(expr.args) != 1:
            raise EvaluationError("logarithm with a base")
        arg = compile_expr(expr.args[0])
        return lambda p: _log(arg(p))
    if isinstance(expr, sp.KroneckerDelta):
        a, b = (_compile_index(x) for x in expr.args)
        return lambda p: 1.0 if a(p) == b(p) else 0.0
    if isinstance(expr, sp.Sum):
        return _compile_sum(expr)
    if isinstance(expr, sp.Piecewise):
        pieces = [(compile_expr(e), compile_condition(cond)) for e, cond in expr.args]

        def piecewise(p: Point):  # type: ignore[no-untyped-def]
            for value, cond in pieces:
                if cond(p):
                    return value(p)
            raise EvaluationError("no piece of a Piecewise applies")
        return piecewise
    if isinstance(expr, sp.Derivative):
        return _compile_derivative(expr)
    if isinstance(expr, TotalDifferential):
        return _compile_differential(expr)
    if isinstance(expr, Frozen):
        inner = compile_expr(expr.args[0])
        return lambda p: _real(inner(p))
    if type(expr) in SCALAR_FUNCTIONS:
        function, arg = SCALAR_FUNCTIONS[type(expr)], compile_expr(expr.args[0])
        return lambda p: function(arg(p))
    if isinstance(expr, (sp.Max, sp.Min)):
        args = [compile_expr(a) for a in expr.args]
        pick = max if isinstance(expr, sp.Max) else min
        return lambda p: pick((f(p) for f in args), key=_real)
    if isinstance(expr, AppliedUndef) and len(expr.args) == 1:
        return _compile_function(expr)
    raise EvaluationError(f"cannot evaluate {type(expr).__name__}")


def _compile_scalar(expr: sp.Symbol) -> Compiled:
    """A scalar input (a temperature T, the x of σ(x)): one entry, seeded like any other."""
    name = expr.name

    def scalar(p: Point):  # type: ignore[no-untyped-def]
        value = p.arrays[name][SCALAR] if isinstance(p.arrays, Inputs) else None
        if value is None:
            raise EvaluationError(f"no value for {name}")
        if p.seed is not None:
            return _leaf(p, value, (name, SCALAR))
        return value
    return scalar


def _compile_function(expr: AppliedUndef) -> Compiled:
    """f(u), f'(u): a random smooth function (see :class:`Inputs`), its derivatives exact."""
    base, order = function_order(expr.func.__name__)
    arg = compile_expr(expr.args[0])

    def apply(p: Point):  # type: ignore[no-untyped-def]
        if not isinstance(p.arrays, Inputs):
            raise EvaluationError(f"no function {base}")
        return p.arrays.function(base)(order, arg(p))
    return apply


def _compile_key(index_of: list[Callable[[Point], int]]) -> Callable[[Point], tuple[int, ...]]:
    """The tuple of an entry's index values; one and two indices (all there are) without a generator."""
    if len(index_of) == 1:
        (first,) = index_of
        return lambda p: (first(p),)
    if len(index_of) == 2:
        first, second = index_of
        return lambda p: (first(p), second(p))
    return lambda p: tuple(f(p) for f in index_of)


def _compile_index(expr: sp.Basic) -> Callable[[Point], int]:
    """An index expression as an int-valued closure; plain symbols and integers take the fast path."""
    if isinstance(expr, sp.Symbol):
        def symbol(p: Point, s=expr) -> int:
            try:
                return p.ints[s]
            except KeyError:
                raise EvaluationError(f"no value for {s}") from None
        return symbol
    if isinstance(expr, sp.Integer):
        value = int(expr)
        return lambda p: value
    general = compile_expr(expr)
    return lambda p: _int(general(p))


def _sum(values) -> "float | Dual":  # type: ignore[no-untyped-def]
    r = 0.0
    for v in values:
        r = v + r
    return r


def free_indices(expr: sp.Basic) -> set[sp.Symbol]:
    """Symbols free in ``expr``, looking inside derivative variables and leaving out summation variables."""
    if isinstance(expr, sp.Symbol):
        return {expr}
    if isinstance(expr, sp.Sum):
        inner = free_indices(expr.function)
        for var, lo, hi in expr.limits:
            inner = (inner - {var}) | free_indices(lo) | free_indices(hi)
        return inner
    if isinstance(expr, sp.Derivative):
        return free_indices(expr.expr) | set().union(*(free_indices(v) for v in expr.variables))
    if isinstance(expr, sp.Indexed):
        return set().union(*(free_indices(a) for a in expr.indices))
    return set().union(*(free_indices(a) for a in expr.args)) if expr.args else set()


def _compile_sum(expr: sp.Sum) -> Compiled:
    """A sum, remembered per point: the softmax denominator Σ_i e^{z_i} is the same for every j around it.
    The memo key is what the sum depends on: its free indices' values and the seeded variable."""
    body = compile_expr(expr.function)
    limits = [(var, compile_expr(lo), compile_expr(hi)) for var, lo, hi in expr.limits]
    free = tuple(sorted(free_indices(expr), key=str))
    marker = object()

    def remembered(p: Point):  # type: ignore[no-untyped-def]
        ints = p.ints
        key = (marker, p.seed, *[ints.get(s) for s in free])
        found = p.memo.get(key)
        if found is None:
            found = p.memo[key] = run(p)
        return found

    def run(p: Point, level: int = 0):  # type: ignore[no-untyped-def]
        if level == len(limits):
            return body(p)
        var, lo, hi = limits[level]
        saved = p.ints.get(var)
        total = 0.0
        for value in range(_int(lo(p)), _int(hi(p)) + 1):
            p.ints[var] = value
            total = run(p, level + 1) + total
        if saved is None:
            p.ints.pop(var, None)
        else:
            p.ints[var] = saved
        return total
    return remembered


def _compile_derivative(expr: sp.Derivative) -> Compiled:
    """∂F/∂x by a dual number seeded at x; ∂²F/∂x∂y (nested, or by several variables) by duals of duals."""
    variables = [var for var, count in expr.variable_count for _ in range(int(count))]
    if len(variables) > MAX_ORDER:
        raise EvaluationError(f"derivatives of order above {MAX_ORDER} are not evaluated")
    compiled = compile_expr(expr.expr)
    for var in variables:
        compiled = _seeded(compiled, _seed_of(var))
    return compiled


def _seed_of(var: sp.Expr) -> Callable[[Point], tuple[object, ...]]:
    if isinstance(var, sp.Symbol) and not var.is_integer:
        return lambda p, key=(var.name, SCALAR): key
    if not isinstance(var, sp.Indexed):
        raise EvaluationError(f"derivative by {var}, which is not an entry of a vector")
    name = var.base.label.name
    idx = [compile_expr(a) for a in var.indices]
    return lambda p: (name, tuple(_int(f(p)) for f in idx))


def _compile_differential(expr: TotalDifferential) -> Compiled:
    """dF: every parameter entry carries its direction entry as the dual part (dW for W, db for b)."""
    return _seeded(compile_expr(expr.args[0]), lambda p: ALONG_DIRECTION)


def _seeded(inner: Compiled, seed_at: Callable[[Point], tuple[object, ...]]) -> Compiled:
    """The dual part of ``inner`` with the seed ``seed_at`` pushed on the point's seeds: a derivative, which
    is itself a dual in the seeds of the derivatives around it (a second derivative)."""
    def derivative(p: Point):  # type: ignore[no-untyped-def]
        outer = p.seed or ()
        if len(outer) >= MAX_ORDER:
            raise EvaluationError(f"derivatives of order above {MAX_ORDER} are not evaluated")
        p.seed = outer + (seed_at(p),)
        try:
            value = inner(p)
        finally:
            p.seed = outer or None
        return value.d if isinstance(value, Dual) else 0.0
    return derivative


def _leaf(p: Point, value: float, key: tuple[object, ...]) -> "float | Dual":
    """An input's value under the point's seeds, outermost first: a dual per seed, the innermost on top.
    Its dual part is 1 where the seed is this entry (or the entry's direction, for a differential)."""
    result: "float | Dual" = value
    for seed in p.seed or ():
        if seed is ALONG_DIRECTION:
            tangent = DIRECTIONS.get(str(key[0]))
            slope = p.arrays[tangent].get(key[1], 0.0) if tangent else 0.0
        else:
            slope = 1.0 if seed == key else 0.0
        result = Dual(result, slope)
    return result


def compile_condition(cond: sp.Basic) -> Callable[[Point], bool]:
    if cond is sp.true:
        return lambda p: True
    if cond is sp.false:
        return lambda p: False
    if isinstance(cond, (sp.And, sp.Or)):
        parts = [compile_condition(a) for a in cond.args]
        combine = all if isinstance(cond, sp.And) else any
        return lambda p: combine(f(p) for f in parts)
    if isinstance(cond, sp.Not):
        inner = compile_condition(cond.args[0])
        return lambda p: not inner(p)
    relations = {sp.Eq: lambda a, b: a == b, sp.Ne: lambda a, b: a != b, sp.Lt: lambda a, b: a < b,
                 sp.Le: lambda a, b: a <= b, sp.Gt: lambda a, b: a > b, sp.Ge: lambda a, b: a >= b}
    for kind, relation in relations.items():
        if isinstance(cond, kind):
            lhs, rhs = compile_expr(cond.lhs), compile_expr(cond.rhs)
            return lambda p, r=relation: r(_real(lhs(p)), _real(rhs(p)))
    raise EvaluationError(f"cannot evaluate the condition {cond}")


def _real(v: "float | Dual") -> float:
    while isinstance(v, Dual):
        v = v.v
    return v


def evaluate(compiled: Compiled, point: Point) -> float:
    return _real(compiled(point))


def close(a: float, b: float, tol: float = 1e-9) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))
