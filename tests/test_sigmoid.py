"""`sigmoid-binary-cross-entropy` as a user meets it, and the rules it adds, each on its own.

Rules: what each rewrites, and that the rewrite is an identity (checked numerically at sampled logits and labels).
The derivation: every format and level of detail; LaTeX that pdflatex compiles without a warning; a certificate
that plain SymPy re-checks step by step (nothing shared with derive's verifier); its own Markdown read back by
`derive check` as all valid; the classic slip σ' = σ² caught at its line; `derive list` and `embed` know it.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess

import pytest
import sympy as sp

import derive
from derive import model as mdl
from derive.engine.rules import rewrite_everywhere
from derive.families.sigmoid import rules
from derive.families.sigmoid.model import Logistic, SigmoidModel, ell, sigmoid_definition, y, z
from derive.model import D
from derive.verify import check_equal

from helpers import require_tool, run_cli

NAME = "sigmoid-binary-cross-entropy"
DETAILS = ("full", "notes", "brief")
MODEL, BATCH = SigmoidModel(), SigmoidModel(examples=True)


def apply(rule, expr):
    after, count = rewrite_everywhere(expr, rule)
    assert count >= 1, f"{rule.id} did not apply to {expr}"
    return after


def holds(before, after, model=MODEL):
    return check_equal(model, model.to_base(before), model.to_base(after)).holds


# -- the rules, one at a time -----------------------------------------------------------------------------------

def test_the_definition_of_the_sigmoid_read_both_ways():
    written = apply(rules.UnfoldSigmoid(), Logistic(z))
    assert written == 1 / (1 + sp.exp(-z)) and holds(Logistic(z), written)
    assert apply(rules.FoldSigmoid(), written) == Logistic(z)
    assert apply(rules.FoldSigmoid(), 1 / (1 + sp.exp(-mdl.z[mdl.t]))) == Logistic(mdl.z[mdl.t])
    assert apply(rules.FoldSigmoid(), 1 / (1 + sp.exp(z))) == Logistic(-z)  # 1/(1 + e^{z}) is σ(−z)
    assert not rules.FoldSigmoid().match(1 / (2 + sp.exp(-z)))


def test_constant_rule_zeroes_what_does_not_depend_on_the_variable():
    rule = rules.ConstantRule(model=MODEL)
    assert apply(rule, D(sp.S.One, z)) == 0 and apply(rule, D(y, z)) == 0
    assert not rule.match(D(sp.exp(-z), z)) and not rule.match(D(Logistic(z), z))
    batch = rules.ConstantRule(model=BATCH)
    assert not batch.match(D(ell[mdl.t], mdl.z[mdl.s]))  # ℓ_t depends on z_s where t = s


def test_identity_rule_and_constant_factor_hold():
    assert apply(rules.IdentityRule(), D(z, z)) == 1
    assert not rules.IdentityRule().match(D(y, z))
    before = D(-((1 - y) * sp.log(1 - Logistic(z))), z)
    after = apply(rules.ScalarConstantFactor(model=MODEL), before)
    assert holds(before, after)
    assert after.has(1 - y) and after.could_extract_minus_sign()  # −(1 − y) stays as written, not (y − 1)
    assert not rules.ScalarConstantFactor(model=MODEL).match(D(Logistic(z) * sp.log(Logistic(z)), z))


def test_splitting_the_square_and_the_complement_are_identities():
    v = 1 + sp.exp(-z)
    start = sp.exp(-z) / v ** 2
    split = apply(rules.SplitFraction(), start)
    assert holds(start, split) and len(split.args) == 2
    complement = apply(rules.Complement(), split)
    assert holds(split, complement)
    assert apply(rules.FoldSigmoid(), complement) == Logistic(z) * (1 - Logistic(z))
    assert not rules.Complement().match(1 / v)  # 1/v = 1 − e^{−z}/v is true but not the step meant


def test_a_result_is_substituted_where_it_is_used_and_nowhere_else():
    derivative = D(Logistic(z), z)
    rule = rules.UseResult(lhs=derivative, rhs=Logistic(z) * (1 - Logistic(z)))
    before = -y / Logistic(z) * derivative + D(sp.exp(z), z)
    after = apply(rule, before)
    assert derivative not in after.atoms(sp.Derivative) and D(sp.exp(z), z) in after.atoms(sp.Derivative)
    assert holds(before, after)


def test_a_wrong_rewrite_is_caught():
    """The slip σ' = σ² (and σ' = σ) is not an identity: the verifier that checks every step refuses it."""
    for wrong in (Logistic(z) ** 2, Logistic(z)):
        assert not holds(D(Logistic(z), z), wrong)
    assert holds(D(Logistic(z), z), Logistic(z) * (1 - Logistic(z)))
    assert holds(sigmoid_definition(-z), 1 - Logistic(z))


# -- the derivation as a user meets it ----------------------------------------------------------------------------

def test_listed_in_its_group():
    done = run_cli("list")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    group = lines.index("other losses:")
    assert lines[group + 1].split()[0] == NAME and "[parts: sigmoid, loss, batch]" in lines[group + 1]


@pytest.mark.parametrize("detail", DETAILS)
@pytest.mark.parametrize("fmt", ["text", "latex", "markdown", "json", "ipynb"])
def test_every_format_and_detail(fmt, detail):
    done = run_cli("show", NAME, "--format", fmt, "--detail", detail)
    assert done.returncode == 0 and done.stdout.strip() and not done.stderr, done.stderr
    if fmt in ("json", "ipynb"):
        json.loads(done.stdout)
    if fmt == "text":
        assert "∂L/∂z = σ(z) − y" in done.stdout and "σ(z) (1 − σ(z))" in done.stdout
        assert "(σ(z_s) − y_s)/N" in done.stdout


def test_the_result_and_the_steps():
    result = derive.derivation(NAME, detail="full")
    assert result.derivation.result == Logistic(z) - y
    rules_used = {s.rule for s in result.steps}
    assert {"quotient-rule", "exp-rule", "log-rule", "constant-rule", "identity-rule", "fold-definition",
            "substitute", "kronecker-sum"} <= rules_used
    assert all(s.verified for s in result.steps)
    notes = derive.derivation(NAME)
    assert [p.key for p in notes.derivation.parts] == ["sigmoid", "loss", "batch"]
    assert 8 <= len(notes) < len(result) and len(derive.derivation(NAME, detail="brief")) < len(notes)


def test_notation():
    text = derive.derivation(NAME, logits=r"\theta", probs="p", labels="q", loss="J").text()
    assert "∂J/∂θ = p − q" in text and "p (1 − p)" in text and "(p_s − q_s)/N" in text
    assert "σ(x)" in text and "σ(θ" not in text  # σ is defined once; the steps write the probability p
    latex = derive.derivation(NAME, probs=r"\hat{y}").latex()
    assert r"\hat{y} \left(1 - \hat{y}\right)" in latex


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

NAMESPACE = {name: getattr(sp, name) for name in dir(sp)}


def load(text: str) -> sp.Expr:
    return eval(text, dict(NAMESPACE))  # our own certificate, not user input


def written_out(node: sp.Sum) -> sp.Expr:
    body, (var, lower, upper) = node.function, node.limits[0]
    return sp.Add(*(body.xreplace({var: value}) for value in range(int(lower), int(upper) + 1)))


def plain_value(expr: sp.Expr, batch: int, index: int, scalars: dict[str, sp.Expr],
                vectors: dict[str, list[sp.Expr]]) -> float:
    """Sizes and indices put in, sums written out, ``doit`` (SymPy differentiates), then the values."""
    symbols = {s.name: s for s in expr.atoms(sp.Symbol)}
    expr = expr.xreplace({symbols[name]: value for name, value in (("N", batch), ("s", index)) if name in symbols})
    expr = expr.replace(lambda e: isinstance(e, sp.Sum), written_out).doit()
    values = {e: vectors[e.base.label.name][int(e.indices[0]) - 1] for e in expr.atoms(sp.Indexed)}
    values |= {s: scalars[s.name] for s in expr.atoms(sp.Symbol) if s.name in scalars}
    return float(expr.xreplace(values).evalf(30))


@pytest.mark.parametrize("detail", DETAILS)
def test_every_step_rechecks_with_plain_sympy(detail):
    cert = json.loads(run_cli("show", NAME, "--format", "json", "--detail", detail).stdout)
    assert cert["symbols"]["scalars"] == ["z", "y"] and cert["symbols"]["batch"] == "N"
    rng = random.Random(5)
    assert cert["steps"]
    for number, step in enumerate(cert["steps"], 1):
        assert step["verified"] is True
        before, after = load(step["before"]["sympy"]), load(step["after"]["sympy"])
        for batch in (2, 3):
            for index in range(1, batch + 1):
                scalars = {"z": sp.Rational(rng.randint(-20, 20), 10), "y": sp.Rational(rng.randint(0, 10), 10)}
                vectors = {name: [sp.Rational(rng.randint(-20, 20), 10) for _ in range(batch)] for name in "zy"}
                a, b = (plain_value(side, batch, index, scalars, vectors) for side in (before, after))
                assert a == pytest.approx(b, rel=1e-12, abs=1e-14), (number, step["rule"], batch, index)
    result = load(cert["result"]["sympy"])
    z0, y0 = sp.Rational(3, 10), sp.Rational(1, 1)
    assert plain_value(result, 1, 1, {"z": z0, "y": y0}, {}) == pytest.approx(float(1 / (1 + sp.exp(-z0)) - y0))


# -- derive check reads it back -------------------------------------------------------------------------------------

def check(markdown: str) -> dict:
    done = run_cli("check", "-", "--format", "json", stdin=markdown)
    assert done.returncode in (0, 1, 3), done.stderr
    return json.loads(done.stdout)


NOTATIONS = [{}, {"logits": r"\theta", "probs": "p", "loss": "J"}, {"probs": r"\hat{y}", "labels": "q", "batch": "M"}]


@pytest.mark.parametrize("detail", DETAILS)
@pytest.mark.parametrize("notation", NOTATIONS, ids=["default", "theta-p-J", "yhat-q-M"])
def test_its_own_markdown_checks_all_valid(detail, notation):
    markdown = derive.derivation(NAME, detail=detail, **notation).markdown()
    report = check(markdown)
    steps = len(derive.derivation(NAME, detail=detail).steps)  # a definition written out is one equality more
    summary = report["summary"]
    assert summary["invalid"] == summary["unknown"] == 0 and summary["valid"] >= steps, \
        [(s["line"], s["message"]) for s in report["steps"] if s["verdict"] != "valid"]


def test_the_slip_sigma_squared_is_invalid_at_its_line():
    markdown = derive.derivation(NAME).markdown()
    right = r"&= \sigma(z) \left(1 - \sigma(z)\right) && \text{(4)}"
    assert right in markdown
    slipped = markdown.replace(right, r"&= \sigma(z)^{2} && \text{(4)}")
    line = next(number for number, text in enumerate(slipped.splitlines(), 1) if r"\sigma(z)^{2}" in text)
    report = check(slipped)
    bad = [s for s in report["steps"] if s["verdict"] == "invalid"]
    assert [s["line"] for s in bad] == [line] and bad[0]["counterexample"]
    assert report["summary"]["unknown"] == 0 and not report["ok"]


def test_a_students_slip_in_their_own_words():
    """A hand derivation as a student writes it: σ' = σ² at the third line, everything else right."""
    text = "\n".join([
        r"With $\sigma(x) = \frac{1}{1 + e^{-x}}$ and $L = -y \log \sigma(z) - (1 - y) \log(1 - \sigma(z))$:",
        "", "$$", r"\begin{aligned}",
        r"\frac{d \sigma(z)}{d z} &= \frac{e^{-z}}{(1 + e^{-z})^2} \\",
        r"&= \sigma(z)^2",
        r"\end{aligned}", "$$", "",
        "$$", r"\frac{\partial L}{\partial z} = -\frac{y}{\sigma(z)} \sigma(z) (1 - \sigma(z)) + \frac{1 - y}{1 - "
        r"\sigma(z)} \sigma(z) (1 - \sigma(z)) = \sigma(z) - y", "$$", ""])
    report = check(text)
    verdicts = [(s["line"], s["verdict"]) for s in report["steps"]]
    assert verdicts == [(5, "valid"), (6, "invalid"), (11, "valid"), (11, "valid")]
    assert report["steps"][1]["counterexample"]


