"""`two-layer-network` as a user meets it, and the rules it adds, each on its own.

Rules: what each rewrites, and that the rewrite is an identity (checked numerically, tanh and ReLU).
The derivation: every format and level of detail, both activations; LaTeX that pdflatex compiles without a
warning; a certificate that plain SymPy re-checks step by step (nothing shared with derive's verifier); its own
Markdown read back by `derive check`; the classic slip (f' left out of δ₁) caught at its line with a
counterexample; `derive list` and `embed` know it.
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
from derive.families.network import rules
from derive.families.network.model import (H, Activation, ActivationPrime, NetworkModel, W1, W2, a, b1, h, output_logit,
                                           q)
from derive.model import D
from derive.verify import check_equal

from helpers import require_tool, run_cli

NAME = "two-layer-network"
DETAILS = ("full", "notes", "brief")
ACTIVATIONS = ("tanh", "relu")
j, l = mdl.j, mdl.l  # noqa: E741


def apply(rule, expr):
    after, count = rewrite_everywhere(expr, rule)
    assert count >= 1, f"{rule.id} did not apply to {expr}"
    return after


def holds(model, before, after):
    return check_equal(model, model.to_base(before), model.to_base(after)).holds


# -- the rules, one at a time -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", [0, 1])
def test_the_layers_are_written_out_where_differentiated(kind):
    model = NetworkModel(kind=kind)
    before = D(mdl.z[mdl.i], b1[j])
    after = apply(rules.UnfoldLayer(name="z", model=model), before)
    assert after.has(W2[mdl.i, q]) and holds(model, before, after)
    hidden = D(h[q], b1[j])
    assert apply(rules.UnfoldLayer(name="h", model=model), hidden).has(Activation(a[q], kind))
    assert not rules.UnfoldLayer(name="a", model=model).match(hidden)


@pytest.mark.parametrize("kind", [0, 1])
def test_the_chain_rule_through_the_activation_inserts_its_derivative(kind):
    model = NetworkModel(kind=kind)
    before = D(Activation(a[q], kind), W1[j, l])
    after = apply(rules.ActivationRule(), before)
    assert ActivationPrime(a[q], kind) in after.args and holds(model, before, after)
    assert not holds(model, before, D(a[q], W1[j, l]))  # f' left out: not an identity


def test_pulling_factors_out_of_a_sum():
    body = W2[mdl.i, j] * (mdl.yhat[mdl.i] - mdl.y[mdl.i]) * ActivationPrime(a[j], 0)
    before = sp.Sum(body, (mdl.i, 1, mdl.n))
    after = apply(rules.PullOut(), before)
    assert ActivationPrime(a[j], 0) in after.args and holds(NetworkModel(), before, after)


def test_the_entrywise_product_is_entry_by_entry():
    from derive.matrices import matrix_entry, shape_of

    model = NetworkModel()
    u, v = sp.MatrixSymbol("h", H, 1), rules.PrimeVector(sp.MatrixSymbol("a", H, 1), 0)
    product = rules.Hadamard(u, v)
    assert shape_of(product) == (H, 1)
    assert matrix_entry(product, j, sp.Integer(1)) == h[j] * ActivationPrime(a[j], 0)
    assert model.to_base(output_logit(j)).has(sp.tanh)


# -- the derivation as a user meets it ----------------------------------------------------------------------------

def test_listed_in_its_group():
    done = run_cli("list")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    group = lines.index("layers and networks:")
    listed = next(line for line in lines[group + 1:] if line.split() and line.split()[0] == NAME)
    assert "[parts: output-bias, output-weights, hidden-bias, hidden-weights]" in listed
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
        assert "∂L/∂b^(2)\n      = ŷ − y" in done.stdout
        assert "= (ŷ − y) hᵀ" in done.stdout
        assert "= (W^(2)ᵀ (ŷ − y)) ⊙ (1 − h ⊙ h)" in done.stdout
        assert "= ((W^(2)ᵀ (ŷ − y)) ⊙ (1 − h ⊙ h)) xᵀ" in done.stdout
        assert "W^(1) ∈ ℝ^(H×m)" in done.stdout


@pytest.mark.parametrize("detail", DETAILS)
def test_relu_in_every_detail(detail):
    done = run_cli("show", NAME, "--notation", "activation=relu", "--detail", detail)
    assert done.returncode == 0, done.stderr
    assert "h_j = ReLU(a_j)" in done.stdout and "1[a_q > 0]" in done.stdout
    assert "= (W^(2)ᵀ (ŷ − y)) ⊙ 1[a > 0]" in done.stdout


def test_the_steps_and_the_levels_of_detail():
    full = derive.derivation(NAME, detail="full")
    assert {"chain-rule", "substitute", "definition", "index-derivative", "kronecker-sum", "algebra",
            "matrix-form"} <= {s.rule for s in full.steps}
    assert all(s.verified for s in full.steps)
    notes, brief = derive.derivation(NAME), derive.derivation(NAME, detail="brief")
    assert [p.key for p in notes.derivation.parts] == ["output-bias", "output-weights", "hidden-bias",
                                                        "hidden-weights"]
    assert len(brief) <= len(notes) < len(full)
    assert all(s.verified for s in notes.steps) and all(s.verified for s in brief.steps)


def test_notation():
    text = derive.derivation(NAME, logits="o", probs="p", loss="J", activation="relu").text()
    assert "J = −(Σ_j y_j log(p_j))" in text and "o_k = b^(2)_k" in text and "ReLU(a_j)" in text
    assert run_cli("show", NAME, "--notation", "activation=sigmoid").returncode == 2


def _pdflatex(tex: str, workdir) -> str:
    (workdir / "doc.tex").write_text(tex, encoding="utf-8")
    for _ in range(2):  # the second run: labels settled, so any warning left is a real one
        done = subprocess.run(["pdflatex", "-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode",
                               "doc.tex"], cwd=workdir, capture_output=True, text=True, timeout=120,
                              env={"openin_any": "p", "openout_any": "p", "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, [line for line in done.stdout.splitlines() if line.startswith("!")]
    return (workdir / "doc.log").read_text(encoding="utf-8", errors="replace")


SHOWN = [("tanh", detail) for detail in DETAILS] + [("relu", "notes")]  # ReLU: its own prose and f'


@pytest.mark.parametrize("activation,detail", SHOWN)
def test_standalone_latex_compiles_without_a_warning(detail, activation, tmp_path):
    require_tool(shutil.which("pdflatex") is not None, "pdflatex (texlive-latex-base)")
    done = run_cli("show", NAME, "--format", "latex", "--standalone", "--detail", detail,
                   "--notation", f"activation={activation}")
    log = _pdflatex(done.stdout, tmp_path)
    assert not re.search(r"Warning|Overfull|Underfull", log), re.findall(r".*(?:Warning|full).*", log)


# -- the certificate, re-checked with plain SymPy -----------------------------------------------------------------

NAMESPACE = {name: getattr(sp, name) for name in dir(sp)}


def load(text: str) -> sp.Expr:
    return eval(text, dict(NAMESPACE))  # our own certificate, not user input


def written_out(node: sp.Sum) -> sp.Expr:
    body, (var, lower, upper) = node.function, node.limits[0]
    return sp.Add(*(body.xreplace({var: value}) for value in range(int(lower), int(upper) + 1)))


def write_out(expr: sp.Expr) -> sp.Expr:
    while expr.has(sp.Sum):
        expr = expr.replace(lambda e: isinstance(e, sp.Sum) and not e.function.has(sp.Sum), written_out)
    return expr


def arrays_at(n: int, rng: random.Random, hot: int) -> dict:
    """Rational values of the inputs and parameters at n classes, m = n + 1 inputs, H = n + 2 hidden units."""
    m, hidden = n + 1, n + 2
    rat = lambda: sp.Rational(rng.randint(-12, 12), 10)  # noqa: E731
    return {"x": {(r,): rat() for r in range(1, m + 1)},
            "W1": {(u, r): rat() for u in range(1, hidden + 1) for r in range(1, m + 1)},
            "b1": {(u,): rat() for u in range(1, hidden + 1)},
            "W2": {(k, u): rat() for k in range(1, n + 1) for u in range(1, hidden + 1)},
            "b2": {(k,): rat() for k in range(1, n + 1)},
            "y": {(k,): sp.Integer(int(k == hot)) for k in range(1, n + 1)}}


def value(cert: dict, expr: sp.Expr, n: int, ints: dict[str, int], arrays: dict) -> float:
    """Sizes and indices put in, sums written out, the entries that are not differentiated put in; ``doit``
    differentiates; then the certificate's definitions (ŷ as softmax of z, z through the network) and the rest."""
    sizes = {"n": n, "m": n + 1, "H": n + 2}
    expr = expr.xreplace({s: sizes[s.name] for s in expr.atoms(sp.Symbol) if s.name in sizes})
    expr = write_out(expr)  # first: a summation index may have the name of a free one (Σ_j in ŷ, b⁽¹⁾_j)
    expr = expr.xreplace({s: ints[s.name] for s in expr.atoms(sp.Symbol) if s.name in ints})
    varied = {v.base for d in expr.atoms(sp.Derivative) for v in d.variables if isinstance(v, sp.Indexed)}
    entries = {e: arrays[e.base.label.name][tuple(int(i) for i in e.indices)] for e in expr.atoms(sp.Indexed)
               if e.base not in varied and e.base.label.name in arrays}
    expr = expr.xreplace(entries).doit()
    for name in ("yhat", "z"):  # ŷ is written in z, z in the parameters: in that order
        definition = cert["definitions"][name]
        body = load(definition["sympy"])
        (index_name,) = definition["indices"]
        index = next(s for s in body.atoms(sp.Symbol) if s.name == index_name)
        body = body.xreplace({s: sizes[s.name] for s in body.atoms(sp.Symbol) if s.name in sizes})
        expr = expr.replace(lambda e, nm=name: isinstance(e, sp.Indexed) and e.base.label.name == nm,
                            lambda e, b=body, ix=index: write_out(b.xreplace({ix: e.indices[0]})))
    expr = expr.xreplace({e: arrays[e.base.label.name][tuple(int(i) for i in e.indices)]
                          for e in expr.atoms(sp.Indexed)})
    return float(expr.evalf(30))


