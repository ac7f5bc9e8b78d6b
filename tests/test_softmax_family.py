"""The softmax family, tried as a user would: `log-sum-exp` (and why softmax subtracts the maximum),
`softmax-temperature-cross-entropy`, `label-smoothing-cross-entropy`.

Each new rule on its own; every format; LaTeX that compiles cleanly; Markdown math that KaTeX renders; the
certificate re-checked step by step with plain SymPy (nothing shared with derive's verifier); results against
finite differences of the loss; the detail levels; the user's notation (temperature, smoothing); `embed`; the
generated Markdown read back by `derive check`; and a version with the classic slip caught at that step.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
import sympy
import sympy as sp

import derive
from derive import model as mdl
from derive.engine.rules import rewrite_everywhere
from derive.families.softmax import model as fam
from derive.families.softmax.rules import (ExpOfSum, FoldTempered, SumLinearity, UnfoldFamily, is_tempered_partition,
                                           rewrite_unevaluated)
from derive.model import D, j, k, y, yhat, z
from derive.verify import check_equal

from helpers import require_tool, run_cli

NAMES = ["log-sum-exp", "softmax-temperature-cross-entropy", "label-smoothing-cross-entropy"]
DETAILS = ("notes", "full", "brief")
NOTATION = {"logits": r"\theta", "probs": "p", "classes": "K", "temperature": r"\tau", "smoothing": r"\alpha"}
# Markdown that `derive check` reads back today; label smoothing waits for the checker to read y^{LS}_k.
ROUND_TRIP = ["log-sum-exp", "softmax-temperature-cross-entropy"]


# -- the rules, each on its own ----------------------------------------------------------------------------

TEMPERED = fam.FamilyModel(temperature=True)
SMOOTHED = fam.FamilyModel(smoothing=True)
SHIFTED = fam.FamilyModel(uses_labels=False)


def apply(rule, expr):
    after, count = rewrite_everywhere(expr, rule)
    assert count >= 1, f"{rule.id} did not apply to {expr}"
    return after


def holds(model, before, after, **kw):
    return check_equal(model, model.to_base(before), model.to_base(after), **kw).holds


def test_unfold_writes_out_the_tempered_softmax_the_smoothed_labels_and_the_shift():
    rule = UnfoldFamily(model=TEMPERED, names=("yhat",))
    after = apply(rule, yhat[j])
    assert after.has(fam.T) and rule.facts["prob"] == yhat[j] and is_tempered_partition(rule.facts["partition"])
    assert holds(TEMPERED, yhat[j], after)
    assert not holds(fam.FamilyModel(), yhat[j], after)  # the plain softmax is another function
    smoothed = apply(UnfoldFamily(model=SMOOTHED, names=("ysmooth",)), fam.ysmooth[k])
    assert smoothed.has(fam.varepsilon) and holds(SMOOTHED, fam.ysmooth[k], smoothed)
    only = UnfoldFamily(model=SMOOTHED, names=("ysmooth",), only=fam.ysmooth[k])
    total = mdl.class_sum(fam.ysmooth[j], j) - fam.ysmooth[k]
    assert apply(only, total).has(fam.ysmooth[j]) and not apply(only, total).has(fam.ysmooth[k])
    shifted = apply(UnfoldFamily(model=SHIFTED, names=("shifted",)), fam.ShiftedSoftmax(k))
    assert shifted.has(fam.shift) and holds(SHIFTED, fam.ShiftedSoftmax(k), shifted)


def test_fold_tempered_recognises_only_the_tempered_softmax():
    partition = fam.tempered_partition()
    expr = y[j] * sp.exp(z[k] / fam.T) / partition / fam.T - y[k] / fam.T
    rule = FoldTempered()
    after = apply(rule, expr)
    assert after == y[j] * yhat[k] / fam.T - y[k] / fam.T and rule.facts["prob"] == yhat[k]
    assert holds(TEMPERED, expr, after)
    assert not FoldTempered().match(sp.exp(z[k]) / mdl.partition_sum())  # the plain softmax is Fold's


def test_exp_of_sum_turns_the_shift_into_a_factor():
    before = sp.exp(z[k] - fam.shift)
    rule = ExpOfSum()
    after = apply(rule, before)
    assert after == sp.exp(z[k]) * sp.exp(-fam.shift) and rule.facts["exp"] == before
    assert holds(SHIFTED, before, after)
    assert not rule.match(sp.exp(z[k]))


def test_sum_linearity_sums_term_by_term():
    eps, n = fam.varepsilon, mdl.n
    before = mdl.class_sum((1 - eps) * y[j] + eps / n, j)
    after = apply(SumLinearity(), before)
    assert sp.expand(after - ((1 - eps) * mdl.class_sum(y[j], j) + eps)) == 0
    assert (1 - eps) in after.args[1].args if after.args[1].has(sp.Sum) else (1 - eps) in after.args[0].args
    assert holds(SMOOTHED, before, after)
    loss = mdl.class_sum(y[j] * (z[j] / fam.T - sp.log(fam.tempered_partition(avoid=(j,)))), j)
    split = apply(SumLinearity(outer=j), loss)
    assert split.count(sp.Sum) == 3 and holds(TEMPERED, loss, split)  # Σ y z, Σ y, and Σ e^{z/T} untouched
    assert not SumLinearity().match(mdl.partition_sum())  # one term, nothing to move
    assert not SumLinearity(outer=k).match(loss)


def test_unevaluated_rewrite_keeps_the_common_factor_visible():
    before = sp.exp(-fam.shift) * sp.exp(z[k]) / mdl.class_sum(sp.exp(-fam.shift) * sp.exp(z[j]), j)
    after = rewrite_unevaluated(before, SumLinearity())
    assert after.count(sp.exp(-fam.shift)) == 2  # above and below the line, not yet cancelled
    assert holds(SHIFTED, before, after)


# -- every format, every detail ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("fmt", ["text", "latex", "markdown", "json", "ipynb"])
def test_every_format(name, fmt):
    done = run_cli("show", name, "--format", fmt, *[f"--notation={k}={v}" for k, v in NOTATION.items()])
    assert done.returncode == 0 and done.stdout.strip(), done.stderr
    if fmt == "ipynb":
        notebook = nbformat.reads(done.stdout, as_version=4)
        nbformat.validate(notebook)
        assert any(r"\theta" in cell.source for cell in notebook.cells)
    if fmt == "latex":
        assert r"\theta_{k}" in done.stdout and "z_{" not in done.stdout


@pytest.mark.parametrize("name", NAMES)
def test_detail_levels_combine_the_same_rule_applications(name):
    full, notes, brief = (derive.derivation(name, detail=d) for d in ("full", "notes", "brief"))
    rules = [s.rule for s in full.steps]
    for coarse in (notes, brief):
        assert [r for s in coarse.steps for r in s.rules] == rules
        assert all(s.verified for s in coarse.steps)
    assert len(brief) <= len(notes) < len(full)


def test_notes_show_where_the_temperature_comes_out():
    steps = derive.derivation("softmax-temperature-cross-entropy").steps
    log_rule = next(s for s in steps if s.rule == "log-rule")  # the whole differentiation in one line
    assert {"sum-rule", "exp-rule", "constant-factor", "index-derivative", "kronecker-sum"} <= set(log_rule.rules)
    assert steps[-1].rule == "sum-to-one" and steps[-1].assumes == ("sum-to-one",)


def test_label_smoothing_states_where_the_smoothed_labels_sum_to_one():
    result = derive.derivation("label-smoothing-cross-entropy", detail="full")
    used = [s for s in result.steps if s.rule == "substitute"]
    assert len(used) == 1 and used[0].assumes == ("one-hot",) and "summing to one is used" in used[0].explanation
    assert [p.key for p in result.derivation.parts] == ["smoothed-labels", "gradient"]
    assert result.steps[used[0].number - 2].after_text.startswith("ŷ_k (Σ_j y^LS_j)")
    anything = derive.derivation("label-smoothing-cross-entropy", target="any", detail="full")
    assert not [s for s in anything.steps if s.rule == "substitute"]  # nothing to use: Σ y^LS stays


# -- results, certificates -----------------------------------------------------------------------------------

def certificate(name: str, detail: str = "notes", *notation: str) -> dict:
    done = run_cli("show", name, "--format", "json", "--detail", detail, *[f"--notation={n}" for n in notation])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


NAMESPACE = {name: getattr(sympy, name) for name in dir(sympy)}


def load(text: str) -> sympy.Expr:
    return eval(text, dict(NAMESPACE))  # our own certificate, not user input


def written_out(node: sympy.Sum) -> sympy.Expr:
    body, (var, lower, upper) = node.function, node.limits[0]
    return sympy.Add(*(body.xreplace({var: value}) for value in range(int(lower), int(upper) + 1)))


def evaluate(expr: sympy.Expr, n: int, ints: dict[str, int], scalars: dict[str, sympy.Expr],
             arrays: dict[str, dict[int, sympy.Expr]]) -> float:
    """Plain SymPy: sizes, then sums written out, indices and scalars put in, derivatives by concrete entries
    done, then the entries' values."""
    expr = expr.xreplace({s: n for s in expr.atoms(sympy.Symbol) if s.name == "n"})
    expr = expr.replace(lambda e: isinstance(e, sympy.Sum), written_out)
    symbols = expr.atoms(sympy.Symbol)  # also the index of a derivative's variable, ∂/∂z_k
    expr = expr.xreplace({s: ints[s.name] for s in symbols if s.name in ints} |
                         {s: scalars[s.name] for s in symbols if s.name in scalars})
    expr = expr.doit()
    values = {e: arrays[e.base.label.name][int(e.indices[0])] for e in expr.atoms(sympy.Indexed)}
    return float(expr.xreplace(values).evalf(30))


