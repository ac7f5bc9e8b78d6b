"""What the sigmoid family differentiates: a scalar logit z, a label y, the logistic sigmoid
σ(z) = 1/(1 + e^{−z}) and the binary cross-entropy L = −y log σ(z) − (1 − y) log(1 − σ(z)); over a batch,
each example t has its own logit z_t and label y_t, and L = (1/N) Σ_t ℓ_t.

Expressions are kept *folded*, as a course writes them: σ(z) is a :class:`Logistic` node, the loss the Symbol
``L`` and the scalar logit and label :class:`Scalar` symbols that print in the user's notation.
:meth:`SigmoidModel.to_base` expands them into plain SymPy (``Symbol('z')``, ``IndexedBase('z')`` in a batch,
``exp``, ``log``, ``Sum``) for the verifier and the certificate.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import sympy as sp

from ... import model as mdl
from ...model import Model
from ...notation import Target

ROLES = {"z": "logits", "y": "labels"}


class Scalar(sp.Symbol):
    """A scalar quantity with a role (the logit ``z``, the label ``y``), printed in the user's notation."""

    def __new__(cls, name: str, **assumptions: bool) -> "Scalar":  # assumptions: accepted for pickling
        return super().__new__(cls, name, real=True)  # type: ignore[no-any-return]

    def _derive_latex(self, printer) -> str:  # type: ignore[no-untyped-def]
        return str(getattr(printer.notation, ROLES[self.name]))

    def _derive_text(self, printer) -> str:  # type: ignore[no-untyped-def]
        return printer._sym(self._derive_latex(printer))

    @property
    def plain(self) -> sp.Symbol:
        """The same quantity as a plain SymPy symbol (what the certificate writes)."""
        return sp.Symbol(self.name, real=True)


z = Scalar("z")
y = Scalar("y")
# The loss of example t of a batch, ℓ_t: a symbol of its own (the softmax model's ℓ_t prints as the loss
# symbol L_t, which a reader, and derive check, would take for a per-example cross-entropy of softmax).
ell = sp.IndexedBase(r"\ell")


class Logistic(sp.Function):
    """σ(u), the logistic sigmoid of ``u``, folded. It prints as ``\\sigma(z)`` when the notation's probabilities
    are a function name (the default for this family), else as their symbol: ``p``, ``p_{t}`` for σ(z_t)."""

    nargs = 1

    def _derive_latex(self, printer) -> str:  # type: ignore[no-untyped-def]
        (arg,) = self.args
        if printer.notation.probs_is_function:
            return rf"\sigma\left({printer._print(arg)}\right)" if isinstance(arg, sp.Add) else \
                rf"\sigma({printer._print(arg)})"
        symbol = printer.notation.probs_symbol
        return f"{symbol}_{{{printer.index_text(arg.indices)}}}" if isinstance(arg, sp.Indexed) else symbol

    def _derive_text(self, printer) -> str:  # type: ignore[no-untyped-def]
        (arg,) = self.args
        if printer.notation.probs_is_function:
            return f"σ({printer._print(arg)})"
        symbol = printer._sym(printer.notation.probs_symbol)
        return f"{symbol}_{printer.index_text(arg.indices)}" if isinstance(arg, sp.Indexed) else symbol


def sigmoid_definition(u: sp.Expr) -> sp.Expr:
    """1/(1 + e^{−u})."""
    return 1 / (1 + sp.exp(-u))


def binary_cross_entropy(logit: sp.Expr, label: sp.Expr) -> sp.Expr:
    """−y log σ(z) − (1 − y) log(1 − σ(z)), folded."""
    prob = Logistic(logit)
    return -label * sp.log(prob) - (1 - label) * sp.log(1 - prob)