@pytest.mark.parametrize("activation,detail", SHOWN)
def test_every_step_rechecks_with_plain_sympy(detail, activation):
    cert = json.loads(run_cli("show", NAME, "--format", "json", "--detail", detail,
                              "--notation", f"activation={activation}").stdout)
    assert cert["symbols"]["parameters"] == ["W1", "b1", "W2", "b2"] and set(cert["definitions"]) == {"yhat", "z"}
    rng = random.Random(5)
    entry_of = {}  # each part's entry: the indices of the parameter its first step differentiates by (b2[k]...)
    for number, step in enumerate(cert["steps"], 1):
        assert step["verified"] is True and not step["case"]
        before, after = load(step["before"]["sympy"]), load(step["after"]["sympy"])
        if step["part"] not in entry_of:
            assert isinstance(before, sp.Derivative)
            entry_of[step["part"]] = {s.name for v in before.variables for s in v.indices}
        free = sorted(entry_of[step["part"]] | {s.name for side in (before, after) for s in side.free_symbols
                                                if s.name in ("i", "j", "k", "l")})
        for n in (2, 3):
            limits = {"i": n, "k": n, "j": n + 2, "l": n + 1}  # classes, hidden units, inputs
            ints = {name: rng.randint(1, limits[name]) for name in free}
            arrays = arrays_at(n, rng, hot=rng.randint(1, n))
            left, right = (value(cert, side, n, ints, arrays) for side in (before, after))
            assert left == pytest.approx(right, rel=1e-12, abs=1e-14), (number, step["rule"], n, ints)


