"""How well `derive check` reads derivations as people really write them.

The corpus (tests/corpus/) holds hand-written documents in the styles of published derivations (blogs,
Q&A answers, lecture notes, problem-set solutions), with no front matter, and tests/corpus/expected.json
holds, for every document, the lines of its steps, the lines of its wrong steps (each alone on its line,
checked numerically when the corpus was written, independently of derive) and the notation a course
would give for it.

    python benchmarks/corpus.py              # dev, dev2 and heldout, documents as written
    python benchmarks/corpus.py --notation   # the same, plus each file's notation passed to derive.check
    python benchmarks/corpus.py dev2         # one set only

Per file and in total: steps (expected), valid / invalid / unknown (as reported), decided fraction (steps
on the expected lines that got valid or invalid, over the expected steps), false invalid (a step not on
a wrong line called invalid), false valid (a step on a wrong line called valid), wrong steps caught, and
internal errors (any exception other than derive.DeriveError).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"
SETS = ("dev", "dev2", "dev3", "heldout")


@dataclass
class FileResult:
    name: str
    steps: int = 0            # expected steps (from expected.json)
    reported: int = 0         # steps derive reported
    valid: int = 0
    invalid: int = 0
    unknown: int = 0
    decided: int = 0          # expected steps that got a valid/invalid verdict on their line
    wrong: int = 0            # expected wrong steps
    caught: int = 0           # wrong steps called invalid
    false_invalid: list = field(default_factory=list)   # lines
    false_valid: list = field(default_factory=list)     # lines
    internal_error: str | None = None
    input_error: str | None = None
    seconds: float = 0.0

    @property
    def decided_fraction(self) -> float:
        return self.decided / self.steps if self.steps else 1.0


@dataclass
class SetResult:
    folder: str
    with_notation: bool
    files: list[FileResult]

    def total(self) -> FileResult:
        t = FileResult(name="TOTAL")
        for f in self.files:
            for attr in ("steps", "reported", "valid", "invalid", "unknown", "decided", "wrong", "caught",
                         "seconds"):
                setattr(t, attr, getattr(t, attr) + getattr(f, attr))
            t.false_invalid += [f"{f.name}:{line}" for line in f.false_invalid]
            t.false_valid += [f"{f.name}:{line}" for line in f.false_valid]
        errors = [f"{f.name}: {f.internal_error}" for f in self.files if f.internal_error]
        t.internal_error = "; ".join(errors) or None
        return t

    @property
    def internal_errors(self) -> int:
        return sum(1 for f in self.files if f.internal_error)

    @property
    def decided_fraction(self) -> float:
        return self.total().decided_fraction


def load_expected() -> dict:
    return json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))


def documents(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".md", ".tex") and p.is_file())


def _verdict(step) -> str:
    verdict = getattr(step, "verdict", None)
    if verdict is None and isinstance(step, dict):
        verdict = step.get("verdict")
    return str(verdict)


def _line(step) -> int | None:
    line = getattr(step, "line", None)
    if line is None and isinstance(step, dict):
        line = step.get("line")
    return line


def measure_file(path: Path, expected: dict, with_notation: bool = False) -> FileResult:
    import derive

    key = f"{path.parent.name}/{path.name}"
    entry = expected.get(key, {})
    wrong = set(entry.get("wrong", []))
    expected_steps = Counter(entry.get("steps", []))
    result = FileResult(name=key, steps=sum(expected_steps.values()), wrong=len(wrong))
    notation = dict(entry.get("notation", {})) if with_notation else {}
    start = time.perf_counter()
    try:
        report = derive.check(str(path), **notation)
        steps = list(report.steps)
    except derive.DeriveError as exc:          # an input error: nothing decided, not an internal error
        result.input_error = f"{type(exc).__name__}: {exc}"
        result.seconds = time.perf_counter() - start
        return result
    except Exception as exc:                    # noqa: BLE001 - anything else is an internal error
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" ({last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
        result.internal_error = f"{type(exc).__name__}: {exc}{where}"
        result.seconds = time.perf_counter() - start
        return result
    result.seconds = time.perf_counter() - start

    decided_on_line: Counter = Counter()
    for step in steps:
        verdict, line = _verdict(step), _line(step)
        result.reported += 1
        if verdict == "valid":
            result.valid += 1
        elif verdict == "invalid":
            result.invalid += 1
        else:
            result.unknown += 1
        if verdict in ("valid", "invalid"):
            decided_on_line[line] += 1
        if verdict == "invalid" and line not in wrong:
            result.false_invalid.append(line)
        if verdict == "valid" and line in wrong:
            result.false_valid.append(line)
        if verdict == "invalid" and line in wrong:
            result.caught += 1
    result.caught = min(result.caught, len(wrong))
    result.decided = sum(min(count, decided_on_line[line]) for line, count in expected_steps.items())
    if not expected_steps:                      # no expectation recorded: count what was reported
        result.steps = result.reported
        result.decided = result.valid + result.invalid
    return result


def measure(folder, with_notation: bool = False) -> SetResult:
    """Check every document of `folder` (a path, or a set name: "dev", "dev2", "heldout")."""
    folder = Path(folder)
    if not folder.is_dir():
        folder = CORPUS / str(folder)
    expected = load_expected()
    files = [measure_file(p, expected, with_notation) for p in documents(folder)]
    return SetResult(folder=folder.name, with_notation=with_notation, files=files)


def format_table(result: SetResult) -> str:
    head = (f"{'file':44} {'steps':>5} {'valid':>5} {'inval':>5} {'unkn':>5} {'decided':>7} "
            f"{'f.inv':>5} {'f.val':>5} {'caught':>7} {'err':>3} {'sec':>5}")
    title = f"== {result.folder} ({'with notation' if result.with_notation else 'documents as written'})"
    rows = [title, head, "-" * len(head)]

    def row(f: FileResult) -> str:
        err = "E" if f.internal_error else ("i" if f.input_error else "")
        if f.name == "TOTAL":
            err = str(result.internal_errors)
        return (f"{f.name:44} {f.steps:5d} {f.valid:5d} {f.invalid:5d} {f.unknown:5d} "
                f"{f.decided_fraction:7.0%} {len(f.false_invalid):5d} {len(f.false_valid):5d} "
                f"{f'{f.caught}/{f.wrong}':>7} {err:>3} {f.seconds:5.1f}")

    for f in result.files:
        rows.append(row(f))
    rows.append("-" * len(head))
    total = result.total()
    rows.append(row(total))
    notes = []
    for f in result.files:
        if f.internal_error:
            notes.append(f"  internal error in {f.name}: {f.internal_error}")
        if f.input_error:
            notes.append(f"  input error in {f.name}: {f.input_error}")
    if total.false_invalid:
        notes.append("  false invalid at " + ", ".join(map(str, total.false_invalid)))
    if total.false_valid:
        notes.append("  false valid at " + ", ".join(map(str, total.false_valid)))
    return "\n".join(rows + notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="*", default=list(SETS), help="dev, dev2, heldout (default: all)")
    parser.add_argument("--notation", action="store_true",
                        help="also run with each file's notation passed to derive.check")
    args = parser.parse_args(argv)
    for name in args.sets:
        print(format_table(measure(name)))
        print()
        if args.notation:
            print(format_table(measure(name, with_notation=True)))
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
