"""The catalogue reaches the textbook results, with the rules the issue names, every step verified."""

from __future__ import annotations

import dataclasses
import re

import pytest
import sympy as sp

import derive
from derive import matrices as mtx, model as mdl
from derive.engine.tracer import verify_steps
from derive.errors import EngineError
from derive.model import j, k, yhat, y
from derive.notation import Target
from derive.plans import build

from helpers import ROUTES


def rules_of(name, **kw):
    return {s.rule for s in build(name, **kw).steps}


@pytest.mark.parametrize("name, method", ROUTES)
def test_every_step_is_verified_by_the_engine(name, method):
    d = build(name, method=method)
    assert d.steps and all(step.verified for step in d.steps)


def test_softmax_jacobian_cases_and_merge():
    d = build("softmax-jacobian")
    cases = {s.case.latex: s.after for s in d.steps if s.case and s.rule == "fold-definition"}
    assert sp.expand(cases["j = k"] - yhat[j] * (1 - yhat[j])) == 0
    assert sp.expand(cases["j \\neq k"] + yhat[j] * yhat[k]) == 0
    merged = next(s.after for s in d.steps if s.detail == "merge")
    assert sp.expand(merged - yhat[j] * (sp.KroneckerDelta(j, k) - yhat[k])) == 0
    assert {"quotient-rule", "case-split", "fold-definition", "matrix-form"} <= rules_of("softmax-jacobian")
    assert isinstance(d.result.args[0], sp.DiagMatrix) or isinstance(d.result.args[1], sp.DiagMatrix)
    entry = mtx.matrix_entry(d.result, j, k)  # diag(ŷ) − ŷ ŷᵀ, read entry by entry
    assert sp.expand(entry - (sp.KroneckerDelta(j, k) * yhat[j] - yhat[j] * yhat[k])) == 0


def test_cross_entropy_derivative():
    assert build("cross-entropy").result == -y[k] / yhat[k]
    assert "log-rule" in rules_of("cross-entropy")


def test_softmax_cross_entropy_reaches_p_minus_y():
    d = build("softmax-cross-entropy")
    assert d.result == yhat[k] - y[k]
    assert {"chain-rule", "split-sum", "one-hot", "substitute"} <= rules_of("softmax-cross-entropy")
    one_hot = [s for s in d.steps if s.rule == "one-hot"]
    assert one_hot and one_hot[0].assumes == ("one-hot",)


def test_any_target_stops_before_the_one_hot_step():
    d = build("softmax-cross-entropy", Target("any"))
    assert "one-hot" not in {s.rule for s in d.steps}
    assert d.result == yhat[k] * sp.Sum(y[j], (j, 1, mdl.n)) - y[k]


def test_distribution_target_assumes_sum_to_one():
    d = build("softmax-cross-entropy", Target("distribution"))
    assert [s.assumes for s in d.steps if s.rule == "sum-to-one"] == [("sum-to-one",)]
    assert "one-hot" not in {s.rule for s in d.steps}


def test_log_softmax_route_gives_indicator():
    d = build("log-softmax-cross-entropy")
    assert d.result == yhat[k] - sp.KroneckerDelta(k, mdl.c)
    assert "log-rule" in rules_of("log-softmax-cross-entropy")


def test_batch_mean():
    d = build("batch-cross-entropy")
    assert sp.simplify(d.result - (yhat[mdl.s, k] - y[mdl.s, k]) / mdl.N) == 0
    assert "sum-rule" in rules_of("batch-cross-entropy")


def test_python_api():
    result = derive.derivation("softmax-jacobian", logits=r"\theta")
    assert result.steps and "\\theta" in result._repr_latex_() and "\\theta" in result._repr_markdown_()
    with pytest.raises(derive.UsageError):
        derive.derivation("nope")


@pytest.mark.parametrize("name, method", ROUTES)
def test_detail_levels_group_the_same_rule_applications(name, method):
    full, notes, brief = (build(name, method=method, detail=d) for d in ("full", "notes", "brief"))
    assert len(brief.steps) <= len(notes.steps) < len(full.steps)
    for coarse in (notes, brief):
        assert [r for s in coarse.steps for r in s.rules] == [s.rule for s in full.steps]
        assert all(s.verified for s in coarse.steps) and coarse.result == full.result
        for step in coarse.steps:  # exact ends: a combined step runs from its first rule to its last
            if step.merged:
                assert step.before is step.merged[0].before and step.after is step.merged[-1].after


def test_notes_detail_reads_like_the_source_notes():
    steps = build("softmax-cross-entropy", detail="notes").steps
    assert 9 <= len(steps) <= 11
    cases = [s for s in steps if s.case]  # one line per case, the case written in shown above it
    assert [s.case.text for s in cases] == ["j = k", "j ≠ k"]
    assert all(s.rules[0] == "case-split" and len(s.shown) == 1 for s in cases)
    loss = [s for s in steps if s.part == "cross-entropy"]  # the derivative of the loss in one line
    assert len(loss) == 1 and loss[0].rules[0] == "definition" and loss[0].rule == "log-rule"
    quotient = next(s for s in steps if s.rule == "quotient-rule")
    assert quotient.rules == ("definition", "quotient-rule", "sum-rule", "exp-rule", "index-derivative",
                              "kronecker-sum")
    substitute = next(s for s in steps if s.rule == "substitute")
    assert substitute.rules == ("substitute",)
    assert steps[-1].rule == "one-hot" and steps[-1].assumes == ("one-hot",)


def test_folded_results_that_stay_visible_are_unnumbered_and_verified():
    """A definition written out or a case written in is shown without a number, and it holds."""
    result = derive.derivation("softmax-cross-entropy")
    text = result.text()
    assert "= (exp(z_j) (Σ_i exp(z_i)) − (exp(z_j))²)/(Σ_i exp(z_i))²\n" in text  # the case j = k, unnumbered
    numbers = [int(n) for n in re.findall(r"^      = .*    \((\d+)\)$", text, re.M)]
    assert numbers == list(range(1, len(result) + 1))
    full = build("softmax-cross-entropy", detail="full")
    intermediates = {s.after for s in full.steps}
    assert all(shown in intermediates for s in result.steps for shown in s.step.shown)
    broken = build("softmax-cross-entropy", detail="notes").steps[1]
    wrong = dataclasses.replace(broken, shown=(broken.shown[0] * 2,))
    with pytest.raises(EngineError, match="does not verify"):
        verify_steps(full.model, [wrong])


def test_substitution_only_substitutes():
    """(−y_j/ŷ_j)(−ŷ_j ŷ_k) stays as inserted; multiplying it out is the next step's work."""
    steps = build("softmax-cross-entropy").steps
    at = next(number for number, s in enumerate(steps) if s.rule == "substitute")
    inserted = steps[at].after
    assert not inserted.has(sp.Derivative)
    assert steps[at + 1].rule == "algebra" and steps[at + 1].detail == "cancel"
    summed = next(a for a in sp.Add.make_args(inserted) if isinstance(a, sp.Sum))
    assert summed.function.has(sp.Pow(yhat[j], -1))  # 1/ŷ_j is still there, not yet cancelled


def test_api_detail():
    assert len(derive.derivation("softmax-cross-entropy", detail="full").steps) == \
        len(build("softmax-cross-entropy").steps)
    assert derive.derivation("softmax-cross-entropy").derivation.detail == "notes"
    with pytest.raises(derive.UsageError):
        derive.derivation("softmax-cross-entropy", detail="coarse")
