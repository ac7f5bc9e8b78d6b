"""Hostile input (issue 11), as an attacker or a careless user would try it: devices, FIFOs, directories, NUL bytes,
YAML alias bombs, byte-order marks, TeX's ``^^`` escapes, terminal escape sequences, non-finite numbers.

Each case runs the command line in a subprocess with a 20 s timeout and a 2 GB address-space limit, and asserts
exit 2 (or the documented code), one line on stderr and no traceback.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import derive
from derive.checking.report import Report, StepVerdict
from derive.errors import DeriveError, InputError, UsageError
from derive.reading import MAX_BYTES, front_matter, read_text
from derive.verify import Counterexample

from helpers import ROOT, run_cli

TIMEOUT = 20
MEMORY = 2 << 30
ALIAS_BOMB = """---
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
derive:
  logits: *g
---
$$ a = a $$
"""
TEX_ESCAPE = "logits=^^5cinput^^7bsecret.txt^^7d"
STEP = "$$\n\\frac{\\partial L}{\\partial a_k} = p_k - y_k\n$$\n"


def run(*args: str, stdin: bytes | None = None, stdin_file: str | None = None) -> subprocess.CompletedProcess:
    """The CLI as a user runs it, bounded in time and memory; output kept as bytes to see raw control characters."""
    return run_cli(*args, stdin_bytes=stdin, stdin_path=stdin_file, text=False, memory=MEMORY, timeout=TIMEOUT)


def assert_clean_error(done: subprocess.CompletedProcess, code: int = 2, *needles: str) -> str:
    """Exit ``code``, one line on stderr naming what went wrong, no traceback, no raw control character."""
    error = done.stderr.decode("utf-8", "replace")
    assert done.returncode == code, (done.returncode, error, done.stdout[:300])
    assert "Traceback" not in error
    assert len(error.strip().splitlines()) == 1, error
    assert not any(ord(c) < 32 and c != "\n" or c == "\x7f" for c in error), repr(error)
    for needle in needles:
        assert needle in error, error
    return error


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "notes.md"
    os.mkfifo(path)
    return path


# --- files that are not regular files -------------------------------------------------------------------------

@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_check_refuses_a_device_at_once(device):
    if not os.path.exists(device):
        pytest.skip(f"{device} missing")
    started = time.monotonic()
    assert_clean_error(run("check", device), 2, device)
    assert time.monotonic() - started < TIMEOUT


def test_check_refuses_a_fifo_without_waiting_for_a_writer(fifo):
    assert_clean_error(run("check", str(fifo)), 2, str(fifo))


def test_check_refuses_a_directory(tmp_path):
    assert_clean_error(run("check", str(tmp_path)), 2, str(tmp_path))


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_embed_refuses_a_device_at_once(device):
    """Contract §7 / issue 11: ``embed`` of /dev/zero once grew to 23 GB."""
    if not os.path.exists(device):
        pytest.skip(f"{device} missing")
    assert_clean_error(run("embed", device), 2, device)


def test_embed_refuses_a_fifo_at_once(fifo):
    assert_clean_error(run("embed", str(fifo)), 2, str(fifo))


def test_check_from_standard_input_is_bounded():
    """``derive check -`` reading /dev/zero stops after MAX_BYTES + 1 bytes (NUL bytes or size: exit 2)."""
    assert_clean_error(run("check", "-", stdin_file="/dev/zero"), 2)


def test_check_reads_standard_input():
    done = run("check", "-", stdin=("---\nderive:\n  logits: a\n  probs: p\n---\n" + STEP).encode())
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("source", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_reader_refuses_devices(source):
    if not os.path.exists(source):
        pytest.skip(f"{source} missing")
    with pytest.raises(InputError, match="device"):
        read_text(source)


def test_reader_refuses_a_fifo_directory_and_socket(fifo, tmp_path):
    import socket

    started = time.monotonic()
    with pytest.raises(InputError, match="FIFO"):
        read_text(fifo)
    with pytest.raises(InputError, match="directory"):
        read_text(tmp_path)
    server = socket.socket(socket.AF_UNIX)
    path = tmp_path / "s"
    try:
        server.bind(str(path))
        with pytest.raises(InputError, match="socket"):
            read_text(path)
    finally:
        server.close()
    assert time.monotonic() - started < 1


def test_python_api_refuses_a_fifo_without_hanging(fifo):
    """In a subprocess, so that a regression hangs that process and not the test run."""
    code = (f"import derive\ntry:\n    derive.check({str(fifo)!r})\n"
            "except derive.errors.InputError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
    assert done.returncode == 0 and "FIFO" in done.stdout, (done.stdout, done.stderr)


def test_nul_byte_in_a_path_is_derives_own_error():
    """A NUL cannot reach the command line (execve refuses it), but it can reach the Python API."""
    with pytest.raises(InputError, match="NUL"):
        read_text("notes\x00.md")
    with pytest.raises(DeriveError):
        derive.check("notes\x00.md")


def test_oversized_and_growing_files_are_refused(tmp_path):
    big = tmp_path / "big.md"
    big.write_bytes(b"a" * (MAX_BYTES + 1))
    with pytest.raises(InputError, match="larger than"):
        read_text(big)
    exact = tmp_path / "exact.md"
    exact.write_bytes(b"a" * MAX_BYTES)
    assert len(read_text(exact)[0]) == MAX_BYTES


def test_not_utf8_is_located(tmp_path):
    path = tmp_path / "latin1.md"
    path.write_bytes("line one\nna\xefve\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1.md:2:3: not UTF-8"):
        read_text(path)
    assert_clean_error(run("check", str(path)), 2, "not UTF-8")


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "image.md"
    path.write_bytes(b"$$a = b$$\x00\x01\x02")
    assert_clean_error(run("check", str(path)), 2, "NUL")


# --- front matter ---------------------------------------------------------------------------------------------

def test_yaml_alias_bomb_is_refused_before_it_expands(tmp_path):
    assert len(ALIAS_BOMB.split("$$")[0].encode()) < 700
    path = tmp_path / "bomb.md"
    path.write_text(ALIAS_BOMB)
    started = time.monotonic()
    error = assert_clean_error(run("check", str(path)), 2, "anchor")
    assert f"{path}:2:" in error  # line and column of the first anchor
    assert time.monotonic() - started < TIMEOUT


def test_front_matter_refuses_aliases_tags_depth_and_size():
    with pytest.raises(InputError, match=r"f.md:3:\d+: YAML alias \*x"):
        front_matter("---\na: 1\nb: *x\n---\n", "f.md")
    with pytest.raises(InputError, match="tags"):
        front_matter("---\nderive: !!python/object/apply:os.system ['true']\n---\n", "f.md")
    with pytest.raises(InputError, match="nested deeper"):
        front_matter("---\nx: " + "[" * 5000 + "]" * 5000 + "\n---\n", "f.md")
    with pytest.raises(InputError, match="larger than"):
        front_matter("---\nx: '" + "a" * 100_000 + "'\n---\n", "f.md")
    with pytest.raises(InputError, match="never ends"):
        front_matter("---\nderive:\n  logits: a\n", "f.md")
    assert front_matter("---\nderive:\n  logits: a\n  probs: [p, softmax]\n---\n", "f.md") == \
        {"logits": "a", "probs": "p, softmax"}
    assert front_matter("---\ntitle: '*not an alias*'\nderive: {logits: a}\n---\n", "f.md") == {"logits": "a"}


@pytest.mark.parametrize("value", ["9" * 5000, "2001-13-45", "2024-02-30T25:61:00Z", "0b" + "1" * 10000, ".nan",
                                   "1e999"],
                         ids=["digits", "month", "day", "binary", "nan", "inf"])
def test_front_matter_scalars_are_never_constructed(value):
    """Only text is built from front matter: a 5,000-digit integer or the 13th month is not an internal error."""
    assert front_matter(f"---\ndate: {value}\nderive:\n  classes: {value}\n---\n", "f.md") == {"classes": value}


def test_standard_input_as_text_stream(monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("$$ a = a $$\n"))
    assert read_text("-") == ("$$ a = a $$\n", "<stdin>")
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(InputError, match="no standard input"):
        read_text("-")


def test_byte_order_mark_before_front_matter_is_ignored(tmp_path):
    path = tmp_path / "bom.md"
    path.write_bytes(b"\xef\xbb\xbf---\nderive:\n  logits: a\n  probs: p\n---\n" + STEP.encode())
    done = run("check", str(path), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"] == {"valid": 1, "invalid": 0, "unknown": 0}
    assert read_text(path)[0].startswith("---")


def test_byte_order_mark_front_matter_is_validated(tmp_path):
    """Read, not skipped: a bad value under a BOM is still refused."""
    path = tmp_path / "bom.md"
    path.write_bytes(b"\xef\xbb\xbf---\nderive:\n  logits: '^^5cinput'\n---\n" + STEP.encode())
    assert_clean_error(run("check", str(path)), 2, "^^")


# --- notation values: TeX's ^^ escape -------------------------------------------------------------------------

def test_tex_caret_escape_in_show_notation_exits_2():
    assert_clean_error(run("show", "softmax-jacobian", "--format", "latex", "--notation", TEX_ESCAPE), 2,
                       "logits", "^^")


def test_tex_caret_escape_in_check_notation_exits_2(tmp_path):
    path = tmp_path / "step.md"
    path.write_text(STEP)
    assert_clean_error(run("check", str(path), "--notation", TEX_ESCAPE), 2, "logits", "^^")


def test_tex_caret_escape_in_front_matter_exits_2(tmp_path):
    path = tmp_path / "step.md"
    path.write_text("---\nderive:\n  probs: 'p^^5c'\n---\n" + STEP)
    assert_clean_error(run("check", str(path)), 2, "probs", "^^")


@pytest.mark.parametrize("value", ["^^5c", "x^^7b", "\\hat{^^5c}", "z_^^41", "^^M", "p, ^^5cinput"])
def test_tex_caret_escape_never_reaches_a_derivation(value):
    with pytest.raises(UsageError, match="probs"):
        derive.derivation("softmax-jacobian", probs=value)


def test_tex_caret_escape_in_linear_and_shapes_is_refused():
    with pytest.raises(UsageError, match="linear"):
        derive.derivation("linear-softmax-cross-entropy", linear="o = W^^5cx + b")
    with pytest.raises(UsageError, match="shapes"):
        derive.notation.notation_from({"shapes": "W: 4x3, ^^5c: 3"})


# --- output: control characters, strict JSON ------------------------------------------------------------------

def test_control_characters_in_a_document_are_echoed_escaped(tmp_path):
    path = tmp_path / "escape.md"
    path.write_bytes("$$\nx\x1bc\x07\r = x\u009b2J\n$$\n".encode())  # ESC c resets a terminal; U+009B is CSI
    done = run("check", str(path))
    out = done.stdout.decode()
    assert done.returncode in (0, 1, 3), done.stderr
    assert not any(ord(c) < 32 and c != "\n" or 0x7F <= ord(c) <= 0x9F for c in out), repr(out)
    assert "\\x1b" in out and "\\x9b" in out


def test_control_characters_in_json_output_are_escaped(tmp_path):
    path = tmp_path / "escape.md"
    path.write_bytes("$$\na\x1bc\u202e = b\x9b\n$$\n".encode())
    done = run("check", str(path), "--format", "json")
    raw = done.stdout.decode()
    assert not any(ord(c) < 32 and c != "\n" or 0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in raw), repr(raw)
    step = json.loads(raw)["steps"][0]
    assert "\x1b" in step["lhs"]  # escaped in the JSON text, the same data once parsed


def test_control_characters_in_file_names_are_escaped_in_errors(tmp_path):
    missing = tmp_path / "no\x1b[2Jsuch\x07.md"
    error = assert_clean_error(run("check", str(missing)), 2)
    assert "\\x1b" in error


def test_errors_never_carry_raw_control_characters():
    error = InputError("bad value \x1b[31m\nsecond line", "f\x07.md", 2, 3)
    assert str(error) == "f\\x07.md:2:3: bad value \\x1b[31m\\nsecond line"
    assert str(UsageError("right-to-left \u202e override")) == "right-to-left \\u202e override"
    assert str(UsageError("θ ŷ ∂ ✓")) == "θ ŷ ∂ ✓"


def _strict(text: str) -> object:
    def refuse(constant: str) -> None:
        raise AssertionError(f"non-strict JSON constant {constant}")
    return json.loads(text, parse_constant=refuse)


def test_json_report_is_strict_with_non_finite_values():
    inf = StepVerdict(3, 1, "a", "b")
    inf.invalid(Counterexample({"n": 3}, {"k": 1}, float("inf"), float("nan")))
    complex_step = StepVerdict(4, 1, "c", "d")
    complex_step.invalid(Counterexample({"n": 3}, {"k": 1}, complex(0, 2), 1.0))
    data = _strict(Report("f.md", [inf, complex_step]).to_json())
    first, second = data["steps"]
    assert first["counterexample"]["lhs"] is None and first["counterexample"]["rhs"] is None
    assert "not a finite number" in first["message"]
    assert second["counterexample"]["lhs"] is None and "not a real number" in second["message"]
    assert second["counterexample"]["rhs"] == 1.0


def test_overflowing_step_is_not_valid_and_json_is_strict(tmp_path):
    path = tmp_path / "overflow.md"
    path.write_text("$$99999999^{10} 99999999^{10} 99999999^{10} 99999999^{10} = 0$$\n")
    done = run("check", str(path), "--format", "json")
    assert done.returncode in (1, 3), done.stderr
    assert _strict(done.stdout.decode())["steps"][0]["verdict"] != "valid"


def test_regular_file_through_a_symlink_is_read(tmp_path):
    target = tmp_path / "real.md"
    target.write_text(STEP)
    link = tmp_path / "link.md"
    link.symlink_to(target)
    assert read_text(link)[0] == STEP
    assert stat.S_ISLNK(os.lstat(link).st_mode)
