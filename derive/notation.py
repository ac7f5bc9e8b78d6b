"""The user's notation (contract §3): parsed and validated without SymPy.

Values are LaTeX, so they cannot simply be escaped; instead they must consist of a small safe vocabulary
(letters, digits, braces, sub/superscripts and whitelisted commands such as ``\\theta`` or ``\\hat``).
Anything else, ``\\input`` included, is rejected before it can reach a document.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from .errors import UsageError

KEYS = ("logits", "probs", "labels", "target", "classes", "loss", "linear", "shapes", "batch", "temperature",
        "smoothing", "margin", "activation")

GREEK = (
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi varpi "
    "rho varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma "
    "Upsilon Phi Psi Omega ell"
).split()
ACCENTS = "hat bar tilde vec widehat widetilde overline dot ddot check breve".split()
FONTS = "mathbf boldsymbol mathrm mathit mathcal mathsf mathtt bm operatorname".split()
WORD_FONTS = frozenset("mathrm mathit mathsf mathtt operatorname".split())  # may hold a multi-letter name
SCRIPT_COMMANDS = frozenset(GREEK + ["top", "prime", "ast", "star"])
SAFE_COMMANDS = frozenset(GREEK + ACCENTS + FONTS)
FUNCTION_NAMES = ("softmax", r"\operatorname{softmax}", r"\mathrm{softmax}", r"\sigma", r"\operatorname{S}")
ACTIVATIONS = ("tanh", "relu")

# Index names every derivation prints (i, j, k): no role may take one. Others are printed by some derivations only
# (c the class label, s t examples of a batch, l r inputs of a layer): scripts may not use them (``W_{t}`` reads as
# indexed), and ``Notation.for_derivation`` refuses roles named so where the derivation prints them.
INDEX_NAMES = frozenset("i j k".split())
SCRIPT_INDEX_NAMES = INDEX_NAMES | frozenset("c l r s t".split())
OPTIONAL_ROLES = ("batch", "temperature", "smoothing", "margin")
# Symbols the derivations print with a meaning of their own.
RESERVED = {"e": "Euler's number e", r"\delta": "the Kronecker delta", "d": "the differential d"}
# Roles printed with an index appended (z_{k}): a subscript of their own would be a double subscript.
INDEXED_ROLES = frozenset(("logits", "probs", "labels"))

MAX_VALUE_LENGTH = 80
_NAME = r"(?:\\[A-Za-z]+|[A-Za-z])(?:_\{?[A-Za-z0-9]+\}?)?"
_LINEAR = re.compile(rf"^\s*(?P<logits>{_NAME})\s*=\s*(?P<weights>{_NAME})\s*(?P<input>{_NAME})"
                     rf"\s*\+\s*(?P<bias>{_NAME})\s*$")
_ROWS = re.compile(r"^\s*(?P<logits>\\?[A-Za-z]+)_\{?(?P<i>[a-z])\}?\s*=\s*(?P<weights>\\?[A-Za-z]+)_\{?(?P=i)\}?\s*"
                   r"(?P<input>\\?[A-Za-z]+)(?:\s*\+\s*(?P<bias>\\?[A-Za-z]+)_\{?(?P=i)\}?)?\s*$")  # f_j = w_j x + b_j
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.?|.", re.S)
_TARGET = re.compile(r"^(one-hot|class|distribution|any)(?:\s+([A-Za-z](?:_\{?[A-Za-z0-9]\}?)?))?$")
_SHAPE = re.compile(r"\s*[A-Za-z]{1,8}\s*:\s*\d{1,4}\s*(?:[x×]\s*\d{1,4}\s*)?")
_SCRIPT_CHARS = frozenset("()+-,*")
_WORD_NAME = re.compile(r"[A-Z][A-Za-z]{1,5}")  # a loss named CE, NLL, BCE, KL: capitalised and short


class _Bad(Exception):
    """A value that is not a symbol: ``reason`` and the 1-based column it concerns."""

    def __init__(self, reason: str, column: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.column = reason, column


def _where(column: int | None) -> str:
    return f" (column {column})" if column else ""


def check_latex_value(key: str, value: str, *, words: bool = False, indexed: bool = False) -> str:
    """Return ``value`` (stripped) if it is one well-formed symbol, else raise UsageError naming key and reason.

    Values are LaTeX that reaches generated documents, so they are matched against an allow-list grammar
    (letter, Greek, accent or font command; primes; one subscript and one superscript) rather than escaped:
    ``^^5c`` is a backslash to TeX, and ``\\input`` reads files. ``words`` allows a multi-letter name (``CE``);
    ``indexed`` refuses sub- and superscripts on roles that derive appends an index, a transpose or a power to.
    """
    value = str(value).strip()
    if not value:
        raise UsageError(f"notation {key}: empty value")
    try:
        _screen(value)
        if len(value) > MAX_VALUE_LENGTH:
            raise _Bad(f"value longer than {MAX_VALUE_LENGTH} characters")
        _Symbol(value, words=words, indexed=indexed).parse()
    except _Bad as bad:
        raise UsageError(f"notation {key}: {bad.reason}{_where(bad.column)}") from None
    return value


def _screen(value: str) -> None:
    """Checks that come before the grammar, so that their message is the specific one."""
    for position, char in enumerate(value):
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or char in "\x85\xa0":
            raise _Bad(f"control character {char!r} is not allowed", position + 1)
    caret = value.find("^^")
    if caret >= 0:
        raise _Bad("'^^' is a TeX character escape, not allowed", caret + 1)
    opened: list[int] = []
    escaped = False
    for position, char in enumerate(value):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "{":
            opened.append(position + 1)
        elif char == "}":
            if not opened:
                raise _Bad("unbalanced brace: '}' closes nothing", position + 1)
            opened.pop()
    if opened:
        raise _Bad("unbalanced brace: '{' is never closed", opened[-1])


class _Symbol:
    """A recursive-descent reader of one symbol over tokens (commands, single characters)."""

    def __init__(self, value: str, words: bool, indexed: bool) -> None:
        self.tokens: list[tuple[str, int]] = [(m.group(), m.start() + 1) for m in _TOKEN.finditer(value)]
        self.at = 0
        self.words, self.indexed = words, indexed

    def peek(self) -> str:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else ""

    def column(self) -> int | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        self.at += 1
        return token

    def skip_spaces(self) -> None:
        """Spaces are allowed only where TeX ignores them: after a command word."""
        while self.peek() == " ":
            self.at += 1

    def parse(self) -> None:
        name = self.nucleus(top=True)
        if name in RESERVED:
            raise _Bad(f"{name} is {RESERVED[name]} in the derivations")
        if name in INDEX_NAMES:
            raise _Bad(f"{name} is an index name in the derivations (as in z_{name})")
        while self.peek() == "'":
            self.take()
        seen: set[str] = set()
        while self.peek() in ("_", "^"):
            kind = self.peek()
            column = self.column()
            self.take()
            what = "subscript" if kind == "_" else "superscript"
            if kind in seen:
                raise _Bad(f"more than one {what}", column)
            seen.add(kind)
            self.script(what, column)
            if kind == "_" and self.indexed:
                raise _Bad("derive writes this role's index itself (z_{k}); a subscript of its own would make a "
                           "double subscript", column)
            if kind == "^" and self.indexed:
                raise _Bad("derive writes transposes and powers on this role (z^{\\top}); a superscript of its own "
                           "would make a double superscript (primes are allowed)", column)
        if self.peek() == "'":
            raise _Bad("a prime goes right after the letter (p'_1), not after a script", self.column())
        if self.at < len(self.tokens):
            token, column = self.tokens[self.at]
            if token == " ":
                raise _Bad("a space between two symbols: a value is one symbol", column)
            raise _Bad(self.unexpected(token), column)

    def unexpected(self, token: str) -> str:
        if token.startswith("\\") and len(token) > 1 and token[1:].isalpha():
            return f"LaTeX command {token} is not allowed in a symbol"
        if token in ("{", "}"):
            return f"brace {token!r} is not allowed here"
        if not token.isascii():
            return f"character {token!r} is not allowed (write it as a LaTeX command, e.g. \\theta)"
        return f"character {token!r} is not allowed in a symbol"

    def nucleus(self, top: bool = False) -> str:
        """A letter (or a run of letters where ``words``), a Greek letter, or an accent/font applied to one."""
        token, column = self.peek(), self.column()
        if not token or token == "}":
            raise _Bad("a letter or command is missing", column)
        if token.isascii() and token.isalpha() and len(token) == 1:
            start = self.at
            while self.peek().isascii() and self.peek().isalpha() and len(self.peek()) == 1:
                self.take()
            word = "".join(t for t, _ in self.tokens[start:self.at])
            if len(word) > 1 and not (self.words and top and _WORD_NAME.fullmatch(word)):
                raise _Bad(f"{word!r} reads as a product of {len(word)} symbols; write \\mathrm{{{word}}} "
                           f"for a name of several letters", column)
            return word
        if not (token.startswith("\\") and token[1:].isalpha()):
            raise _Bad(self.unexpected(token), column)
        command = token[1:]
        self.take()
        if command in GREEK:
            return token
        if command in ACCENTS or command in FONTS:
            self.skip_spaces()
            if self.peek() == "{":
                self.take()
                if command in WORD_FONTS:
                    inner = self.word(column)
                else:
                    inner = self.nucleus()
                if self.peek() != "}":
                    raise _Bad(f"\\{command}{{...}} holds one symbol only", self.column())
                self.take()
                return f"{token}{{{inner}}}"
            if command in WORD_FONTS or command == "operatorname":
                raise _Bad(f"\\{command} needs its argument in braces", column)
            if self.peek()[1:] in ACCENTS or self.peek()[1:] in FONTS:  # TeX gives \hat the bare \mathbf
                raise _Bad(f"\\{command} of {self.peek()} needs braces: \\{command}{{{self.peek()}{{...}}}}",
                           self.column())
            inner = self.nucleus()
            return f"{token}{{{inner}}}"
        raise _Bad(self.unexpected(token), column)

    def word(self, column: int | None) -> str:
        """The letters of ``\\operatorname{...}`` or ``\\mathrm{...}``."""
        start = self.at
        while self.peek().isascii() and self.peek().isalpha() and len(self.peek()) == 1:
            self.take()
        if self.at == start:
            if self.peek().startswith("\\"):
                return self.nucleus()
            raise _Bad("a name of letters is expected in braces", self.column() or column)
        return "".join(t for t, _ in self.tokens[start:self.at])

    def script(self, what: str, column: int | None) -> None:
        """One sub- or superscript: a letter, digit or Greek letter, or a short braced group of them."""
        token = self.peek()
        if not token or token == " ":
            raise _Bad(f"'{'_' if what == 'subscript' else '^'}' has no {what}", column)
        if token == "{":
            self.take()
            start = self.at
            while self.peek() not in ("}", ""):
                item, item_column = self.take(), self.tokens[self.at - 1][1]
                if item.startswith("\\") and item[1:] in SCRIPT_COMMANDS:
                    continue
                if (item.isascii() and item.isalnum()) or item in _SCRIPT_CHARS:
                    continue
                if item == "{":
                    raise _Bad(f"nested braces in a {what}", item_column)
                raise _Bad(self.unexpected(item), item_column)
            body = [t for t, _ in self.tokens[start:self.at]]
            self.take()
            if not body:
                raise _Bad(f"empty {what}", column)
        elif (token.isascii() and token.isalnum() and len(token) == 1) or \
                (token.startswith("\\") and token[1:] in SCRIPT_COMMANDS):
            body = [self.take()]
        else:
            raise _Bad(self.unexpected(token), self.column())
        letters = "".join(t for t in body if t.isalpha() and len(t) == 1)
        if letters and len(letters) == len([t for t in body if t not in "()"]) and \
                all(letter in SCRIPT_INDEX_NAMES for letter in letters):
            raise _Bad(f"the {what} {letters} is an index name in the derivations; "
                       f"derive writes indices itself", column)


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
    temperature: str = "T"
    smoothing: str = r"\varepsilon"
    margin: str = r"\Delta"
    activation: str = "tanh"

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
        (a bias not written is named b, but :attr:`linear_bias` says it is absent); defaults z, W, x, b."""
        if not self.linear:
            return (self.logits, "W", "x", "b")
        match = _ROWS.match(self.linear) or _LINEAR.match(self.linear)
        assert match, "validated in with_values"
        return match["logits"], match["weights"], match["input"], match["bias"] or "b"

    @property
    def linear_bias(self) -> bool:
        """Whether the layer adds a bias: ``o = Wx + b`` does, the row form ``f_j = w_j x`` only when the user
        writes one (``f_j = w_j x + c_j``). Without ``linear`` the catalogue's layer is ``o = Wx + b``."""
        if not self.linear:
            return True
        rows = _ROWS.match(self.linear)
        return rows is None or rows["bias"] is not None

    @property
    def linear_rows(self) -> bool:
        """Whether the layer was written row by row (f_j = w_j x): row k of the weights is then w_k."""
        return bool(self.linear) and _ROWS.match(self.linear) is not None

    def with_values(self, values: Mapping[str, str]) -> "Notation":
        """A copy with ``values`` (raw strings, as from the CLI or front matter) validated and applied.

        Each value must be one symbol (``check_latex_value``), and the roles must stay distinct from each other and
        from the derivations' indices: ``logits=y`` would silently differentiate by the labels.
        """
        changes: dict[str, object] = {}
        for key, raw in values.items():
            key = str(key)
            if key not in KEYS:
                raise UsageError(f"unknown notation key {key!r} (known: {', '.join(KEYS)})")
            raw = str(raw)
            if key == "probs":
                items = [item.strip() for item in raw.strip().strip("[]").split(",") if item.strip()]
                if not items:
                    raise UsageError("notation probs: empty value")
                if len(items) > 8:
                    raise UsageError("notation probs: more than 8 spellings")
                changes[key] = tuple(item if item in FUNCTION_NAMES else check_latex_value(key, item, indexed=True)
                                     for item in items)
            elif key == "target":
                changes[key] = Target.parse(raw)
            elif key == "linear":
                value = _check_plain(key, raw)
                match = _ROWS.match(value) or _LINEAR.match(value)
                if not match:
                    raise UsageError(f"notation linear: {value!r} is not of the form 'o = Wx + b' or 'f_j = w_j x'")
                for name, part in match.groupdict().items():
                    if part is not None and name != "i":
                        check_latex_value(key, part)
                changes[key] = value
                changes.setdefault("logits", match["logits"])
            elif key == "shapes":
                value = _check_plain(key, raw)
                if not all(_SHAPE.fullmatch(item) for item in value.split(",")):
                    raise UsageError(f"notation shapes: {value!r} is not of the form 'W: 4x3, x: 3, b: 4'")
                changes[key] = value
            elif key == "activation":
                value = raw.strip()
                if value not in ACTIVATIONS:
                    raise UsageError(f"notation activation: {value!r} is not one of {', '.join(ACTIVATIONS)}")
                changes[key] = value
            else:
                changes[key] = check_latex_value(key, raw, words=key == "loss", indexed=key in INDEXED_ROLES)
        result = replace(self, **changes)
        result._check_distinct(set(changes), set(changes))
        return result

    def _roles(self, given: set[str]) -> list[tuple[str, str]]:
        """(role, symbol) pairs that must be distinct: the core roles always, optional ones only when given."""
        roles = [("logits", self.logits), ("labels", self.labels), ("classes", self.classes), ("loss", self.loss)]
        roles += [("probs", p) for p in self.probs if p not in FUNCTION_NAMES]
        roles += [(key, getattr(self, key)) for key in OPTIONAL_ROLES if key in given]
        match = self.linear and (_ROWS.match(self.linear) or _LINEAR.match(self.linear))
        if match:
            roles += [("linear weights", match["weights"]), ("linear input", match["input"])]
            if match["bias"]:
                roles.append(("linear bias", match["bias"]))
        return roles

    def for_derivation(self, indices: Iterable[str] = (), roles: Iterable[str] = ()) -> "Notation":
        """Check this notation against one derivation and return it: no role symbol is one of the ``indices`` it
        prints (``labels=t`` in the batch derivation would give t_{tk}), and the optional ``roles`` it uses
        (``batch``, ``temperature`` ...) are distinct from the others even when left at their defaults."""
        used = set(roles)
        self._check_distinct(used, None)
        printed = {_canonical(name) for name in indices}
        for role, symbol in self._roles(used):
            if _canonical(symbol) in printed:
                raise UsageError(f"notation {role.split()[0]}: {symbol} is an index name in this derivation "
                                 f"(as in z_{symbol}); choose another symbol")
        return self

    def _check_distinct(self, include: set[str], given: set[str] | None) -> None:
        """Two roles never share a symbol; none is the class label's name. ``include``: optional roles to check;
        ``given``: the keys the user set (named first in the message), None when unknown."""
        owner: dict[str, str] = {}
        for role, symbol in self._roles(include):
            canonical = _canonical(symbol)
            if canonical in owner and owner[canonical] != role:
                first, second = owner[canonical], role
                if given is not None and second.split()[0] in given and first.split()[0] not in given:
                    first, second = second, first
                hint = "" if given is None or second.split()[0] in given else \
                    f" (its default: give {second.split()[0]} another)"
                raise UsageError(f"notation {first}: {symbol} is also the symbol of {second}{hint}; "
                                 f"two roles cannot share a symbol")
            owner.setdefault(canonical, role)
        name = self.target.name
        if name and _canonical(name) in owner:
            raise UsageError(f"notation target: the label name {name} is also the symbol of "
                             f"{owner[_canonical(name)]}")

    def as_dict(self) -> dict[str, object]:
        return {"logits": self.logits, "probs": list(self.probs), "labels": self.labels,
                "target": str(self.target), "classes": self.classes, "loss": self.loss,
                "linear": self.linear, "shapes": self.shapes, "batch": self.batch,
                "temperature": self.temperature, "smoothing": self.smoothing, "margin": self.margin,
                "activation": self.activation}


def _canonical(symbol: str) -> str:
    """A symbol compared up to spaces and braces: ``\\hat y`` and ``\\hat{y}`` are the same symbol."""
    return re.sub(r"[\s{}]", "", symbol)


def _check_plain(key: str, raw: str) -> str:
    """``linear`` and ``shapes`` are small formulas; allow only their characters (no ``^``: TeX's ``^^`` escape)."""
    raw = raw.strip()
    if not raw or len(raw) > 200 or not re.fullmatch(r"[A-Za-z0-9_{}\\ =+:,x×]*", raw):
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
