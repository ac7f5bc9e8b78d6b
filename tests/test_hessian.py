"""`softmax-cross-entropy-hessian` as a user meets it, and the rules it adds, each on its own.

Rules: what each rewrites, and that the rewrite is an identity (checked numerically). The derivation: every format
and level of detail, LaTeX that compiles without a warning, a certificate that plain SymPy re-checks step by step,
its own Markdown read back by `derive check` as all valid, a wrong sign caught at its line.
"""

from __future__ import annotations

import itertools
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
from derive.families.hessian import rules
from derive.families.hessian.plan import HessianModel, v
from derive.model import D, j, k, yhat, z
from derive.notation import Target
from derive.verify import check_equal

from helpers import require_tool, run_cli

NAME = "softmax-cross-entropy-hessian"
DETAILS = ("full", "notes", "brief")
MODEL = HessianModel()
ENTRY = sp.KroneckerDelta(j, k) * yhat[k] - yhat[j] * yhat[k]


def apply(rule, expr):
    after, count = rewrite_everywhere(expr, rule)
    assert count >= 1, f"{rule.id} did not apply to {expr}"
    return after


def holds(before, after, assumes=()):
    return check_equal(MODEL, MODEL.to_base(before), MODEL.to_base(after), assumes=assumes).holds


def double(body):
    return sp.Sum(body, (j, 1, mdl.n), (k, 1, mdl.n))


# -- the rules, one at a time -----------------------------------------------------------------------------------

def test_the_second_derivative_is_the_derivative_of_the_gradient():
    gradient = yhat[k] - mdl.y[k]
    rule = rules.UseGradient(first=D(mdl.L, z[k]), value=gradient)
    after = apply(rule, D(D(mdl.L, z[k]), z[j]))
    assert after == D(gradient, z[j]) and holds(D(D(mdl.L, z[k]), z[j]), after, assumes=("one-hot",))
    assert not holds(D(D(mdl.L, z[k]), z[j]), after)  # the gradient ŷ_k − y_k needs labels that sum to one


def test_entries_are_substituted_with_their_own_indices():
    rule = rules.UseEntries(entry=ENTRY)
    before = double(v[j] * v[k] * D(D(mdl.L, z[k]), z[j]))
    after = apply(rule, before)
    assert not after.has(sp.Derivative) and holds(before, after, assumes=("one-hot",))
    swapped = apply(rule, D(D(mdl.L, z[j]), z[k]))  # ∂²L/∂z_k∂z_j: the entry with j and k exchanged
    assert swapped == sp.KroneckerDelta(k, j) * yhat[j] - yhat[k] * yhat[j]


def test_sum_rules_are_identities():
    start = double(v[j] * v[k] * ENTRY)
    split = apply(rules.DistributeSum(), start)
    assert isinstance(split, sp.Add) and holds(start, split)
    kept = apply(rules.KroneckerDoubleSum(), split)
    assert holds(split, kept) and sp.Sum(yhat[j] * v[j] ** 2, (j, 1, mdl.n)) in kept.args
    square = apply(rules.ProductOfSums(), kept)
    assert holds(kept, square) and square.has(sp.Sum(yhat[j] * v[j], (j, 1, mdl.n)) ** 2)
    assert not rules.ProductOfSums().match(double(v[j] * v[k] * sp.KroneckerDelta(j, k)))


def test_the_variance_identity_needs_weights_that_sum_to_one():
    sums = sp.Sum(yhat[j] * v[j] ** 2, (j, 1, mdl.n)) - sp.Sum(yhat[j] * v[j], (j, 1, mdl.n)) ** 2
    rule = rules.Variance()
    after = apply(rule, sums)
    assert holds(sums, after) and isinstance(after, sp.Sum)
    free_weights = rules.Variance(weights=mdl.y)  # labels need not sum to one: the identity fails for them
    labelled = sp.Sum(mdl.y[j] * v[j] ** 2, (j, 1, mdl.n)) - sp.Sum(mdl.y[j] * v[j], (j, 1, mdl.n)) ** 2
    assert not holds(labelled, apply(free_weights, labelled))