@dataclass(frozen=True)
class SigmoidModel(Model):
    """The quantities of the sigmoid family and how they expand.

    ``examples``: the logits and labels carry an example index (z_t, y_t) and L is the mean over the batch.
    The sampler treats that index like any other (the batch size is the sampled size): ``batch`` stays False,
    which would ask for a matrix of logits per example.
    """

    family: ClassVar[str] = "sigmoid"
    # σ(z) is not a softmax output, so a document never declares it as ``probs``: it defines σ itself
    notation_keys: ClassVar[tuple[str, ...] | None] = ("logits", "labels", "loss", "batch")
    # one example: z and y are real Symbols; the batch part: IndexedBase z, y with entries z[t], t = 1..N
    certificate_symbols: ClassVar[dict[str, object]] = {"probs": None, "classes": None, "batch": "N",
                                                        "scalars": ["z", "y"]}
    checked_at: ClassVar[str | None] = "at random logits and labels, and over batches of 2, 3 and 5 examples"
    target: Target = Target("any")
    examples: bool = False

    @property
    def scalars(self) -> tuple[str, ...]:
        """Scalar inputs the verifier draws at each point (a batch has vectors z and y instead)."""
        return () if self.examples else ("z", "y")

    @property
    def label_index(self) -> sp.Symbol | None:
        return None

    def loss(self, example: sp.Expr | None = None) -> sp.Expr:
        """L of one example, or of a batch: the mean of the per-example losses ℓ_t."""
        if example is not None:
            return binary_cross_entropy(mdl.z[example], mdl.y[example])
        if self.examples:
            return sp.Sum(ell[mdl.t], (mdl.t, 1, mdl.N)) / mdl.N
        return binary_cross_entropy(z, y)

    def prose_names(self) -> dict[str, sp.Expr]:
        """Expressions the prose and the introduction mention (printed in the notation by the view)."""
        return {"sigmoid": Logistic(z), "sigmoid_of_x": sigmoid_definition(sp.Symbol("x")),
                "sigmoid_definition": sigmoid_definition(z), "sigmoid_definition_t": sigmoid_definition(mdl.z[mdl.t]),
                "logit": z, "label": y,
                "sigmoid_t": Logistic(mdl.z[mdl.t]), "logit_t": mdl.z[mdl.t], "label_t": mdl.y[mdl.t],
                "bce": binary_cross_entropy(z, y), "bce_t": binary_cross_entropy(mdl.z[mdl.t], mdl.y[mdl.t]),
                "example_loss": ell[mdl.t], "batch_loss": sp.Sum(ell[mdl.t], (mdl.t, 1, mdl.N)) / mdl.N,
                "logit_s": mdl.z[mdl.s], "delta_ts": sp.KroneckerDelta(mdl.t, mdl.s)}

    def to_base(self, expr: sp.Expr, keep: tuple[str, ...] = ()) -> sp.Expr:
        """Plain SymPy: σ written out, the loss expanded, the scalar roles as plain symbols."""
        return _expanded(self, expr)

    def _expand_node(self, expr: sp.Basic) -> sp.Basic:
        if expr == mdl.L:
            return self._expand_node(self.loss())
        if isinstance(expr, sp.Indexed) and expr.base == ell:
            return self._expand_node(self.loss(example=expr.indices[0]))
        if isinstance(expr, Scalar):
            return expr.plain
        if isinstance(expr, Logistic):
            return sigmoid_definition(self._expand_node(expr.args[0]))
        if isinstance(expr, sp.Derivative):
            return sp.Derivative(self._expand_node(expr.expr), *(self._expand_node(v) for v in expr.variables),
                                 evaluate=False)
        if not expr.args or isinstance(expr, (sp.Indexed, sp.Symbol)):
            return expr
        return expr.func(*(self._expand_node(arg) for arg in expr.args))

    def definitions(self) -> dict[str, tuple[tuple[sp.Symbol, ...], sp.Expr]]:
        """Nothing is differentiated by a defined quantity, so a re-checker substitutes nothing."""
        return {}


@lru_cache(maxsize=1024)
def _expanded(model: SigmoidModel, expr: sp.Expr) -> sp.Expr:
    with sp.evaluate(False):  # as in derive.model: construction-time simplification is cost, not meaning
        return model._expand_node(expr)