def labels(n: int, assumes: list[str], hot: int, rng: random.Random) -> dict[int, sympy.Expr]:
    if "one-hot" in assumes:
        return {i: sympy.Integer(int(i == hot)) for i in range(1, n + 1)}
    raw = [sympy.Rational(rng.randint(1, 9), 10) for _ in range(n)]
    if "sum-to-one" in assumes:
        return {i + 1: v / sum(raw) for i, v in enumerate(raw)}
    return {i + 1: v - sympy.Rational(1, 3) for i, v in enumerate(raw)}  # not a distribution at all


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("detail", DETAILS)
def test_certificate_rechecks_with_plain_sympy(name, detail):
    cert = certificate(name, detail)
    assert cert["steps"] and all(step["verified"] is True for step in cert["steps"])
    rng = random.Random(5)
    values = {"T": sympy.Rational(7, 5), "varepsilon": sympy.Rational(1, 10), "shift": sympy.Rational(3, 2)}
    scalars = {name: values[name] for name in cert["symbols"]["scalars"]}  # what the certificate says it holds
    assert scalars
    for number, step in enumerate(cert["steps"], 1):
        assert step["case"] is None and step["rule"] in step["rules"]
        before, after = load(step["before"]["sympy"]), load(step["after"]["sympy"])
        names = {s.name for side in (before, after) for s in side.atoms(sympy.Symbol)}
        assert names <= {"n", "i", "j", "k", "c", "z", "y", *scalars}, names  # sizes, indices, arrays, scalars
        for n, kk, hot in itertools.product((2, 3), (1, 2), (1, 2)):
            z = {i: sympy.Rational(rng.randint(-20, 20), 10) for i in range(1, n + 1)}
            arrays = {"z": z, "y": labels(n, step["assumes"], hot, rng)}
            ints = {"k": kk, "c": hot}
            a, b = (evaluate(side, n, ints, scalars, arrays) for side in (before, after))
            assert a == pytest.approx(b, rel=1e-12, abs=1e-14), (name, number, step["rule"], n, kk)


