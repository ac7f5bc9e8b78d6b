"""Fuzzing (issue 11, item 8): notation values, front matter and documents, with a fixed example budget.

The budget is small and derandomized so that CI runs in well under a minute; a longer campaign runs the same
properties with ``DERIVE_FUZZ_EXAMPLES=N`` (examples per property; the document property takes N / 10), e.g.
``DERIVE_FUZZ_EXAMPLES=8000 python -m pytest -q tests/test_fuzz.py``.

Properties: no exception but derive's own; each call bounded in time; an accepted notation value has no ``^^`` and
no control character, and the LaTeX of a derivation written with it has no command that does file I/O or changes
how TeX reads characters; reports print no raw control character and their JSON is strict.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import derive
from derive.checking.report import Report
from derive.errors import DeriveError, InputError, UsageError
from derive.notation import Notation, notation_from
from derive.reading import front_matter

from helpers import require_tool

EXAMPLES = int(os.environ.get("DERIVE_FUZZ_EXAMPLES", "0")) or None
CHEAP = EXAMPLES or 500      # notation values and front matter: microseconds each
COSTLY = max(EXAMPLES // 10, 1) if EXAMPLES else 60  # documents: up to a few seconds each
PER_CALL = 20.0  # seconds: contract §7 bounds every step (5 s) and the document


def budget(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=EXAMPLES is None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


def is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp") and char not in "\n"


DANGEROUS = re.compile(r"\\(?:openin|openout|input|include|write|immediate|csname|catcode|read|def|let|special|"
                       r"usepackage|lccode|uccode|endinput|loop|jobname)(?![A-Za-z])|\^\^")

# --- notation values ------------------------------------------------------------------------------------------

NOTATION_TOKENS = [
    "a", "z", "o", "p", "y", "W", "L", "K", "k", "i", "t", "e", "x", "1", "0", "5c", "7b", "7d", "'", "''", " ", "_",
    "^",
    "^^", "{", "}", "(", ")", "\\", "\\\\", "\\ ", "\\hat", "\\tilde", "\\bar", "\\vec", "\\mathbf", "\\boldsymbol",
    "\\operatorname", "\\mathrm", "\\theta", "\\sigma", "\\delta", "\\ell", "\\input", "\\csname", "\\catcode",
    "\\openin", "\\write", "\\endcsname", "\\def", "\\x", "%", "#", "$", "&", "~", ",", "[", "]", "=", "+", "-", "θ",
    "\x00", "\x1b", "\x07", "\r", "\n", "\t", "\u202e", "\u200b", "\x9b", "\ufeff", "softmax", "CE",
]
notation_values = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from(NOTATION_TOKENS), max_size=12).map("".join),
    st.lists(st.sampled_from(NOTATION_TOKENS[:45]), max_size=6).map("".join),  # likelier to be well formed
)
ROLE_DERIVATION = {"logits": "softmax-jacobian", "probs": "softmax-jacobian", "labels": "cross-entropy",
                   "classes": "softmax-cross-entropy", "loss": "cross-entropy", "batch": "batch-cross-entropy"}
ACCEPTED: dict[str, set[str]] = {}


NOTATION_GROUP = pytest.mark.xdist_group("fuzz-notation")  # the values accepted here are compiled below


@NOTATION_GROUP
@budget(CHEAP)
@given(key=st.sampled_from(sorted(ROLE_DERIVATION)), value=notation_values)
def test_fuzz_notation_values(key, value):
    started = time.monotonic()
    try:
        notation = notation_from({key: value})
    except UsageError as error:
        message = str(error)
        assert message.startswith(f"notation {key}") and "\n" not in message
        assert not any(is_control(c) for c in message), repr(message)
        return
    finally:
        assert time.monotonic() - started < 5  # microseconds normally; generous for a loaded machine
    chosen = getattr(notation, key)
    for item in chosen if isinstance(chosen, tuple) else (chosen,):
        assert "^^" not in item and not any(is_control(c) or not c.isascii() for c in item), repr(item)
    result = derive.derivation(ROLE_DERIVATION[key], **{key: value})
    latex = result.latex()
    assert not DANGEROUS.search(latex), (value, DANGEROUS.search(latex))
    markdown = result.markdown()
    assert not DANGEROUS.search(markdown.replace("\\\\", "")), value
    ACCEPTED.setdefault(key, set()).add(value.strip())


@NOTATION_GROUP
def test_accepted_notation_values_compile_without_file_io(tmp_path):
    """Every value the fuzzer saw accepted (plus tricky ones) in one pdflatex run, with -no-shell-escape."""
    require_tool(shutil.which("pdflatex") is not None, "pdflatex")
    values = {"logits": {r"\theta", "z'", r"\hat o", r"\operatorname{logit}", r"\mathbf{\theta}"},
              "probs": {"p''", r"\tilde{p}", r"\boldsymbol{\pi}"}, "loss": {"L_{CE}", "CE", r"\mathcal{L}", "L^{(1)}"},
              "classes": {"K", "C_{1}", "C'"}}
    for key, seen in ACCEPTED.items():
        values.setdefault(key, set()).update(sorted(seen)[:15])
    parts = []
    for key, items in sorted(values.items()):
        for value in sorted(items):
            parts.append(derive.derivation(ROLE_DERIVATION[key], **{key: value}).latex())
    document = ("\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage{amssymb}\n\\usepackage{bbm}\n"
                "\\begin{document}\n" + "\n\\clearpage\n".join(parts) + "\n\\end{document}\n")
    if "\\mathbbm" not in document:
        document = document.replace("\\usepackage{bbm}\n", "")
    (tmp_path / "doc.tex").write_text(document, encoding="utf-8")
    before = set(os.listdir(tmp_path))
    env = dict(os.environ, openin_any="p", openout_any="p")
    done = subprocess.run(["pdflatex", "-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode", "doc.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout[-3000:]
    made = set(os.listdir(tmp_path)) - before
    assert made <= {"doc.aux", "doc.log", "doc.pdf", "doc.out"}, made
    opened = re.findall(r"\\openout\d+ = `?([^'\s]*)'?", (tmp_path / "doc.log").read_text(errors="replace"))
    assert set(opened) <= {"doc.aux"}, opened


# --- front matter ---------------------------------------------------------------------------------------------

YAML_TOKENS = [
    "derive", "logits", "probs", "labels", "target", "classes", "a", "p", "z", ":", ": ", "- ", "  ", "    ", "\t",
    "\n", "\n  ", "&a ", "*a", "&b ", "*b", "[", "]", "{", "}", ",", "!!str ", "!!python/object/apply:os.system ",
    "!x ", "'", "''", "\"", "\\x1b", "|", ">", "%YAML 1.2\n", "%TAG ! x\n", "? ", "---", "...", "~", "null", ".nan",
    "1e999", "0x1F", "<<: ", "#", "^^5c", "\\input", "θ", "\x1b", "\x00", "\ufeff", "\u202e", "\r\n", "@", "`",
    "9" * 4400, "2001-13-45", "2024-02-30T25:61:00Z", "0b102", "1_0", "=", "!!binary ", "!!timestamp ",
]
front_matter_bodies = st.one_of(st.text(max_size=80), st.lists(st.sampled_from(YAML_TOKENS), max_size=40).map("".join))


@budget(CHEAP)
@given(body=front_matter_bodies, closing=st.sampled_from(["---", "...", "--- ", ""]), bom=st.booleans())
def test_fuzz_front_matter(body, closing, bom):
    text = ("\ufeff" if bom else "") + "---\n" + body + "\n" + closing + "\n$$ a = a $$\n"
    started = time.monotonic()
    try:
        settings_ = front_matter(text, "f.md")
    except InputError as error:
        assert str(error).startswith("f.md") and "\n" not in str(error)
        assert not any(is_control(c) for c in str(error)), repr(str(error))
        return
    finally:
        assert time.monotonic() - started < 2
    assert isinstance(settings_, dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in settings_.items())
    try:
        Notation().with_values(settings_)
    except UsageError:
        pass


def test_alias_bomb_with_merge_keys_is_refused():
    with pytest.raises(InputError, match="anchor"):
        front_matter("---\nbase: &b {logits: a}\nderive:\n  <<: *b\n---\n", "f.md")


# --- documents ------------------------------------------------------------------------------------------------

MATH_TOKENS = [
    "\\frac{", "}{", "}", "{", "(", ")", "[", "]", "\\left(", "\\right)", "\\partial", "L", "z_k", "z_j", "z_i",
    "\\hat{y}_k", "\\hat{y}_j", "y_k", "y_j", "p_k", "a_k", "x", "W", "b", "S", "\\sigma(", "f(", "f'(", "\\sum_j",
    "\\sum_{j=1}^{n}", "\\sum_{j \\neq k}", "e^{", "\\exp", "\\log", "\\ln", "+", "-", "=", "=", "=", "&=", "&", "\\\\",
    "\\cdot", "^{", "_", "^", "2", "1", "0", "-1", "1/2", "99999999", "^{10}", "!", "\\delta_{jk}",
    "\\mathbb{1}[k = c]", "1(k = c)", "\\begin{cases}", "\\end{cases}", "\\text{if } j = k", "\\int", "\\sqrt{",
    "\\neq", ",", "'", "\\dots", "\\quad", "\\label{x}", "\\tag{1}", "\\input{/etc/passwd}", "\\x1b", "\x1b",
    "\x07", "\u202e", "\x9b", "θ", "%", "$", "\\begin{aligned}", "\\end{aligned}", "\\operatorname{softmax}(z)_k",
    "\\mathbf{W}", "x^T", "\\top", "\\odot", "\\otimes", "\\|", "|", "\\infty", "10^{300}", "e^{e^{e^{10}}}",
]
PRELUDES = ["", "---\nderive:\n  logits: a\n  probs: p\n---\n", "---\nderive: {target: class c}\n---\n",
            "% derive: logits = o\n", "<!-- derive: case j \\neq k -->\n", "Let $S = \\sum_m e^{z_m}$.\n",
            "\\begin{document}\n", "\ufeff"]
ATOMS = ["z_k", "z_j", "z_i", "\\hat{y}_k", "\\hat{y}_j", "y_k", "y_j", "p_k", "a_k", "x", "L", "S", "1", "2", "0",
         "-1", "99999999", "n", "\\delta_{jk}", "\\mathbb{1}[k = c]", "1(k = c)", "e", "\\infty", "W", "b", "x^T",
         "\\mathbf{W}", "W_{kl}", "o_k", "\\ell_j", "\\sigma", "\\int", "θ", "\x1b", "\u202e", "\\text{if }", "\\dots"]
WRAPS = ["\\frac{{{0}}}{{{1}}}", "\\frac{{\\partial {0}}}{{\\partial {1}}}", "\\frac{{\\partial}}{{\\partial z_k}} {0}",
         "{0} + {1}", "{0} - {1}", "{0} {1}", "{0} \\cdot {1}", "{0}/{1}", "{0}^{{{1}}}", "e^{{{0}}}", "\\exp({0})",
         "\\log({0})", "\\log {0}", "\\ln({0})", "\\sqrt{{{0}}}", "\\sum_j {0}", "\\sum_{{j=1}}^{{n}} {0}",
         "\\sum_{{j \\neq k}} {0}", "({0})", "\\left({0}\\right)", "\\sigma({0})", "f({0})", "f'({1})", "{0}!",
         "\\begin{{cases}} {0} & j = k \\\\ {1} & j \\neq k \\end{{cases}}", "{0}^{{10}}", "({0})^{{1/2}}"]


def _wrapped(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One more layer of structure around two smaller expressions."""
    return st.builds(lambda wrap, a, b: wrap.format(a, b), st.sampled_from(WRAPS), inner, inner)


