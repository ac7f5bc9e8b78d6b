"""Catalogue plans of the softmax family: log-sum-exp (and the shift identity), softmax with a temperature,
label smoothing. Registered in :data:`derive.plans.PLANS`; they choose, the rules make the steps.

Both cross-entropies go by the log-softmax route: log ŷ_j = z_j / T − log Σ_i e^{z_i / T}, the loss split into a
sum that is linear in the logits and one log-sum-exp term, each differentiated on its own.
"""

from __future__ import annotations

from typing import Callable

import sympy as sp

from ... import model as mdl
from ...engine.rules import Fold, Rule, rewrite_everywhere
from ...engine.tracer import Tracer
from ...model import D, j, k, z
from ...notation import Target
from ...engine.algebra import evaluated
from .model import FamilyModel, ShiftedSoftmax, shift, ysmooth
from .rules import ExpOfSum, FoldTempered, SumLinearity, UnfoldFamily, rewrite_unevaluated


def plan_log_sum_exp(tracer: Tracer, name: str) -> None:
    """∂/∂z_k log Σ_i e^{z_i} = ŷ_k by the logarithm rule; then softmax(z − c) = softmax(z), the reason the
    softmax is computed with the largest logit subtracted."""
    from ...plans import part

    tracer.begin(part(name, "gradient", D(sp.log(mdl.partition_sum()), z[k])))
    differentiate(tracer)
    tracer.apply(Fold())
    tracer.final = tracer.steps[-1]  # the result is the gradient; the shift part explains how it is computed
    tracer.begin(part(name, "shift", ShiftedSoftmax(k)))
    tracer.apply(UnfoldFamily(model=tracer.model, names=("shifted",)), detail="softmax-shift")
    tracer.apply(ExpOfSum())
    tracer.rewrite("sum-linearity", rewrite_unevaluated(tracer.current, SumLinearity()), detail="constant",
                   facts={"index": mdl.i, "factor": sp.exp(-shift)})
    tracer.rewrite("algebra", evaluated(tracer.current), detail="cancel-common", facts={"factor": sp.exp(-shift)})
    tracer.apply(Fold(), detail="shift")


def differentiate(tracer: Tracer) -> None:
    """:func:`derive.plans.differentiate`, the same rules in the same order; a constant factor that the
    exponential rule has just exposed (1/T of ∂(z_i / T)/∂z_k) is marked ``inner``, to be shown with it."""
    from ...engine.rules import (ConstantFactor, ExpRule, Independent, IndexDerivative, KroneckerSum, LogRule,
                                 QuotientRule, SumRule)
    from ...errors import EngineError

    priority: list[Rule] = [ConstantFactor(model=tracer.model), Independent(model=tracer.model), SumRule(),
                            QuotientRule(), ExpRule(), LogRule(), IndexDerivative(), KroneckerSum()]
    previous = None
    while True:
        rule = next((r for r in priority if rewrite_everywhere(tracer.current, r)[1]), None)
        if rule is None:
            break
        inner = isinstance(rule, ConstantFactor) and previous == "exp-rule"
        tracer.apply(rule, detail="inner" if inner else None)
        previous = rule.id
    if tracer.current.has(sp.Derivative):
        raise EngineError(f"internal error: no rule evaluates the derivatives in {tracer.current}")


def log_softmax_route(tracer: Tracer, name: str, key: str) -> None:
    """∂L/∂z_k for L = −Σ_j y_j log ŷ_j (labels smoothed or not, softmax tempered or not): write out ŷ_j, take
    the log of the quotient, split the sum over j, differentiate, recognise ŷ_k again."""
    from ...plans import part

    model = tracer.model
    assert isinstance(model, FamilyModel)
    tracer.begin(part(name, key, D(mdl.L, z[k])))
    tracer.apply(UnfoldFamily(model=model, names=("L",)), detail="loss-smoothed" if model.smoothing else "loss")
    tracer.apply(UnfoldFamily(model=model, names=("yhat",)),
                 detail="softmax-temperature" if model.temperature else "softmax")
    tracer.move("log-of-quotient")
    tracer.apply(SumLinearity(outer=j), detail="loss")
    differentiate(tracer)
    fold: Rule = FoldTempered() if model.temperature else Fold()
    tracer.apply(fold, detail="temperature" if model.temperature else None)


def plan_temperature(tracer: Tracer, name: str) -> None:
    """L = −Σ_j y_j log softmax(z / T)_j: the same route, every logit divided by T, so 1/T comes out in front."""
    from ...plans import one_hot

    log_softmax_route(tracer, name, "temperature")
    tracer.move("collect")
    one_hot(tracer)


def plan_label_smoothing(tracer: Tracer, name: str) -> None:
    """First Σ_j y^LS_j = 1 (it rests on Σ_j y_j = 1), then the cross-entropy against y^LS by the log-softmax
    route, where that sum is used; finally y^LS_k written out."""
    from ...plans import one_hot, part

    model = tracer.model
    assumption = model.target.assumption
    smoothed_sum = mdl.class_sum(ysmooth[j], j)
    tracer.begin(part(name, "smoothed-labels", smoothed_sum))
    tracer.apply(UnfoldFamily(model=model, names=("ysmooth",)), detail="smoothed-labels")
    tracer.apply(SumLinearity(), detail="smoothed")
    one_hot(tracer, detail="smoothed")
    log_softmax_route(tracer, name, "gradient")
    if assumption is not None:
        tracer.rewrite("substitute", tracer.current.xreplace({smoothed_sum: sp.S.One}), detail="smoothed-sum",
                       assumes=(assumption,), facts={"sum": smoothed_sum})
    tracer.apply(UnfoldFamily(model=model, names=("ysmooth",), only=ysmooth[k]), detail="smoothed-labels")
    if model.label_index is not None:
        one_hot(tracer)


def _soft_targets(target: Target) -> Target:
    """Soft targets by default (a distribution, as a teacher's tempered output); a one-hot label named by the
    user, or a class index c (a one-hot y with y_c = 1), stays what it is."""
    if target == Target():
        return Target("distribution")
    return Target("one-hot", target.name) if target.kind == "class" else target


def _labels(target: Target) -> Target:
    return Target("one-hot", target.name) if target.kind == "class" else target


PLANS: dict[tuple[str, str], tuple[Callable[[Tracer, str], None], Callable[[Target], mdl.Model]]] = {
    ("log-sum-exp", "index"): (plan_log_sum_exp, lambda t: FamilyModel(uses_labels=False)),
    ("softmax-temperature-cross-entropy", "index"): (
        plan_temperature, lambda t: FamilyModel(target=_soft_targets(t), temperature=True)),
    ("label-smoothing-cross-entropy", "index"): (
        plan_label_smoothing, lambda t: FamilyModel(target=_labels(t), smoothing=True)),
}
