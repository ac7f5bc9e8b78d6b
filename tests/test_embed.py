"""Course notes: `derive embed` fills directives and keeps every other byte; the API renders in Jupyter."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time

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


FRONT = """---
title: Week 3
derive:
  logits: o
  probs: p
---
# Week 3

Some prose.

<!-- derive: show softmax-cross-entropy part="chain" -->
<!-- derive: end -->
"""


def block_of(text: str, index: int = 0) -> str:
    """The generated text of the ``index``-th block."""
    return re.findall(r"<!-- derive: show [^\n]*-->\n(.*?)<!-- derive: end -->", text, flags=re.S)[index]


def numbers(block: str) -> list[int]:
    """The equation numbers of a block, as \\text{(n)} or \\tag{n}."""
    return [int(a or b) for a, b in re.findall(r"\\text\{\((\d+)\)\}|\\tag\*?\{\(?(\d+)\)?\}", block)]


def test_an_excerpt_is_numbered_from_1_has_no_heading_and_uses_the_front_matter(tmp_path):
    notes = tmp_path / "week3.md"
    notes.write_text(FRONT, encoding="utf-8")
    done = run_cli("embed", str(notes))
    assert done.returncode == 0, done.stderr
    block = block_of(done.stdout)
    assert numbers(block)[0] == 1 and numbers(block) == list(range(1, len(numbers(block)) + 1))
    assert re.search(r"^1\. \*\*", block, flags=re.M)
    assert not re.search(r"^#", block, flags=re.M)  # no heading the author did not write
    assert r"\partial o_{k}" in block and "p_{k}" in block and "z_{" not in block and "hat{y}" not in block
    assert outside_blocks(done.stdout) == FRONT


def test_numbering_global_and_heading_are_asked_for(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text('<!-- derive: show softmax-cross-entropy part="chain" numbering="global" heading="###" -->\n'
                     '<!-- derive: end -->\n'
                     '<!-- derive: show softmax-jacobian case="j \\neq k" heading="##" -->\n'
                     '<!-- derive: end -->\n', encoding="utf-8")
    done = run_cli("embed", str(notes))
    assert done.returncode == 0, done.stderr
    chain, case = block_of(done.stdout, 0), block_of(done.stdout, 1)
    assert numbers(chain)[0] > 1 and "\n### The chain rule\n" in chain
    assert numbers(case)[0] == 1 and "\n## The softmax Jacobian\n" in case and "\n### Case $j \\neq k$" in case
    assert "<!-- derive: case j \\neq k -->" in case  # derive check still reads the case


def test_a_case_excerpt_without_heading_keeps_its_case_as_text(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text('<!-- derive: show softmax-jacobian case="j \\neq k" -->\n<!-- derive: end -->\n')
    block = block_of(run_cli("embed", str(notes)).stdout)
    assert not re.search(r"^#", block, flags=re.M) and "**Case $j \\neq k$.**" in block
    assert numbers(block)[0] == 1


def test_render_options_number_and_head_an_excerpt():
    """What embed asks of the renderer, also in Python: numbering from 1 or global, headings or none, and LaTeX
    labels that follow the step whatever number it displays."""
    whole = derive.derivation("softmax-cross-entropy")
    chain = whole.excerpt(part="chain")
    assert numbers(chain.markdown())[0] == 1 and numbers(chain.markdown(numbering="global"))[0] > 1
    assert "\n## The chain rule\n" in chain.markdown() and "\n### The chain rule\n" in chain.markdown(heading=3)
    assert not re.search(r"^#", chain.markdown(heading=None), flags=re.M)
    assert "\\subsection*{The chain rule}" in chain.latex() and "\\section*{The chain rule}" in chain.latex(heading=1)
    assert "subsection" not in chain.latex(heading=None)
    labels = re.findall(r"\\label\{([^}]*)\}", chain.latex())
    assert labels and set(labels) <= set(re.findall(r"\\label\{([^}]*)\}", whole.latex()))
    with pytest.raises(derive.UsageError, match="numbering"):
        chain.markdown(numbering="roman")


def test_two_identical_excerpts_never_share_a_label(tmp_path):
    require_tool(shutil.which("pdflatex") is not None, "pdflatex (texlive-latex-base)")
    directive = '% derive: show softmax-cross-entropy part="chain"\n% derive: end\n'
    notes = tmp_path / "notes.tex"
    notes.write_text("\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage{amssymb}\n\\begin{document}\n"
                     + directive + "Again:\n" + directive + "See \\eqref{derive:softmax-cross-entropy:7}.\n"
                     "\\end{document}\n", encoding="utf-8")
    assert run_cli("embed", str(notes), "--in-place").returncode == 0
    text = notes.read_text(encoding="utf-8")
    labels = re.findall(r"\\label\{([^}]*)\}", text)
    assert len(labels) == 8 and len(set(labels)) == 8 and "derive:softmax-cross-entropy:7" in labels
    assert numbers(text) == [1, 2, 3, 4, 1, 2, 3, 4]
    for _ in range(2):  # the second run resolves the reference
        done = subprocess.run(["pdflatex", "-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode",
                               "notes.tex"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Warning" not in done.stdout, done.stdout[-1500:]


@pytest.mark.parametrize("suffix, notes", [
    (".md", '<!-- derive: show softmax-jacobian case="j \\neq k" -->\n<!-- derive: end -->\n\nFor any j, k:\n\n'
            '$$\\frac{\\partial \\hat{y}_j}{\\partial z_k} = -\\hat{y}_j \\hat{y}_k$$\n'),
    (".tex", '% derive: show softmax-jacobian case="j \\neq k"\n% derive: end\nFor any $j$, $k$:\n'
             '\\[ \\frac{\\partial \\hat{y}_j}{\\partial z_k} = -\\hat{y}_j \\hat{y}_k \\]\n'),
])
def test_the_case_of_a_block_ends_with_it(tmp_path, suffix, notes):
    """An embedded j != k block must not make the author's own step after it hold only for j != k."""
    path = tmp_path / f"notes{suffix}"
    path.write_text(notes, encoding="utf-8")
    assert run_cli("embed", str(path), "--in-place").returncode == 0
    report = derive.check(path)
    generated, mine = report.steps[:-1], report.steps[-1]
    assert generated and all(s.verdict == "valid" for s in generated)
    assert mine.verdict == "invalid" and not mine.case


