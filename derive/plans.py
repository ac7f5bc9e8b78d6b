"""Catalogue plans: which quantity to differentiate, through what, which cases, which final form.

A plan only chooses; the steps come from rules applied by the tracer. Parts derived in one plan are reused
by others as lemmas (the Jacobian and the cross-entropy derivative feed the chain rule).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import sympy as sp

from . import matrices as mtx, model as mdl
from .catalogue import entry
from .record import Case, Derivation, Part
from .engine.rules import (ChainRule, ConstantFactor, ExpRule, Fold, Independent, IndexDerivative, KroneckerSum,
                           Lemma, LogRule, MergeSum, OneHot, QuotientRule, Rule, RuleDoesNotApply, SplitSum,
                           SumRule, SumToOne, Unfold, fold_softmax, rewrite_everywhere, substitute_lemmas)
from .engine.differentials import (DifferentialConstant, DifferentialLog, DifferentialSum, FrobeniusLinear,
                                   FrobeniusMove, MatrixOneHot, MatrixSumToOne, SubstituteMatrix, UnfoldMatrix,
                                   read_off)
from .engine.detail import DETAILS, at_level
from .engine.tracer import Tracer, verify_steps
from .matrices import MatrixDifferential, product
from .errors import EngineError, UsageError
from .families import hessian, hinge, sigmoid
from .families.softmax.plan import PLANS as SOFTMAX_FAMILY
from .families.network import PLANS as NETWORK
from .model import D, TotalDifferential, Model, j, k, yhat, z
from .notation import Notation, Target


def differentiate(tracer: Tracer) -> None:
    """Apply differentiation rules, the first applicable in order of priority, until no derivative is left."""
    priority: list[Rule] = [ConstantFactor(model=tracer.model), Independent(model=tracer.model), SumRule(),
                            QuotientRule(), ExpRule(), LogRule(), IndexDerivative(), KroneckerSum()]
    while True:
        for rule in priority:
            if rewrite_everywhere(tracer.current, rule)[1]:
                tracer.apply(rule)
                break
        else:
            break
    if tracer.current.has(sp.Derivative):
        raise EngineError(f"internal error: no rule evaluates the derivatives in {tracer.current}")


def part(name: str, key: str, goal: sp.Expr, method: str = "index", model: Model | None = None) -> Part:
    return Part(key, dict(entry(name).parts_of(method))[key], goal, model)


# -- parts ----------------------------------------------------------------------------------------------------

def jacobian(tracer: Tracer, name: str) -> Lemma:
    """∂ŷ_j/∂z_k: quotient rule on the definition, then the cases j = k and j ≠ k, then merged with δ_jk."""
    tracer.begin(part(name, "jacobian", D(yhat[j], z[k])))
    tracer.apply(Unfold(model=tracer.model, names=("yhat",)), detail="softmax")
    differentiate(tracer)
    general = tracer.current
    tracer.split_case(Case(equal=(("j", "k"),)), {k: j}, general)
    tracer.move("factor")
    equal = tracer.apply(Fold())
    tracer.split_case(Case(distinct=(("j", "k"),)), {}, general)
    distinct = tracer.apply(Fold())
    tracer.case = None
    tracer.current = sp.Piecewise((equal, sp.Eq(j, k)), (distinct, True))
    merged = tracer.rewrite("case-split", sp.factor_terms(fold_softmax(general)), detail="merge")
    tracer.move("distribute")
    tracer.matrix_form(D(mtx.MATRICES["yhat"], mtx.MATRICES["z"]), (j, k))
    return Lemma(D(yhat[j], z[k]), merged, (j, k), equal=equal, distinct=distinct)


def cross_entropy(tracer: Tracer, name: str) -> Lemma:
    """∂L/∂ŷ_k with the probabilities as independent variables."""
    tracer.begin(part(name, "cross-entropy", D(mdl.L, yhat[k])))
    tracer.apply(Unfold(model=tracer.model, names=("L",)), detail="loss")
    differentiate(tracer)
    return Lemma(D(mdl.L, yhat[k]), tracer.current, (k,))


def chain(tracer: Tracer, name: str, lemmas: tuple[Lemma, ...]) -> None:
    """∂L/∂z_k through ŷ: split off the term j = k, substitute both results, regroup, use Σ y = 1."""
    tracer.begin(part(name, "chain", D(mdl.L, z[k])))
    tracer.apply(ChainRule())
    tracer.apply(SplitSum(at=k), detail="split")
    tracer.rewrite("substitute", substitute_lemmas(tracer.current, lemmas))
    for move in ("cancel", "pull-out-of-sum", "distribute", "collect"):
        tracer.move(move)
    tracer.apply(MergeSum(), detail="merge")
    one_hot(tracer)


def one_hot(tracer: Tracer, matrix: bool = False, detail: str | None = None) -> None:
    """Use what the target says about the labels, if anything: Σ_j y_j = 1 (1ᵀy = 1 for ``matrix``), named
    after the assumption it rests on (one-hot labels, or labels that sum to one)."""
    assumption = tracer.model.target.assumption
    if assumption is None:
        return
    rules: dict[tuple[bool, str], Rule] = {
        (False, "one-hot"): OneHot(label_index=tracer.model.label_index),
        (False, "sum-to-one"): SumToOne(label_index=tracer.model.label_index),
        (True, "one-hot"): MatrixOneHot(), (True, "sum-to-one"): MatrixSumToOne()}
    tracer.apply(rules[(matrix, assumption)], detail=detail, assumes=(assumption,))


# -- plans ----------------------------------------------------------------------------------------------------

def plan_softmax_jacobian(tracer: Tracer, name: str) -> None:
    jacobian(tracer, name)


def plan_cross_entropy(tracer: Tracer, name: str) -> None:
    cross_entropy(tracer, name)


def plan_softmax_cross_entropy(tracer: Tracer, name: str) -> None:
    lemmas = (jacobian(tracer, name), cross_entropy(tracer, name))
    chain(tracer, name, lemmas)


def plan_log_softmax(tracer: Tracer, name: str) -> None:
    """-log softmax(z)_c differentiated directly: log of a quotient, then the sum of exponentials."""
    tracer.begin(part(name, "log-softmax", D(mdl.L, z[k])))
    tracer.apply(Unfold(model=tracer.model, names=("L",)), detail="loss-class")
    tracer.apply(Unfold(model=tracer.model, names=("yhat",)), detail="softmax")
    tracer.move("log-of-quotient")
    differentiate(tracer)
    tracer.apply(Fold())


def plan_batch(tracer: Tracer, name: str) -> None:
    """The mean of per-example losses: linearity, then each ℓ_t depends only on its own logits."""
    example = single_example_result(tracer.model)
    tracer.begin(part(name, "batch", D(mdl.L, z[mdl.s, k])))
    tracer.apply(Unfold(model=tracer.model, names=("L",)), detail="batch-loss")
    for rule in (ConstantFactor(model=tracer.model), SumRule()):  # the mean is linear: 1/N out, then the sum
        tracer.apply(rule)
    per_example = Lemma(D(mdl.ell[mdl.t], z[mdl.s, k]),
                        sp.KroneckerDelta(mdl.t, mdl.s) * example, (mdl.t, mdl.s))
    tracer.rewrite("substitute", substitute_lemmas(tracer.current, (per_example,)),
                   detail="per-example", assumes=_assumes(tracer.model),
                   facts={"delta": sp.KroneckerDelta(mdl.t, mdl.s), "example": mdl.t})
    tracer.apply(KroneckerSum())


def plan_linear_index(tracer: Tracer, name: str) -> None:
    """o = Wx + b: the chain rule through the logits, the per-logit result, δ for the layer, then the
    matrix forms p − y and (p − y) xᵀ, whose shapes are those of b and W (a layer without a bias: W only)."""
    logits = Lemma(D(mdl.L, z[k]), single_example_result(tracer.model, example=None), (k,))
    labelled = tracer.model.label_index is not None  # ŷ_k − 1[k = c]: a row at a time, w_k = W_{k,:}
    single = sp.S.Zero
    parameters = (("bias", (k, sp.Integer(1)), mdl.b[k]), ("weights", (k, mdl.l), mdl.W[k, mdl.l]))
    for key, position, variable in parameters[0 if tracer.model.bias else 1:]:
        tracer.begin(part(name, key, D(mdl.L, variable)))
        tracer.apply(ChainRule(through=z, index=j), detail="linear")
        tracer.rewrite("substitute", substitute_lemmas(tracer.current, (logits,)), detail="logits",
                       assumes=_assumes(tracer.model), facts={"value": logits.general.xreplace({k: j})})
        tracer.apply(Unfold(model=tracer.model, names=("z",)), detail="linear")
        differentiate(tracer)
        single = tracer.current
        whole = mtx.MATRICES[variable.base.label.name]
        if not labelled:
            tracer.matrix_form(D(mdl.L, whole), position)
        elif key == "weights":
            tracer.matrix_form(D(mdl.L, mtx.RowOf(whole, k)), position)
    tracer.final = tracer.steps[-1]  # the result is the single example's; the batch part generalises it
    if not labelled:
        linear_batch(tracer, name, single)


def linear_batch(tracer: Tracer, name: str, single: sp.Expr) -> None:
    """The mean loss over a batch with one layer W: each example contributes its own (ŷ_t − y_t) x_tᵀ."""
    batch = dataclasses.replace(tracer.model, batch=True)
    per_example = for_example(single, mdl.t)
    lemma = Lemma(D(mdl.ell[mdl.t], mdl.W[k, mdl.l]), per_example, (mdl.t, k, mdl.l))
    tracer.begin(part(name, "batch", D(mdl.L, mdl.W[k, mdl.l]), model=batch))
    tracer.apply(Unfold(model=batch, names=("L",)), detail="batch-loss")
    for rule in (ConstantFactor(model=batch), SumRule()):
        tracer.apply(rule)
    tracer.rewrite("substitute", substitute_lemmas(tracer.current, (lemma,)), detail="per-example-linear",
                   assumes=_assumes(batch), facts={"value": per_example, "example": mdl.t})
    tracer.matrix_form(D(mdl.L, mtx.MATRICES["W"]), (k, mdl.l))


def plan_linear_differentials(tracer: Tracer, name: str) -> None:
    """o = Wx + b by differentials: dL = −y : d log ŷ, the Jacobian as dŷ = (diag(ŷ) − ŷŷᵀ) dz, the Frobenius
    product moved onto dW and db, then the gradients read off dL = G_W : dW + G_b : db (without a bias: dW only)."""
    bias = tracer.model.bias
    jacobian_matrix = trace("softmax-jacobian").result
    tracer.begin(part(name, "differential", TotalDifferential(mdl.L), "differentials"))
    tracer.apply(UnfoldMatrix(), detail="loss-frobenius")
    tracer.apply(DifferentialConstant(), detail="constant")
    tracer.apply(DifferentialLog(), detail="differential")
    dz = MatrixDifferential(mtx.MATRICES["z"])
    tracer.apply(SubstituteMatrix(lhs=MatrixDifferential(mtx.MATRICES["yhat"]), rhs=product(jacobian_matrix, dz)),
                 detail="jacobian")
    tracer.move("cancel-inverse")
    tracer.apply(FrobeniusMove(), detail="move")
    tracer.move("transpose")
    tracer.apply(UnfoldMatrix(names=(mtx.MATRICES["z"],), bias=bias), detail="linear-matrix")
    if bias:
        tracer.apply(DifferentialSum(), detail="sum")
    tracer.apply(DifferentialConstant(), detail="constant")
    if bias:
        tracer.apply(FrobeniusLinear(), detail="linear")
    tracer.apply(FrobeniusMove(), detail="move")
    total = tracer.current
    parameters = (("bias", "b", (k, sp.Integer(1))), ("weights", "W", (k, mdl.l)))
    for key, variable, entry_at in parameters[0 if bias else 1:]:
        whole = mtx.MATRICES[variable]
        tracer.begin(part(name, key, D(mdl.L, whole), "differentials"), entry=entry_at)
        tracer.rewrite("read-off", read_off(total, whole), facts={"differential": total})
        tracer.move("expand-product")
        one_hot(tracer, matrix=True, detail="matrix")


def single_example_result(model: Model, example: sp.Symbol | None = mdl.t) -> sp.Expr:
    """ŷ_k − y_k of the softmax-cross-entropy plan, written for ``example`` (None: a single example)."""
    single = trace("softmax-cross-entropy", Target(model.target.kind, model.target.name)).result
    return single if example is None else for_example(single, example)


def for_example(expr: sp.Expr, example: sp.Symbol) -> sp.Expr:
    """A single example's expression written for one example of a batch: ŷ_k -> ŷ_tk, y_k -> y_tk, x_l -> x_tl."""
    return expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base in (mdl.y, yhat, mdl.x),
                        lambda e: e.base[example, e.indices[0]])


