"""The plan of ``sigmoid-binary-cross-entropy``: which rules, in which order.

1. σ'(z): the definition, the quotient rule and the elementary derivatives give e^{−z}/(1 + e^{−z})²; one
   factor of the square under each fraction, e^{−z}/(1 + e^{−z}) = 1 − 1/(1 + e^{−z}), and the definition
   read backwards: σ(z)(1 − σ(z)).
2. ∂L/∂z: the loss written out, the sum, constant-factor and logarithm rules, σ' from part 1 inserted, and
   the algebra down to σ(z) − y.
3. The mean over a batch: linearity, each ℓ_t depends on its own logit only (δ_ts times part 2), the Kronecker
   sum: (σ(z_s) − y_s)/N.

A plan only chooses; the tracer applies the rules and records the steps, and every step is verified.
"""

from __future__ import annotations

from typing import Callable

import sympy as sp

from ... import model as mdl
from ...catalogue import entry
from ...engine.rules import ExpRule, KroneckerSum, LogRule, QuotientRule, Rule, SumRule, Unfold, rewrite_everywhere
from ...engine.tracer import Tracer
from ...errors import EngineError
from ...model import D
from ...notation import Target
from ...record import Part
from .model import Logistic, SigmoidModel, ell, y, z
from .rules import (Complement, ConstantRule, FoldSigmoid, IdentityRule, ScalarConstantFactor, SplitFraction,
                    UnfoldSigmoid, UseResult)

NAME = "sigmoid-binary-cross-entropy"


def part(name: str, key: str, goal: sp.Expr, model: SigmoidModel | None = None) -> Part:
    return Part(key, dict(entry(name).parts)[key], goal, model)


def differentiate(tracer: Tracer, leave: tuple[sp.Expr, ...] = ()) -> None:
    """Apply the first applicable rule, in order of priority, until none applies; only the derivatives in
    ``leave`` (results of an earlier part, substituted next) may remain."""
    model = tracer.model
    priority: list[Rule] = [SumRule(), ScalarConstantFactor(model=model), ConstantRule(model=model),
                            QuotientRule(), ExpRule(), LogRule(), IdentityRule()]
    while True:
        for rule in priority:
            if rewrite_everywhere(tracer.current, rule)[1]:
                tracer.apply(rule, detail="scalar" if isinstance(rule, ScalarConstantFactor) else None)
                break
        else:
            break
    left = tracer.current.atoms(sp.Derivative) - set(leave)
    if left:
        raise EngineError(f"internal error: no rule evaluates {', '.join(map(str, left))}")


def expand_terms(expr: sp.Expr) -> sp.Expr:
    """Multiply out every term, and show all the products before any of them cancel."""
    products = [p for term in sp.Add.make_args(expr) for p in sp.Add.make_args(sp.expand(term))]
    return sp.Add(*products, evaluate=False)


# -- parts ----------------------------------------------------------------------------------------------------

def sigmoid_derivative(tracer: Tracer, name: str) -> sp.Expr:
    """σ'(z) = σ(z)(1 − σ(z)) by the quotient rule."""
    tracer.begin(part(name, "sigmoid", D(Logistic(z), z)))
    tracer.apply(UnfoldSigmoid(), detail="sigmoid")
    differentiate(tracer)
    tracer.apply(SplitFraction(), detail="split-fraction")
    tracer.apply(Complement(), detail="complement")
    return tracer.apply(FoldSigmoid(), detail="sigmoid")


def loss_gradient(tracer: Tracer, name: str, derivative: sp.Expr) -> sp.Expr:
    """∂L/∂z = σ(z) − y: the loss written out and differentiated, σ' inserted, then algebra."""
    tracer.begin(part(name, "loss", D(mdl.L, z)))
    tracer.apply(Unfold(model=tracer.model, names=("L",)), detail="binary-cross-entropy")
    sigma_prime = D(Logistic(z), z)
    differentiate(tracer, leave=(sigma_prime,))
    tracer.apply(UseResult(lhs=sigma_prime, rhs=derivative), detail="sigmoid")
    tracer.move("cancel")
    tracer.rewrite("algebra", expand_terms(tracer.current), detail="expand")
    return tracer.rewrite("algebra", sp.Add(*tracer.current.args), detail="cancel-terms")


def batch_gradient(tracer: Tracer, name: str, single: sp.Expr) -> None:
    """∂L/∂z_s of the mean loss: linearity, δ_ts times the single-example gradient, the Kronecker sum."""
    batch = SigmoidModel(examples=True)
    s, t = mdl.s, mdl.t
    tracer.begin(part(name, "batch", D(mdl.L, mdl.z[s]), model=batch))
    tracer.apply(Unfold(model=batch, names=("L",)), detail="batch-loss")
    tracer.apply(ScalarConstantFactor(model=batch))
    tracer.apply(SumRule())
    per_example = sp.KroneckerDelta(t, s) * single.xreplace({z: mdl.z[t], y: mdl.y[t]})
    tracer.apply(UseResult(lhs=D(ell[t], mdl.z[s]), rhs=per_example), detail="per-example-logit")
    tracer.apply(KroneckerSum())


# -- the plan -------------------------------------------------------------------------------------------------

def plan_sigmoid_bce(tracer: Tracer, name: str) -> None:
    derivative = sigmoid_derivative(tracer, name)
    single = loss_gradient(tracer, name, derivative)
    tracer.final = tracer.steps[-1]  # the result is the single example's; the batch part generalises it
    batch_gradient(tracer, name, single)


PLANS: dict[tuple[str, str], tuple[Callable[[Tracer, str], None], Callable[[Target], SigmoidModel]]] = {
    (NAME, "index"): (plan_sigmoid_bce, lambda target: SigmoidModel()),
}
