"""The plan of ``two-layer-network``: which rules, in which order.

The gradient by the logits, ∂L/∂z_i = ŷ_i − y_i, is the ``softmax-cross-entropy`` result, used as a lemma (as
the linear layer does). Each parameter then takes the chain rule through the logits z_i:

1. b⁽²⁾ and W⁽²⁾: z_i written out, linearity, the index derivative and the Kronecker sum give δ⁽²⁾_k = ŷ_k − y_k
   and δ⁽²⁾_k h_j; as matrices ŷ − y and (ŷ − y) hᵀ.
2. b⁽¹⁾ and W⁽¹⁾: through z_i to h_q (W⁽²⁾_iq out of the derivative), h_q = f(a_q), the chain rule through f
   (f'(a_q)), a_q written out, the Kronecker sums, then the factors without i out of the sum over i:
   δ⁽¹⁾_j = (Σ_i W⁽²⁾_ij (ŷ_i − y_i)) f'(a_j) and δ⁽¹⁾_j x_l; as matrices (W⁽²⁾ᵀ(ŷ − y)) ⊙ f'(a) and that times xᵀ.
"""

from __future__ import annotations

from typing import Callable

import sympy as sp

from ... import matrices as mtx, model as mdl
from ...catalogue import entry
from ...engine.rules import (ConstantFactor, IndexDerivative, Independent, KroneckerSum, Lemma, Rule, SumRule,
                             rewrite_everywhere, substitute_lemmas)
from ...engine.tracer import Tracer
from ...errors import EngineError
from ...model import D
from ...notation import Target
from ...record import Part
from .model import H, NetworkModel, W1, W2, a, b1, b2, h
from .rules import ActivationRule, Hadamard, PrimeVector, PullOut, UnfoldLayer

NAME = "two-layer-network"
VECTORS = {"W1": sp.MatrixSymbol("W1", H, mdl.M), "b1": sp.MatrixSymbol("b1", H, 1),
           "W2": sp.MatrixSymbol("W2", mdl.n, H), "b2": sp.MatrixSymbol("b2", mdl.n, 1),
           "h": sp.MatrixSymbol("h", H, 1), "a": sp.MatrixSymbol("a", H, 1)}


def part(name: str, key: str, goal: sp.Expr) -> Part:
    return Part(key, dict(entry(name).parts)[key], goal)


def differentiate(tracer: Tracer) -> None:
    """The first applicable rule, in order of priority, until no derivative is left."""
    model = tracer.model
    priority: list[Rule] = [Independent(model=model), ConstantFactor(model=model), SumRule(),
                            UnfoldLayer(name="h", model=model), ActivationRule(), UnfoldLayer(name="a", model=model),
                            IndexDerivative(), KroneckerSum()]
    while True:
        for rule in priority:
            if rewrite_everywhere(tracer.current, rule)[1]:
                detail = {"h": "activation", "a": "pre-activation"}.get(getattr(rule, "name", ""), None)
                tracer.apply(rule, detail=detail if isinstance(rule, UnfoldLayer) else
                             ("activation" if isinstance(rule, ActivationRule) else None))
                break
        else:
            break
    if tracer.current.has(sp.Derivative):
        raise EngineError(f"internal error: no rule evaluates the derivatives in {tracer.current}")


def matrix_step(tracer: Tracer, lhs: sp.Derivative, matrix: sp.Basic, position: tuple[sp.Expr, sp.Expr]) -> None:
    """matrix-form: the entry just derived written as one matrix (or vector) of the variable's shape."""
    rows, cols = mtx.shape_of(matrix)
    if (rows, cols) != mtx.shape_of(lhs):
        raise EngineError(f"internal error: {matrix} has shape {rows}×{cols}, {lhs} has {mtx.shape_of(lhs)}")
    tracer.case = None
    facts = {"lhs": lhs, "rows": rows, "cols": cols, "row": position[0], "col": position[1],
             "outer": sp.Integer(int(matrix.has(sp.Transpose) and cols != 1)), "variable": lhs.variables[0],
             "lhs_row": position[0]}
    tracer.rewrite("matrix-form", matrix, detail="hadamard" if matrix.has(Hadamard) else None, facts=facts)


def plan_two_layer(tracer: Tracer, name: str) -> None:
    from ...plans import single_example_result

    model: NetworkModel = tracer.model  # type: ignore[assignment]
    i, j, k, l = mdl.i, mdl.j, mdl.k, mdl.l  # noqa: E741
    logits = Lemma(D(mdl.L, mdl.z[k]), single_example_result(model, example=None), (k,))
    assumes = (model.target.assumption,) if model.target.assumption else ()
    delta2 = sp.MatAdd(mtx.MATRICES["yhat"], -mtx.MATRICES["y"])
    delta1 = Hadamard(sp.MatMul(sp.Transpose(VECTORS["W2"]), delta2), PrimeVector(VECTORS["a"], model.kind))
    layers = (("output-bias", b2[k], (k, sp.Integer(1)), delta2),
              ("output-weights", W2[k, j], (k, j), sp.MatMul(delta2, sp.Transpose(VECTORS["h"]))),
              ("hidden-bias", b1[j], (j, sp.Integer(1)), delta1),
              ("hidden-weights", W1[j, l], (j, l), sp.MatMul(delta1, sp.Transpose(mtx.MATRICES["x"]))))
    for key, variable, position, matrix in layers:
        tracer.begin(part(name, key, D(mdl.L, variable)))
        tracer.apply(_chain(), detail="network")
        tracer.rewrite("substitute", substitute_lemmas(tracer.current, (logits,)), detail="logits",
                       assumes=assumes, facts={"value": logits.general.xreplace({k: i})})
        tracer.apply(UnfoldLayer(name="z", model=model), detail="logits-network")
        differentiate(tracer)
        if key.startswith("hidden"):
            tracer.apply(PullOut(), detail="pull-out")
        matrix_step(tracer, D(mdl.L, VECTORS[variable.base.label.name]), matrix, position)
    tracer.final = tracer.steps[-1]


def _chain() -> Rule:
    from ...engine.rules import ChainRule

    return ChainRule(through=mdl.z, index=mdl.i)


def _model(target: Target) -> NetworkModel:
    """A class label c is a one-hot y with y_c = 1."""
    return NetworkModel(target=Target("one-hot", target.name) if target.kind == "class" else target)


PLANS: dict[tuple[str, str], tuple[Callable[[Tracer, str], None], Callable[[Target], NetworkModel]]] = {
    (NAME, "index"): (plan_two_layer, _model),
}
