"""Parse one side of an equation (LaTeX) into a small syntax tree, with columns for error messages.

The tree says how the text is built, not what it means: ``derive.checking.interpret`` gives it meaning under
the notation. Inputs are capped (length, nesting, digits) before Lark sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
import re
from typing import Iterator, Union

MAX_LENGTH = 4000
MAX_DEPTH = 60
MAX_DIGITS = 8


class Unsupported(Exception):
    """The text uses something derive does not read; ``column`` is 1-based within the line, when known."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message, self.column = message, column


@dataclass(frozen=True)
class Num:
    value: str
    col: int


@dataclass(frozen=True)
class Word:
    """Letters (``y``, ``softmax``, ``CE``) or a command (``\\theta``, ``\\log``): ``name`` without backslash."""

    name: str
    col: int
    command: bool = False


@dataclass(frozen=True)
class Label(Word):
    r"""Letters written as text, ``\mathrm{LS}``, ``\text{mean}``, ``\operatorname{softmax}``: a word, never a
    product of letters; as a script on a name (``y^{\mathrm{LS}}``, ``D_{\text{mean}}``) it is part of the name."""


@dataclass(frozen=True)
class Accent:
    """``\\hat{y}``, ``\\boldsymbol{\\theta}``: a decorated name."""

    kind: str
    body: "Node"
    col: int


@dataclass(frozen=True)
class Scripted:
    base: "Node"
    sub: "Node | None" = None
    sup: "Node | None" = None
    primes: int = 0


@dataclass(frozen=True)
class Group:
    """Brackets: ``kind`` is ( [ { or "" for a plain TeX group; ``items`` are comma-separated."""

    kind: str
    items: tuple["Node", ...]
    col: int


@dataclass(frozen=True)
class Frac:
    num: "Node"
    den: "Node"
    col: int


@dataclass(frozen=True)
class Sum:
    """A sum of signed terms: ``terms`` holds (sign, node) with sign +1 or -1."""

    terms: tuple[tuple[int, "Node"], ...]


@dataclass(frozen=True)
class Product:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Rel:
    op: str
    lhs: "Node"
    rhs: "Node"


@dataclass(frozen=True)
class Frobenius:
    """``A : B`` (or ``A \\mathbin{:} B``), the inner product of two matrices."""

    left: "Node"
    right: "Node"
    col: int


@dataclass(frozen=True)
class Divide:
    """``/ b`` inside a product (inline ``a/b``): divides what comes before it by ``b``."""

    divisor: "Node"
    col: int


@dataclass(frozen=True)
class Indicator:
    col: int


@dataclass(frozen=True)
class Cases:
    rows: tuple[tuple["Node", "Node | None"], ...] = field(default_factory=tuple)


Node = Union[Num, Word, Accent, Scripted, Group, Frac, Sum, Product, Rel, Frobenius, Indicator, Cases, Divide]


def walk(node: object) -> Iterator[object]:
    """Every node of a syntax tree (and the tree itself), in no particular order."""
    stack = [node]
    while stack:
        item = stack.pop()
        yield item
        if isinstance(item, tuple):
            stack.extend(item)
        elif hasattr(item, "__dataclass_fields__"):
            stack.extend(getattr(item, name) for name in item.__dataclass_fields__)  # type: ignore[union-attr]


@lru_cache(maxsize=1)
def _parser():  # type: ignore[no-untyped-def]
    from lark import Lark

    grammar = (Path(__file__).parent / "latex.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", maybe_placeholders=False)


def _col(token) -> int:  # type: ignore[no-untyped-def]
    return getattr(token, "column", 0) or 0