def test_a_directive_overrides_the_front_matter(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text(FRONT.replace('part="chain"', 'part="chain" logits="\\theta"'), encoding="utf-8")
    block = block_of(run_cli("embed", str(notes)).stdout)
    assert r"\partial \theta_{k}" in block and "p_{k}" in block and "o_{k}" not in block


def test_latex_notes_take_their_notation_lines_as_defaults(tmp_path):
    notes = tmp_path / "lecture.tex"
    notes.write_text("% derive: logits = \\theta\n% derive: probs = p\n\\section{Chain}\n"
                     "% derive: show softmax-cross-entropy part=\"chain\"\n% derive: end\n", encoding="utf-8")
    done = run_cli("embed", str(notes))
    assert done.returncode == 0, done.stderr
    assert r"\partial \theta_{k}" in done.stdout and "\\subsection" not in done.stdout
    assert numbers(done.stdout)[0] == 1


def test_notation_lines_inside_a_generated_block_are_not_the_notes_notation(tmp_path):
    notes = tmp_path / "lecture.tex"
    notes.write_text("% derive: show cross-entropy\n% derive: probs = q\n% derive: end\n"
                     "% derive: show cross-entropy part=\"cross-entropy\"\n% derive: end\n", encoding="utf-8")
    done = run_cli("embed", str(notes))
    assert done.returncode == 0 and "q_{" not in done.stdout and r"\hat{y}_{k}" in done.stdout


def test_bad_notation_in_the_front_matter_names_the_note(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text(FRONT.replace("logits: o", "logits: '\\input{x}'"), encoding="utf-8")
    done = run_cli("embed", str(notes), "--in-place")
    assert done.returncode == 2 and f"{notes}:1:" in done.stderr and done.stderr.count("\n") == 1
    assert notes.read_text(encoding="utf-8") == FRONT.replace("logits: o", "logits: '\\input{x}'")


@pytest.mark.parametrize("args", [["--in-place"], ["--check"], []])
def test_a_directive_without_its_end_marker_is_an_error_and_nothing_is_written(tmp_path, args):
    notes = tmp_path / "notes.md"
    text = ("intro\n<!-- derive: show cross-entropy -->\n<!-- derive: end -->\n\n"
            "<!-- derive: show softmax-jacobian -->\nthe author's text, which must not be swallowed\n")
    notes.write_text(text, encoding="utf-8")
    done = run_cli("embed", str(notes), *args)
    assert done.returncode == 2 and done.stdout == "" and done.stderr.count("\n") == 1
    assert f"{notes}:5:" in done.stderr and "end marker" in done.stderr
    assert notes.read_text(encoding="utf-8") == text


def test_check_names_every_stale_block_and_writes_nothing(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text(NOTES, encoding="utf-8")
    done = run_cli("embed", str(notes), "--check")
    assert done.returncode == 1 and notes.read_text(encoding="utf-8") == NOTES
    assert f"{notes}:5: block softmax-jacobian is stale" in done.stderr
    assert f"{notes}:10: block cross-entropy is stale" in done.stderr
    assert not [p for p in tmp_path.iterdir() if p.name != "notes.md"]


def test_detail_passes_through(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text('<!-- derive: show softmax-jacobian part="jacobian" detail="full" -->\n<!-- derive: end -->\n'
                     '<!-- derive: show softmax-jacobian part="jacobian" -->\n<!-- derive: end -->\n')
    done = run_cli("embed", str(notes))
    assert done.returncode == 0, done.stderr
    assert len(numbers(block_of(done.stdout, 0))) > len(numbers(block_of(done.stdout, 1)))


def test_windows_line_endings_are_kept(tmp_path):
    notes = tmp_path / "notes.md"
    text = NOTES.replace("\n", "\r\n")
    notes.write_bytes(text.encode("utf-8"))
    assert run_cli("embed", str(notes), "--in-place").returncode == 0
    written = notes.read_bytes().decode("utf-8")
    assert "\n" not in written.replace("\r\n", "") and written.startswith("# Lecture\r\n")
    assert run_cli("embed", str(notes), "--check").returncode == 0


@pytest.mark.parametrize("line", [
    "<!-- derive: show softmax-jacobian" + " " * 1_000_000 + "x",
    "% derive: logits =" + " " * 1_000_000 + "x",
    '<!-- derive: show softmax-jacobian case="' + "j " * 400_000 + '" -->',
], ids=["directive", "setting", "argument"])
def test_long_directive_lines_are_refused_quickly(tmp_path, line):
    notes = tmp_path / "notes.md"
    notes.write_text(line + "\n<!-- derive: end -->\n", encoding="utf-8")
    started = time.monotonic()
    done = run_cli("embed", str(notes))
    assert done.returncode == 2 and time.monotonic() - started < 10 and "Traceback" not in done.stderr


def test_python_objects_explain_themselves():
    result = derive.derivation("softmax-cross-entropy", logits=r"\theta", probs="p")
    text = repr(result)
    assert "softmax-cross-entropy" in text and r"logits=\theta" in text and f"{len(result.steps)} steps" in text
    step = result.steps[0]
    assert r"\theta_{k}" in step.after_latex + step.before_latex and step.latex == (step.before_latex,
                                                                                      step.after_latex)
    assert step.rule and step.before is not None and step.verified  # the record reads through
    assert "θ" in step.explanation and "\n" not in step.explanation
    markdown = result._repr_markdown_()
    assert not markdown.startswith("---") and markdown.lstrip().startswith("# ")
    excerpt = result.excerpt(part="chain")
    assert "part='chain'" in repr(excerpt) and excerpt.name == "softmax-cross-entropy"
    with pytest.raises(derive.UsageError, match="no part"):
        result.excerpt(part="nope")


def test_public_functions_and_methods_have_docstrings_that_stand_alone():
    import inspect

    from derive import api

    objects = [derive.derivation, derive.check, api.derivation]
    for cls in (api.DerivationResult, api.ShownStep):
        objects += [member for name, member in vars(cls).items()
                    if not name.startswith("_") or name in ("_repr_latex_", "_repr_markdown_", "__repr__")]
    for obj in objects:
        doc = inspect.getdoc(obj.fget if isinstance(obj, property) else obj)
        assert doc and len(doc) > 20, obj
        assert "contract" not in doc and "§" not in doc and "issue" not in doc.lower(), obj


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
