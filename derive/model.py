"""What is differentiated: softmax, cross-entropy and their parts as SymPy expressions, symbolic in n.

Expressions are kept *folded*: the probabilities are the IndexedBase ``yhat`` and the loss the Symbol ``L``,
as a person writes them. :meth:`Model.to_base` expands them into base quantities (logits, labels, sizes) for
verification and for the certificate. A probability that is itself a variable of differentiation (∂L/∂ŷ_j in
the chain rule) cannot be expanded inside ``Derivative``; it stays ``yhat`` and :meth:`Model.definitions`
says how to substitute it once the derivative is evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
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

INDEX_SYMBOLS = (i, j, k, m, t, s, c, h)
SIZE_SYMBOLS = (n, N)


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

    def to_base(self, expr: sp.Expr, keep_probs: bool = False) -> sp.Expr:
        """Replace every defined quantity by its definition, except probabilities used as differentiation
        variables (see module docstring), or all probabilities with ``keep_probs``."""
        return self._expand(expr, keep_probs, softmax)

    def _expand(self, expr: sp.Expr, keep_probs: bool, build: Callable[..., sp.Expr]) -> sp.Expr:
        if expr == L:
            return self._expand(self.loss(), keep_probs, build)
        if isinstance(expr, sp.Indexed) and expr.base == ell:
            return self._expand(self.loss(example=expr.indices[0]), keep_probs, build)
        if isinstance(expr, sp.Indexed) and expr.base == yhat:
            if keep_probs or not self.probs_defined:
                return expr
            return build(expr.indices[-1], expr.indices[0] if len(expr.indices) == 2 else None)
        if isinstance(expr, sp.Derivative):
            var = expr.variables[0]
            by_prob = isinstance(var, sp.Indexed) and var.base == yhat
            inner_build = mistaken_softmax(self.mistake) if self.mistake and not by_prob else build
            inner = self._expand(expr.expr, keep_probs or by_prob, inner_build)
            return sp.Derivative(inner, var, evaluate=False)
        if not expr.args or isinstance(expr, (sp.Indexed, sp.Symbol)):
            return expr
        return expr.func(*(self._expand(arg, keep_probs, build) for arg in expr.args))

    def definitions(self) -> dict[str, tuple[tuple[sp.Symbol, ...], sp.Expr]]:
        """Definitions a re-checker substitutes after ``doit()``: name -> (indices, expression)."""
        if not self.probs_defined:
            return {}
        return {"yhat": ((t, m), softmax(m, t))} if self.batch else {"yhat": ((m,), softmax(m))}


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
