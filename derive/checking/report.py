"""The result of ``derive check``: verdicts per step, as text for people, JSON (contract §5), or a table
in Jupyter."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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
                "counterexample": self.counterexample.as_dict() if self.counterexample else None,
                "diagnosis": self.diagnosis}


@dataclass
class Report:
    file: str
    steps: list[StepVerdict]
    definitions: list[Definition] = field(default_factory=list)

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
        return {"file": self.file, "ok": self.ok, "summary": self.summary,
                "definitions": [vars(d) for d in self.definitions],
                "steps": [s.as_dict() for s in self.steps]}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n"

    def text(self, color: bool = False) -> str:
        from ..render import environment

        marks = {"valid": ("✓", "32"), "invalid": ("✗", "31"), "unknown": ("?", "33")}

        def mark(verdict: str) -> str:
            symbol, code = marks[verdict]
            return f"\033[{code}m{symbol}\033[0m" if color else symbol
        return environment().get_template("check/report.j2").render(report=self, mark=mark)

    def _repr_markdown_(self) -> str:
        rows = ["| line | step | verdict | why |", "|---:|---|---|---|"]
        for step in self.steps:
            why = "; ".join(x for x in (step.message, step.holds_when and f"holds when {step.holds_when}",
                                        step.diagnosis) if x)
            rows.append(f"| {step.line} | ${step.lhs} = {step.rhs}$ | {step.verdict} | {why.replace('|', '/')} |")
        return f"**{self.file}**: " + ", ".join(f"{v} {k}" for k, v in self.summary.items()) + "\n\n" + "\n".join(rows)

    def __str__(self) -> str:
        return self.text()