# -- derive check reads it back -------------------------------------------------------------------------------------

def check(markdown: str) -> dict:
    done = run_cli("check", "-", "--format", "json", stdin=markdown)
    assert done.returncode in (0, 1, 3), done.stderr
    return json.loads(done.stdout)


PROBE = ("$$a_{j} = {b^{(1)}}_{j} + \\sum_{r=1}^{m} {W^{(1)}}_{jr} x_{r}$$\n$$h_{j} = \\tanh(a_{j})$$\n"
         "$$z_{k} = {b^{(2)}}_{k} + \\sum_{q=1}^{H} h_{q} {W^{(2)}}_{kq}$$\n\n$$\n\\frac{\\partial z_{i}}{\\partial "
         "{b^{(1)}}_{j}} = \\sum_{q=1}^{H} {W^{(2)}}_{iq} \\frac{\\partial h_{q}}{\\partial {b^{(1)}}_{j}}\n$$\n")


@pytest.fixture(scope="module")
def reads_network_names():
    """The checker reads W^{(2)}_{iq}, b^{(1)}_j as names of their own: the steps below depend on it."""
    assert check(PROBE)["summary"] == {"valid": 1, "invalid": 0, "unknown": 0}


@pytest.mark.parametrize("detail", DETAILS)
def test_its_index_steps_check_valid(detail, reads_network_names):
    """Every step by index (all but the four matrix forms) reads back valid."""
    markdown = derive.derivation(NAME, detail=detail).markdown()
    report = check(markdown)
    whole = re.compile(r"\\frac\{\\partial L\}\{\\partial \{[Wb]\^\{\([12]\)\}\}\}")  # ∂L/∂W⁽¹⁾, no index
    matrix_forms = [s for s in report["steps"] if whole.fullmatch(s["lhs"].strip())]
    by_index = [s for s in report["steps"] if s not in matrix_forms]
    assert len(matrix_forms) == 4
    assert by_index and all(s["verdict"] == "valid" for s in by_index), \
        [(s["line"], s["message"]) for s in by_index if s["verdict"] != "valid"]
    assert len(by_index) >= len(derive.derivation(NAME, detail=detail).steps) - 4


