"""The command line as a user meets it: exit codes, one-line errors, formats, fast --help."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import derive

from helpers import NAMES, ROUTES, run_cli, run_cold


def test_list_names_every_entry():
    """One line per entry, indented under the heading of its group (softmax family, other losses, ...)."""
    from derive.catalogue import CATALOGUE, GROUPS

    done = run_cli("list")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    headings = [line[:-1] for line in lines if not line.startswith(" ")]
    listed = [line.split()[0] for line in lines if line.startswith("  ")]
    assert headings == [g for g in GROUPS if any(e.group == g for e in CATALOGUE.values())]
    assert sorted(listed) == sorted(CATALOGUE) and listed[:len(NAMES)] == NAMES


@pytest.mark.parametrize("name, method", ROUTES)
@pytest.mark.parametrize("fmt", ["text", "latex", "markdown", "json", "ipynb"])
def test_every_name_in_every_format(name, method, fmt):
    done = run_cli("show", name, "--format", fmt, "--method", method)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and not done.stderr
    if fmt in ("json", "ipynb"):
        json.loads(done.stdout)
    if fmt == "json":  # the certificate test_certificate re-checks, whichever way it is asked for
        assert done.stdout == derive.derivation(name, method).to_json()


@pytest.mark.parametrize("args, fragment", [
    (["show", "no-such"], "unknown derivation"),
    (["show", "softmax-jacobian", "--format", "pdf"], "unknown format"),
    (["show", "softmax-jacobian", "--notation", "colour=red"], "unknown notation key"),
    (["show", "softmax-jacobian", "--notation", "logits"], "expected KEY=VALUE"),
    (["show", "softmax-jacobian", "--notation", r"logits=\input{/etc/passwd}"], r"\input"),
    (["show", "softmax-jacobian", "--notation", "target=two-hot"], "target"),
    (["show", "softmax-jacobian", "--format", "markdown", "--flavor", "html"], "unknown flavor"),
    (["show", "softmax-jacobian", "--method", "differentials"], "no method"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["shwo", "softmax-jacobian"], "unknown command 'shwo'; did you mean 'show'?"),
    (["show", "softmax-jacobian", "--flavor", "gfm"], "--flavor applies to --format markdown only"),
    (["show", "softmax-jacobian", "--format", "latex", "--flavor", "dollar"], "--flavor applies"),
    (["show", "softmax-jacobian", "--format", "json", "--flavor", "gfm"], "--flavor applies"),
    (["show", "softmax-jacobian", "--part", "chain"], "no part 'chain'"),
    (["show", "softmax-jacobian", "--case", "i = q"], "no case"),
    (["show"], "required: NAME"),
    (["check", "no-such-file.md"], "no-such-file.md: no such file"),
])
def test_bad_usage_is_one_line_and_exit_2(args, fragment):
    done = run_cli(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in done.stderr
    assert lines[0].startswith("derive: error: ") and lines[0].count("derive:") == 1  # no doubled prefix
    assert done.stdout == ""


def test_show_help_lists_the_notation_keys_and_defaults():
    done = run_cli("show", "--help")
    assert done.returncode == 0
    for key, default in [("logits", "z"), ("probs", "\\hat{y}"), ("labels", "y"), ("target", "one-hot"),
                         ("classes", "n"), ("loss", "L"), ("batch", "N")]:
        assert any(line.split()[:1] == [key] and line.rstrip().endswith(f"default: {default}")
                   for line in done.stdout.splitlines()), key


def test_check_and_embed_read_standard_input():
    step = "$$\\frac{\\partial L}{\\partial z_k} = \\hat{y}_k - y_k$$\n"
    done = run_cli("check", "-", stdin=step)
    assert done.returncode == 0 and "<stdin>: 1 valid" in done.stdout
    notes = "Intro\n<!-- derive: show cross-entropy -->\n<!-- derive: end -->\nOutro\n"
    done = run_cli("embed", "-", stdin=notes)
    assert done.returncode == 0 and done.stdout.startswith("Intro\n<!-- derive: show cross-entropy -->\n")
    assert "\\partial L" in done.stdout and done.stdout.endswith("<!-- derive: end -->\nOutro\n")
    latex = "% derive: show cross-entropy\n% derive: end\n"
    done = run_cli("embed", "-", stdin=latex)
    assert done.returncode == 0 and "$$" not in done.stdout  # read as LaTeX notes: LaTeX displays
    assert "\\[" in done.stdout or "\\begin{align" in done.stdout
    refused = run_cli("embed", "-", "--in-place", stdin=notes)
    assert refused.returncode == 2 and "standard input" in refused.stderr


def test_check_reads_a_file_whose_name_looks_like_latex(tmp_path):
    path = tmp_path / "week$3\\notes.md"
    path.write_text("$$\\frac{\\partial L}{\\partial z_k} = \\hat{y}_k - y_k$$\n", encoding="utf-8")
    done = run_cli("check", str(path))
    assert done.returncode == 0 and done.stdout.startswith(f"{path}: 1 valid"), done.stderr


def test_show_part_and_case_are_excerpts_numbered_from_1():
    done = run_cli("show", "softmax-cross-entropy", "--part", "chain")
    assert done.returncode == 0 and "(1)" in done.stdout and "Result" not in done.stdout
    assert "The softmax Jacobian" not in done.stdout and "The chain rule" in done.stdout
    case = run_cli("show", "softmax-jacobian", "--case", "j \\neq k", "--format", "latex")
    assert case.returncode == 0 and "(1)" in case.stdout and "j = k" not in case.stdout


def test_help_does_not_import_sympy():
    code = "import sys; from derive.cli import main\ntry:\n main(['--help'])\nexcept SystemExit: pass\n" \
           "import sys; sys.stderr.write(str('sympy' in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stderr.strip().endswith("False")
    for args in (["--help"], ["show", "--help"], ["check", "--help"], ["embed", "--help"], ["list"]):
        check = subprocess.run([sys.executable, "-X", "importtime", "-m", "derive", *args],
                               capture_output=True, text=True)
        assert check.returncode == 0 and " sympy\n" not in check.stderr


def test_output_file_is_written(tmp_path):
    out = tmp_path / "d.tex"
    done = run_cli("show", "cross-entropy", "--format", "latex", "-o", str(out))
    assert done.returncode == 0 and done.stdout == ""
    assert "\\frac{\\partial L}{\\partial \\hat{y}_{k}}" in out.read_text()


def test_the_template_cache_changes_nothing_but_speed(tmp_path):
    plain = subprocess.run([sys.executable, "-m", "derive", "show", "softmax-jacobian"], capture_output=True,
                           text=True, env=dict(os.environ, DERIVE_NO_TEMPLATE_CACHE="1"))
    cached = [subprocess.run([sys.executable, "-m", "derive", "show", "softmax-jacobian"], capture_output=True,
                             text=True, env=dict(os.environ, TMPDIR=str(tmp_path))) for _ in range(2)]
    assert plain.returncode == 0 and all(c.stdout == plain.stdout for c in cached)
    assert list(tmp_path.glob("_jinja2-cache-*/*.cache"))  # compiled once, then read back


STEP = "$$\n\\frac{\\partial L}{\\partial z_k} = y_k - \\hat{y}_k\n$$\n"


@pytest.mark.parametrize("args, stdin", [
    (["list"], None),
    (["show", "softmax-cross-entropy", "--format", "json"], None),
    (["show", "linear-softmax-cross-entropy", "--method", "differentials", "--detail", "brief", "--format", "latex"],
     None),
    (["show", "no-such"], None),
    (["check", "-", "--format", "json"], STEP),
    (["embed", "-"], "Intro\n<!-- derive: show cross-entropy -->\n<!-- derive: end -->\n"),
], ids=["list", "json", "latex", "unknown", "check", "embed"])
def test_the_command_line_of_the_tests_is_the_command_line(args, stdin):
    """run_cli forks each process from a Python that has imported derive; started from scratch, the same command
    gives the same exit code, output and errors."""
    warm, cold = run_cli(*args, stdin=stdin), run_cold(*args, stdin=stdin)
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
