"""Writes (`show -o`, `embed -o`, `embed --in-place`): nothing the user had is lost, whatever happens."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time

import pytest

from derive.errors import InputError
from derive.writing import TEMPORARY_PREFIX, write_text

from helpers import run_cli

NOTES = "# Notes\n\n<!-- derive: show cross-entropy -->\n<!-- derive: end -->\n"


def leftovers(directory) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.startswith(TEMPORARY_PREFIX)]


def test_in_place_keeps_the_mode(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text(NOTES, encoding="utf-8")
    notes.chmod(0o664)
    done = run_cli("embed", str(notes), "--in-place")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(notes.stat().st_mode) == 0o664
    assert "\\partial L" in notes.read_text(encoding="utf-8") and not leftovers(tmp_path)


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_a_new_file_gets_the_umask_default(tmp_path, umask):
    out = tmp_path / "new.tex"
    done = run_cli("show", "cross-entropy", "--format", "latex", "-o", str(out), umask=umask)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_a_symlink_stays_a_link_and_its_target_is_written(tmp_path):
    target = tmp_path / "real" / "notes.md"
    target.parent.mkdir()
    target.write_text(NOTES, encoding="utf-8")
    link = tmp_path / "notes.md"
    link.symlink_to(os.path.relpath(target, tmp_path))
    assert run_cli("embed", str(link), "--in-place").returncode == 0
    assert link.is_symlink() and os.readlink(link) == os.path.relpath(target, tmp_path)
    assert "\\partial L" in target.read_text(encoding="utf-8")
    assert not leftovers(tmp_path) and not leftovers(target.parent)
    out = tmp_path / "out.txt"
    out.symlink_to(target)
    assert run_cli("show", "softmax-jacobian", "-o", str(out)).returncode == 0
    assert out.is_symlink() and target.read_text(encoding="utf-8").startswith("The Jacobian of softmax")


def test_a_dangling_symlink_creates_its_target_and_a_loop_is_refused(tmp_path):
    link = tmp_path / "notes.txt"
    link.symlink_to("made.txt")
    assert run_cli("show", "cross-entropy", "-o", str(link)).returncode == 0
    assert link.is_symlink() and (tmp_path / "made.txt").read_text(encoding="utf-8").startswith("The derivative")
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    done = run_cli("show", "cross-entropy", "-o", str(tmp_path / "a"))
    assert done.returncode == 2 and "symbolic links" in done.stderr and not leftovers(tmp_path)


def test_a_read_only_target_is_refused_unless_forced(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text(NOTES, encoding="utf-8")
    notes.chmod(0o444)
    refused = run_cli("embed", str(notes), "--in-place")
    assert refused.returncode == 2 and "read-only" in refused.stderr and "--force" in refused.stderr
    assert refused.stderr.count("\n") == 1 and notes.read_text(encoding="utf-8") == NOTES
    out = tmp_path / "out.md"
    out.write_text("mine\n")
    out.chmod(0o440)
    assert run_cli("embed", str(notes), "-o", str(out)).returncode == 2
    assert run_cli("show", "cross-entropy", "-o", str(out)).returncode == 2 and out.read_text() == "mine\n"
    forced = run_cli("embed", str(notes), "--in-place", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "\\partial L" in notes.read_text(encoding="utf-8") and stat.S_IMODE(notes.stat().st_mode) == 0o444
    assert run_cli("show", "cross-entropy", "-o", str(out), "--force").returncode == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o440 and not leftovers(tmp_path)


@pytest.mark.parametrize("failing", ["replace", "fsync", "fchmod"])
def test_a_failed_write_leaves_no_temporary_file_and_the_old_content(tmp_path, monkeypatch, failing):
    target = tmp_path / "notes.md"
    target.write_text("old\n")

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, fail)
    with pytest.raises(InputError, match="No space left on device"):
        write_text(target, "new\n")
    assert target.read_text() == "old\n" and not leftovers(tmp_path)


def test_an_interrupted_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "notes.md"
    target.write_text("old\n")

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_text(target, "new\n")
    assert target.read_text() == "old\n" and not leftovers(tmp_path)


def test_unwritable_places_exit_2_and_leave_nothing(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text(NOTES, encoding="utf-8")
    for out in (tmp_path / "missing" / "out.md", tmp_path):
        done = run_cli("embed", str(notes), "-o", str(out))
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.md"]


def test_output_dash_is_standard_output(tmp_path):
    done = run_cli("show", "cross-entropy", "-o", "-")
    assert done.returncode == 0 and done.stdout.startswith("The derivative of the cross-entropy")


def test_a_device_is_written_directly():
    done = run_cli("show", "cross-entropy", "-o", os.devnull)
    assert done.returncode == 0 and os.path.exists(os.devnull) and not stat.S_ISREG(os.stat(os.devnull).st_mode)


WRITER = """
import sys
from derive.writing import write_text
path, size = sys.argv[1], int(sys.argv[2])
texts = ["a" * size + "\\n", "b" * (size // 2) + "\\n"]
print("ready", flush=True)
i = 0
while True:
    write_text(path, texts[i % 2])
    i += 1
"""


def test_sigkill_at_any_moment_leaves_the_old_or_the_new_file(tmp_path):
    """The rename is the only moment the target changes: a kill before it leaves the old file, after it the new."""
    target = tmp_path / "notes.md"
    size = 2_000_000
    target.write_text("a" * size + "\n")
    allowed = {"a" * size + "\n", "b" * (size // 2) + "\n"}
    rng = random.Random(7)
    for _ in range(8):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(size)], stdout=subprocess.PIPE)
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.08))
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert target.read_text() in allowed
    # a kill leaves at most the temporary file of the write it interrupted, never a damaged target
    assert len(leftovers(tmp_path)) <= 8