# -- the derivation as a user meets it ----------------------------------------------------------------------------

def test_listed_in_the_softmax_family():
    lines = run_cli("list").stdout.splitlines()
    start, end = lines.index("softmax family:"), lines.index("other losses:")
    assert any(line.split()[0] == NAME for line in lines[start:end])
    assert any(NAME in line and "[parts: hessian, psd]" in line for line in lines)


@pytest.mark.parametrize("detail", DETAILS)
@pytest.mark.parametrize("fmt", ["text", "latex", "markdown", "json", "ipynb"])
def test_every_format_and_detail(fmt, detail):
    done = run_cli("show", NAME, "--format", fmt, "--detail", detail)
    assert done.returncode == 0 and done.stdout.strip() and not done.stderr, done.stderr
    if fmt in ("json", "ipynb"):
        json.loads(done.stdout)
    if fmt == "text":
        assert "∂²L/∂z_j∂z_k = ŷ_k δ_jk − ŷ_j ŷ_k" in done.stdout and "diag(ŷ) − ŷ ŷᵀ" in done.stdout
        assert "Σ_j ŷ_j (v_j − (Σ_k v_k ŷ_k))²" in done.stdout and "vᵀHv ≥ 0" in done.stdout


@pytest.mark.parametrize("target", ["one-hot", "class c", "distribution", "any"])
def test_targets(target):
    result = derive.derivation(NAME, target=target)
    assert all(s.verified for s in result.steps)
    parts = [p.key for p in result.derivation.parts]
    assert parts == (["hessian"] if target == "any" else ["hessian", "psd"])  # no PSD claim for labels of any sum


