"""What the hinge family differentiates: scores s = Wx (a linear layer without a bias, s_j = Σ_r W_jr x_r), a
class label c, a margin Δ and the multiclass hinge loss L = Σ_{j≠c} max(0, s_j − s_c + Δ).

Expressions are kept *folded*, as a course writes them: the scores are the logits ``z`` of the softmax model (the
user's notation prints them, ``s`` by default for this entry), max(0, u) is a :class:`Hinge` node, the indicator
1[u > 0] a :class:`Positive` node and Δ a :class:`Margin` symbol. :meth:`HingeModel.to_base` expands them into
plain SymPy (``Max``, ``Piecewise``, ``Sum`` of ``W`` and ``x`` entries, ``Symbol('Delta')``) for the verifier and
the certificate.

max(0, u) has no derivative where u = 0 (a kink). The gradient holds wherever every margin s_j − s_c + Δ
(j ≠ c) is nonzero: :meth:`HingeModel.admits` keeps the verifier's sample points away from the kinks, and the
certificate says so (``excluded``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import sympy as sp

from ... import model as mdl
from ...engine.rules import sum_excluding
from ...model import Model
from ...notation import Target

KINK_GAP = 1e-3  # a sample point whose margin is closer to 0 than this is taken to be on a kink and skipped


class Margin(sp.Symbol):
    """The margin Δ, a scalar input printed in the user's notation (``margin``), last in a sum: s_j − s_c + Δ."""

    written_last = True

    def __new__(cls, name: str = "Delta", **assumptions: bool) -> "Margin":  # assumptions: accepted for pickling
        return super().__new__(cls, name, real=True)  # type: ignore[no-any-return]

    def _derive_latex(self, printer) -> str:  # type: ignore[no-untyped-def]
        return str(printer.notation.margin)

    def _derive_text(self, printer) -> str:  # type: ignore[no-untyped-def]
        return printer._sym(self._derive_latex(printer))

    @property
    def plain(self) -> sp.Symbol:
        return sp.Symbol(self.name, real=True)


Delta = Margin()


class Hinge(sp.Function):
    """max(0, u), folded."""

    nargs = 1

    def _derive_latex(self, printer) -> str:  # type: ignore[no-untyped-def]
        return rf"\max\left(0, {printer._print(self.args[0])}\right)"

    def _derive_text(self, printer) -> str:  # type: ignore[no-untyped-def]
        return f"max(0, {printer._print(self.args[0])})"


class Positive(sp.Function):
    """1[u > 0], the indicator of a positive margin, folded."""

    nargs = 1

    def _derive_latex(self, printer) -> str:  # type: ignore[no-untyped-def]
        return rf"\mathbf{{1}}[{printer._print(self.args[0])} > 0]"  # amssymb has no \mathbb{1}

    def _derive_text(self, printer) -> str:  # type: ignore[no-untyped-def]
        return f"1[{printer._print(self.args[0])} > 0]"


def margin(index: sp.Expr) -> sp.Expr:
    """s_index − s_c + Δ."""
    return mdl.z[index] - mdl.z[mdl.c] + Delta


def hinge_loss(index: sp.Symbol = mdl.j) -> sp.Expr:
    """Σ_{j≠c} max(0, s_j − s_c + Δ), the sum over j ≠ c written Σ_j (1 − δ_jc) (…)."""
    return sum_excluding(Hinge(margin(index)), index, mdl.c)


@dataclass(frozen=True)
class HingeModel(Model):
    """The quantities of the hinge family: a layer without a bias (the scores), a class label c, the margin Δ."""

    family: ClassVar[str] = "hinge"
    notation_keys: ClassVar[tuple[str, ...] | None] = ("logits", "target", "classes", "loss", "linear", "margin")
    certificate_symbols: ClassVar[dict[str, object]] = {
        "probs": None, "labels": None, "logits": "z", "weights": "W", "input": "x", "inputs": "m",
        "scalars": ["Delta"], "margin": "Delta"}
    checked_at: ClassVar[str | None] = ("at random weights, inputs and margins for 2, 3 and 5 classes, away from the "
                                        "kinks of max (every margin nonzero)")
    target: Target = field(default_factory=lambda: Target("class", "c"))
    linear: bool = True
    bias: bool = False

    scalars: ClassVar[tuple[str, ...]] = ("Delta",)

    def __post_init__(self) -> None:
        # the scores have no bias, whatever a caller asks of a layer (derive.plans.trace replaces ``bias``)
        object.__setattr__(self, "bias", False)

    def loss(self, example: sp.Expr | None = None) -> sp.Expr:
        return hinge_loss()

    def prose_names(self) -> dict[str, sp.Expr]:
        return {"margin": Delta, "score_j": mdl.z[mdl.j], "score_k": mdl.z[mdl.k], "score_label": mdl.z[mdl.c],
                "margin_j": margin(mdl.j), "margin_k": margin(mdl.k), "hinge_j": Hinge(margin(mdl.j)),
                "hinge_loss": hinge_loss(), "positive_j": Positive(margin(mdl.j)),
                "positive_u": Positive(sp.Symbol("u")), "hinge_u": Hinge(sp.Symbol("u")),
                "weight_kl": mdl.W[mdl.k, mdl.l], "weight_cl": mdl.W[mdl.c, mdl.l], "input_l": mdl.x[mdl.l],
                "label_delta_j": sp.KroneckerDelta(mdl.j, mdl.c), "l": mdl.l}

    def _expand(self, expr, keep, build):  # type: ignore[no-untyped-def]
        if isinstance(expr, Margin):
            return expr.plain
        if isinstance(expr, Hinge):
            return sp.Max(sp.S.Zero, self._expand(expr.args[0], keep, build), evaluate=False)
        if isinstance(expr, Positive):
            inner = self._expand(expr.args[0], keep, build)
            return sp.Piecewise((sp.S.One, sp.StrictGreaterThan(inner, 0, evaluate=False)), (sp.S.Zero, True),
                                evaluate=False)
        return super()._expand(expr, keep, build)

    def definitions(self) -> dict[str, tuple[tuple[sp.Symbol, ...], sp.Expr]]:
        """Nothing is differentiated by a defined quantity: the certificate's sides are in W, x and Δ already."""
        return {}

    def margins(self, point) -> list[float]:  # type: ignore[no-untyped-def]
        """The margins s_j − s_c + Δ (j ≠ c) at a sample point, or none where the point names no class c."""
        classes, label = point.ints.get(mdl.n), point.ints.get(mdl.c)
        if classes is None or label is None:
            return []
        scores, delta = point.arrays["z"], point.arrays["Delta"][()]
        return [scores[(cls,)] - scores[(label,)] + delta for cls in range(1, classes + 1) if cls != label]

    def admits(self, point) -> bool:  # type: ignore[no-untyped-def]
        """Whether a sample point is away from every kink of max(0, ·): the gradient is not defined on one."""
        return all(abs(value) >= KINK_GAP for value in self.margins(point))

    def excluded(self) -> dict[str, object]:
        """What the certificate says about the kinks: where the steps were not checked, and why."""
        where = mdl.z[mdl.j] - mdl.z[mdl.c] + Delta
        return {"where": where, "index": mdl.j, "gap": KINK_GAP,
                "reason": "max(0, u) has a kink at u = 0, where it has no derivative; every step holds, and was checked, only where "
                          "each margin s_j - s_c + Delta (j != c) is nonzero"}
