"""Generated documents work where people use them: pdflatex compiles every LaTeX output, KaTeX renders every
math string of every Markdown output, and snapshots keep the rendered text stable.

Regenerate the snapshots after an intended change with:  DERIVE_UPDATE_SNAPSHOTS=1 pytest tests/test_documents.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import derive

from helpers import ROOT, ROUTES, require_tool

NOTATIONS = [{}, {"logits": r"\theta", "probs": "p", "classes": "K"},
             {"logits": "o", "probs": r"\sigma", "labels": "u", "target": "class k"},
             {"target": "distribution", "probs": "S"}]
SNAPSHOTS = ROOT / "tests" / "snapshots"
PREAMBLE = "\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage{amssymb}\n\\begin{document}\n"


def pdflatex(tex: str, workdir: Path) -> subprocess.CompletedProcess:
    (workdir / "doc.tex").write_text(tex, encoding="utf-8")
    env = dict(os.environ, openin_any="p", openout_any="p")
    return subprocess.run(["pdflatex", "-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode", "doc.tex"],
                          cwd=workdir, capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("name, method", ROUTES)
def test_latex_compiles(name, method, tmp_path):
    """Each standalone document on its own; the fragments of every notation in one document, each in a group of
    its own (if that fails, each fragment is compiled on its own to name the one that fails)."""
    require_tool(shutil.which("pdflatex") is not None, "pdflatex (texlive-latex-base)")
    results = [derive.derivation(name, method, **notation) for notation in NOTATIONS]
    documents = {(number, "standalone"): result.latex(standalone=True) for number, result in enumerate(results)}
    fragments = {(number, "fragment"): result.latex() for number, result in enumerate(results)}
    together = tmp_path / "fragments"
    together.mkdir()
    done = pdflatex(PREAMBLE + "\n\\clearpage\n".join(f"\\begingroup\n{tex}\n\\endgroup" for tex in fragments.values())
                    + "\n\\end{document}\n", together)
    if done.returncode != 0 or not (together / "doc.pdf").exists():
        documents |= {key: PREAMBLE + tex + "\n\\end{document}\n" for key, tex in fragments.items()}
    for (number, kind), tex in documents.items():
        work = tmp_path / f"{number}-{kind}"
        work.mkdir()
        done = pdflatex(tex, work)
        errors = [line for line in done.stdout.splitlines() if line.startswith("!")]
        assert done.returncode == 0 and (work / "doc.pdf").exists(), (name, NOTATIONS[number], kind, errors)


MATH = re.compile(r"```math\n(?P<gfm>.*?)```|\$\$(?P<display>.*?)\$\$"
                  r"|\$`(?P<gfm_inline>.*?)`\$|\$(?P<inline>[^$\n]+?)\$", re.S)


def math_strings(markdown: str) -> list[dict]:
    out = []
    for match in MATH.finditer(markdown):
        kind = match.lastgroup
        out.append({"math": match.group(kind).strip(), "display": kind in ("gfm", "display")})
    return out


def test_markdown_math_renders_in_katex(katex):
    items = []
    for name, method in ROUTES:
        for notation in NOTATIONS:
            result = derive.derivation(name, method, **notation)
            for flavor in ("dollar", "gfm"):
                found = math_strings(result.markdown(flavor=flavor))
                assert any(item["display"] for item in found)
                items.extend(found)
    assert len(items) > 300
    failures = katex(items)
    assert failures == [], failures[:3]


def test_katex_check_rejects_bad_math(katex):
    assert katex([{"math": r"\frac{a", "display": False}, {"math": r"\label{x} a", "display": True}])


@pytest.mark.parametrize("name, method", ROUTES)
@pytest.mark.parametrize("fmt", ["text", "latex", "markdown"])
def test_snapshot(name, method, fmt):
    ext = {"text": "txt", "latex": "tex", "markdown": "md"}[fmt]
    path = SNAPSHOTS / f"{name}{'' if method == 'index' else '.' + method}.{ext}"
    rendered = derive.derivation(name, method).render(fmt)
    if os.environ.get("DERIVE_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"missing snapshot {path.name}: run DERIVE_UPDATE_SNAPSHOTS=1 pytest {__file__}"
    assert rendered == path.read_text(encoding="utf-8"), f"{path.name} changed; regenerate if intended"


@pytest.mark.parametrize("name, method", ROUTES)
def test_the_notation_a_document_carries_is_the_notation_it_uses(name, method):
    """Front matter and % derive: lines list the keys the derivation prints, and no key it never uses."""
    result = derive.derivation(name, method, temperature=r"\tau", shapes="W: 4x3, x: 3, b: 4")
    front = result.markdown().split("---")[1]
    keys = re.findall(r"^  ([a-z]+):", front, flags=re.M)
    assert keys == re.findall(r"^% derive: ([a-z]+) =", result.latex(), flags=re.M)
    assert {"logits", "probs", "labels", "target", "classes", "loss"} <= set(keys)
    assert not {"temperature", "smoothing", "margin", "activation"} & set(keys)
    layer = name.startswith("linear")
    assert ("shapes" in keys) == layer and ("batch" in keys) == (name == "batch-cross-entropy" or
                                                                 (layer and method == "index"))
