"""Each rule on its own: what it rewrites, and that the rewrite is an identity (checked numerically)."""

from __future__ import annotations

import sympy as sp

from derive import model as mdl
from derive.engine import rules
from derive.engine.rules import rewrite_everywhere
from derive.model import D, Model, i, j, k, yhat, y, z
from derive.verify import check_equal

MODEL = Model()


def apply(rule, expr):
    after, count = rewrite_everywhere(expr, rule)
    assert count >= 1, f"{rule.id} did not apply to {expr}"
    return after


def holds(before, after, **kw):
    return check_equal(MODEL, MODEL.to_base(before), MODEL.to_base(after), **kw).holds


def test_index_derivative_is_kronecker_delta():
    assert apply(rules.IndexDerivative(), D(z[j], z[k])) == sp.KroneckerDelta(j, k)


def test_kronecker_sum_keeps_the_matching_term():
    expr = sp.Sum(sp.exp(z[i]) * sp.KroneckerDelta(i, k), (i, 1, mdl.n))
    assert apply(rules.KroneckerSum(), expr) == sp.exp(z[k])


def test_quotient_rule_records_u_and_v_and_holds():
    rule = rules.QuotientRule()
    before = D(mdl.softmax(j), z[k])
    after = apply(rule, before)
    assert rule.facts["u"] == sp.exp(z[j]) and rules.is_partition_sum(rule.facts["v"])
    assert holds(before, after)


def test_exp_and_log_rules_hold():
    for rule, before in ((rules.ExpRule(), D(sp.exp(z[j]), z[k])), (rules.LogRule(), D(sp.log(mdl.softmax(j)), z[k]))):
        assert holds(before, apply(rule, before))


def test_constant_factor_moves_labels_out_but_not_probabilities():
    rule = rules.ConstantFactor(model=MODEL)
    after = apply(rule, D(y[j] * sp.log(yhat[j]), z[k]))
    assert after == y[j] * D(sp.log(yhat[j]), z[k])
    assert not rule.match(D(yhat[j] * sp.log(yhat[j]), z[k]))


def test_split_and_merge_sum_are_inverse():
    whole = sp.Sum(y[j], (j, 1, mdl.n))
    split = apply(rules.SplitSum(at=k), whole)
    assert y[k] in split.args
    assert holds(whole, split)
    assert apply(rules.MergeSum(), split) == whole


def test_fold_definition_recognises_softmax_inside_a_difference():
    partition = mdl.partition_sum()
    expr = sp.exp(z[j]) * (partition - sp.exp(z[j])) / partition ** 2
    assert sp.expand(apply(rules.Fold(), expr) - yhat[j] * (1 - yhat[j])) == 0


def test_one_hot_needs_its_assumption():
    before = yhat[k] * sp.Sum(y[j], (j, 1, mdl.n)) - y[k]
    after = apply(rules.OneHot(), before)
    assert after == yhat[k] - y[k]
    assert holds(before, after, assumes=("one-hot",))
    assert not holds(before, after)  # with labels that do not sum to 1 it is false


def test_case_split_only_holds_in_its_case():
    general = yhat[j] * (sp.KroneckerDelta(j, k) - yhat[k])
    specialised = -yhat[j] * yhat[k]
    from derive.record import Case

    assert holds(general, specialised, case=Case(distinct=(("j", "k"),)))
    assert not holds(general, specialised, case=Case(equal=(("j", "k"),)))
