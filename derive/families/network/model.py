"""What the two-layer network differentiates.

The input x (m entries, index l), the first layer a_j = Σ_r W⁽¹⁾_jr x_r + b⁽¹⁾_j (H hidden units), the hidden
activations h_j = f(a_j) with f = tanh or ReLU, the logits z_k = Σ_q W⁽²⁾_kq h_q + b⁽²⁾_k and the softmax
cross-entropy of ``derive.model`` on top. Expressions stay folded (z_i, h_q, a_q, f(a_q)) as a course writes
them; :meth:`NetworkModel.to_base` writes them out down to x and the four parameter arrays, with f as ``tanh`` or
``Max(0, ·)`` and f' as ``1 − tanh²`` or the step ``Max(0, u)/u`` (the kink u = 0 is a set of measure zero
that random sampling never meets).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, ClassVar

import sympy as sp

from ... import model as mdl
from ...model import Model

W1, b1, W2, b2 = (sp.IndexedBase(name) for name in ("W1", "b1", "W2", "b2"))
a, h = sp.IndexedBase("a"), sp.IndexedBase("h")
H = sp.Symbol("H", integer=True, positive=True)  # the number of hidden units
q = sp.Symbol("q", integer=True)                 # summed over the hidden units
PRINTED = {"W1": "W^{(1)}", "b1": "b^{(1)}", "W2": "W^{(2)}", "b2": "b^{(2)}"}
TEXT = {"W1": "W⁽¹⁾", "b1": "b⁽¹⁾", "W2": "W⁽²⁾", "b2": "b⁽²⁾"}


class Activation(sp.Function):
    """f(u), the hidden activation, folded; which f (tanh or ReLU) is the model's."""

    nargs = 2  # (u, kind): kind 0 is tanh, 1 is ReLU

    def _derive_latex(self, printer) -> str:  # type: ignore[no-untyped-def]
        u, kind = self.args
        name = r"\tanh" if kind == 0 else r"\operatorname{ReLU}"
        return rf"{name}\left({printer._print(u)}\right)"

    def _derive_text(self, printer) -> str:  # type: ignore[no-untyped-def]
        u, kind = self.args
        return f"{'tanh' if kind == 0 else 'ReLU'}({printer._print(u)})"


class ActivationPrime(sp.Function):
    """f'(u), the derivative of the activation at u, as a course writes it: 1 − h_j² for tanh (h_j = tanh(a_j)),
    the indicator 1[a_j > 0] for ReLU."""

    nargs = 2

    def _derive_latex(self, printer) -> str:  # type: ignore[no-untyped-def]
        u, kind = self.args
        if kind == 0:
            return rf"\left(1 - {printer._print(_hidden_of(u))}^{{2}}\right)"
        return rf"\mathbb{{1}}\left[{printer._print(u)} > 0\right]"

    def _derive_text(self, printer) -> str:  # type: ignore[no-untyped-def]
        u, kind = self.args
        if kind == 0:
            return f"(1 − {printer._print(_hidden_of(u))}²)"
        return f"1[{printer._print(u)} > 0]"


def _hidden_of(u: sp.Expr) -> sp.Expr:
    """h_j for a_j: what tanh(a_j) is called."""
    return h[u.indices] if isinstance(u, sp.Indexed) and u.base == a else Activation(u, 0)


def activation_base(u: sp.Expr, kind: int) -> sp.Expr:
    return sp.tanh(u) if kind == 0 else sp.Max(sp.S.Zero, u)


def activation_prime_base(u: sp.Expr, kind: int) -> sp.Expr:
    """tanh' = 1 − tanh²; ReLU' = 1[u > 0], written max(0, u)/u (1 for u > 0, 0 for u < 0; the kink u = 0 is
    never sampled). Not a Piecewise: SymPy folds a Piecewise out of the sum over q that binds its condition's
    index (Σ_i (Σ_q W_iq 1[a_q > 0] …) became Σ_i Piecewise((Σ_q …, a_q > 0), …), q free)."""
    if kind == 0:
        return 1 - sp.tanh(u) ** 2
    return sp.Mul(sp.Max(sp.S.Zero, u, evaluate=False), sp.Pow(u, -1, evaluate=False), evaluate=False)


def pre_activation(index: sp.Expr) -> sp.Expr:
    """a_index = Σ_r W⁽¹⁾_{index r} x_r + b⁽¹⁾_index."""
    return sp.Sum(W1[index, mdl.r] * mdl.x[mdl.r], (mdl.r, 1, mdl.M)) + b1[index]


def output_logit(index: sp.Expr) -> sp.Expr:
    """z_index = Σ_q W⁽²⁾_{index q} h_q + b⁽²⁾_index."""
    return sp.Sum(W2[index, q] * h[q], (q, 1, H)) + b2[index]


