"""What a reader sees: brackets where a sum's extent could be misread, an indicator that pdflatex can draw,
numbered equations that can be referenced, one minus sign, and a clean pdflatex log at every level of detail."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

import derive

from helpers import ROUTES, require_tool

DETAILS = ("notes", "full", "brief")


def latex(name: str, method: str = "index", detail: str = "full", standalone: bool = False, **notation: str) -> str:
    return derive.derivation(name, method, detail=detail, **notation).latex(standalone=standalone)


def test_a_sum_followed_by_more_is_bracketed():
    tex = latex("softmax-cross-entropy")
    assert r"\hat{y}_{k} \left(\sum_{j \neq k} y_{j}\right) - y_{k} \left(1 - \hat{y}_{k}\right)" in tex
    assert r"\left(\sum_{j \neq k} y_{j} \hat{y}_{k}\right) - y_{k}" in tex
    text = derive.derivation("softmax-cross-entropy", detail="full").text()
    assert "ŷ_k (Σ_{j≠k} y_j) − y_k (1 − ŷ_k)" in text


def test_the_quotient_rule_square_is_shown_as_a_square():
    assert r"\left(e^{z_{j}}\right)^{2}" in latex("softmax-jacobian")
    assert "e^{2 z" not in latex("softmax-jacobian")


def test_no_fraction_is_nested_in_text_style():
    tex = latex("softmax-cross-entropy")
    for display in re.findall(r"\\begin\{align\}(.*?)\\end\{align\}", tex, re.S):
        for numerator in re.findall(r"\\frac\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}", display):
            assert r"\frac" not in numerator, numerator


def test_the_substitution_shows_what_was_substituted():
    tex = latex("softmax-cross-entropy")
    assert r"\sum_{j \neq k} \left(- \frac{y_{j}}{\hat{y}_{j}}\right) \left(- \hat{y}_{j} \hat{y}_{k}\right)" in tex


@pytest.mark.parametrize("name, method", ROUTES)
def test_indicator_and_numbering_in_latex(name, method):
    for detail in DETAILS:
        tex = latex(name, method, detail, **({"target": "class c"} if method == "index" else {}))
        assert r"\mathbb{1}" not in tex  # amssymb has no blackboard digit: it would print as a stray symbol
        assert r"\text{(" not in tex and "aligned" not in tex
        tags = re.findall(r"\\tag\{(\d+)\}\\label\{([^}]*)\}", tex)
        assert tags and [int(t) for t, _ in tags] == list(range(1, len(tags) + 1))
        labels = [label for _, label in tags]
        assert len(set(labels)) == len(labels) and all(re.fullmatch(r"derive:[a-z0-9:-]+", lb) for lb in labels)
        assert tex == latex(name, method, detail, **({"target": "class c"} if method == "index" else {}))
    assert r"\mathbf{1}[k = c]" in latex("log-softmax-cross-entropy")


def test_text_output_has_one_minus_sign():
    for (name, method), detail in itertools.product(ROUTES, DETAILS):
        text = derive.derivation(name, method, detail=detail).text()
        math = [line for line in text.splitlines() if line.startswith("      = ") or line.startswith("Result:")]
        for line in math:
            assert not re.search(r"(^|[\s(=])-(?=\S)", line), (name, detail, line)


def test_the_notation_line_names_the_target():
    def setup(**notation: str) -> str:
        return derive.derivation("softmax-cross-entropy", **notation).text().splitlines()[4]
    assert "class index c" in setup(target="class c")
    assert "probability distribution" in setup(target="distribution")
    assert "any real vector" in setup(target="any")
    assert "one-hot" in setup()
    last = derive.derivation("softmax-cross-entropy", target="distribution").text()
    assert "labels sum to one [assumes sum-to-one]" in last and "one-hot labels" not in last


def test_front_matter_is_yaml_that_round_trips():
    notation = {"logits": "z'", "probs": r"\hat{p}", "classes": "K"}
    markdown = derive.derivation("softmax-jacobian", **notation).markdown()
    front = yaml.safe_load(markdown.split("---")[1])["derive"]
    assert {key: front[key] for key in notation} == notation


@pytest.mark.parametrize("name, method", ROUTES)
def test_standalone_log_is_clean_at_every_detail(name, method, tmp_path):
    """No overfull or underfull box and no warning, at every level of detail (labels settle on a second run)."""
    require_tool(shutil.which("pdflatex") is not None, "pdflatex (texlive-latex-base)")
    env = dict(os.environ, openin_any="p", openout_any="p")
    for detail in DETAILS:
        work = tmp_path / detail
        work.mkdir()
        (work / "doc.tex").write_text(latex(name, method, detail, standalone=True), encoding="utf-8")
        for _ in range(2):
            done = subprocess.run(["pdflatex", "-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode",
                                   "doc.tex"], cwd=work, capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 0, (name, detail, done.stdout[-2000:])
        log = Path(work / "doc.log").read_text(encoding="utf-8", errors="replace")
        noisy = [line for line in log.splitlines()
                 if re.search(r"Overfull|Underfull|Warning", line)]
        assert noisy == [], (name, detail, noisy[:3])
