"""``derive embed``: fill the ``derive: show`` directives of course notes, like cog.

Markdown:  <!-- derive: show NAME key="value" ... -->  ...generated...  <!-- derive: end -->
LaTeX:     % derive: show NAME key="value" ...          ...generated...  % derive: end

Only the text between a directive and its end marker is ever replaced, so a second run changes nothing and
every other byte of the notes is kept. All directives are rendered before anything is written, and a directive
without its end marker is an error: guessing where the generated text should stop could swallow the author's.

An excerpt (``part=``, ``case=``) numbers its steps from 1 unless ``numbering="global"``; no heading is inserted
unless ``heading="###"`` asks for one; the note's own notation (YAML front matter ``derive:`` in Markdown,
``% derive: KEY = VALUE`` lines in LaTeX) is the default of every directive, and a directive's keys override it.
"""

from __future__ import annotations

import inspect
import os
import re
from dataclasses import dataclass
from typing import Sequence

from .errors import DeriveError, InputError, UsageError

# Each pattern is matched against one line and has no lazy group before an optional tail, so that scanning
# stays linear in the length of a line (a long run of blanks must not cost quadratic time).
_MD_SHOW = re.compile(r"[ \t]*<!--[ \t]*derive:[ \t]*show(?:[ \t]+(?P<args>.*))?")
_MD_END = re.compile(r"[ \t]*<!--[ \t]*derive:[ \t]*end[ \t]*-->[ \t]*")
_TEX_SHOW = re.compile(r"[ \t]*%[ \t]*derive:[ \t]*show(?:[ \t]+(?P<args>.*))?")
_TEX_END = re.compile(r"[ \t]*%[ \t]*derive:[ \t]*end[ \t]*")
_TEX_SETTING = re.compile(r"[ \t]*%[ \t]*derive:[ \t]*(?P<key>[A-Za-z_]+)[ \t]*=(?P<value>.*)")
_ARGUMENT = re.compile(r"""(?P<key>[A-Za-z_]+)\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>\S+))""")
OPTION_KEYS = ("case", "part", "flavor", "method", "detail", "numbering", "heading")
NUMBERINGS = ("local", "global")
LATEX_SUFFIXES = (".tex", ".latex", ".ltx")


@dataclass
class Directive:
    """One ``derive: show`` directive and the lines its generated block occupies."""

    line: int               # 1-based line of the directive
    name: str
    options: dict[str, str]
    start: int              # index of the first line after the directive
    end: int                # index of the end-marker line


@dataclass
class Block:
    directive: Directive
    current: str
    fresh: str

    @property
    def stale(self) -> bool:
        """Whether the notes hold something other than what the directive now produces."""
        return self.current != self.fresh


def parse_arguments(text: str, where: tuple[str, int]) -> tuple[str, dict[str, str]]:
    """The derivation name and the KEY="VALUE" options of a directive."""
    name, _, rest = text.strip().partition(" ")
    options: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _ARGUMENT.match(rest, position)
        if not match:
            shown = rest[position:].split()[0]
            shown = shown if len(shown) <= 40 else shown[:40] + "…"
            raise InputError(f"cannot read directive argument {shown!r}; expected KEY=\"VALUE\"", where[0], where[1])
        value = next(v for v in (match["dq"], match["sq"], match["bare"]) if v is not None)
        options[match["key"]] = value
        position = match.end()
        while position < len(rest) and rest[position].isspace():
            position += 1
    if not name:
        raise InputError("directive without a derivation name", where[0], where[1])
    return name, options


def find_directives(lines: list[str], latex: bool, path: str) -> list[Directive]:
    """Every directive with its end marker; a directive whose end marker is missing is an error at its line."""
    show, end = (_TEX_SHOW, _TEX_END) if latex else (_MD_SHOW, _MD_END)
    marker = "% derive: end" if latex else "<!-- derive: end -->"
    found: list[Directive] = []
    index = 0
    while index < len(lines):
        match = show.fullmatch(lines[index].rstrip("\r\n"))
        if not match:
            index += 1
            continue
        arguments = (match["args"] or "").rstrip()
        if not latex:
            if not arguments.endswith("-->"):
                raise InputError("directive does not end with '-->' on its line", path, index + 1)
            arguments = arguments[:-3]
        name, options = parse_arguments(arguments, (path, index + 1))
        closing = None
        for later in range(index + 1, len(lines)):
            text = lines[later].rstrip("\r\n")
            if end.fullmatch(text):
                closing = later
                break
            if show.fullmatch(text):
                break
        if closing is None:
            raise InputError(f"directive 'show {name}' has no end marker: add a line '{marker}' after it "
                             "(nothing was written)", path, index + 1)
        found.append(Directive(index + 1, name, options, index + 1, closing))
        index = closing + 1
    return found


def note_notation(text: str, lines: list[str], latex: bool, path: str,
                  directives: Sequence[Directive] = ()) -> dict[str, str]:
    """The note's own notation, the default of every directive: YAML front matter ``derive:`` (Markdown) or
    ``% derive: KEY = VALUE`` lines (LaTeX) outside the generated blocks (what derive wrote is not the author's
    notation), validated here so that an error names the note, not a directive."""
    from .notation import Notation

    if latex:
        generated = {index for d in directives for index in range(d.start, d.end)}
        values: dict[str, str] = {}
        for number, line in enumerate(lines, 1):
            if number - 1 in generated:
                continue
            match = _TEX_SETTING.fullmatch(line.rstrip("\r\n"))
            if match:
                values[match["key"]] = match["value"].strip()
                try:
                    Notation().with_values({match["key"]: values[match["key"]]})
                except UsageError as error:
                    raise InputError(f"notation of the note: {error}", path, number) from None
        return values
    from .reading import front_matter

    values = front_matter(text, path)
    try:
        Notation().with_values(values)
    except UsageError as error:
        raise InputError(f"notation in the front matter: {error}", path, 1) from None
    return values