@dataclass(frozen=True)
class NetworkModel(Model):
    """The quantities of the two-layer network and how they expand. ``kind``: 0 tanh, 1 ReLU."""

    family: ClassVar[str] = "network"
    notation_keys: ClassVar[tuple[str, ...] | None] = ("logits", "probs", "labels", "target", "classes", "loss",
                                                       "activation")
    certificate_symbols: ClassVar[dict[str, object]] = {
        "input": "x", "hidden": "h", "pre_activation": "a", "hidden_units": "H", "inputs": "m",
        "parameters": ["W1", "b1", "W2", "b2"]}
    checked_at: ClassVar[str | None] = ("at random inputs, weights and biases, with n = 2 and 3 classes, m = n + 1 "
                                        "inputs and H = n + 2 hidden units")
    class_sizes: ClassVar[tuple[int, ...]] = (2, 3)  # every shape distinct already; n = 5 (H = 7, m = 6) is slow
    draws: ClassVar[int] = 1  # random draws per size and index pattern
    kind: int = 0

    @property
    def activation(self) -> str:
        return "tanh" if self.kind == 0 else "relu"

    def sizes(self, classes: int) -> dict[sp.Symbol, int]:
        """Sizes the sampler uses besides n: every shape distinct."""
        return {mdl.M: classes + 1, H: classes + 2}

    def fill_point(self, arrays, ints) -> None:  # type: ignore[no-untyped-def]
        """Make the sampled logits and probabilities those of the network at the sampled input and parameters
        (a derivative by z_i is evaluated where the network puts z)."""
        n, m, hidden = ints[mdl.n], ints[mdl.M], ints[H]
        f = math.tanh if self.kind == 0 else (lambda v: max(0.0, v))
        draw = getattr(arrays, "draw", None)
        for r in range(1, m + 1):  # the input: drawn like any independent input of the point
            arrays["x"].setdefault((r,), draw("x", (r,)) if draw else 0.5)
        x = {(r,): arrays["x"][(r,)] for r in range(1, m + 1)}
        hid = [f(sum(arrays["W1"][(u, r)] * x[(r,)] for r in range(1, m + 1)) + arrays["b1"][(u,)])
               for u in range(1, hidden + 1)]
        logits = [sum(arrays["W2"][(k, u)] * hid[u - 1] for u in range(1, hidden + 1)) + arrays["b2"][(k,)]
                  for k in range(1, n + 1)]
        top = max(logits)
        total = sum(math.exp(v - top) for v in logits)
        for k in range(1, n + 1):
            arrays["z"][(k,)] = logits[k - 1]
            arrays["yhat"][(k,)] = math.exp(logits[k - 1] - top) / total

    def prose_names(self) -> dict[str, sp.Expr]:
        j, k, l = mdl.j, mdl.k, mdl.l  # noqa: E741
        return {"a_j": a[j], "h_j": h[j], "z_k": mdl.z[k], "x_l": mdl.x[l], "pre_j": pre_activation(j),
                "hidden_j": Activation(a[j], self.kind), "logit_k": output_logit(k),
                "fprime_j": ActivationPrime(a[j], self.kind), "H": H, "m": mdl.M, "prob_k": mdl.yhat[k],
                "softmax_k": mdl.softmax(k), "ce": self.loss(), "z_i": mdl.z[mdl.i], "dz_i": mdl.D(mdl.L, mdl.z[mdl.i]),
                "a_q": a[q], "pre_q": pre_activation(q), "h_q": h[q], "hidden_q": Activation(a[q], self.kind), "fprime_q": ActivationPrime(a[q], self.kind),
                "W1": sp.MatrixSymbol("W1", H, mdl.M), "W2": sp.MatrixSymbol("W2", mdl.n, H),
                "b1": sp.MatrixSymbol("b1", H, 1), "b2": sp.MatrixSymbol("b2", mdl.n, 1)}

    def _expand(self, expr: sp.Expr, keep: frozenset[str], build: Callable[..., sp.Expr]) -> sp.Expr:
        if isinstance(expr, (sp.Indexed, Activation, ActivationPrime)):  # z_i, h_q, a_q recur in every step
            return _leaf_expanded(self, expr, keep, build)
        return self._expand_node(expr, keep, build)

    def _expand_node(self, expr: sp.Expr, keep: frozenset[str], build: Callable[..., sp.Expr]) -> sp.Expr:
        if isinstance(expr, sp.Indexed) and not expr.base == mdl.yhat:
            name = expr.base.label.name
            (index,) = expr.indices if len(expr.indices) == 1 else (None,)
            if name == "z" and "z" not in keep and index is not None:
                return self._expand(output_logit(index), keep, build)
            if name == "h" and "h" not in keep:
                return self._expand(activation_base(a[index], self.kind), keep, build)
            if name == "a" and "a" not in keep:
                return self._expand(pre_activation(index), keep, build)
            return expr
        if isinstance(expr, Activation):
            return self._expand(activation_base(*expr.args), keep, build)
        if isinstance(expr, ActivationPrime):
            return self._expand(activation_prime_base(*expr.args), keep, build)
        return super()._expand(expr, keep, build)

    def to_base(self, expr: sp.Expr, keep: tuple[str, ...] = ()) -> sp.Expr:
        return _network_expanded(self, expr, frozenset(keep))

    def definitions(self) -> dict[str, tuple[tuple[sp.Symbol, ...], sp.Expr]]:
        """What a re-checker substitutes after ``doit()``: ŷ as softmax of z, z through the network."""
        u = sp.Symbol("u", integer=True)
        found = super().definitions()
        found["z"] = ((u,), self.to_base(output_logit(u)))
        return found


@lru_cache(maxsize=4096)
def _leaf_expanded(model: NetworkModel, expr: sp.Expr, keep: frozenset[str], build: Callable[..., sp.Expr]) -> sp.Expr:
    return model._expand_node(expr, keep, build)


@lru_cache(maxsize=4096)
def _network_expanded(model: NetworkModel, expr: sp.Expr, keep: frozenset[str]) -> sp.Expr:
    with sp.evaluate(False):
        return model._expand(expr, keep, mdl.softmax)
