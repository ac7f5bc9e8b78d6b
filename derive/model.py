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
from typing import Callable, ClassVar

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

epsilon = sp.Symbol("epsilon")                     # the step along a direction (differentials, see DIRECTIONS)

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


def linear_logits(index: sp.Expr, example: sp.Expr | None = None, bias: bool = True) -> sp.Expr:
    """o_index = Σ_r W_{index r} x_r + b_index (without ``bias``: no b, as in a layer written f_j = w_j x); in a
    batch each example has its own input x_{example r}."""
    dummy = r if r not in sp.sympify(index).free_symbols else l
    entry = x[example, dummy] if example is not None else x[dummy]
    weighted = sp.Sum(W[index, dummy] * entry, (dummy, 1, M))
    return weighted + b[index] if bias else weighted


def softmax(index: sp.Expr, example: sp.Expr | None = None) -> sp.Expr:
    """softmax(z)_index = e^{z_index} / Σ_i e^{z_i}."""
    return sp.exp(logits_at(index, example)) / partition_sum(example, avoid=(index,))


class TotalDifferential(sp.Expr):
    """dF, the total differential of a scalar F with respect to the layer's parameters W and b, in the
    direction (dW, db): Σ ∂F/∂W_ac dW_ac + Σ ∂F/∂b_a db_a (without a layer: with respect to the logits).

    In base quantities the node stays (the evaluator seeds W and b with the direction); the certificate writes
    it out as plain SymPy with :func:`written_out`."""

    is_commutative = True


# Each independent quantity and its direction: the layer's W and b, or the logits z when there is no layer
# (in a model with a layer, z is expanded into W and b before anything is evaluated).
DIRECTIONS = {"W": "dW", "b": "db", "z": "dz"}


def directional(expr: sp.Expr) -> sp.Subs:
    """d/dε expr(W + ε dW, b + ε db) at ε = 0 (``expr`` in base quantities; z + ε dz without a layer)."""
    bases = {sp.IndexedBase(name): sp.IndexedBase(direction) for name, direction in DIRECTIONS.items()}
    with sp.evaluate(False):  # rebuilding exp(...) of the moved arguments would ask SymPy's assumptions
        moved = expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base in bases,
                             lambda e: sp.Add(e, sp.Mul(epsilon, bases[e.base][e.indices])))
    return sp.Subs(sp.Derivative(moved, epsilon), epsilon, 0)


def written_out(expr: sp.Expr) -> sp.Expr:
    """An expression in base quantities with each total differential as a directional derivative."""
    return expr.replace(lambda e: isinstance(e, TotalDifferential), lambda e: directional(e.args[0]))


@dataclass(frozen=True)
class Model:
    """The quantities of one derivation and how they expand.

    ``probs_defined`` is False when the probabilities are the independent variables (the `cross-entropy`
    derivation), True when they are softmax of the logits. ``bias`` says whether a ``linear`` layer adds b: the
    row form f_j = w_j x has none unless the user writes one.
    """

    target: Target = Target()
    probs_defined: bool = True
    batch: bool = False
    defined_loss: sp.Expr | None = None
    example_indices: tuple[sp.Symbol, ...] = (t, s)
    mistake: str | None = None
    linear: bool = False
    input_indices: tuple[sp.Symbol, ...] = (l, r)
    bias: bool = True

    # What a family of derivations (derive.families) says about itself: its name (which introduction the
    # templates include), the notation keys its documents carry (None: all of them), its certificate's symbols.
    family: ClassVar[str] = "softmax"
    notation_keys: ClassVar[tuple[str, ...] | None] = None
    certificate_symbols: ClassVar[dict[str, object]] = {}  # what its certificate's "symbols" say differently
    checked_at: ClassVar[str | None] = None  # where its documents say the steps were checked (None: n = 2, 3, 5)

    def prose_names(self) -> dict[str, sp.Expr]:
        """Expressions of this model that the prose mentions besides the softmax ones (none here)."""
        return {}

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
            return linear_logits(expr.indices[-1], expr.indices[0] if len(expr.indices) == 2 else None, self.bias)
        if isinstance(expr, TotalDifferential):
            return TotalDifferential(self._expand(expr.args[0], keep, build))
        if isinstance(expr, sp.Derivative):  # (SymPy merges ∂/∂a ∂/∂b into one node: keep every variable)
            names = {v.base.label.name for v in expr.variables if isinstance(v, sp.Indexed)}
            inner_build = mistaken_softmax(self.mistake) if self.mistake and "yhat" not in names else build
            inner = self._expand(expr.expr, keep | names | {""}, inner_build)
            return sp.Derivative(inner, *expr.variable_count, evaluate=False)
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
            example = t if self.batch else None
            found["z"] = ((t, q) if self.batch else (q,), linear_logits(q, example, self.bias))
        return found


@lru_cache(maxsize=4096)
def _expanded(model: Model, expr: sp.Expr, keep: frozenset[str]) -> sp.Expr:
    """Memoised expansion: each step's "before" is the previous step's "after". Built unevaluated: SymPy's
    simplification on construction (and its assumption queries) is most of the cost, and nothing needs it."""
    with sp.evaluate(False):
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
