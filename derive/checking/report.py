"""The result of ``derive check``: verdicts per step, as text for people, JSON (contract §5), or a table
in Jupyter."""

from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..verify import Counterexample


@dataclass
class Definition:
    line: int
    symbol: str
    latex: str


@dataclass
class StepVerdict:
    line: int
    column: int
    lhs: str
    rhs: str
    case: str | None = None
    verdict: str = "unknown"
    message: str = ""
    holds_when: str | None = None
    counterexample: Counterexample | None = None
    diagnosis: str | None = None

    def valid(self, points: int) -> None:
        self.verdict = "valid"
        where = f" under the case {self.case}" if self.case else ""
        self.message = f"holds{where} ({points} sample points)"

    def invalid(self, counterexample: Counterexample | None, names: dict[str, str] | None = None) -> None:
        """``names`` renames internal indices for people (c -> the user's label, h -> hot index)."""
        names = names or {}
        if counterexample is not None:
            renamed = {names.get(k, k): v for k, v in counterexample.indices.items()}
            counterexample = Counterexample(counterexample.sizes, renamed, counterexample.lhs, counterexample.rhs,
                                            counterexample.labels)
        self.verdict, self.counterexample = "invalid", counterexample
        if counterexample is None:
            self.message = "does not hold"
            return
        at = ", ".join(f"{k} = {v}" for k, v in {**counterexample.sizes, **counterexample.indices}.items())
        self.message = f"does not hold: at {at} the left side is {counterexample.lhs:.6g}, " \
                       f"the right side {counterexample.rhs:.6g}"

    def invalid_shape(self, message: str) -> None:
        self.verdict, self.message = "invalid", message

    def unknown(self, reason: str, column: int | None = None) -> None:
        self.verdict = "unknown"
        self.message = f"{reason} (column {column})" if column else reason

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "lhs": self.lhs, "rhs": self.rhs, "case": self.case, "verdict": self.verdict,
                "message": self.message, "holds_when": self.holds_when,
                "counterexample": _counterexample(self.counterexample) if self.counterexample else None,
                "diagnosis": self.diagnosis}


