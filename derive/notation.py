"""The user's notation (contract §3): parsed and validated without SymPy.

Values are LaTeX, so they cannot simply be escaped; instead they must consist of a small safe vocabulary
(letters, digits, braces, sub/superscripts and whitelisted commands such as ``\\theta`` or ``\\hat``).
Anything else, ``\\input`` included, is rejected before it can reach a document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from .errors import UsageError

KEYS = ("logits", "probs", "labels", "target", "classes", "loss", "linear", "shapes", "batch")

GREEK = (
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi varpi "
    "rho varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma "
    "Upsilon Phi Psi Omega ell"
).split()
ACCENTS = "hat bar tilde vec widehat widetilde overline dot ddot check breve".split()
FONTS = "mathbf boldsymbol mathrm mathit mathcal mathsf mathtt bm operatorname".split()
SAFE_COMMANDS = frozenset(GREEK + ACCENTS + FONTS)
FUNCTION_NAMES = ("softmax", r"\operatorname{softmax}", r"\mathrm{softmax}", r"\sigma", r"\operatorname{S}")

MAX_VALUE_LENGTH = 80
_NAME = r"(?:\\[A-Za-z]+|[A-Za-z])(?:_\{?[A-Za-z0-9]+\}?)?"
_LINEAR = re.compile(rf"^\s*(?P<logits>{_NAME})\s*=\s*(?P<weights>{_NAME})\s*(?P<input>{_NAME})"
                     rf"\s*\+\s*(?P<bias>{_NAME})\s*$")
_ROWS = re.compile(r"^\s*(?P<logits>\\?[A-Za-z]+)_\{?(?P<i>[a-z])\}?\s*=\s*(?P<weights>\\?[A-Za-z]+)_\{?(?P=i)\}?\s*"
                   r"(?P<input>\\?[A-Za-z]+)(?:\s*\+\s*(?P<bias>\\?[A-Za-z]+)_\{?(?P=i)\}?)?\s*$")  # f_j = w_j x + b_j
_TOKEN = re.compile(r"\\[A-Za-z]+|[A-Za-z0-9]|[{}_^' ]|.", re.S)
_TARGET = re.compile(r"^(one-hot|class|distribution|any)(?:\s+([A-Za-z](?:_\{?[A-Za-z0-9]\}?)?))?$")


def check_latex_value(key: str, value: str) -> str:
    """Return ``value`` if it is a safe LaTeX symbol, else raise UsageError naming the offending part."""
    value = value.strip()
    if not value:
        raise UsageError(f"notation {key}: empty value")
    if len(value) > MAX_VALUE_LENGTH:
        raise UsageError(f"notation {key}: value longer than {MAX_VALUE_LENGTH} characters")
    depth = 0
    for token in _TOKEN.findall(value):
        if token.startswith("\\") and len(token) > 1:
            if token[1:] not in SAFE_COMMANDS:
                raise UsageError(f"notation {key}: LaTeX command {token} is not allowed in a symbol")
        elif token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth < 0:
                raise UsageError(f"notation {key}: unbalanced braces in {value!r}")
        elif not (token.isalnum() or token in "_^' "):
            raise UsageError(f"notation {key}: character {token!r} is not allowed in a symbol")
    if depth:
        raise UsageError(f"notation {key}: unbalanced braces in {value!r}")
    return value


@dataclass(frozen=True)
class Target:
    """What the labels are: one-hot (hot index maybe named), a class index, a distribution, or anything."""

    kind: str = "one-hot"
    name: str | None = None

    @classmethod
    def parse(cls, text: str) -> "Target":
        match = _TARGET.match(" ".join(text.split()))
        if not match:
            raise UsageError(
                f"notation target: {text!r} is not one of 'one-hot', 'one-hot k', 'class c', 'distribution', 'any'")
        kind, name = match.groups()
        if kind == "class" and not name:
            raise UsageError("notation target: 'class' needs the name of the label, e.g. 'class c'")
        if kind in ("distribution", "any") and name:
            raise UsageError(f"notation target: '{kind}' takes no index name")
        return cls(kind, name)

    @property
    def assumption(self) -> str | None:
        """The assumption that lets the one-hot step apply (contract §4 ``assumes``)."""
        return {"one-hot": "one-hot", "class": "one-hot", "distribution": "sum-to-one"}.get(self.kind)

    def __str__(self) -> str:
        return f"{self.kind} {self.name}" if self.name else self.kind


@dataclass(frozen=True)
class Notation:
    """Validated notation; ``probs`` keeps every spelling the user allows, the first one is used for output."""

    logits: str = "z"
    probs: tuple[str, ...] = (r"\hat{y}",)
    labels: str = "y"
    target: Target = field(default_factory=Target)
    classes: str = "n"
    loss: str = "L"
    linear: str | None = None
    shapes: str | None = None
    batch: str = "N"

    @property
    def probs_symbol(self) -> str:
        """The probabilities as written in output: the first plain symbol, else the first function name."""
        return self.probs[0]

    @property
    def probs_is_function(self) -> bool:
        return self.probs[0] in FUNCTION_NAMES

    @property
    def linear_names(self) -> tuple[str, str, str, str]:
        """(logits, weights, input, bias) from ``linear`` such as ``o = Wx + b`` or the row form ``f_j = w_j x``
        (whose bias, if not written, is b); defaults z, W, x, b."""
        if not self.linear:
            return (self.logits, "W", "x", "b")
        match = _ROWS.match(self.linear) or _LINEAR.match(self.linear)
        assert match, "validated in with_values"
        return match["logits"], match["weights"], match["input"], match["bias"] or "b"

    @property
    def linear_rows(self) -> bool:
        """Whether the layer was written row by row (f_j = w_j x): row k of the weights is then w_k."""
        return bool(self.linear) and _ROWS.match(self.linear) is not None

    def with_values(self, values: Mapping[str, str]) -> "Notation":
        """A copy with ``values`` (raw strings, as from the CLI or front matter) validated and applied."""
        changes: dict[str, object] = {}
        for key, raw in values.items():
            if key not in KEYS:
                raise UsageError(f"unknown notation key {key!r} (known: {', '.join(KEYS)})")
            raw = str(raw)
            if key == "probs":
                items = [item.strip() for item in raw.strip().strip("[]").split(",") if item.strip()]
                if not items:
                    raise UsageError("notation probs: empty value")
                changes[key] = tuple(check_latex_value(key, item) for item in items)
            elif key == "target":
                changes[key] = Target.parse(raw)
            elif key == "linear":
                value = _check_plain(key, raw)
                match = _ROWS.match(value) or _LINEAR.match(value)
                if not match:
                    raise UsageError(f"notation linear: {raw!r} is not of the form 'o = Wx + b' or 'f_j = w_j x'")
                for name, part in match.groupdict().items():
                    if part is not None and name != "i":
                        check_latex_value(key, part)
                changes[key] = value
                changes.setdefault("logits", match["logits"])
            elif key == "shapes":
                changes[key] = _check_plain(key, raw)
            else:
                changes[key] = check_latex_value(key, raw)
        return replace(self, **changes)

    def as_dict(self) -> dict[str, object]:
        return {"logits": self.logits, "probs": list(self.probs), "labels": self.labels,
                "target": str(self.target), "classes": self.classes, "loss": self.loss,
                "linear": self.linear, "shapes": self.shapes, "batch": self.batch}


def _check_plain(key: str, raw: str) -> str:
    """``linear`` and ``shapes`` are small formulas; allow only their characters."""
    raw = raw.strip()
    if not raw or len(raw) > 200 or not re.fullmatch(r"[A-Za-z0-9_^{}\\ =+:,x×\-]*", raw):
        raise UsageError(f"notation {key}: {raw!r} is not a valid value")
    return raw


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """Split ``KEY=VALUE`` strings from the command line."""
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"notation {item!r}: expected KEY=VALUE")
        values[key.strip()] = value
    return values


def notation_from(values: Mapping[str, str] | None = None) -> Notation:
    return Notation().with_values(values or {})
