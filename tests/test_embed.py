"""Course notes: `derive embed` fills directives and keeps every other byte; the API renders in Jupyter."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import nbformat
import pytest

import derive

from helpers import ROOT, require_tool, run_cli

NOTES = """# Lecture

Text the author wrote, with $inline$ math and trailing spaces.\x20\x20\x20

<!-- derive: show softmax-jacobian case="j \\neq k" logits="\\theta" -->
<!-- derive: end -->

Between the blocks.

<!-- derive: show cross-entropy probs="p" -->
<!-- derive: end -->
Last line, no newline at the end"""


def outside_blocks(text: str) -> str:
    """The notes with every generated block removed: what the author owns."""
    return re.sub(r"(<!-- derive: show [^\n]*-->\n).*?(<!-- derive: end -->\n?)", r"\1\2", text, flags=re.S)


def test_embed_fills_keeps_the_author_text_and_is_idempotent(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text(NOTES, encoding="utf-8")
    assert run_cli("embed", str(notes), "--in-place").returncode == 0
    first = notes.read_text(encoding="utf-8")
    # the author's text, byte for byte
    assert outside_blocks(first) == NOTES
    block = first.split("<!-- derive: end -->")[0]
    assert r"\frac{\partial \hat{y}_{j}}{\partial \theta_{k}}" in block and "z_{" not in block
    assert "Case $j \\neq k$" in block and "Case $j = k$" not in block
    assert r"\frac{\partial L}{\partial p_{k}}" in first and r"- \frac{y_{k}}{p_{k}}" in first
    assert run_cli("embed", str(notes), "--in-place").returncode == 0
    assert notes.read_text(encoding="utf-8") == first
    assert run_cli("embed", str(notes), "--check").returncode == 0


def test_check_fails_on_an_edited_block_and_writes_nothing(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text(NOTES, encoding="utf-8")
    run_cli("embed", str(notes), "--in-place")
    edited = notes.read_text(encoding="utf-8").replace("Fold definition", "Fold definitions", 1)
    notes.write_text(edited, encoding="utf-8")
    done = run_cli("embed", str(notes), "--check")
    assert done.returncode == 1 and f"{notes}:5: block softmax-jacobian is stale" in done.stderr
    assert notes.read_text(encoding="utf-8") == edited


def test_stdout_and_output_file(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text(NOTES, encoding="utf-8")
    printed = run_cli("embed", str(notes))
    assert printed.returncode == 0 and "<!-- derive: end -->" in printed.stdout
    assert notes.read_text(encoding="utf-8") == NOTES
    out = tmp_path / "out.md"
    assert run_cli("embed", str(notes), "-o", str(out)).returncode == 0
    assert out.read_text(encoding="utf-8") == printed.stdout


def test_latex_notes(tmp_path):
    notes = tmp_path / "lecture.tex"
    notes.write_text("\\section{J}\n% derive: show softmax-jacobian logits=\"o\" part=\"jacobian\"\n% derive: end\n"
                     "after\n")
    done = run_cli("embed", str(notes))
    assert done.returncode == 0
    assert "% derive: show softmax-jacobian" in done.stdout and "% derive: end\nafter\n" in done.stdout
    assert r"\frac{\partial \hat{y}_{j}}{\partial o_{k}}" in done.stdout


@pytest.mark.parametrize("directive, message", [
    ('<!-- derive: show no-such -->', "unknown derivation"),
    ('<!-- derive: show softmax-jacobian colour="red" -->', "unknown directive key"),
    ('<!-- derive: show softmax-jacobian case="i = q" -->', "no case"),
    ('<!-- derive: show softmax-jacobian part="chain" -->', "no part"),
    ('<!-- derive: show softmax-jacobian logits="\\input{x}" -->', "\\input"),
])
def test_bad_directive_exits_2_naming_file_and_line_and_writes_nothing(tmp_path, directive, message):
    notes = tmp_path / "notes.md"
    original = "intro\n\n<!-- derive: show cross-entropy -->\n<!-- derive: end -->\n" + directive + "\n" \
        "<!-- derive: end -->\n"
    notes.write_text(original, encoding="utf-8")
    done = run_cli("embed", str(notes), "--in-place")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert f"{notes}:5:" in done.stderr and message in done.stderr
    assert notes.read_text(encoding="utf-8") == original


def test_list_shows_parts():
    done = run_cli("list")
    assert "[parts: jacobian, cross-entropy, chain]" in done.stdout


def test_jupyter_reprs_use_the_notation(katex):
    result = derive.derivation("softmax-jacobian", logits=r"\theta")
    latex, markdown = result._repr_latex_(), result._repr_markdown_()
    assert latex.startswith("$$") and r"\theta_{k}" in latex and "z_{" not in latex
    assert r"\theta_{k}" in markdown
    assert katex([{"math": latex.strip("$"), "display": True}]) == []


def test_check_report_shows_as_a_table():
    report = derive.check("$$\n\\frac{\\partial L}{\\partial z_k} = \\hat{y}_k - y_k\n$$\n")
    assert report._repr_markdown_().count("|") > 8


def test_notebook_validates(tmp_path):
    done = run_cli("show", "softmax-cross-entropy", "--format", "ipynb")
    book = nbformat.reads(done.stdout, as_version=4)
    nbformat.validate(book)
    titles = [c.source.splitlines()[0] for c in book.cells if c.cell_type == "markdown"]
    assert titles[1:4] == ["## The softmax Jacobian", "## The cross-entropy derivative", "## The chain rule"]


DOCS = ROOT / "examples" / "mkdocs" / "docs"
EXAMPLES = [DOCS / "index.md", DOCS / "cross-entropy.md", DOCS / "linear-layer.md", ROOT / "examples" / "lecture.tex"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_up_to_date(path):
    done = run_cli("embed", str(path), "--check")
    assert done.returncode == 0, done.stderr


def test_example_notebook_is_current():
    committed = (ROOT / "examples" / "softmax-cross-entropy.ipynb").read_text(encoding="utf-8")
    done = run_cli("show", "softmax-cross-entropy", "--format", "ipynb", "--notation", "logits=\\theta",
                   "--notation", "probs=p")
    assert json.loads(committed)["cells"] == json.loads(done.stdout)["cells"]


def test_example_lecture_compiles(tmp_path):
    require_tool(shutil.which("pdflatex") is not None, "pdflatex (texlive-latex-base)")
    shutil.copy(ROOT / "examples" / "lecture.tex", tmp_path)
    done = subprocess.run(["pdflatex", "-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode",
                           "lecture.tex"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and (tmp_path / "lecture.pdf").exists()


def test_example_markdown_math_renders_in_katex(katex):
    from test_documents import math_strings

    items = [m for path in EXAMPLES if path.suffix == ".md" for m in math_strings(path.read_text(encoding="utf-8"))]
    assert len(items) >= 30 and katex(items) == []