expressions = st.recursive(st.sampled_from(ATOMS), _wrapped, max_leaves=10)
equations = st.lists(expressions, min_size=2, max_size=4).map(" = ".join)
blocks = st.one_of(
    st.lists(equations, min_size=1, max_size=3).map("\n".join),
    st.lists(expressions, min_size=2, max_size=4).map(lambda sides: sides[0] + " &= " + " \\\\\n &= ".join(sides[1:])),
    st.lists(st.sampled_from(MATH_TOKENS), min_size=1, max_size=24).map(" ".join),  # token soup: unbalanced too
)
documents = st.builds(
    lambda prelude, bodies, style: prelude + "\n".join(
        (f"$$\n{body}\n$$" if style == 0 else f"\\[\n{body}\n\\]" if style == 1 else
         f"\\begin{{align*}}\n{body}\n\\end{{align*}}") for body in bodies) + "\n",
    st.sampled_from(PRELUDES), st.lists(blocks, min_size=1, max_size=3), st.integers(0, 2))


@budget(COSTLY)
@given(document=documents)
def test_fuzz_documents(document):
    started = time.monotonic()
    try:
        report = derive.check(document)
    except DeriveError as error:
        assert "\n" not in str(error) and not any(is_control(c) for c in str(error)), repr(str(error))
        return
    finally:
        elapsed = time.monotonic() - started
        assert elapsed < PER_CALL, f"{elapsed:.1f} s for {document!r}"
    assert isinstance(report, Report)
    assert report.exit_code in (0, 1, 3)
    text = report.text()
    assert not any(is_control(c) and c != "\n" for c in text), repr(text)

    def refuse(constant: str) -> None:
        raise AssertionError(f"non-strict JSON: {constant}")
    data = json.loads(report.to_json(), parse_constant=refuse)
    assert [step["verdict"] for step in data["steps"]] == [step.verdict for step in report.steps]