def loss(name: str, logits: list[float], target: list[float], temperature: float, smoothing: float) -> float:
    """The function each entry differentiates, in plain Python."""
    if name == "log-sum-exp":
        return math.log(sum(math.exp(v) for v in logits))
    scaled = [v / temperature for v in logits] if name.startswith("softmax-temperature") else logits
    top = max(scaled)
    log_partition = top + math.log(sum(math.exp(v - top) for v in scaled))
    labels_ = target if name.startswith("softmax-temperature") else \
        [(1 - smoothing) * t + smoothing / len(target) for t in target]
    return -sum(t * (v - log_partition) for t, v in zip(labels_, scaled))


@pytest.mark.parametrize("name", NAMES)
def test_result_matches_finite_differences_of_the_loss(name):
    cert = certificate(name)
    result = load(cert["result"]["sympy"])
    n, temperature, smoothing, hot = 4, 1.7, 0.2, 3
    logits = [0.3, -1.1, 2.0, 0.5]
    target = [0.1, 0.2, 0.6, 0.1] if cert["notation"]["target"] == "distribution" else \
        [float(i == hot) for i in range(1, n + 1)]
    for kk in range(1, n + 1):
        h = 1e-6
        up, down = (logits[:kk - 1] + [logits[kk - 1] + d] + logits[kk:] for d in (h, -h))
        numeric = (loss(name, up, target, temperature, smoothing) - loss(name, down, target, temperature, smoothing)) / (2 * h)
        value = evaluate(result, n, {"k": kk, "c": hot}, {"T": sympy.Float(temperature), "varepsilon": sympy.Float(smoothing)},
                         {"z": {i + 1: sympy.Float(v) for i, v in enumerate(logits)},
                          "y": {i + 1: sympy.Float(v) for i, v in enumerate(target)}})
        assert value == pytest.approx(numeric, rel=1e-6, abs=1e-8), (name, kk)


