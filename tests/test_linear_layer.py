"""The linear layer o = Wx + b, by index and by differentials: the results, the rules, the shapes, and that the
verifier rejects a plausible but wrong matrix step."""

from __future__ import annotations

import pytest
import sympy as sp

import derive
from derive import matrices as mtx, model as mdl
from derive.engine.tracer import verify_steps
from derive.errors import EngineError
from derive.notation import Target
from derive.plans import build
from derive.record import Step

from helpers import run_cli

NAME = "linear-softmax-cross-entropy"
ROW, COL = sp.symbols("row col", integer=True)


def entry(expr: sp.Expr) -> sp.Expr:
    """Entry (row, col) of a matrix result in plain index notation, sums written out for 3 classes."""
    return sp.expand(mtx.matrix_entry(expr, ROW, COL).subs(mdl.n, 3).doit())


def results(method: str, target: Target = Target()) -> dict[str, sp.Expr]:
    d = build(NAME, target, method)
    return {part.key: [s.after for s in d.steps_of(part.key)][-1] for part in d.parts if part.key != "differential"}


@pytest.mark.parametrize("method", ["index", "differentials"])
def test_both_routes_reach_p_minus_y_and_its_outer_product_with_x(method):
    found = results(method)
    assert entry(found["bias"]) == mdl.yhat[ROW] - mdl.y[ROW]
    assert entry(found["weights"]) == sp.expand((mdl.yhat[ROW] - mdl.y[ROW]) * mdl.x[COL])
    assert mtx.shape_of(found["weights"]) == mtx.MATRICES["W"].shape
    assert mtx.shape_of(found["bias"]) == mtx.MATRICES["b"].shape


def test_routes_agree_for_labels_that_are_not_one_hot():
    by_index, by_differentials = results("index", Target("any")), results("differentials", Target("any"))
    label_sum = sum(mdl.y[i] for i in range(1, 4))
    for key, factor in (("bias", 1), ("weights", mdl.x[COL])):
        expected = sp.expand((mdl.yhat[ROW] * label_sum - mdl.y[ROW]) * factor)
        assert entry(by_index[key]) == entry(by_differentials[key]) == expected
    assert "one-hot" not in {s.rule for s in build(NAME, Target("any"), "differentials").steps}


def test_differentials_name_each_identity():
    d = build(NAME, method="differentials")
    rules = {s.rule for s in d.steps}
    assert {"definition", "differential", "log-rule", "substitute", "frobenius", "read-off", "one-hot"} <= rules
    assert [p.key for p in d.parts] == ["differential", "bias", "weights"]
    moves = [s for s in d.steps if s.rule == "frobenius" and s.detail == "move"]
    assert len(moves) == 2 and all(s.verified for s in moves)
    total = [s.after for s in d.steps_of("differential")][-1]  # dL = G_b : db + G_W : dW
    assert {t.args[1] for t in sp.Add.make_args(total)} == {mtx.MatrixDifferential(mtx.MATRICES[v]) for v in "Wb"}


def test_a_frobenius_move_without_the_transpose_is_rejected():
    d = build(NAME, method="differentials")
    move = next(s for s in d.steps if s.rule == "frobenius" and s.detail == "move")
    (left, right) = move.before.args  # A : B dz  ->  wrongly  B A : dz
    coeff, factors = sp.MatMul(*right.args).as_coeff_matrices()
    wrong = mtx.Frobenius(sp.MatMul(coeff, factors[0], *left.args, evaluate=False), factors[-1])
    bad = Step(rule="frobenius", before=move.before, after=wrong, part="differential")
    with pytest.raises(EngineError, match="does not verify"):
        verify_steps(d.model, [bad])


def test_latex_shows_the_result_the_shapes_and_the_frobenius_product():
    latex = derive.derivation(NAME, "differentials", probs="p").latex()
    assert r"\left(p - y\right) x^{\top}" in latex
    assert r"W \in \mathbb{R}^{n \times m}" in latex and r"\mathbin{:}" in latex and r"\mathrm{d}W" in latex
    index = derive.derivation(NAME, probs="p").latex()
    assert r"\left(p - y\right) x^{\top}" in index and r"\mathbin{:}" not in index