# -- course notes -----------------------------------------------------------------------------------------------

def test_embed_directives_with_the_new_name(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("# Week 3\n\n<!-- derive: show sigmoid-binary-cross-entropy part=\"sigmoid\" -->\n"
                     "<!-- derive: end -->\n\nThen the batch:\n\n"
                     "<!-- derive: show sigmoid-binary-cross-entropy part=\"batch\" probs=\"p\" -->\n"
                     "<!-- derive: end -->\n", encoding="utf-8")
    done = run_cli("embed", str(notes), "--in-place")
    assert done.returncode == 0, done.stderr
    filled = notes.read_text(encoding="utf-8")
    assert r"\sigma(z) \left(1 - \sigma(z)\right)" in filled and r"\frac{p_{s} - y_{s}}{N}" in filled
    assert run_cli("embed", str(notes), "--check").returncode == 0
    assert run_cli("show", NAME, "--part", "batch", "--format", "markdown").returncode == 0


@pytest.mark.parametrize("part", ["sigmoid", "loss", "batch"])
def test_a_part_has_a_certificate_of_its_own(part):
    """An excerpt's certificate states the excerpt's own result (the whole's may lie in another part)."""
    cert = json.loads(run_cli("show", NAME, "--part", part, "--format", "json").stdout)
    assert {s["part"] for s in cert["steps"]} == {part}
    assert cert["result"]["sympy"] == cert["steps"][-1]["after"]["sympy"]
