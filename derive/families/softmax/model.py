"""The softmax model with what the softmax family adds, still symbolic in the class count n.

- a temperature T: ŷ_j = e^{z_j / T} / Σ_i e^{z_i / T};
- smoothed labels y^LS_j = (1 − ε) y_j + ε / n (the IndexedBase ``ysmooth``, folded as a person writes it);
- the softmax of shifted logits, softmax(z − c)_k, with c a constant (implementations take c = max_j z_j).

T, ε and c are plain SymPy Symbols, so a certificate in base quantities stays plain SymPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import sympy as sp

from ... import model as mdl
from ...model import Model

T = sp.Symbol("T", positive=True)                  # the temperature
varepsilon = sp.Symbol("varepsilon", positive=True)  # the label-smoothing weight
shift = sp.Symbol("shift", real=True)              # a constant subtracted from every logit, printed c
ysmooth = sp.IndexedBase("ysmooth")                # the smoothed labels y^LS

SCALARS = {"temperature": T, "smoothing": varepsilon, "shift": shift}


def smoothed_label(index: sp.Expr) -> sp.Expr:
    """y^LS_index = (1 − ε) y_index + ε / n."""
    return (1 - varepsilon) * mdl.y[index] + varepsilon / mdl.n


def tempered_partition(avoid: tuple[sp.Expr, ...] = ()) -> sp.Sum:
    """Σ_i e^{z_i / T}."""
    dummy = mdl.fresh_index(*avoid)
    return mdl.class_sum(sp.exp(mdl.z[dummy] / T), dummy)


def shifted_exp(index: sp.Expr) -> sp.Expr:
    """e^{z_index − c}."""
    return sp.exp(mdl.z[index] - shift)


class ShiftedSoftmax(sp.Function):
    """softmax(z − c)_k: entry k of the softmax of the logits shifted by the constant c.

    Its own node so that the shift part starts from what is computed, as written; :class:`FamilyModel` expands
    it into base quantities, so it never reaches a certificate's SymPy."""

    nargs = 1

    def _derive_latex(self, printer) -> str:  # type: ignore[no-untyped-def]
        logits = printer.notation.logits
        return rf"\operatorname{{softmax}}({logits} - {printer._print(shift)})_{{{printer._print(self.args[0])}}}"

    def _derive_text(self, printer) -> str:  # type: ignore[no-untyped-def]
        logits = printer._sym(printer.notation.logits)
        return f"softmax({logits} − {printer._print(shift)})_{printer._print(self.args[0])}"


def shifted_softmax_written_out(index: sp.Expr) -> sp.Expr:
    """e^{z_k − c} / Σ_i e^{z_i − c}."""
    dummy = mdl.fresh_index(index)
    return shifted_exp(index) / mdl.class_sum(shifted_exp(dummy), dummy)


@dataclass(frozen=True)
class FamilyModel(Model):
    """:class:`derive.model.Model` with a ``temperature`` (softmax(z / T)) and/or ``smoothing`` (the loss
    −Σ_j y^LS_j log ŷ_j). ``uses_labels`` is False where no labels take part (log-sum-exp)."""

    temperature: bool = False
    smoothing: bool = False
    uses_labels: bool = True

    family: ClassVar[str] = "softmax-family"  # templates/<format>/intro-softmax-family.j2 introduces it

    @property
    def notation_keys(self) -> tuple[str, ...]:  # type: ignore[override]
        """The notation keys that mean something in this derivation (its documents carry only these)."""
        keys = ("logits", "probs", "classes")
        if self.uses_labels:
            keys += ("labels", "target", "loss")
        return keys + ("temperature",) * self.temperature + ("smoothing",) * self.smoothing

    @property
    def certificate_symbols(self) -> dict[str, object]:  # type: ignore[override]
        """The scalar inputs its certificate's steps hold besides the arrays (any real value keeps every step
        true; T is positive), and no labels or loss where none take part."""
        scalars = [T.name] * self.temperature + [varepsilon.name] * self.smoothing
        if not self.uses_labels:
            return {"labels": None, "loss": None, "scalars": [shift.name]}
        return {"scalars": scalars} if scalars else {}

    def prose_names(self) -> dict[str, sp.Expr]:
        """What the introduction and the prose mention: T, ε, c, y^LS and the definitions written out."""
        return {"temperature": T, "smoothing": varepsilon, "shift": shift, "smoothed_j": ysmooth[mdl.j],
                "smoothed_k": ysmooth[mdl.k], "smoothed_definition_k": smoothed_label(mdl.k),
                "softmax_k": self.softmax(mdl.k), "loss_definition": self.loss(),
                "log_sum_exp": sp.log(mdl.partition_sum())}

    def softmax(self, index: sp.Expr, example: sp.Expr | None = None) -> sp.Expr:
        """softmax(z / T)_index with a temperature, else the plain softmax."""
        if not self.temperature:
            return mdl.softmax(index, example)
        assert example is None, "no batch with a temperature"
        return sp.exp(mdl.z[index] / T) / tempered_partition(avoid=(index,))

    def loss(self, example: sp.Expr | None = None) -> sp.Expr:
        if self.smoothing and example is None and self.defined_loss is None:
            return -mdl.class_sum(ysmooth[mdl.j] * sp.log(self.prob(mdl.j)), mdl.j)
        return super().loss(example)

    def _expand(self, expr, keep, build):  # type: ignore[no-untyped-def]
        if build is mdl.softmax:  # the model's own softmax (with its temperature) wherever ŷ is expanded
            build = self.softmax
        if isinstance(expr, sp.Indexed) and expr.base == ysmooth:
            return self._expand(smoothed_label(expr.indices[-1]), keep, build)
        if isinstance(expr, ShiftedSoftmax):
            return self._expand(shifted_softmax_written_out(expr.args[0]), keep, build)
        return super()._expand(expr, keep, build)

    def definitions(self) -> dict[str, tuple[tuple[sp.Symbol, ...], sp.Expr]]:
        found = super().definitions()
        if self.temperature and "yhat" in found:
            q = sp.Symbol("q", integer=True)
            found["yhat"] = ((q,), self.softmax(q))
        return found