# -- documents ---------------------------------------------------------------------------------------------

def pdflatex(work: Path, tex: str) -> subprocess.CompletedProcess:
    (work / "doc.tex").write_text(tex, encoding="utf-8")
    env = dict(os.environ, openin_any="p", openout_any="p")
    for _ in range(2):  # labels settle on the second run
        done = subprocess.run(["pdflatex", "-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode",
                               "doc.tex"], cwd=work, capture_output=True, text=True, timeout=120, env=env)
    return done


@pytest.mark.parametrize("name", NAMES)
def test_standalone_latex_compiles_without_a_warning(name, tmp_path):
    require_tool(shutil.which("pdflatex") is not None, "pdflatex (texlive-latex-base)")
    for (number, notation), detail in itertools.product(enumerate([{}, NOTATION]), DETAILS):
        work = tmp_path / f"{number}-{detail}"
        work.mkdir()
        done = pdflatex(work, derive.derivation(name, detail=detail, **notation).latex(standalone=True))
        assert done.returncode == 0, (name, detail, done.stdout[-2000:])
        log = (work / "doc.log").read_text(encoding="utf-8", errors="replace")
        noisy = [line for line in log.splitlines() if re.search(r"Overfull|Underfull|Warning", line)]
        assert noisy == [], (name, detail, noisy[:3])


MATH = re.compile(r"```math\n(?P<gfm>.*?)```|\$\$(?P<display>.*?)\$\$|\$`(?P<gfm_inline>.*?)`\$|\$(?P<inline>[^$\n]+?)\$", re.S)


def test_markdown_math_renders_in_katex(katex):
    items = []
    for name, notation, flavor, detail in itertools.product(NAMES, ({}, NOTATION), ("dollar", "gfm"), DETAILS):
        markdown = derive.derivation(name, detail=detail, **notation).markdown(flavor=flavor)
        found = [{"math": m.group(m.lastgroup).strip(), "display": m.lastgroup in ("gfm", "display")}
                 for m in MATH.finditer(markdown)]
        assert any(item["display"] for item in found)
        items.extend(found)
    failures = katex(items)
    assert failures == [], failures[:3]


def test_the_users_notation_is_used_and_carried():
    result = derive.derivation("label-smoothing-cross-entropy", **NOTATION)
    tex = result.latex()
    assert r"\alpha" in tex and r"\varepsilon" not in tex and r"\theta_{k}" in tex
    front = result.markdown().split("---")[1]
    assert "smoothing: '\\alpha'" in front and "temperature" not in front  # only the keys that mean something
    tempered = derive.derivation("softmax-temperature-cross-entropy", **NOTATION)
    assert r"e^{\theta_{k}/\tau}" in tempered.latex() and "temperature: '\\tau'" in tempered.markdown()
    assert "softmax(θ − c)_k" in derive.derivation("log-sum-exp", **NOTATION).text()


