"""`derive check` on what users write: the seed notes in their own notations, classic mistakes, and our own
Markdown output read back."""

from __future__ import annotations

import json

import pytest

import derive

from helpers import ROOT, ROUTES, run_cli

FIXTURES = ROOT / "tests" / "fixtures"


def verdicts(report):
    return [(s.line, s.verdict) for s in report.steps]


@pytest.mark.parametrize("fixture", ["seed_000_theta_sigma.md", "seed_001_linear.md", "seed_002_logits.md",
                                     "seed_003_chain.md"])
def test_correct_seed_transcriptions_are_valid(fixture):
    report = derive.check(FIXTURES / fixture)
    assert report.steps and report.summary == {"valid": len(report.steps), "invalid": 0, "unknown": 0}, \
        [(s.line, s.verdict, s.message) for s in report.steps if s.verdict != "valid"]
    assert report.exit_code == 0


def test_seed_004_wrong_middle_steps_are_found():
    report = derive.check(FIXTURES / "seed_004_class_label.tex")
    assert verdicts(report) == [(13, "valid"), (14, "valid"), (15, "valid"), (16, "valid"),
                                (17, "invalid"), (18, "invalid"), (19, "invalid")]
    assert report.first_invalid.line == 17
    assert report.first_invalid.counterexample is not None
    assert report.exit_code == 1


def test_seed_cases_come_from_headings_sentences_and_markers():
    report = derive.check(FIXTURES / "seed_000_theta_sigma.md")
    cases = {s.line: s.case for s in report.steps}
    assert cases[18] == "i = j"                  # "first in the case i = j:" before the block
    assert cases[26] == r"i \neq j"             # "In the case where $i \neq j$,"
    assert cases[34] == "j = k"                  # heading "Cross-entropy, when j = k"
    assert cases[47] == r"j \neq k"             # <!-- derive: case j \neq k -->


def one(text, **notation):
    report = derive.check(f"$$\n{text}\n$$\n", **notation)
    assert len(report.steps) == 1
    return report.steps[0]


JACOBIAN = r"\frac{\partial \hat{y}_j}{\partial z_k}"
GRADIENT = r"\frac{\partial L}{\partial z_k}"


@pytest.mark.parametrize("claim, holds_when, diagnosis", [
    (rf"{JACOBIAN} = \hat{{y}}_j (1 - \hat{{y}}_j)", "j = k", "sigmoid"),
    (rf"{JACOBIAN} = \delta_{{jk}} \hat{{y}}_j", None, "denominator"),
    (rf"{GRADIENT} = -y_k", None, "denominator"),
    (rf"{GRADIENT} = y_k - \hat{{y}}_k", None, "sign"),
    (rf"{GRADIENT} = -\frac{{y_k}}{{\hat{{y}}_k}}", None, "probabilities"),
    (rf"{GRADIENT} = -y_k (1 - \hat{{y}}_k)", "k = hot index", "sigmoid"),
])
def test_classic_mistakes_are_invalid_and_named(claim, holds_when, diagnosis):
    step = one(claim)
    assert step.verdict == "invalid"
    assert step.holds_when == holds_when
    assert step.diagnosis and diagnosis in step.diagnosis
    assert step.counterexample is not None and step.counterexample.lhs != pytest.approx(step.counterexample.rhs)


@pytest.mark.parametrize("claim", [rf"{JACOBIAN} = \hat{{y}}_j (\delta_{{jk}} - \hat{{y}}_k)",
                                   rf"{GRADIENT} = \hat{{y}}_k - y_k",
                                   r"\frac{\partial L}{\partial \hat{y}_k} = -\frac{y_k}{\hat{y}_k}"])
def test_right_results_are_valid(claim):
    assert one(claim).verdict == "valid"


def test_sum_to_one_depends_on_the_target():
    claim = rf"{GRADIENT} = \hat{{y}}_k \sum_j y_j - y_k = \hat{{y}}_k - y_k"
    any_labels = derive.check(f"$$\n{claim}\n$$\n", target="any")
    assert verdicts(any_labels) == [(2, "valid"), (2, "invalid")]
    assert any_labels.steps[1].holds_when == "sum of y = 1"
    assert "sum of y = 1" in any_labels.steps[1].diagnosis
    assert [s.verdict for s in derive.check(f"$$\n{claim}\n$$\n", target="distribution").steps] == ["valid"] * 2


