"""Does ``lhs = rhs`` hold? Tested at concrete sizes, every index pattern the case allows, and label vectors
the assumptions allow (several hot positions; labels that are not one-hot where nothing is assumed).

One verifier serves the engine (every generated step) and the checker (every hand-written step).
"""

from __future__ import annotations

import contextvars
import math
import random
import time
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import sympy as sp

from . import model as mdl
from .record import Case
from .numeric import EvaluationError, Inputs, Point, close, compile_expr, evaluate, free_indices

DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)  # monotonic
CLASS_SIZES = (2, 3, 5)
BATCH_SIZES = (1, 3)
DRAWS = 2


@dataclass(frozen=True)
class Counterexample:
    """Where the two sides differ: sizes, index values and both values."""

    sizes: dict[str, int]
    indices: dict[str, int]
    lhs: float
    rhs: float
    labels: tuple[float, ...] | None = None

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = dict(self.sizes)
        data.update(indices=self.indices, lhs=round(self.lhs, 6), rhs=round(self.rhs, 6))
        if self.labels is not None:
            data["labels"] = [round(v, 4) for v in self.labels]
        return data


@dataclass(frozen=True)
class Outcome:
    holds: bool
    points: int
    counterexample: Counterexample | None = None
    error: str | None = None


def set_partitions(items: Sequence[sp.Symbol]) -> Iterator[list[list[sp.Symbol]]]:
    """All ways to group ``items`` into blocks of equal values."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in set_partitions(rest):
        for index in range(len(partition)):
            yield partition[:index] + [[first] + partition[index]] + partition[index + 1:]
        yield [[first]] + partition


def _allowed(partition: list[list[sp.Symbol]], case: Case | None) -> bool:
    if not case:
        return True
    block = {sym.name: number for number, blk in enumerate(partition) for sym in blk}
    equal_ok = all(block.get(a, -1) == block.get(b, -2) for a, b in case.equal if a in block and b in block)
    distinct_ok = all(block.get(a) != block.get(b) for a, b in case.distinct if a in block and b in block)
    return equal_ok and distinct_ok


def index_assignments(symbols: Sequence[sp.Symbol], size: int, case: Case | None,
                      rng: random.Random) -> Iterator[dict[sp.Symbol, int]]:
    """One assignment per equality pattern the case allows, with distinct values for distinct blocks."""
    for partition in set_partitions(list(symbols)):
        if len(partition) > size or not _allowed(partition, case):
            continue
        values = rng.sample(range(1, size + 1), len(partition))
        yield {sym: value for blk, value in zip(partition, values) for sym in blk}


def _labels(size: int, assumes: Iterable[str], hot: int | None, rng: random.Random) -> list[float]:
    assumes = set(assumes)
    if "one-hot" in assumes:
        return [1.0 if position == hot else 0.0 for position in range(1, size + 1)]
    if "sum-to-one" in assumes:
        raw = [rng.uniform(0.1, 1.0) for _ in range(size)]
        return [v / sum(raw) for v in raw]
    return [rng.uniform(-1.0, 2.0) for _ in range(size)]


@dataclass(frozen=True)
class Quantities:
    """A document's own quantities, for the sampler: inputs drawn positive (they sit in a log or a
    denominator), and definitions (name, indices, body in base form) giving the values of defined leaves."""

    positive: frozenset[str] = frozenset()
    defined: tuple[tuple[str, tuple[sp.Symbol, ...], sp.Expr], ...] = ()
    labels: tuple[tuple[str, int], ...] = ()   # own label arrays and the place of their class index: drawn as
    # the assumptions say (one-hot along it...)


def sample_points(model: "mdl.Model", free: set[sp.Symbol], case: Case | None,
                  assumes: Sequence[str], seed: int = 7, labels_used: bool = True,
                  quantities: Quantities = Quantities()) -> Iterator[tuple[Point, list[float]]]:
    """Concrete points covering sizes, index patterns, hot positions and label kinds."""
    rng = random.Random(seed)
    defined = {name: (params, compile_expr(body)) for name, params, body in quantities.defined}
    drawn = 0
    one_hot = "one-hot" in assumes and labels_used
    hot_symbol = model.label_index or mdl.h
    own_sizes = set(getattr(model, "sizes", lambda _: {})(CLASS_SIZES[0]))  # a family's sizes (H) are no indices
    indices = {x for x in free if x.is_integer and x not in mdl.SIZE_SYMBOLS and x not in own_sizes}
    input_set = set(model.input_indices) if model.linear else set()
    class_syms = sorted(indices - set(model.example_indices) - input_set, key=lambda x: x.name)
    if (one_hot or model.target.kind == "class") and hot_symbol not in class_syms:
        class_syms.append(hot_symbol)
    example_syms = sorted(indices & set(model.example_indices), key=lambda x: x.name)
    input_syms = sorted(indices & input_set, key=lambda x: x.name)
    batch_sizes = BATCH_SIZES if model.batch else (1,)
    for size in getattr(model, "class_sizes", CLASS_SIZES):  # a family may check at fewer sizes
        width = size + 1 if model.linear else 0  # input size distinct from the class count: shapes show
        for batch in batch_sizes:
            for classes in index_assignments(class_syms, size, case, rng):
                for examples in index_assignments(example_syms, batch, case, rng):
                    for inputs in index_assignments(input_syms, width, case, rng):
                        for _ in range(getattr(model, "draws", DRAWS)):
                            ints = {mdl.n: size, mdl.N: batch if model.batch else size, mdl.M: width or size, **classes, **examples, **inputs}
                            ints.update(getattr(model, "sizes", lambda _: {})(size))  # a family's own sizes
                            drawn += 1
                            own = Inputs(f"{seed}:{drawn}", quantities.positive, defined,
                                         labels=dict(quantities.labels), assumes=tuple(assumes))
                            point, labels = _point(model, ints, size, batch, assumes, classes.get(hot_symbol), rng,
                                                   own)
                            own.point = point
                            if not getattr(model, "admits", lambda _: True)(point):  # on a kink (hinge): skip
                                continue
                            yield point, labels


def _point(model: "mdl.Model", ints: dict[sp.Symbol, int], size: int, batch: int,
           assumes: Sequence[str], hot: int | None, rng: random.Random,
           arrays: Inputs) -> tuple[Point, list[float]]:
    rows = range(1, batch + 1)
    arrays.update({name: {} for name in ("z", "y", "yhat", "W", "x", "b", "dW", "db", "dz")})
    labels: list[float] = []
    width = ints[mdl.M]
    if model.linear:  # one layer W, b for all examples; a direction dW, db for differentials
        for cls in range(1, size + 1):  # a layer without a bias (f_j = w_j x) has b = 0 and does not move it
            arrays["b"][(cls,)] = rng.uniform(-1.0, 1.0) if model.bias else 0.0
            arrays["db"][(cls,)] = rng.uniform(-1.0, 1.0) if model.bias else 0.0
            for col in range(1, width + 1):
                arrays["W"][(cls, col)] = rng.uniform(-1.0, 1.0)
                arrays["dW"][(cls, col)] = rng.uniform(-1.0, 1.0)
    for row in rows:
        logits = [rng.uniform(-2.0, 2.0) for _ in range(size)]
        if model.linear:  # each example its own input
            inputs = [rng.uniform(-1.5, 1.5) for _ in range(width)]
            for col in range(1, width + 1):
                arrays["x"][(row, col) if model.batch else (col,)] = inputs[col - 1]
            for cls in range(1, size + 1):
                logits[cls - 1] = arrays["b"][(cls,)] + sum(arrays["W"][(cls, col)] * inputs[col - 1]
                                                             for col in range(1, width + 1))
        row_hot = hot if row == 1 or hot is None else rng.randint(1, size)
        labels = _labels(size, assumes, row_hot, rng)
        if model.probs_defined:
            total = sum(pow(2.718281828459045, v) for v in logits)
            probs = [pow(2.718281828459045, v) / total for v in logits]
        else:
            probs = [rng.uniform(0.05, 1.0) for _ in range(size)]
        for col in range(1, size + 1):
            key = (row, col) if model.batch else (col,)
            arrays["z"][key] = logits[col - 1]
            arrays["dz"][key] = rng.uniform(-1.0, 1.0)  # a direction, for differentials by the logits
            arrays["y"][key] = labels[col - 1]
            arrays["yhat"][key] = probs[col - 1]
            if model.batch and row == 1:  # a single-example line in a batch document speaks of example 1
                for name in ("z", "dz", "y", "yhat"):
                    arrays[name][(col,)] = arrays[name][key]
    if model.batch and model.linear:
        for col in range(1, width + 1):
            arrays["x"][(col,)] = arrays["x"][(1, col)]
    if hasattr(model, "fill_point"):  # a family whose logits are computed from its own inputs (a network)
        model.fill_point(arrays, ints)
    for name in getattr(model, "scalars", ()):  # a family's scalar inputs (the sigmoid's logit z and label y)
        arrays[name] = {(): rng.uniform(-2.0, 2.0)}
    return Point(ints=ints, arrays=arrays), labels


SYMBOLIC_OPS_LIMIT = 60


def symbolically_equal(lhs: sp.Expr, rhs: sp.Expr) -> bool | None:
    """Exact check for derivative-free steps of modest size: does ``expand(lhs - rhs)`` vanish?

    Bounded by expression size rather than time (a clock cannot interrupt SymPy safely). True when proved;
    None when not tried or not decided (``expand`` does not see Kronecker sums): never a verdict of "false".
    """
    derivatives = (sp.Derivative, sp.Piecewise, mdl.TotalDifferential)
    if lhs.has(*derivatives) or rhs.has(*derivatives):
        return None
    if sp.count_ops(lhs) + sp.count_ops(rhs) > SYMBOLIC_OPS_LIMIT:
        return None
    return True if sp.expand(lhs - rhs) == 0 else None


def check_equal(model: "mdl.Model", lhs: sp.Expr, rhs: sp.Expr, case: Case | None = None,
                assumes: Sequence[str] = (), quantities: Quantities = Quantities()) -> Outcome:
    """Numerically test ``lhs = rhs`` (both in base form) at every sample point; stop at the first miss.
    A value that overflows or is not real decides nothing: the outcome is an error, never "holds"."""
    try:
        left, right = compile_expr(lhs), compile_expr(rhs)
        points = sample_points(model, free_indices(lhs) | free_indices(rhs), case, assumes,
                               labels_used=_uses_labels(lhs, rhs, quantities), quantities=quantities)
    except EvaluationError as error:
        return Outcome(False, 0, error=str(error))
    count = 0
    deadline = DEADLINE.get()
    for point, labels in points:
        if deadline is not None and time.monotonic() > deadline:
            return Outcome(False, count, error="checking took longer than its time bound")
        try:
            a, b = evaluate(left, point), evaluate(right, point)
        except EvaluationError as error:
            return Outcome(False, count, error=str(error))
        except (OverflowError, ZeroDivisionError, ValueError) as error:
            return Outcome(False, count, error=f"cannot evaluate at the sample points ({error})")
        except TypeError:  # a complex number met a comparison
            return Outcome(False, count, error="the values are not real at the sample points")
        if isinstance(a, complex) or isinstance(b, complex):
            return Outcome(False, count, error="the values are not real at the sample points")
        if not (math.isfinite(a) and math.isfinite(b)):
            return Outcome(False, count, error="the values overflow at the sample points")
        count += 1
        if not close(a, b):
            sizes = {"n": point.ints[mdl.n]} | ({"N": point.ints[mdl.N]} if model.batch else {})
            own_sizes = set(getattr(model, "sizes", lambda _: {})(point.ints[mdl.n]))
            sizes |= {s.name: point.ints[s] for s in own_sizes}
            indices = {s.name: v for s, v in point.ints.items() if s not in mdl.SIZE_SYMBOLS and s not in own_sizes}
            return Outcome(False, count, Counterexample(sizes, indices, a, b, tuple(labels)))
    return Outcome(True, count)


def _uses_labels(lhs: sp.Expr, rhs: sp.Expr, quantities: Quantities) -> bool:
    """Whether the labels appear, directly or through a definition kept as a leaf."""
    bodies = [lhs, rhs] + [body for _, _, body in quantities.defined]
    return any(entry.base == mdl.y for expr in bodies for entry in expr.atoms(sp.Indexed))
