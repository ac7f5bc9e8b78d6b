"""The command line as a user meets it: exit codes, one-line errors, formats, fast --help."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import NAMES, ROUTES, run_cli


def test_list_names_every_entry():
    done = run_cli("list")
    assert done.returncode == 0
    assert [line.split()[0] for line in done.stdout.splitlines()] == NAMES


@pytest.mark.parametrize("name, method", ROUTES)
@pytest.mark.parametrize("fmt", ["text", "latex", "markdown", "json", "ipynb"])
def test_every_name_in_every_format(name, method, fmt):
    done = run_cli("show", name, "--format", fmt, "--method", method)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and not done.stderr
    if fmt in ("json", "ipynb"):
        json.loads(done.stdout)


@pytest.mark.parametrize("args, fragment", [
    (["show", "no-such"], "unknown derivation"),
    (["show", "softmax-jacobian", "--format", "pdf"], "unknown format"),
    (["show", "softmax-jacobian", "--notation", "colour=red"], "unknown notation key"),
    (["show", "softmax-jacobian", "--notation", "logits"], "expected KEY=VALUE"),
    (["show", "softmax-jacobian", "--notation", r"logits=\input{/etc/passwd}"], r"\input"),
    (["show", "softmax-jacobian", "--notation", "target=two-hot"], "target"),
    (["show", "softmax-jacobian", "--flavor", "html"], "unknown flavor"),
    (["show", "softmax-jacobian", "--method", "differentials"], "no method"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_usage_is_one_line_and_exit_2(args, fragment):
    done = run_cli(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in done.stderr
    assert done.stdout == ""


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