def test_unsupported_construct_makes_only_that_step_unknown():
    report = derive.check("$$\n" + rf"{GRADIENT} = \int \hat{{y}}_k = \hat{{y}}_k - y_k" + "\n$$\n"
                          "$$\n" + rf"{GRADIENT} = \hat{{y}}_k - y_k" + "\n$$\n")
    assert [s.verdict for s in report.steps] == ["unknown", "unknown", "valid"]
    assert r"\int" in report.steps[0].message and "column" in report.steps[0].message
    assert report.exit_code == 3


@pytest.mark.parametrize("name, method", ROUTES)
@pytest.mark.parametrize("flavor", ["dollar", "gfm"])
@pytest.mark.parametrize("notation", [{}, {"logits": r"\theta", "probs": "p", "classes": "K"}])
def test_generated_markdown_checks_all_valid(name, method, flavor, notation):
    markdown = derive.derivation(name, method, **notation).markdown(flavor=flavor)
    report = derive.check(markdown)
    assert report.steps and report.summary["invalid"] == 0 and report.summary["unknown"] == 0, \
        [(s.line, s.verdict, s.message) for s in report.steps if s.verdict != "valid"]


@pytest.mark.parametrize("name, method", ROUTES)
@pytest.mark.parametrize("detail", ["full", "notes", "brief"])
@pytest.mark.parametrize("fmt", ["markdown", "latex"])
def test_generated_output_at_every_detail_checks_all_valid(name, method, detail, fmt):
    """Round trip: what derive writes, at every level of detail and in both formats (the LaTeX carries its
    notation in % derive: lines), derive reads back with every step valid."""
    result = derive.derivation(name, method, detail=detail, probs=r"\sigma", logits=r"\theta")
    text = result.markdown() if fmt == "markdown" else result.latex()
    report = derive.check(text, name="generated." + ("md" if fmt == "markdown" else "tex"))
    assert report.steps and report.summary["invalid"] == 0 and report.summary["unknown"] == 0, \
        [(s.line, s.verdict, s.message) for s in report.steps if s.verdict != "valid"]


def test_json_report_follows_the_contract():
    done = run_cli("check", str(FIXTURES / "seed_004_class_label.tex"), "--format", "json")
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert set(data) == {"file", "ok", "summary", "notation", "definitions", "steps"}
    assert set(data["notation"]) == {"source", "roles", "target"}
    assert data["ok"] is False and data["summary"] == {"valid": 4, "invalid": 3, "unknown": 0}
    assert data["definitions"][0]["line"] == 9 and data["definitions"][0]["symbol"] == "L_i"
    step = data["steps"][4]
    assert set(step) == {"line", "lhs", "rhs", "case", "verdict", "message", "holds_when", "counterexample",
                         "diagnosis"}
    assert step["verdict"] == "invalid" and {"n", "indices", "lhs", "rhs"} <= set(step["counterexample"])


def test_text_report_marks_steps():
    done = run_cli("check", str(FIXTURES / "seed_003_chain.md"))
    assert done.returncode == 0 and "16 valid, 0 invalid, 0 unknown" in done.stdout and "✓ line 21" in done.stdout
    assert "\033[" not in done.stdout  # no colour when not on a terminal


def test_notation_on_the_command_line_overrides_the_file(tmp_path):
    doc = tmp_path / "d.md"
    doc.write_text("---\nderive:\n  target: any\n---\n$$\n" + rf"{GRADIENT} = \hat{{y}}_k - y_k" + "\n$$\n")
    assert run_cli("check", str(doc)).returncode == 1
    assert run_cli("check", str(doc), "--notation", "target=one-hot").returncode == 0


def test_jupyter_table():
    table = derive.check(FIXTURES / "seed_004_class_label.tex")._repr_markdown_()
    assert "| line |" in table and "invalid" in table


def test_linear_layer_seed_question_with_fitting_sizes():
    report = derive.check(FIXTURES / "seed_001_shapes.md")
    assert [(s.lhs, s.verdict) for s in report.steps] == [
        (r"\frac{\partial L}{\partial o}", "valid"), (r"\frac{\partial L}{\partial b}", "valid"),
        (r"\frac{\partial L}{\partial W_{kl}}", "valid"), (r"\frac{\partial L}{\partial W}", "valid"),
        (r"\frac{\partial L}{\partial W}", "invalid")]
    message = report.steps[-1].message
    assert "4×1" in message and "3×1" in message and "4×3 expected" in message and "shape of W" in message