def _build(tree) -> Node:  # type: ignore[no-untyped-def]
    """Lark tree -> Node. Iterative depth is bounded by MAX_DEPTH checked beforehand."""
    from lark import Token

    if isinstance(tree, Token):
        return _token(tree)
    kind, kids = tree.data, tree.children
    if kind in ("add", "sub"):
        left = _build(kids[0])
        terms = left.terms if isinstance(left, Sum) else ((1, left),)
        return Sum(terms + ((1 if kind == "add" else -1, _build(kids[2])),))
    if kind == "neg":
        return Sum(((-1, _build(kids[1])),))
    if kind == "pos":
        return _build(kids[1])
    if kind == "frobenius":
        return Frobenius(_build(kids[0]), _build(kids[2]), _col(kids[1]))
    if kind == "product":
        items = tuple(_build(k) for k in kids)
        return items[0] if len(items) == 1 else Product(items)
    if kind == "explicit":
        return _build(kids[1])
    if kind == "explicit_negative":  # a \cdot -b: the factor -b
        return Sum(((-1, _build(kids[2])),))
    if kind == "slash":
        return Divide(_build(kids[1]), _col(kids[0]))
    if kind == "factor":
        node = _build(kids[0])
        for script in kids[1:]:
            node = _script(node, script)
        return node
    if kind == "rel":
        return Rel(str(kids[1]).strip(), _build(kids[0]), _build(kids[2]))
    if kind in ("braced", "group"):
        inner = [k for k in kids if not isinstance(k, Token)]
        return Group("", (_build(inner[0]),), 0) if inner else Group("", (), 0)
    if kind == "empty":
        return Group("", (), 0)
    if kind in ("paren", "bracket", "setbrace"):
        opener = kids[0]
        items = tuple(_build(k) for k in kids[1].children)
        return Group({"paren": "(", "bracket": "[", "setbrace": "{"}[kind], items, _col(opener))
    if kind == "frac":
        parts = [k for k in kids if not isinstance(k, Token)]
        return Frac(_build(parts[0]), _build(parts[1]), _col(kids[0]))
    if kind == "accent":
        name = str(kids[0]).lstrip("\\")
        body = _build(kids[1])
        if isinstance(body, Scripted) and body.sub is not None and body.sup is None and not body.primes:
            return Scripted(Accent(name, body.base, _col(kids[0])), body.sub)  # \hat{y_k} is \hat{y}_k
        return Accent(name, body, _col(kids[0]))
    if kind == "opname":
        return Label(str(kids[1]), _col(kids[0]))
    if kind == "dots":
        return Word("dots", _col(kids[0]), command=True)
    if kind == "indicator":
        return Indicator(_col(kids[0]))
    if kind == "cases":
        rows = []
        for row in kids[1].children:
            if isinstance(row, Token):
                continue
            value, condition = row.children[0], row.children[2]
            rows.append((_build(value), _condition(condition)))
        return Cases(tuple(rows))
    if kind in ("word", "number", "command", "partial"):
        return _token(kids[0])
    raise Unsupported(f"unexpected construct {kind}")


def _condition(tree) -> Node | None:  # type: ignore[no-untyped-def]
    from lark import Token

    parts = [_strip_words(_build(k)) for k in tree.children if not (isinstance(k, Token) and k.type == "COLON")]
    if len(parts) == 1 and isinstance(parts[0], Word) and parts[0].name in ("otherwise", "else"):
        return None
    return parts[0] if len(parts) == 1 else Group(",", tuple(parts), 0)


def _strip_words(node: Node) -> Node:
    """``if i = k`` -> ``i = k``: the words of a cases condition say nothing the relation does not."""
    if isinstance(node, Rel) and isinstance(node.lhs, Product) and isinstance(node.lhs.items[0], Word) \
            and node.lhs.items[0].name in _TEXT_WORDS:
        rest = node.lhs.items[1:]
        return Rel(node.op, rest[0] if len(rest) == 1 else Product(rest), node.rhs)
    return node


def _script(node: Node, script) -> Node:  # type: ignore[no-untyped-def]
    base = node if isinstance(node, Scripted) else Scripted(node)
    if script.data == "prime":
        return Scripted(base.base, base.sub, base.sup, base.primes + 1)
    value = _build(script.children[1])
    label, name = _label_of(value), base.base
    if isinstance(name, Group) and name.kind == "" and len(name.items) == 1:
        name = name.items[0]   # {y}^{\mathrm{LS}}
    if label is not None and isinstance(name, Word) and base.sub is None and base.sup is None \
            and not base.primes and (script.data == "sup" or isinstance(label, Label)):
        mark = "^" if script.data == "sup" else "_"   # y^{LS}, D_{\text{mean}}: a name of its own
        return Word(f"{name.name}{mark}{label.name}", name.col, name.command)
    if script.data == "sub":
        if base.sub is not None:
            raise Unsupported("double subscript", _col(script.children[0]))
        return Scripted(base.base, value, base.sup, base.primes)
    if base.sup is not None:
        raise Unsupported("double superscript", _col(script.children[0]))
    return Scripted(base.base, base.sub, value, base.primes)


