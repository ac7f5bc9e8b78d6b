"""The README cannot go stale: every example in it is run here and compared with what it shows.

- ```console blocks: each ``$ COMMAND`` runs in bash (``derive`` is this checkout's ``python -m derive``, run as
  helpers.run_cli runs it, standard error merged into standard output, in a scratch folder that sees ``tests/``
  and ``examples/``); its output must match the lines shown, where a line ``...`` stands for any number of
  lines. ``$ cat FILE`` of a file that is not in the repository creates FILE with the lines shown, so a later
  command can read it.
- ```pycon blocks: each ``>>>`` statement runs; the value's repr and anything printed must match likewise.
- ```sh blocks: each line that starts with ``derive`` must exit 0.

After an intended change of output, regenerate the README (elisions are kept where they still fit) with

    python tests/test_readme.py --update
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers import derive_command

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^```(?P<lang>[a-z]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
ELLIPSIS = "..."
SHARED = ("tests", "examples")  # what the README's commands may read, seen from the scratch folder


@dataclass
class Example:
    """One command (or Python statement) of the README and the output it shows."""

    kind: str                   # console, pycon or sh
    command: str
    expected: list[str] = field(default_factory=list)
    block: int = 0              # index of the fenced block in the README

    @property
    def creates(self) -> str | None:
        """The file a ``$ cat FILE`` shows, when the repository has no such file: the README defines it."""
        words = shlex.split(self.command) if self.kind == "console" else []
        if len(words) == 2 and words[0] == "cat" and not (ROOT / words[1]).exists():
            return words[1]
        return None


def blocks(text: str) -> list[re.Match[str]]:
    return [m for m in FENCE.finditer(text) if m["lang"] in ("console", "pycon", "sh")]


def parse(text: str) -> list[Example]:
    """Every example of the README, in order."""
    examples: list[Example] = []
    for index, match in enumerate(blocks(text)):
        lang, lines = match["lang"], match["body"].rstrip("\n").split("\n")
        if lang == "sh":
            for line in lines:
                command = line.split("  #")[0].strip()
                if command.startswith("derive "):
                    examples.append(Example("sh", command, block=index))
            continue
        prompt, more = ("$ ", "> ") if lang == "console" else (">>> ", "... ")
        current: Example | None = None
        for line in lines:
            if line.startswith(prompt):
                current = Example(lang, line[len(prompt):], block=index)
                examples.append(current)
            elif current is not None and line.startswith(more) and not current.expected:
                current.command += "\n" + line[len(more):]
            elif current is not None:
                current.expected.append(line.rstrip())
    return examples


def pattern_matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` is ``expected`` with each ``...`` line standing for any number of lines."""
    parts = [r"(?:[^\n]*\n)*?" if line.strip() == ELLIPSIS else re.escape(line) + r"\n" for line in expected]
    return re.fullmatch("".join(parts), "".join(line + "\n" for line in actual)) is not None


def regenerate(expected: list[str], actual: list[str]) -> list[str]:
    """New lines to show: unchanged if they still match; otherwise the new output, elided as before (the same
    number of lines before the first ``...`` and after the last, and the shown middle lines where they remain)."""
    if pattern_matches(expected, actual):
        return expected
    marks = [i for i, line in enumerate(expected) if line.strip() == ELLIPSIS]
    if not marks:
        return actual
    head, tail = marks[0], len(expected) - marks[-1] - 1
    if head + tail >= len(actual):
        return actual
    out = actual[:head]
    rest = actual[head:len(actual) - tail]
    position = 0
    segments: list[list[str]] = [[]]
    for line in expected[marks[0] + 1:marks[-1]]:
        if line.strip() == ELLIPSIS:
            segments.append([])
        else:
            segments[-1].append(line)
    out.append(expected[marks[0]])
    for segment in segments:
        found = next((i for i in range(position, len(rest) - len(segment) + 1)
                      if segment and rest[i:i + len(segment)] == segment), None)
        if found is not None:
            out.extend(segment)
            out.append(expected[marks[0]])
            position = found + len(segment)
    return out + actual[len(actual) - tail:]