def test_linear_layer_sizes_that_do_not_fit_exit_2(tmp_path):
    doc = tmp_path / "q.md"
    doc.write_text((FIXTURES / "seed_001_shapes.md").read_text().replace("W: 4x3", "W: 3x4"))
    done = run_cli("check", str(doc))
    assert done.returncode == 2 and "W is 3×4 and x has 3 entries, so Wx is undefined" in done.stderr


@pytest.mark.parametrize("claim, verdict", [
    (r"\frac{\partial p}{\partial o} = \operatorname{diag}(p) - p p^T", "valid"),
    (r"\frac{\partial p}{\partial o} = \operatorname{diag}(p) - p^\top p", "invalid"),
    (r"\frac{\partial L}{\partial W} = (p - y) x^\top", "valid"),
    (r"\frac{\partial L}{\partial b} = y - p", "invalid"),
])
def test_matrix_forms(claim, verdict):
    assert one(claim, logits="o", probs="p").verdict == verdict


BATCH_MEAN = r"\frac{\partial L}{\partial W} = "


@pytest.mark.parametrize("rhs, verdict, message", [
    (r"\frac{1}{N} \sum_{t=1}^{N} \left(\hat{y}^{(t)} - y^{(t)}\right) x^{(t)\top}", "valid", None),
    (r"\sum_{t=1}^{N} \left(\hat{y}^{(t)} - y^{(t)}\right) x^{(t)\top}", "invalid", "does not hold"),
    (r"\frac{1}{N} \sum_{t} \left(\hat{y}^{(t)} - y^{(t)}\right) x^{(t)}", "invalid", "cannot multiply n×1 by m×1"),
])
def test_batch_gradient_of_the_weights(rhs, verdict, message):
    report = derive.check("---\nderive:\n  linear: o = Wx + b\n---\n$$\n" + BATCH_MEAN + rhs + "\n$$\n")
    (step,) = report.steps
    assert step.verdict == verdict and (message is None or message in step.message), step.message


def test_the_answer_by_differentials_checks_and_its_slips_do_not():
    report = derive.check(FIXTURES / "seed_001_differentials.md")
    verdicts = [(s.line, s.verdict) for s in report.steps]
    assert [v for _, v in verdicts[:10]] == ["valid"] * 10, verdicts
    wrong = {s.line: s for s in report.steps[10:]}
    assert [s.verdict for s in wrong.values()] == ["invalid"] * 3
    move, forgotten, shape = wrong.values()
    assert move.counterexample is not None and forgotten.counterexample is not None
    assert "cannot multiply n×1 by m×1" in shape.message
    labels_any = derive.check(FIXTURES / "seed_001_differentials.md", target="any")
    read_off = [s for s in labels_any.steps if s.rhs in ("(p - y)x^T", "p - y")]
    assert [(s.verdict, s.holds_when) for s in read_off] == [("invalid", "sum of y = 1")] * 2  # the unstated 1ᵀy = 1


def test_a_layer_written_row_by_row():
    """linear: f_j = w_j x (contract §3): w_k is row k of the weights, a row vector, and so is its gradient."""
    head = "---\nderive:\n  linear: f_j = w_j x\n  probs: p\n  target: class c\n---\n"
    steps = [r"\frac{\partial f_k}{\partial w_k} = x^T",
             r"\frac{\partial L}{\partial w_k} = \frac{\partial L}{\partial f_k} \frac{\partial f_k}{\partial w_k}"
             r" = (p_k - 1(k = c)) x^T",
             r"\frac{\partial L}{\partial w_k} = (p_k - 1(k = c)) x",
             r"\frac{\partial L}{\partial W} = (p - y) x^T"]
    report = derive.check(head + "".join(f"$$\n{step}\n$$\n\n" for step in steps))
    assert [s.verdict for s in report.steps] == ["valid", "valid", "valid", "invalid", "valid"]
    assert "1×m expected, the shape of w_k" in report.steps[3].message