@pytest.mark.xfail(strict=True, reason="derive check does not yet read whole-matrix steps of the network "
                   "(dL/db^{(2)} = yhat - y judged a shape mismatch; {W^{(2)}}^{\\top} unsupported); "
                   "see /tmp/two_layer_roundtrip/README")
@pytest.mark.parametrize("detail", ["notes"])
def test_its_own_markdown_checks_all_valid(detail):
    markdown = derive.derivation(NAME, detail=detail).markdown()
    summary = check(markdown)["summary"]
    assert summary["invalid"] == summary["unknown"] == 0


def test_the_slip_of_leaving_f_prime_out_of_delta_1_is_invalid_at_its_line(reads_network_names):
    markdown = derive.derivation(NAME).markdown()
    right = r"&= \left(1 - h_{j}^{2}\right) \sum_{i=1}^{n} {W^{(2)}}_{ij} \left(\hat{y}_{i} - y_{i}\right)"
    assert markdown.count(right) == 1
    slipped = markdown.replace(right, r"&= \sum_{i=1}^{n} {W^{(2)}}_{ij} \left(\hat{y}_{i} - y_{i}\right)")
    line = next(n for n, text in enumerate(slipped.splitlines(), 1)
                if text.strip().startswith(r"&= \sum_{i=1}^{n} {W^{(2)}}_{ij} \left(\hat{y}_{i} - y_{i}\right)"))
    report = check(slipped)
    original = {s["line"]: s["verdict"] for s in check(markdown)["steps"]}
    newly_bad = [s for s in report["steps"] if s["verdict"] == "invalid" and original.get(s["line"]) == "valid"]
    assert [s["line"] for s in newly_bad] == [line] and newly_bad[0]["counterexample"]
    assert not report["ok"]


# -- course notes -----------------------------------------------------------------------------------------------

def test_embed_directives_with_the_new_name(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("# Week 5: backpropagation\n\n<!-- derive: show two-layer-network part=\"hidden-bias\" -->\n"
                     "<!-- derive: end -->\n\nWith ReLU:\n\n"
                     "<!-- derive: show two-layer-network part=\"hidden-weights\" activation=\"relu\" -->\n"
                     "<!-- derive: end -->\n", encoding="utf-8")
    done = run_cli("embed", str(notes), "--in-place")
    assert done.returncode == 0, done.stderr
    filled = notes.read_text(encoding="utf-8")
    assert r"\frac{\partial L}{\partial {b^{(1)}}_{j}}" in filled and r"\left(1 - h_{j}^{2}\right)" in filled
    assert r"\mathbb{1}\left[a_{j} > 0\right]" in filled and r"\odot" in filled
    assert run_cli("embed", str(notes), "--check").returncode == 0


@pytest.mark.parametrize("part", ["output-bias", "hidden-weights"])
def test_a_part_has_a_certificate_of_its_own(part):
    cert = json.loads(run_cli("show", NAME, "--part", part, "--format", "json").stdout)
    assert {s["part"] for s in cert["steps"]} == {part}