class Session:
    """Runs the examples in order in one scratch folder (one Python namespace per pycon block)."""

    def __init__(self, folder: Path, examples: list[Example]) -> None:
        self.folder = folder
        for name in SHARED:
            if not (folder / name).exists():
                (folder / name).symlink_to(ROOT / name)
        shim = folder / ".bin"
        shim.mkdir(exist_ok=True)
        derive_command(shim)  # derive as run_cli runs it
        self.env = dict(os.environ, PATH=f"{shim}{os.pathsep}{os.environ.get('PATH', '')}", NO_COLOR="1",
                        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.namespaces: dict[int, dict[str, object]] = {}
        for example in examples:
            if example.creates:
                (folder / example.creates).write_text("\n".join(example.expected) + "\n", encoding="utf-8")

    def run(self, example: Example) -> tuple[list[str], int]:
        """The output lines (trailing blanks stripped) and the exit code."""
        if example.kind == "pycon":
            return self._python(example), 0
        done = subprocess.run(["bash", "-c", example.command], cwd=self.folder, env=self.env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        return [line.rstrip() for line in done.stdout.rstrip("\n").split("\n")] if done.stdout else [], \
            done.returncode

    def _python(self, example: Example) -> list[str]:
        namespace = self.namespaces.setdefault(example.block, {})
        printed = io.StringIO()
        previous = os.getcwd()
        try:
            os.chdir(self.folder)
            with contextlib.redirect_stdout(printed):
                try:
                    value = eval(compile(example.command, "README", "eval"), namespace)  # noqa: S307 (our README)
                    if value is not None:
                        print(repr(value))
                except SyntaxError:
                    exec(compile(example.command, "README", "exec"), namespace)  # noqa: S102 (our README)
        finally:
            os.chdir(previous)
        text = printed.getvalue().rstrip("\n")
        return [line.rstrip() for line in text.split("\n")] if text else []


EXAMPLES = parse(README.read_text(encoding="utf-8"))
pytestmark = pytest.mark.xdist_group("readme")  # one session, in order: a later example reads what an earlier wrote


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return Session(tmp_path_factory.mktemp("readme"), EXAMPLES)


def test_the_readme_has_examples():
    kinds = {example.kind for example in EXAMPLES}
    assert kinds == {"console", "pycon", "sh"} and len(EXAMPLES) >= 10


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{e.kind}-{i}" for i, e in enumerate(EXAMPLES)])
def test_readme_example(session, example):
    actual, code = session.run(example)
    if example.kind == "sh":
        assert code == 0, "\n".join(actual)
        return
    assert pattern_matches(example.expected, actual), (
        f"README example `{example.command}` is stale; run: python tests/test_readme.py --update\n"
        + "\n".join(actual))


def update(path: Path = README) -> bool:
    """Rewrite the README's console and pycon outputs from the live commands; True if anything changed."""
    text = path.read_text(encoding="utf-8")
    examples = parse(text)
    with tempfile.TemporaryDirectory() as folder:
        session = Session(Path(folder), examples)
        outputs = {id(e): session.run(e)[0] for e in examples if e.kind != "sh"}
    pieces, cursor = [], 0
    for index, match in enumerate(blocks(text)):
        mine = [e for e in examples if e.block == index]
        if match["lang"] == "sh" or not mine:
            continue
        prompt, more = ("$ ", "> ") if match["lang"] == "console" else (">>> ", "... ")
        lines: list[str] = []
        for example in mine:
            first, *rest = example.command.split("\n")
            lines += [prompt + first] + [more + line for line in rest]
            lines += example.expected if example.creates else regenerate(example.expected, outputs[id(example)])
        pieces += [text[cursor:match.start("body")], "\n".join(lines) + "\n"]
        cursor = match.end("body")
    new = "".join(pieces) + text[cursor:]
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/test_readme.py --update")
    print("README.md updated" if update() else "README.md already current")