def test_methods_on_the_command_line():
    done = run_cli("show", NAME, "--method", "differentials", "--notation", "probs=p")
    assert done.returncode == 0 and "∂L/∂W" in done.stdout and "(p − y) xᵀ" in done.stdout
    done = run_cli("show", "softmax-jacobian", "--method", "differentials")
    assert done.returncode == 2 and "no method 'differentials'" in done.stderr
    listed = run_cli("list").stdout
    assert "differentials: differential, bias, weights" in listed


@pytest.mark.parametrize("target", [Target("class", "c"), Target("one-hot", "c")])
def test_a_class_label_gives_one_row_at_a_time(target):
    d = build(NAME, target)
    row = d.steps[-1]
    assert row.rule == "matrix-form" and isinstance(d.result_lhs.variables[0], mtx.RowOf)
    assert mtx.shape_of(d.result) == (1, mdl.M)  # w_k is a row of W, and so is its gradient
    value = sp.expand(mtx.matrix_entry(d.result, sp.Integer(1), COL))
    assert value == sp.expand((mdl.yhat[mdl.k] - sp.KroneckerDelta(mdl.k, mdl.c)) * mdl.x[COL])
    text = derive.derivation(NAME, target=f"{target.kind} c", probs="p").text()
    assert "∂L/∂W_k,: = (p_k − 1[k = c]) xᵀ" in text


def test_the_batch_gradient_is_the_mean_of_per_example_outer_products():
    d = build(NAME)
    batch = d.steps_of("batch")
    assert batch[0].rule == "definition" and batch[-1].rule == "matrix-form" and all(s.verified for s in batch)
    assert d.result == [s.after for s in d.steps_of("weights")][-1]  # the result stays the single example's
    mean = batch[-1].after  # (1/N) Σ_t (ŷ⁽ᵗ⁾ − y⁽ᵗ⁾) x⁽ᵗ⁾ᵀ
    assert mtx.shape_of(mean) == mtx.MATRICES["W"].shape
    two = sp.expand(mtx.matrix_entry(mean, ROW, COL).subs(mdl.N, 2).doit())
    expected = sum((mdl.yhat[t, ROW] - mdl.y[t, ROW]) * mdl.x[t, COL] for t in (1, 2)) / 2
    assert two == sp.expand(expected)
    latex = derive.derivation(NAME, probs="p").latex()
    assert r"\sum_{t=1}^{N} \left(p^{(t)} - y^{(t)}\right) x^{(t)\top}" in latex


def test_the_layer_written_row_by_row_names_rows_w_k():
    text = derive.derivation(NAME, linear="f_j = w_j x", probs="p", target="class c").text()
    assert "∂L/∂w_k = (p_k − 1[k = c]) xᵀ" in text and "f_j = Σ_r w_jr x_r." in text
    latex = derive.derivation(NAME, linear="f_j = w_j x", probs="p").latex()  # the whole matrix is W
    assert r"W \in \mathbb{R}^{n \times m}" in latex and r"\left(p - y\right) x^{\top}" in latex
    assert r"\frac{\partial L}{\partial w_{kl}}" in latex


@pytest.mark.parametrize("method", ["index", "differentials"])
def test_a_layer_written_without_a_bias_has_none(method):
    """f_j = w_j x adds no bias: no part, line or shape mentions one, and every step still verifies."""
    plain = derive.derivation(NAME, method, linear="f_j = w_j x", probs="p")
    assert "bias" not in [p.key for p in plain.derivation.parts]
    assert all(s.verified for s in plain.steps)
    text = plain.text()
    assert "b_j" not in text and "db" not in text and "b, " not in text and "(p − y) xᵀ" in text
    with pytest.raises(derive.UsageError, match="no part 'bias'"):
        plain.excerpt(part="bias")
    written = derive.derivation(NAME, method, linear=r"f_j = w_j x + \beta_j", probs="p")
    assert "bias" in [p.key for p in written.derivation.parts]
    assert r"\beta" in written.latex() and "β" in written.text()