def render_directive(directive: Directive, latex: bool, path: str, defaults: dict[str, str] | None = None,
                     occurrence: int = 1) -> str:
    """The text a directive stands for, ending with a newline: the note's notation overridden by the directive's
    keys, an excerpt numbered from 1 unless ``numbering="global"``, headings only if ``heading`` asks.
    ``occurrence``: how many directives of the note so far show this derivation (their LaTeX labels differ)."""
    from .api import derivation
    from .notation import KEYS

    where = (path, directive.line)
    opts = directive.options
    unknown = [k for k in opts if k not in KEYS and k not in OPTION_KEYS]
    if unknown:
        raise InputError(f"unknown directive key {unknown[0]!r} (known: {', '.join(KEYS + OPTION_KEYS)})", *where)
    numbering = opts.get("numbering", "local")
    if numbering not in NUMBERINGS:
        raise InputError(f"numbering {numbering!r} is not one of: {', '.join(NUMBERINGS)}", *where)
    if latex and "flavor" in opts:
        raise InputError("flavor applies to Markdown notes only (LaTeX has no math flavour)", *where)
    heading = heading_level(opts.get("heading"), latex, where)
    notation = {**(defaults or {}), **{k: v for k, v in opts.items() if k in KEYS}}
    extra = {}
    if "detail" in opts:
        if "detail" not in inspect.signature(derivation).parameters:
            raise InputError("directive key 'detail' is not supported by this version of derive", *where)
        extra["detail"] = opts["detail"]
    try:
        result = derivation(directive.name, opts.get("method", "index"), **extra, **notation)
        part, case = opts.get("part"), opts.get("case")
        text = result.excerpt(part=part, case=case).render(
            "latex" if latex else "markdown", flavor=opts.get("flavor", "dollar"), numbering=numbering,
            heading=heading, occurrence=occurrence, embedded=True)
    except InputError:
        raise
    except DeriveError as error:
        raise InputError(str(error), *where) from None
    text = text.strip("\n")
    if _SETS_CASE.search(text):  # the block's case must not hold for the author's text after it
        text += "\n\n" + ("% derive: case none" if latex else "<!-- derive: case none -->")
    return "\n" + text + "\n\n"


# A generated block that declares a case (a marker, or a LaTeX case paragraph that `derive check` reads as one)
_SETS_CASE = re.compile(r"^[ \t]*(?:<!--[ \t]*derive:[ \t]*case[ \t]|%[ \t]*derive:[ \t]*case[ \t]|\\paragraph\{Case)",
                        re.M)


def heading_level(value: str | None, latex: bool, where: tuple[str, int]) -> int | None:
    """``heading="###"`` as a level (3); LaTeX notes may also name the command (``\\subsection``)."""
    from .render import LATEX_HEADINGS

    if value is None:
        return None
    value = value.strip()
    if re.fullmatch(r"#{1,5}", value):
        return len(value)
    command = value.lstrip("\\").rstrip("*")
    if latex and command in LATEX_HEADINGS:
        return LATEX_HEADINGS.index(command) + 1
    known = "#, ##, ... #####" + (" or " + ", ".join("\\" + c for c in LATEX_HEADINGS) if latex else "")
    raise InputError(f"heading {value!r} is not a heading level ({known})", *where)


def embed(source: str | os.PathLike[str], label: str | None = None) -> tuple[str, list[Block], str]:
    """The notes with every directive filled, their blocks (for --check) and the name of the source in messages.

    ``source`` is a path or ``-`` (standard input), read by derive.reading (regular files only, bounded). Nothing
    is written here, and every directive is rendered before the caller may write: an error leaves the file as
    it was."""
    from .reading import read_text

    original, label = read_text(source, label)
    latex = _is_latex(str(label), original)
    lines = original.splitlines(keepends=True)
    directives = find_directives(lines, latex, label)
    if not directives:
        raise InputError("no 'derive: show' directive found", label)
    defaults = note_notation(original, lines, latex, label, directives)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    out: list[str] = []
    blocks: list[Block] = []
    cursor = 0
    shown: dict[tuple[str, str, str], int] = {}  # copies of one derivation so far: their labels must differ
    for directive in directives:
        same = (directive.name, directive.options.get("method", "index"), directive.options.get("detail", "notes"))
        shown[same] = shown.get(same, 0) + 1
        fresh = render_directive(directive, latex, label, defaults, occurrence=shown[same])
        if newline != "\n":
            fresh = fresh.replace("\n", newline)
        current = "".join(lines[directive.start:directive.end])
        blocks.append(Block(directive, current, fresh))
        out.extend(lines[cursor:directive.start])
        if out and not out[-1].endswith(("\n", "\r")):
            out[-1] += newline
        out.append(fresh)
        out.append(lines[directive.end])
        cursor = directive.end + 1
    out.extend(lines[cursor:])
    return "".join(out), blocks, label


def _is_latex(label: str, text: str) -> bool:
    """LaTeX by the file's suffix; from standard input, by its directives (``% derive: show`` and no
    ``<!-- derive: show``)."""
    if label.lower().endswith(LATEX_SUFFIXES):
        return True
    if label.lower().endswith((".md", ".markdown", ".qmd", ".myst")):
        return False
    has_tex = any(_TEX_SHOW.fullmatch(line) for line in text.splitlines())
    has_md = any(_MD_SHOW.fullmatch(line) for line in text.splitlines())
    return has_tex and not has_md