def _assumes(model: Model) -> tuple[str, ...]:
    return (model.target.assumption,) if model.target.assumption else ()


def _linear_model(target: Target) -> Model:
    """A class label c is a one-hot y with y_c = 1: (ŷ_k − 1[k = c]) xᵀ for row k."""
    return Model(target=Target("one-hot", target.name) if target.kind == "class" else target, linear=True)


def _linear_vector_model(target: Target) -> Model:
    """Differentials work with whole vectors: a class label is the one-hot vector y."""
    return Model(target=Target("one-hot") if target.kind == "class" else target, linear=True)


PLANS: dict[tuple[str, str], tuple[Callable[[Tracer, str], None], Callable[[Target], Model]]] = {
    ("softmax-jacobian", "index"): (plan_softmax_jacobian, lambda t: Model(target=t)),
    ("cross-entropy", "index"): (plan_cross_entropy, lambda t: Model(target=t, probs_defined=False)),
    ("softmax-cross-entropy", "index"): (plan_softmax_cross_entropy,
                                         lambda t: Model(target=Target("one-hot", t.name) if t.kind == "class" else t)),
    ("log-softmax-cross-entropy", "index"): (plan_log_softmax,
                                             lambda t: Model(target=Target("class", t.name if t.kind == "class"
                                                                           else "c"))),
    ("batch-cross-entropy", "index"): (plan_batch, lambda t: Model(target=t, batch=True)),
    ("linear-softmax-cross-entropy", "index"): (plan_linear_index, _linear_model),
    ("linear-softmax-cross-entropy", "differentials"): (plan_linear_differentials, _linear_vector_model),
    **sigmoid.PLANS,
    **hessian.PLANS,
    **hinge.PLANS,
    **NETWORK,
    **SOFTMAX_FAMILY,
}

