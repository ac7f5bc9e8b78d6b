"""The plan of ``multiclass-hinge``: which rules, in which order.

1. ∂L/∂W_kl: the loss written out, the sum rule (the sum leaves out j = c), the derivative of max(0, u) as the
   indicator of a positive margin times ∂u/∂W_kl, linearity, Δ constant, the scores written out where they are
   differentiated, the index derivative and the Kronecker sum: Σ_{j≠c} 1[s_j − s_c + Δ > 0] (δ_jk x_l − δ_ck x_l).
2. The rows of the gradient, by cases: k ≠ c (a row w_k of another class: only the term j = k is left,
   1[s_k − s_c + Δ > 0] x_l) and k = c (the row of the true class: every term with a positive margin counts,
   with a minus sign, −x_l Σ_{j≠c} 1[s_j − s_c + Δ > 0]).

A plan only chooses; the tracer applies the rules and records the steps, and every step is verified away from the
kinks of max (see :meth:`HingeModel.admits`).
"""

from __future__ import annotations

from typing import Callable

import sympy as sp

from ... import model as mdl
from ...catalogue import entry
from ...engine.rules import ConstantFactor, Independent, IndexDerivative, KroneckerSum, SumRule, Unfold
from ...engine.tracer import Tracer
from ...model import D
from ...notation import Target
from ...record import Case, Part
from .model import HingeModel
from .rules import ExcludedIndex, ExcludedKroneckerSum, ExcludedSumRule, HingeRule, UnfoldScores

NAME = "multiclass-hinge"
k, l, c = mdl.k, mdl.l, mdl.c


def part(key: str, goal: sp.Expr) -> Part:
    return Part(key, dict(entry(NAME).parts)[key], goal)


def gradient(tracer: Tracer) -> sp.Expr:
    """∂L/∂W_kl in general: Σ_{j≠c} 1[s_j − s_c + Δ > 0] (δ_jk x_l − δ_ck x_l)."""
    model = tracer.model
    tracer.begin(part("gradient", D(mdl.L, mdl.W[k, l])))
    tracer.apply(Unfold(model=model, names=("L",)), detail="hinge-loss")
    tracer.apply(ExcludedSumRule())
    tracer.apply(HingeRule())
    tracer.apply(SumRule(), detail="margin")
    tracer.apply(ConstantFactor(model=model))
    tracer.apply(Independent(model=model), detail="margin")
    tracer.apply(UnfoldScores(bias=model.bias), detail="scores")
    tracer.apply(SumRule())
    tracer.apply(ConstantFactor(model=model))
    tracer.apply(IndexDerivative())
    return tracer.apply(KroneckerSum())


def rows(tracer: Tracer, general: sp.Expr) -> None:
    """The two cases: a row k ≠ c, and the row of the true class."""
    tracer.begin(part("rows", D(mdl.L, mdl.W[k, l])), expr=general)
    other = Case(distinct=(("k", "c"),))
    tracer.split_case(other, {}, general)
    tracer.apply(ExcludedKroneckerSum(distinct=other.distinct), detail="excluded")
    tracer.split_case(Case(equal=(("k", "c"),)), {k: c}, general)
    tracer.apply(ExcludedIndex())
    tracer.move("pull-out-of-sum")
    tracer.case = None


def plan_hinge(tracer: Tracer, name: str) -> None:
    general = gradient(tracer)
    tracer.final = tracer.steps[-1]  # the result: one formula for every row; the cases read it row by row
    rows(tracer, general)


def _model(target: Target) -> HingeModel:
    """The label is a class index (named as the user's target names it, else c)."""
    return HingeModel(target=Target("class", target.name if target.kind == "class" and target.name else "c"))


PLANS: dict[tuple[str, str], tuple[Callable[[Tracer, str], None], Callable[[Target], HingeModel]]] = {
    (NAME, "index"): (plan_hinge, _model),
}
