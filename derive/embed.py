"""``derive embed``: fill the ``derive: show`` directives of course notes, like cog.

Markdown:  <!-- derive: show NAME key="value" ... -->  ...generated...  <!-- derive: end -->
LaTeX:     % derive: show NAME key="value" ...          ...generated...  % derive: end

Only the text between a directive and its end marker is ever replaced, so a second run changes nothing and
every other byte of the notes is kept. All directives are rendered before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import DeriveError, InputError

_MD_SHOW = re.compile(r"^[ \t]*<!--[ \t]*derive:[ \t]*show[ \t]+(?P<args>.*?)[ \t]*-->[ \t]*$")
_MD_END = re.compile(r"^[ \t]*<!--[ \t]*derive:[ \t]*end[ \t]*-->[ \t]*$")
_TEX_SHOW = re.compile(r"^[ \t]*%[ \t]*derive:[ \t]*show[ \t]+(?P<args>.*?)[ \t]*$")
_TEX_END = re.compile(r"^[ \t]*%[ \t]*derive:[ \t]*end[ \t]*$")
_ARGUMENT = re.compile(r"""(?P<key>[A-Za-z_]+)\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>\S+))""")
OPTION_KEYS = ("case", "part", "flavor", "method")


@dataclass
class Directive:
    line: int               # 1-based line of the directive
    name: str
    options: dict[str, str]
    start: int              # index of the first line after the directive
    end: int | None         # index of the end-marker line, None when the block was never filled


@dataclass
class Block:
    directive: Directive
    current: str
    fresh: str

    @property
    def stale(self) -> bool:
        return self.directive.end is None or self.current != self.fresh


def parse_arguments(text: str, where: tuple[str, int]) -> tuple[str, dict[str, str]]:
    name, _, rest = text.strip().partition(" ")
    options: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _ARGUMENT.match(rest, position)
        if not match:
            raise InputError(f"cannot read directive argument {rest[position:].split()[0]!r}; expected KEY=\"VALUE\"",
                             where[0], where[1])
        value = next(v for v in (match["dq"], match["sq"], match["bare"]) if v is not None)
        options[match["key"]] = value
        position = match.end()
        while position < len(rest) and rest[position].isspace():
            position += 1
    if not name:
        raise InputError("directive without a derivation name", where[0], where[1])
    return name, options


def find_directives(lines: list[str], latex: bool, path: str) -> list[Directive]:
    show, end = (_TEX_SHOW, _TEX_END) if latex else (_MD_SHOW, _MD_END)
    found: list[Directive] = []
    index = 0
    while index < len(lines):
        match = show.match(lines[index].rstrip("\r\n"))
        if not match:
            index += 1
            continue
        name, options = parse_arguments(match["args"], (path, index + 1))
        closing = None
        for later in range(index + 1, len(lines)):
            text = lines[later].rstrip("\r\n")
            if end.match(text):
                closing = later
                break
            if show.match(text):
                break
        found.append(Directive(index + 1, name, options, index + 1, closing))
        index = (closing if closing is not None else index) + 1
    return found


def render_directive(directive: Directive, latex: bool, path: str) -> str:
    """The text a directive stands for, ending with a newline."""
    from .api import derivation
    from .notation import KEYS

    where = (path, directive.line)
    unknown = [k for k in directive.options if k not in KEYS and k not in OPTION_KEYS]
    if unknown:
        raise InputError(f"unknown directive key {unknown[0]!r} (known: {', '.join(KEYS + OPTION_KEYS)})", *where)
    notation = {k: v for k, v in directive.options.items() if k in KEYS}
    opts = directive.options
    try:
        result = derivation(directive.name, opts.get("method", "index"), **notation)
        fmt = "latex" if latex else "markdown"
        parts = (opts["part"],) if "part" in opts else None
        text = result.render(fmt, flavor=opts.get("flavor", "dollar"), parts=parts, case=opts.get("case"),
                             embedded=True)
    except InputError:
        raise
    except DeriveError as error:
        raise InputError(str(error), *where) from None
    return "\n" + text.strip("\n") + "\n\n"


def embed(path: Path) -> tuple[str, list[Block]]:
    """The notes with every directive filled, and the blocks (for --check). Raises before writing anything."""
    try:
        original = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", str(path)) from None
    except (UnicodeDecodeError, IsADirectoryError, OSError) as error:
        raise InputError(f"cannot read: {getattr(error, 'strerror', None) or 'not UTF-8 text'}", str(path)) from None
    latex = path.suffix.lower() in (".tex", ".latex", ".ltx")
    lines = original.splitlines(keepends=True)
    directives = find_directives(lines, latex, str(path))
    if not directives:
        raise InputError("no 'derive: show' directive found", str(path))
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    end_marker = "% derive: end" if latex else "<!-- derive: end -->"
    out: list[str] = []
    blocks: list[Block] = []
    cursor = 0
    for directive in directives:
        fresh = render_directive(directive, latex, str(path))
        if newline != "\n":
            fresh = fresh.replace("\n", newline)
        stop = directive.end if directive.end is not None else directive.start
        current = "".join(lines[directive.start:stop])
        blocks.append(Block(directive, current, fresh))
        out.extend(lines[cursor:directive.start])
        if out and not out[-1].endswith(("\n", "\r")):
            out[-1] += newline
        out.append(fresh)
        if directive.end is not None:
            out.append(lines[directive.end])
            cursor = directive.end + 1
        else:
            out.append(end_marker + newline)
            cursor = directive.start
    out.extend(lines[cursor:])
    return "".join(out), blocks