_TRACED: dict[tuple[str, str, Target, bool, int], Derivation] = {}
_BUILT: dict[tuple[str, str, Target, bool, str, str], Derivation] = {}


def trace(name: str, target: Target = Target(), method: str = "index", bias: bool = True,
          activation: str = "tanh") -> Derivation:
    """Run a catalogue plan without verifying it (cached per process: notation only changes the printing).
    ``bias`` False takes the bias out of a linear layer (written f_j = w_j x); other derivations ignore it.

    Other plans take results from here: the step that substitutes such a result is verified where it is used.
    """
    plan, make_model = PLANS[(name, method)]
    model = make_model(target)
    bias = bias or not model.linear
    if hasattr(model, "kind"):  # the network's hidden activation (the notation's ``activation``)
        model = dataclasses.replace(model, kind=int(activation == "relu"))
    key = (name, method, target, bias, getattr(model, "kind", 0))
    if key not in _TRACED:
        info = entry(name)
        tracer = Tracer(dataclasses.replace(model, bias=bias))
        try:
            plan(tracer, name)
        except RuleDoesNotApply as error:
            raise EngineError(f"internal error in plan {name}: {error}") from error
        final = tracer.final or tracer.steps[-1]
        goal = next(p.goal for p in tracer.parts if p.key == final.part)
        _TRACED[key] = Derivation(name=name, title=info.title, model=tracer.base_model,
                                  notation=Notation(), parts=tracer.parts, steps=tracer.steps,
                                  result=final.after, result_lhs=final.facts.get("lhs", goal), method=method)
    return _TRACED[key]


def build(name: str, target: Target = Target(), method: str = "index", detail: str = "full",
          bias: bool = True, activation: str = "tanh") -> Derivation:
    """Build a catalogue derivation at a level of detail and verify every step it shows (a step that fails
    raises EngineError). A combined step is verified as one step, from its own two sides. ``bias``: as in
    :func:`trace`."""
    if detail not in DETAILS:
        raise UsageError(f"unknown detail {detail!r} (known: {', '.join(DETAILS)})")
    key = (name, method, target, bias, detail, activation)
    if key not in _BUILT:
        traced = trace(name, target, method, bias, activation)
        steps = at_level(traced.steps, detail)
        derivation = dataclasses.replace(traced, steps=steps, detail=detail)
        for each in derivation.parts:
            verify_steps(each.model or derivation.model, derivation.steps_of(each.key))
        _BUILT[key] = derivation
    return _BUILT[key]