@pytest.mark.parametrize("detail", DETAILS)
def test_standalone_latex_compiles_without_a_warning(detail, tmp_path):
    require_tool(shutil.which("pdflatex") is not None, "pdflatex (texlive-latex-base)")
    (tmp_path / "doc.tex").write_text(run_cli("show", NAME, "--format", "latex", "--standalone", "--detail",
                                              detail).stdout, encoding="utf-8")
    for _ in range(2):  # the second run: labels settled
        done = subprocess.run(["pdflatex", "-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode",
                               "doc.tex"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                              env={"openin_any": "p", "openout_any": "p", "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0
    log = (tmp_path / "doc.log").read_text(encoding="utf-8", errors="replace")
    assert not re.search(r"Warning|Overfull|Underfull", log)


# -- the certificate, re-checked with plain SymPy -----------------------------------------------------------------

NAMESPACE = {name: getattr(sp, name) for name in dir(sp)}


def load(text: str) -> sp.Expr:
    return eval(text, dict(NAMESPACE))  # our own certificate, not user input


def written_out(node: sp.Sum) -> sp.Expr:
    body = node.function
    for var, lower, upper in node.limits:
        body = sp.Add(*(body.xreplace({var: value}) for value in range(int(lower), int(upper) + 1)))
    return body


def plain_value(expr: sp.Expr, n: int, indices: dict[str, int], arrays: dict[str, list]) -> float:
    expr = expr.xreplace({s: n for s in expr.atoms(sp.Symbol) if s.name == "n"})
    expr = expr.replace(lambda e: isinstance(e, sp.Sum), written_out)  # bound indices first, then the free ones
    symbols = {s.name: s for s in expr.atoms(sp.Symbol)}
    expr = expr.xreplace({symbols[name]: value for name, value in indices.items() if name in symbols}).doit()
    values = {e: arrays[e.base.label.name][int(e.indices[0]) - 1] for e in expr.atoms(sp.Indexed)}
    return float(expr.xreplace(values).evalf(30))


@pytest.mark.parametrize("detail", DETAILS)
def test_every_step_rechecks_with_plain_sympy(detail):
    cert = json.loads(run_cli("show", NAME, "--format", "json", "--detail", detail).stdout)
    assert cert["symbols"]["direction"] == "v"
    rng = random.Random(11)
    for number, step in enumerate(cert["steps"], 1):
        assert step["verified"] is True
        before, after = load(step["before"]["sympy"]), load(step["after"]["sympy"])  # a matrix: by its entry
        for n in (2, 3):
            for jv, kv in itertools.product(range(1, n + 1), repeat=2):
                hot = rng.randint(1, n)
                arrays = {"z": [sp.Rational(rng.randint(-20, 20), 10) for _ in range(n)],
                          "v": [sp.Rational(rng.randint(-20, 20), 10) for _ in range(n)],
                          "y": [sp.Integer(int(i + 1 == hot)) if step["assumes"] else sp.Rational(rng.randint(-9, 9), 7)
                                for i in range(n)]}
                a, b = (plain_value(side, n, {"j": jv, "k": kv}, arrays) for side in (before, after))
                assert a == pytest.approx(b, rel=1e-12, abs=1e-14), (number, step["rule"], n, jv, kv)


def test_the_matrix_step_names_the_entry_it_is_checked_by():
    cert = json.loads(run_cli("show", NAME, "--format", "json").stdout)
    matrix = next(s for s in cert["steps"] if s["rule"] == "matrix-form")
    assert matrix["after"]["latex"] == r"\operatorname{diag}\left(\hat{y}\right) - \hat{y} \hat{y}^{\top}"
    assert [load(x).name for x in matrix["after"]["entry"]] == ["k", "j"]


# -- derive check reads it back -------------------------------------------------------------------------------------

def check(markdown: str) -> dict:
    done = run_cli("check", "-", "--format", "json", stdin=markdown)
    assert done.returncode in (0, 1, 3), done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("detail", DETAILS)
@pytest.mark.parametrize("notation", [{}, {"logits": r"\theta", "probs": "p", "loss": "J"}, {"target": "class c"},
                                      {"target": "distribution"}], ids=["default", "theta-p-J", "class", "dist"])
def test_its_own_markdown_checks_all_valid(detail, notation):
    report = check(derive.derivation(NAME, detail=detail, **notation).markdown())
    summary = report["summary"]
    assert summary["invalid"] == summary["unknown"] == 0 and summary["valid"] >= 3, \
        [(s["line"], s["message"]) for s in report["steps"] if s["verdict"] != "valid"]


def test_a_wrong_sign_in_the_entry_is_invalid_at_its_line():
    markdown = derive.derivation(NAME).markdown()
    right = r"\hat{y}_{k} \delta_{jk} - \hat{y}_{j} \hat{y}_{k} && \text{(1)}"
    assert right in markdown
    slipped = markdown.replace(right, r"\hat{y}_{k} \delta_{jk} + \hat{y}_{j} \hat{y}_{k} && \text{(1)}")
    line = next(n for n, text in enumerate(slipped.splitlines(), 1) if r"+ \hat{y}_{j} \hat{y}_{k} &&" in text)
    report = check(slipped)
    bad = [s for s in report["steps"] if s["verdict"] == "invalid"]
    assert bad and bad[0]["line"] == line and bad[0]["counterexample"]


def test_embed_a_part(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text(f'<!-- derive: show {NAME} part="psd" -->\n<!-- derive: end -->\n', encoding="utf-8")
    done = run_cli("embed", str(notes))
    assert done.returncode == 0 and r"\left(v_{j} - " in done.stdout, done.stderr


def test_holds_for_labels_summing_to_one_only():
    """The Hessian of the loss is diag(ŷ) − ŷŷᵀ times Σ_i y_i: PSD for labels that sum to one, not for any."""
    result = derive.derivation(NAME, target="any")
    assert result.derivation.result.has(sp.Sum) and result.derivation.model.target == Target("any")
