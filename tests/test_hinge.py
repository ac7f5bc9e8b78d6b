"""`multiclass-hinge` as a user meets it, and the rules it adds, each on its own.

Rules: what each rewrites, and that the rewrite is an identity (checked numerically away from the kinks of max).
The derivation: every format and level of detail; LaTeX that pdflatex compiles without a warning; a certificate
that plain SymPy re-checks step by step (nothing shared with derive's verifier) and that names the excluded kinks;
its own Markdown read back by `derive check` as all valid; the classic slip (the sign of the true class's row)
caught at its line with a counterexample; `derive list` and `embed` know it.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess

import pytest
import sympy as sp
from sympy.functions.elementary.piecewise import ExprCondPair

import derive
from derive import model as mdl
from derive.engine.rules import rewrite_everywhere, sum_excluding
from derive.families.hinge import rules
from derive.families.hinge.model import KINK_GAP, Delta, Hinge, HingeModel, Positive, margin
from derive.model import D
from derive.numeric import Inputs, Point
from derive.record import Case
from derive.verify import check_equal, sample_points

from helpers import require_tool, run_cli

NAME = "multiclass-hinge"
DETAILS = ("full", "notes", "brief")
MODEL = HingeModel()
j, k, l, c = mdl.j, mdl.k, mdl.l, mdl.c
W_kl = mdl.W[k, l]


def apply(rule, expr):
    after, count = rewrite_everywhere(expr, rule)
    assert count >= 1, f"{rule.id} did not apply to {expr}"
    return after


def holds(before, after, case=None):
    return check_equal(MODEL, MODEL.to_base(before), MODEL.to_base(after), case).holds


# -- the rules, one at a time -----------------------------------------------------------------------------------

def test_the_hinge_rule_is_the_indicator_times_the_inner_derivative():
    before = D(Hinge(margin(j)), W_kl)
    after = apply(rules.HingeRule(), before)
    assert Positive(margin(j)) in after.args and holds(before, after)
    assert not holds(before, D(margin(j), W_kl))  # dropping the indicator is wrong wherever a margin is negative
    assert not rules.HingeRule().match(D(margin(j), W_kl))


def test_the_sum_rule_keeps_the_true_class_out():
    before = D(sum_excluding(Hinge(margin(j)), j, c), W_kl)
    after = apply(rules.ExcludedSumRule(), before)
    assert isinstance(after, sp.Sum) and after.has(sp.KroneckerDelta(j, c)) and holds(before, after)


def test_the_scores_are_written_out_only_where_differentiated():
    before = Positive(margin(j)) * D(mdl.z[j], W_kl)
    after = apply(rules.UnfoldScores(), before)
    assert Positive(margin(j)) in after.args and after.has(mdl.W[j, mdl.r]) and holds(before, after)


def test_the_kronecker_sum_over_the_other_classes_needs_k_not_c():
    body = Positive(margin(j)) * sp.KroneckerDelta(j, k) * mdl.x[l]
    before = sum_excluding(body, j, c)
    other = Case(distinct=(("k", "c"),))
    after = apply(rules.ExcludedKroneckerSum(distinct=other.distinct), before)
    assert after == Positive(margin(k)) * mdl.x[l] and holds(before, after, other)
    assert not rules.ExcludedKroneckerSum().match(before)  # without k ≠ c the term j = k may be the one left out
    assert not holds(before, after, Case(equal=(("k", "c"),)))


def test_the_true_class_is_not_in_its_own_sum():
    before = sum_excluding(Positive(margin(j)) * (sp.KroneckerDelta(j, c) * mdl.x[l] - mdl.x[l]), j, c)
    after = apply(rules.ExcludedIndex(), before)
    assert not after.function.has(sp.KroneckerDelta(j, c) * mdl.x[l]) and holds(before, after)


def test_sample_points_stay_off_the_kinks():
    """Every point the verifier uses has each margin s_j − s_c + Δ (j ≠ c) away from 0."""
    seen = 0
    for point, _ in sample_points(MODEL, {j, k, l, c}, None, ()):
        assert all(abs(v) >= KINK_GAP for v in MODEL.margins(point))
        seen += 1
    assert seen > 10
    on_kink = Point(ints={mdl.n: 2, c: 1}, arrays=Inputs("x"))
    on_kink.arrays.update({"z": {(1,): 0.5, (2,): 0.0}, "Delta": {(): 0.5}})
    assert not MODEL.admits(on_kink)


# -- the derivation as a user meets it ----------------------------------------------------------------------------

def test_listed_in_its_group():
    done = run_cli("list")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    group = lines.index("other losses:")
    listed = next(line for line in lines[group + 1:] if line.split() and line.split()[0] == NAME)
    assert "[parts: gradient, rows]" in listed
    end = next((n for n, line in enumerate(lines[group + 1:], group + 1) if line.endswith(":")), len(lines))
    assert lines.index(listed) < end


FORMAT_DETAILS = [(fmt, "notes") for fmt in ("text", "latex", "markdown", "json", "ipynb")] + \
    [(fmt, detail) for fmt in ("text", "json") for detail in ("full", "brief")]


@pytest.mark.parametrize("fmt,detail", FORMAT_DETAILS)
def test_every_format_and_detail(fmt, detail):
    done = run_cli("show", NAME, "--format", fmt, "--detail", detail)
    assert done.returncode == 0 and done.stdout.strip() and not done.stderr, done.stderr
    if fmt in ("json", "ipynb"):
        json.loads(done.stdout)
    if fmt == "text":
        assert "L = Σ_{j≠c} max(0, s_j − s_c + Δ)" in done.stdout
        assert "= 1[s_k − s_c + Δ > 0] x_l" in done.stdout
        assert "= −(Σ_{j≠c} 1[s_j − s_c + Δ > 0]) x_l" in done.stdout


def test_the_steps_and_the_levels_of_detail():
    full = derive.derivation(NAME, detail="full")
    assert {"hinge-rule", "sum-rule", "index-derivative", "kronecker-sum", "case-split", "excluded-index"} <= \
        {s.rule for s in full.steps}
    assert all(s.verified for s in full.steps)
    notes, brief = derive.derivation(NAME), derive.derivation(NAME, detail="brief")
    assert [p.key for p in notes.derivation.parts] == ["gradient", "rows"]
    assert len(brief) <= len(notes) < len(full)
    cases = {s.case.latex for s in notes.steps if s.case}
    assert cases == {r"k \neq c", "k = c"}


def test_notation():
    text = derive.derivation(NAME, logits="f", margin=r"\gamma", target="class a", loss="J").text()
    assert "J = Σ_{j≠a} max(0, f_j − f_a + γ)" in text and "1[f_k − f_a + γ > 0] x_l" in text
    assert run_cli("show", NAME, "--notation", "margin=k").returncode == 2  # an index name is refused


def _pdflatex(tex: str, workdir) -> str:
    (workdir / "doc.tex").write_text(tex, encoding="utf-8")
    for _ in range(2):  # the second run: labels settled, so any warning left is a real one
        done = subprocess.run(["pdflatex", "-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode",
                               "doc.tex"], cwd=workdir, capture_output=True, text=True, timeout=120,
                              env={"openin_any": "p", "openout_any": "p", "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, [line for line in done.stdout.splitlines() if line.startswith("!")]
    return (workdir / "doc.log").read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize("detail", DETAILS)
def test_standalone_latex_compiles_without_a_warning(detail, tmp_path):
    require_tool(shutil.which("pdflatex") is not None, "pdflatex (texlive-latex-base)")
    done = run_cli("show", NAME, "--format", "latex", "--standalone", "--detail", detail)
    log = _pdflatex(done.stdout, tmp_path)
    assert not re.search(r"Warning|Overfull|Underfull", log), re.findall(r".*(?:Warning|full).*", log)


# -- the certificate, re-checked with plain SymPy -----------------------------------------------------------------

NAMESPACE = {name: getattr(sp, name) for name in dir(sp)} | {"ExprCondPair": ExprCondPair}  # srepr of a Piecewise


def load(text: str) -> sp.Expr:
    return eval(text, dict(NAMESPACE))  # our own certificate, not user input


def written_out(node: sp.Sum) -> sp.Expr:
    body, (var, lower, upper) = node.function, node.limits[0]
    return sp.Add(*(body.xreplace({var: value}) for value in range(int(lower), int(upper) + 1)))


def concrete(expr: sp.Expr, ints: dict[str, int]) -> sp.Expr:
    """Sizes and indices put in, sums written out (innermost first), then ``doit``: SymPy differentiates."""
    symbols = {s.name: s for s in expr.atoms(sp.Symbol)}
    expr = expr.xreplace({symbols[name]: value for name, value in ints.items() if name in symbols})
    while expr.has(sp.Sum):
        expr = expr.replace(lambda e: isinstance(e, sp.Sum) and not e.function.has(sp.Sum), written_out)
    return expr.doit()


def value(expr: sp.Expr, W, x, delta) -> float:
    entries = {e: (W[int(e.indices[0]) - 1][int(e.indices[1]) - 1] if e.base.label.name == "W"
                   else x[int(e.indices[0]) - 1]) for e in expr.atoms(sp.Indexed)}
    entries |= {s: delta for s in expr.atoms(sp.Symbol) if s.name == "Delta"}
    return float(expr.xreplace(entries).evalf(30))


@pytest.mark.parametrize("detail", DETAILS)
def test_every_step_rechecks_with_plain_sympy(detail):
    cert = json.loads(run_cli("show", NAME, "--format", "json", "--detail", detail).stdout)
    assert cert["symbols"]["scalars"] == ["Delta"] and cert["symbols"]["label_index"] == "c"
    excluded = cert["excluded"]
    assert excluded["for_every"] == "j" and "kink" in excluded["reason"]
    nonzero = load(excluded["nonzero"]["sympy"])
    rng = random.Random(11)
    checked = 0
    for number, step in enumerate(cert["steps"], 1):
        assert step["verified"] is True
        before, after = load(step["before"]["sympy"]), load(step["after"]["sympy"])
        case = step["case"] or {"equal": [], "distinct": []}
        for classes, inputs in ((2, 3), (3, 4), (4, 2)):
            for label in range(1, classes + 1):
                for row in range(1, classes + 1):
                    if any({a, b} == {"k", "c"} and (row == label) != (kind == "equal")
                           for kind in ("equal", "distinct") for a, b in case[kind]):
                        continue
                    W = [[sp.Rational(rng.randint(-20, 20), 10) for _ in range(inputs)] for _ in range(classes)]
                    x = [sp.Rational(rng.randint(-15, 15), 10) for _ in range(inputs)]
                    delta = sp.Rational(rng.randint(1, 20), 10)
                    ints = {"n": classes, "m": inputs, "c": label, "k": row, "l": rng.randint(1, inputs)}
                    margins = [value(concrete(nonzero, ints | {"j": other}), W, x, delta)
                               for other in range(1, classes + 1) if other != label]
                    if any(abs(m) < 1e-9 for m in margins):  # on a kink: the certificate excludes it
                        continue
                    a, b = (value(concrete(side, ints), W, x, delta) for side in (before, after))
                    assert a == pytest.approx(b, rel=1e-12, abs=1e-14), (number, step["rule"], ints)
                    checked += 1
    assert checked > 20 * len(cert["steps"]) // 3


# -- derive check reads it back -------------------------------------------------------------------------------------

def check(markdown: str) -> dict:
    done = run_cli("check", "-", "--format", "json", stdin=markdown)
    assert done.returncode in (0, 1, 3), done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("detail", DETAILS)
def test_its_own_markdown_checks_all_valid(detail):
    markdown = derive.derivation(NAME, detail=detail).markdown()
    report = check(markdown)
    summary = report["summary"]
    assert summary["invalid"] == summary["unknown"] == 0 and summary["valid"] >= len(derive.derivation(
        NAME, detail=detail).steps), [(s["line"], s["message"]) for s in report["steps"] if s["verdict"] != "valid"]


def test_its_own_markdown_in_another_notation_checks_all_valid():
    markdown = derive.derivation(NAME, logits="f", margin=r"\gamma", target="class a", loss="J").markdown()
    report = check(markdown)
    assert report["summary"]["invalid"] == report["summary"]["unknown"] == 0 and report["summary"]["valid"] >= 4


def test_the_slip_on_the_sign_of_the_true_class_row_is_invalid_at_its_line():
    markdown = derive.derivation(NAME).markdown()
    right = r"&= - \left(\sum_{j \neq c} \mathbf{1}[s_{j} - s_{c} + \Delta > 0]\right) x_{l}"
    assert right in markdown
    slipped = markdown.replace(right, right.replace("&= - ", "&= "))
    line = next(n for n, text in enumerate(slipped.splitlines(), 1) if r"&= \left(\sum_{j \neq c}" in text)
    report = check(slipped)
    bad = [s for s in report["steps"] if s["verdict"] == "invalid"]
    assert [s["line"] for s in bad] == [line] and bad[0]["counterexample"]
    assert report["summary"]["unknown"] == 0 and not report["ok"]


# -- course notes -----------------------------------------------------------------------------------------------

def test_embed_directives_with_the_new_name(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("# Week 2: the SVM loss\n\n<!-- derive: show multiclass-hinge part=\"gradient\" -->\n"
                     "<!-- derive: end -->\n\nThe row of the true class:\n\n"
                     "<!-- derive: show multiclass-hinge case=\"k = c\" margin=\"\\gamma\" -->\n"
                     "<!-- derive: end -->\n", encoding="utf-8")
    done = run_cli("embed", str(notes), "--in-place")
    assert done.returncode == 0, done.stderr
    filled = notes.read_text(encoding="utf-8")
    assert r"\mathbf{1}[s_{j} - s_{c} + \Delta > 0]" in filled and r"s_{j} - s_{c} + \gamma > 0" in filled
    assert r"\frac{\partial L}{\partial W_{cl}}" in filled
    assert run_cli("embed", str(notes), "--check").returncode == 0


@pytest.mark.parametrize("part", ["gradient", "rows"])
def test_a_part_has_a_certificate_of_its_own(part):
    cert = json.loads(run_cli("show", NAME, "--part", part, "--format", "json").stdout)
    assert {s["part"] for s in cert["steps"]} == {part}
    assert cert["result"]["sympy"] == cert["steps"][-1]["after"]["sympy"]