@pytest.mark.parametrize("args, message", [
    (["softmax-temperature-cross-entropy", "--notation", "logits=T"], "temperature"),
    (["softmax-temperature-cross-entropy", "--notation", "temperature=\\input{x}"], "notation temperature"),
    (["label-smoothing-cross-entropy", "--notation", "smoothing=y"], "labels"),
])
def test_bad_notation_exits_2_with_one_line(args, message):
    done = run_cli("show", *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


NOTES = """---
derive:
  logits: '\\theta'
---

# Week 3

<!-- derive: show softmax-temperature-cross-entropy temperature="\\tau" -->
<!-- derive: end -->

<!-- derive: show log-sum-exp part="shift" -->
<!-- derive: end -->

<!-- derive: show label-smoothing-cross-entropy part="gradient" detail="brief" -->
<!-- derive: end -->
"""


def test_embed_directives_with_the_new_names(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text(NOTES, encoding="utf-8")
    assert run_cli("embed", str(notes), "--in-place").returncode == 0
    text = notes.read_text(encoding="utf-8")
    blocks = re.findall(r"-->\n(.*?)<!-- derive: end -->", text, re.S)
    assert len(blocks) == 3 and all(r"\theta" in b for b in blocks)
    assert r"\tau" in blocks[0] and r"\operatorname{softmax}(\theta - c)_{k}" in blocks[1]
    assert "## The gradient by the logits" not in blocks[2] or "smoothed labels sum to one" not in blocks[2]
    assert run_cli("embed", str(notes), "--check").returncode == 0


# -- read back by `derive check` ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ROUND_TRIP)
@pytest.mark.parametrize("detail", DETAILS)
@pytest.mark.parametrize("flavor", ["dollar", "gfm"])
def test_generated_markdown_checks_all_valid(name, detail, flavor):
    for notation in ({}, NOTATION):
        report = derive.check(derive.derivation(name, detail=detail, **notation).markdown(flavor=flavor))
        assert report.steps and report.summary["invalid"] == 0 and report.summary["unknown"] == 0, \
            [(s.line, s.verdict, s.message) for s in report.steps if s.verdict != "valid"]


def last_line(markdown: str, lhs: str) -> tuple[int, str]:
    """The line number and right side of the last row of the chain that starts with ``lhs``."""
    lines = markdown.splitlines()
    start = lines.index(lhs)
    end = next(n for n in range(start, len(lines)) if lines[n].startswith(r"\end{aligned}"))
    row = lines[end - 1]
    return end, re.match(r"\s*&= (.*?)(?: && \\text\{\(\d+\)\})?(?: \\\\)?$", row).group(1)


def slipped(markdown: str, line: int, old: str, new: str) -> str:
    lines = markdown.splitlines()
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new)
    return "\n".join(lines) + "\n"


def test_dropping_the_temperature_is_caught_at_that_step():
    markdown = derive.derivation("softmax-temperature-cross-entropy").markdown()
    line, rhs = last_line(markdown, r"\frac{\partial L}{\partial z_{k}}")
    top = re.fullmatch(r"\\frac\{(.*)\}\{T\}", rhs).group(1)  # (p_k - q_k)/T ...
    report = derive.check(slipped(markdown, line, rhs, top))  # ... written p_k - q_k, the 1/T dropped
    wrong = [s for s in report.steps if s.verdict != "valid"]
    assert [(s.line, s.verdict) for s in wrong] == [(line, "invalid")] and wrong[0].counterexample


def test_a_shift_left_out_of_the_denominator_is_caught():
    markdown = derive.derivation("log-sum-exp", detail="full").markdown()
    numbered = [n for n, row in enumerate(markdown.splitlines(), 1) if r"\sum_{i=1}^{n} e^{z_{i} - c}}" in row]
    line = numbered[0]
    report = derive.check(slipped(markdown, line, r"\sum_{i=1}^{n} e^{z_{i} - c}}", r"\sum_{i=1}^{n} e^{z_{i}}}"))
    wrong = [s for s in report.steps if s.verdict != "valid"]
    assert wrong and all(s.verdict == "invalid" for s in wrong) and wrong[0].line == line
    assert wrong[0].counterexample


# -- the Python API ------------------------------------------------------------------------------------------

def test_python_api():
    result = derive.derivation("log-sum-exp", **NOTATION)
    assert [p.key for p in result.derivation.parts] == ["gradient", "shift"]
    assert result.steps and all(s.verified for s in result.steps)
    assert result._repr_latex_().startswith("$$") and r"\theta" in result._repr_markdown_()
    shift = result.excerpt(part="shift")
    assert shift.steps[0].before_latex == r"\operatorname{softmax}(\theta - c)_{k}"
    assert "max" in shift.steps[0].explanation  # why the maximum is subtracted
    with pytest.raises(derive.UsageError):
        result.excerpt(part="no-such-part")
