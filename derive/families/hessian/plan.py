"""The plan of ``softmax-cross-entropy-hessian``: which rules, in which order.

1. ∂²L/∂z_j∂z_k = ∂/∂z_j (∂L/∂z_k): the gradient ŷ_k − y_k (from ``softmax-cross-entropy``), the sum rule, the
   labels are constants, the softmax Jacobian (from ``softmax-jacobian``): ŷ_k(δ_jk − ŷ_j); as a matrix, the
   Jacobian of the gradient ŷ − y, diag(ŷ) − ŷŷᵀ.
2. Positive semi-definite: for any vector v, Σ_j Σ_k v_j v_k ∂²L/∂z_j∂z_k is the entries inserted, multiplied out,
   the Kronecker sum and a product of sums: Σ_j ŷ_j v_j² − (Σ_j ŷ_j v_j)², which is Σ_j ŷ_j (v_j − m)² with
   m = Σ_k ŷ_k v_k because the ŷ_j sum to one: a sum of squares with positive weights, never negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import sympy as sp

from ... import matrices as mtx, model as mdl
from ...catalogue import entry
from ...engine.calculus import ConstantRule
from ...engine.rules import ConstantFactor, Lemma, Rule, SumRule, rewrite_everywhere, substitute_lemmas
from ...engine.tracer import Tracer
from ...model import D, Model, j, k
from ...notation import Target
from ...record import Part
from .rules import DistributeSum, KroneckerDoubleSum, ProductOfSums, UseEntries, UseGradient, Variance

NAME = "softmax-cross-entropy-hessian"
v = sp.IndexedBase("v")  # any direction: vᵀ H v = Σ_j Σ_k v_j v_k ∂²L/∂z_j∂z_k


@dataclass(frozen=True)
class HessianModel(Model):
    """The softmax model; its certificate also names the direction v of the quadratic form."""

    certificate_symbols: ClassVar[dict[str, object]] = {"direction": "v"}

    def prose_names(self) -> dict[str, sp.Expr]:
        return {"hessian_jk": D(D(mdl.L, mdl.z[k]), mdl.z[j])}


def part(name: str, key: str, goal: sp.Expr) -> Part:
    return Part(key, dict(entry(name).parts)[key], goal)


def gradient_and_jacobian(target: Target) -> tuple[sp.Expr, Lemma]:
    """∂L/∂z_k and the softmax Jacobian ∂ŷ_j/∂z_k = ŷ_j(δ_jk − ŷ_k), as the other catalogue plans derive them."""
    from ...plans import single_example_result, trace

    jacobian = trace("softmax-jacobian")
    merged = next(s.after for s in jacobian.steps if s.rule == "case-split" and s.detail == "merge")
    gradient = single_example_result(HessianModel(target=target), example=None)
    gradient = gradient.replace(lambda e: isinstance(e, sp.Sum), lambda e: e.xreplace({e.limits[0][0]: mdl.i}))
    return gradient, Lemma(D(mdl.yhat[j], mdl.z[k]), merged, (j, k))  # Σ_i y_i, not Σ_j: j is free here


def second_derivative(tracer: Tracer, name: str) -> sp.Expr:
    """∂²L/∂z_j∂z_k by index, then as a matrix; returns the entry."""
    model = tracer.model
    gradient, jacobian = gradient_and_jacobian(model.target)
    assumes = (model.target.assumption,) if model.target.assumption else ()
    tracer.begin(part(name, "hessian", D(D(mdl.L, mdl.z[k]), mdl.z[j])))
    tracer.apply(UseGradient(first=D(mdl.L, mdl.z[k]), value=gradient), detail="gradient", assumes=assumes)
    rules: list[Rule] = [SumRule(), ConstantFactor(model=model), ConstantRule(model=model)]
    while any(rewrite_everywhere(tracer.current, rule)[1] for rule in rules):
        tracer.apply(next(rule for rule in rules if rewrite_everywhere(tracer.current, rule)[1]))
    tracer.rewrite("substitute", substitute_lemmas(tracer.current, (jacobian,)), detail="jacobian-entry",
                   facts={"derivative": D(mdl.yhat[k], mdl.z[j]), "value": jacobian.general.xreplace({j: k, k: j})})
    entry_value = tracer.rewrite("algebra", sp.expand(tracer.current), detail="distribute")
    tracer.final = tracer.steps[-1]  # the result: ∂²L/∂z_j∂z_k by index; the matrix form follows
    labels = mtx.MATRICES["y"]  # the gradient as a vector: ŷ − y (with labels that sum to one), else (1ᵀy) ŷ − y
    vector = sp.MatAdd(mtx.MATRICES["yhat"], -labels) if model.target.assumption else \
        mtx.matrix_form(gradient, k, sp.Integer(1))
    tracer.matrix_form(D(vector, mtx.MATRICES["z"]), (k, j))
    return entry_value


def positive_semidefinite(tracer: Tracer, name: str, entry_value: sp.Expr) -> None:
    """vᵀHv = Σ_j ŷ_j (v_j − Σ_k ŷ_k v_k)² ≥ 0."""
    goal = sp.Sum(v[j] * v[k] * D(D(mdl.L, mdl.z[k]), mdl.z[j]), (j, 1, mdl.n), (k, 1, mdl.n))
    tracer.begin(part(name, "psd", goal))
    tracer.apply(UseEntries(entry=entry_value), detail="hessian-entries", assumes=(tracer.model.target.assumption,))
    tracer.apply(DistributeSum(), detail="distribute-sum")
    tracer.apply(KroneckerDoubleSum())
    tracer.apply(ProductOfSums(), detail="product-of-sums")
    tracer.apply(Variance(), detail="variance")


def plan_hessian(tracer: Tracer, name: str) -> None:
    entry_value = second_derivative(tracer, name)
    if tracer.model.target.assumption is not None:  # labels summing to one: H = diag(ŷ) − ŷŷᵀ, never negative
        positive_semidefinite(tracer, name, entry_value)


def _model(target: Target) -> HessianModel:
    """A class label c is a one-hot y with y_c = 1."""
    return HessianModel(target=Target("one-hot", target.name) if target.kind == "class" else target)


PLANS: dict[tuple[str, str], tuple[Callable[[Tracer, str], None], Callable[[Target], Model]]] = {
    (NAME, "index"): (plan_hessian, _model),
}