@dataclass
class Report:
    file: str
    steps: list[StepVerdict]
    definitions: list[Definition] = field(default_factory=list)
    notation: dict[str, Any] = field(default_factory=dict)   # source, roles, target (contract §5)

    @property
    def notation_line(self) -> str:
        """``notation inferred: logits a, probabilities p, ...``: what the checker took each symbol to be."""
        names = {"logits": "logits", "probs": "probabilities", "labels": "labels", "loss": "loss",
                 "classes": "classes"}
        roles = ", ".join(f"{names[k]} {v}" for k, v in self.notation.get("roles", {}).items() if k in names)
        source = {"front matter": "from the front matter", "document": "inferred",
                  "default": "default"}.get(self.notation.get("source", ""), "")
        target = self.notation.get("target")
        return f"notation {source}: {roles}" + (f"; target {target}" if target else "")

    def count(self, verdict: str) -> int:
        return sum(step.verdict == verdict for step in self.steps)

    @property
    def ok(self) -> bool:
        return self.count("invalid") == 0 and self.count("unknown") == 0

    @property
    def summary(self) -> dict[str, int]:
        return {key: self.count(key) for key in ("valid", "invalid", "unknown")}

    @property
    def exit_code(self) -> int:
        """0 every step valid; 1 some step invalid; 3 none invalid but some undecided (contract §1)."""
        return 1 if self.count("invalid") else 3 if self.count("unknown") else 0

    @property
    def first_invalid(self) -> StepVerdict | None:
        return next((s for s in self.steps if s.verdict == "invalid"), None)

    def as_dict(self) -> dict[str, Any]:
        """Contract §5, strict: a number that is not finite and real is null, with the reason in its step's message."""
        steps = []
        for step in self.steps:
            reasons: list[str] = []
            data = _json_safe(step.as_dict(), reasons, "")
            if reasons:
                data["message"] = f"{data.get('message') or ''} ({'; '.join(reasons)})".lstrip()
            steps.append(data)
        return {"file": self.file, "ok": self.ok, "summary": self.summary, "notation": self.notation,
                "definitions": [_json_safe(vars(d), [], "") for d in self.definitions],
                "steps": steps}

    def to_json(self) -> str:
        """Strict JSON (no NaN or Infinity); control and invisible format characters escaped as \\uXXXX."""
        text = json.dumps(self.as_dict(), indent=2, ensure_ascii=False, allow_nan=False)
        return "".join(f"\\u{ord(char):04x}" if _is_control(char) and char not in "\n" else char
                       for char in text) + "\n"

    def text(self, color: bool = False, full: bool = False) -> str:
        """The report for a terminal; text from the document is shown with control characters escaped, each
        side shortened to 60 characters unless ``full``."""
        from ..render import environment

        marks = {"valid": ("✓", "32"), "invalid": ("✗", "31"), "unknown": ("?", "33")}

        def mark(verdict: str) -> str:
            symbol, code = marks[verdict]
            return f"\033[{code}m{symbol}\033[0m" if color else symbol
        return environment().get_template("check/report.j2").render(report=self.escaped(), mark=mark,
                                                                     width=10 ** 6 if full else 60)

    def escaped(self) -> "Report":
        """A copy whose every string shows control characters as ``\\x1b`` (line breaks as spaces)."""
        steps = [replace(step, **{f.name: escape_text(getattr(step, f.name)) for f in fields(step)
                                  if isinstance(getattr(step, f.name), str)}) for step in self.steps]
        definitions = [replace(d, symbol=escape_text(d.symbol), latex=escape_text(d.latex)) for d in self.definitions]
        return replace(self, file=escape_text(self.file), steps=steps, definitions=definitions)

    def _repr_markdown_(self) -> str:
        rows = ["| line | step | verdict | why |", "|---:|---|---|---|"]
        for step in self.escaped().steps:
            why = "; ".join(x for x in (step.message, step.holds_when and f"holds when {step.holds_when}",
                                        step.diagnosis) if x)
            rows.append(f"| {step.line} | ${step.lhs} = {step.rhs}$ | {step.verdict} | {why.replace('|', '/')} |")
        return f"**{escape_text(self.file)}**: " + ", ".join(f"{v} {k}" for k, v in self.summary.items()) + "\n\n" + "\n".join(rows)

    def __str__(self) -> str:
        return self.text()


def _is_control(char: str) -> bool:
    """C0/C1 controls, DEL, bidirectional and other invisible format characters, line/paragraph separators."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or unicodedata.category(char) in ("Cf", "Zl", "Zp", "Cs")


def escape_text(text: str, keep_lines: bool = False) -> str:
    """``text`` with control characters shown as ``\\x1b`` / ``\\u202e``: input is never echoed raw to a terminal.

    Line breaks and tabs become spaces (or stay, with ``keep_lines``), so one step stays on one line.
    """
    if not any(_is_control(char) for char in text):
        return text
    out = []
    for char in text:
        if char in "\n\t":
            out.append(char if keep_lines else " ")
        elif _is_control(char):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def _json_safe(value: Any, reasons: list[str], where: str) -> Any:
    """``value`` with numbers that JSON cannot carry (inf, NaN, complex) replaced by None, noting why."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        reasons.append(f"{where or 'a value'} is {value!r}, not a finite number")
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v, reasons, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v, reasons, where) for v in value]
    if isinstance(value, complex):
        if value.imag == 0:
            return _json_safe(value.real, reasons, where)
        reasons.append(f"{where or 'a value'} is complex ({value:.6g}), not a real number")
        return None
    try:
        number = float(value)  # numpy and SymPy numbers
    except (TypeError, ValueError):
        try:
            number = complex(value)
        except (TypeError, ValueError):
            return str(value)
        return _json_safe(number, reasons, where)
    return _json_safe(number, reasons, where)


def _counterexample(counterexample: Counterexample) -> dict[str, object]:
    """The counterexample's own dict, or, when its values are not real numbers, the same fields unrounded."""
    try:
        return counterexample.as_dict()
    except (TypeError, ValueError, OverflowError):
        data: dict[str, object] = dict(counterexample.sizes)
        data.update(indices=counterexample.indices, lhs=counterexample.lhs, rhs=counterexample.rhs)
        if counterexample.labels is not None:
            data["labels"] = list(counterexample.labels)
        return data