def _label_of(value: Node) -> Word | None:
    r"""The word of a script that labels a name rather than indexing or powering it: text (\mathrm{LS}) of two
    letters or more, or capitals (LS, CE); else None."""
    if isinstance(value, Group) and value.kind == "" and len(value.items) == 1:
        value = value.items[0]
    if isinstance(value, Label) and len(value.name) > 1 and value.name.isalpha():
        return value
    if isinstance(value, Group) and value.kind == "(" and len(value.items) == 1 and isinstance(value.items[0], Num) \
            and value.items[0].value.isdigit():   # W^{(2)}: the weights of layer 2, not a square
        return Word(f"({value.items[0].value})", value.col)
    if isinstance(value, Word) and not value.command and len(value.name) > 1 and value.name.isupper():
        return value
    return None


def _token(token) -> Node:  # type: ignore[no-untyped-def]
    text, col = str(token), _col(token)
    if token.type == "NUMBER":
        if len(text.replace(".", "")) > MAX_DIGITS:
            raise Unsupported(f"number {text[:12]}... is too large", col)
        return Num(text, col)
    if token.type in ("COMMAND", "PARTIAL"):
        return Word(text[1:], col, command=True)
    return Word(text, col)


def nesting_depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char in "({[":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")}]":
            depth -= 1
    return deepest


_TEXT_WORDS = ("if", "for", "when", "where", "whenever", "otherwise", "else")


def _as_latex_reads(text: str) -> str:
    """Rewrite what TeX reads differently from its look, in one linear pass: ``{a \\over b}`` is
    ``\\frac{a}{b}``, ``\\theta{_k}`` is ``\\theta_{k}``, and ``\\text{if }`` in a condition is a word."""
    text = text.replace("{_", "_{")
    text = re.sub(r"\\\\\s*\[\s*-?[\d.]+\s*(?:pt|em|ex|mm|cm|in|bp|mu)\s*\]", lambda m: "\\\\" + " " * (len(m.group()) - 2), text)
    for word in _TEXT_WORDS:
        text = re.sub(rf"\\(?:text|mathrm|textrm)\s*\{{\s*{word}\s*[,.;]?\s*\}}", f" {word} ", text)
    if "\\over" not in text:
        return text
    out: list[str] = []
    stack: list[int] = []          # positions in ``out`` where each open group starts
    overs: dict[int, int] = {}     # group start -> position in ``out`` of its \over
    position = 0
    while position < len(text):
        if text.startswith("\\over", position) and not text[position + 5:position + 6].isalpha():
            overs[stack[-1] if stack else -1] = len(out)
            out.append("}{")
            position += 5
            continue
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            out.append(text[position:position + 2])
            position += 2
            continue
        if char == "{":
            stack.append(len(out))
            out.append("{")
        elif char == "}" and stack:
            start = stack.pop()
            if start in overs:
                out[start] = "\\frac{"
            out.append("}")
        else:
            out.append(char)
        position += 1
    if -1 in overs:  # a top-level \over: the whole side is the fraction
        return "\\frac{" + "".join(out) + "}"
    return "".join(out)


def parse(text: str) -> Node:
    """Parse one side of an equation; raise Unsupported with a column on anything we do not read."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

    if len(text) > MAX_LENGTH:
        raise Unsupported(f"expression longer than {MAX_LENGTH} characters", 1)
    if nesting_depth(text) > MAX_DEPTH:
        raise Unsupported(f"brackets nested deeper than {MAX_DEPTH}", 1)
    if not text.strip():
        raise Unsupported("empty expression", 1)
    text = _as_latex_reads(text)
    try:
        return _build(_parser().parse(text))
    except UnexpectedToken as error:
        token = error.token
        if token.type == "$END":
            raise Unsupported("expression ends too early (unbalanced braces?)", len(text)) from None
        found = str(token)
        what = f"unexpected {found!r}" if token.type != "COMMAND" else f"unsupported command {found}"
        raise Unsupported(what, error.column) from None
    except UnexpectedCharacters as error:
        position = error.pos_in_stream if error.pos_in_stream is not None else max(error.column - 1, 0)
        raise Unsupported(f"unexpected character {text[position]!r}", error.column) from None
    except UnexpectedEOF:
        raise Unsupported("expression ends too early (unbalanced braces?)", len(text)) from None
    except UnexpectedInput as error:
        raise Unsupported("cannot read this expression", getattr(error, "column", None)) from None
    except RecursionError:
        raise Unsupported("expression nested too deeply", 1) from None
