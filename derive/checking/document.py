"""Read a hand-written derivation (Markdown or LaTeX): notation, case declarations and display math,
split into chains of equalities. Every side keeps its offset in the file, so errors name line and column.

Removed syntax (alignment ``&``, annotations after ``&&``, ``\\label``, row breaks) is blanked with spaces
rather than cut, which keeps every offset valid without bookkeeping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..reading import decode, front_matter, read_text

MAX_FILE_BYTES = 1_000_000

_MD_MARKER = re.compile(r"<!--[ \t]*derive:[ \t]*case[ \t]+(?P<case>[^\n>]{0,200}?)[ \t]*-->")
_TEX_MARKER = re.compile(r"^[ \t]*%[ \t]*derive:[ \t]*case[ \t]+(?P<case>[^\n]{0,200})$", re.M)
_TEX_SETTING = re.compile(r"^[ \t]*%[ \t]*derive:[ \t]*(?P<key>[A-Za-z]+)[ \t]*=[ \t]*(?P<value>[^\n]{0,400})$", re.M)
_MD_HEADING = re.compile(r"^#{1,6}[ \t]+(?P<title>.*)$", re.M)
_TEX_HEADING = re.compile(r"\\(?:sub)*section\*?\{(?P<title>[^}]*)\}|\\paragraph\*?\{(?P<title2>[^}]*)\}")
_CASE_IN_TEXT = re.compile(r"(?<![A-Za-z\\])([a-z])\s*(=|\\neq|\\ne|≠|!=)\s*([a-z])(?![A-Za-z_])")
_CASE_WORDS = re.compile(r"\b(case|when|where|if|for|whenever)\b[^.;]{0,28}$", re.I)


@dataclass
class Side:
    text: str
    offset: int


@dataclass
class Chain:
    """``A = B = C`` in one block: sides and the offsets of the ``=`` between them."""

    sides: list[Side]
    equals: list[int]
    case: str | None
    case_offset: int | None = None
    inline: bool = False   # from inline math: read for definitions only, never checked as steps
    row_case: str | None = None   # "..., \\quad i = j" at the end of a row: the case of that row's steps


@dataclass
class Document:
    path: str
    text: str
    kind: str
    settings: dict[str, str]
    chains: list[Chain] = field(default_factory=list)
    math_blocks: int = 0

    math_spans: list[tuple[int, int]] = field(default_factory=list)

    def prose(self) -> str:
        """The text outside display math (inline math kept): where a document says what its symbols are."""
        parts, start = [], 0
        for begin, end in self.math_spans:
            parts.append(self.text[start:begin])
            start = end
        parts.append(self.text[start:])
        return " ".join(parts)

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of an offset."""
        line = self.text.count("\n", 0, offset) + 1
        start = self.text.rfind("\n", 0, offset) + 1
        return line, offset - start + 1


def load(path_or_text: str | Path, name: str | None = None) -> Document:
    """Read a file (or the text itself, when it is not a path) into a Document."""
    text, label, kind = _read(path_or_text, name)
    settings: dict[str, str] = {}
    if kind == "markdown":
        settings = _front_matter(text, label)
    else:
        settings = {m["key"]: m["value"].strip() for m in _TEX_SETTING.finditer(text) if m["key"] != "case"}
    document = Document(label, text, kind, settings)
    _scan(document)
    return document


def _read(path_or_text: str | Path, name: str | None) -> tuple[str, str, str]:
    """Text given directly, or a file read by derive.reading (bounded, regular files only, ``-`` is stdin)."""
    looks_like_text = isinstance(path_or_text, str) and ("\n" in path_or_text or "$" in path_or_text
                                                          or "\\" in path_or_text) \
        and not ("\n" not in path_or_text and "\x00" not in path_or_text and len(path_or_text) < 4096
                 and Path(path_or_text).is_file())   # a file named a$b.md is still a file
    if looks_like_text:
        text, label = str(path_or_text), name or "<text>"
        if len(text) > MAX_FILE_BYTES:
            raise InputError(f"text longer than {MAX_FILE_BYTES} characters", label)
        text = decode(text.encode("utf-8", "surrogatepass"), label)
    else:
        text, label = read_text(path_or_text, name)
    suffix = Path(label).suffix.lower()
    if suffix in (".tex", ".latex", ".ltx"):
        kind = "latex"
    elif suffix in (".md", ".markdown", ".mdown", ".txt", ".qmd", ".myst"):
        kind = "markdown"
    else:
        kind = "latex" if ("\\begin{document}" in text or _TEX_SETTING.search(text)) else "markdown"
    return text, label, kind


def _front_matter(text: str, label: str) -> dict[str, str]:
    """The ``derive:`` keys of YAML front matter; no alias expansion, capped size (derive.reading)."""
    return front_matter(text, label)


def _scan(document: Document) -> None:
    """Walk the file in order: headings and case markers set the case, display blocks give chains."""
    text = document.text
    masked = _mask_code_fences(text) if document.kind == "markdown" else text
    events: list[tuple[int, str, str | None]] = []
    marker = _MD_MARKER if document.kind == "markdown" else _TEX_MARKER
    events += [(m.start(), "case", m["case"].strip()) for m in marker.finditer(masked)]
    heading = _MD_HEADING if document.kind == "markdown" else _TEX_HEADING
    events += [(m.start(), "heading", m.group(m.lastindex or 0)) for m in heading.finditer(masked)]
    blocks = list(_blocks(masked))
    events += [(m.start(), "block", None) for m in blocks]
    events.sort(key=lambda e: e[0])
    by_start = {m.start(): m for m in blocks}
    case: str | None = None
    case_offset: int | None = None
    previous_end = 0
    for offset, kind, value in events:
        if kind == "case":
            case, case_offset = (None if value.strip().lower() in ("none", "all") else value.strip()), offset
        elif kind == "heading":
            case, case_offset = _case_in(value or "", heading=True), offset
        else:
            match = by_start[offset]
            if offset < previous_end:
                continue
            name = match.lastgroup and next(g for g in ("fence", "dollars", "brackets", "env") if match[g])
            body_start, body = match.start(f"{name}_body"), match[f"{name}_body"]
            local = _case_in(_sentence_before(masked, previous_end, offset))
            document.math_blocks += 1
            document.math_spans.append((match.start(), match.end()))
            for chain in _chains(body, body_start):
                if not chain.sides[0].text.strip() and document.chains:  # "= ..." goes on from the last block
                    previous = document.chains[-1]
                    previous.sides.extend(chain.sides[1:])
                    previous.equals.extend(chain.equals)
                    continue
                chain.case, chain.case_offset = (local, offset) if local else (case, case_offset)
                if chain.row_case:
                    chain.case, chain.case_offset = chain.row_case, chain.sides[0].offset
                document.chains.append(chain)
            previous_end = match.end()
    document.chains.extend(_inline_definitions(masked, document.math_spans))
    document.chains.sort(key=lambda chain: chain.sides[0].offset)


_INLINE = re.compile(r"(?<![$\\])\$(?!\$)(?P<body>[^$\n]{1,400}?)(?<!\\)\$|\\\((?P<paren>[^\n]{1,400}?)\\\)")


def _inline_definitions(text: str, display: list[tuple[int, int]]) -> list[Chain]:
    """Inline math that may define a symbol (``$S = \\sum_m e^{z_m}$``): chains marked ``inline``."""
    found: list[Chain] = []
    start = 0
    for begin, end in display + [(len(text), len(text))]:
        for match in _INLINE.finditer(text, start, begin):
            name = "body" if match["body"] is not None else "paren"
            body, offset = match[name], match.start(name)
            if len(body) > 2 and body[0] == "`" and body[-1] == "`":  # GitHub's $`...`$
                body, offset = body[1:-1], offset + 1
            if "=" not in body and not _DEFINES.search(body):
                continue
            for chain in _chains(body, offset):
                chain.inline = True
                found.append(chain)
        start = end
    return found


_OPENERS = re.compile(r"^```math[ \t]*\n|\$\$|\\\[|\\begin\{(equation\*?|align\*?|gather\*?|multline\*?|eqnarray\*?)\}",
                      re.M)


class _Block:
    """One display block: the same interface as the regex match it replaces (start, end, lastgroup, groups)."""

    def __init__(self, name: str, start: int, body_start: int, body_end: int, end: int, text: str) -> None:
        self.lastgroup, self._start, self._end = name, start, end
        self._body = (body_start, body_end, text[body_start:body_end])
        self.groups_ = {name: True, f"{name}_body": self._body[2]}

    def start(self, group: str | None = None) -> int:
        return self._body[0] if group else self._start

    def end(self) -> int:
        return self._end

    def __getitem__(self, group: str):  # type: ignore[no-untyped-def]
        return self.groups_.get(group)


def _blocks(text: str):  # type: ignore[no-untyped-def]
    """Display blocks in order, in one pass: each opener looks for its closer once, and a kind of opener whose
    closer is missing is not looked for again (an unclosed \\[ repeated 100,000 times stays linear)."""
    exhausted: set[str] = set()
    position = 0
    while (opener := _OPENERS.search(text, position)) is not None:
        token = opener.group()
        if token.startswith("```"):
            name, closer = "fence", re.compile(r"^```", re.M)
        elif token == "$$":
            name, closer = "dollars", re.compile(re.escape("$$"))
        elif token == "\\[":
            name, closer = "brackets", re.compile(re.escape("\\]"))
        else:
            name, closer = "env", re.compile(re.escape(f"\\end{{{opener.group(1)}}}"))
        key = name if name != "env" else token
        found = None if key in exhausted else closer.search(text, opener.end())
        if found is None:
            exhausted.add(key)
            position = opener.end()
            continue
        yield _Block(name, opener.start(), opener.end(), found.start(), found.end(), text)
        position = found.end()


def _mask_code_fences(text: str) -> str:
    """Blank fenced code blocks other than ```math, pairing each fence with its own closing line."""
    def blank(line: str) -> str:
        body = line.rstrip("\n")
        return " " * len(body) + line[len(body):]

    out: list[str] = []
    inside: str | None = None
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if inside is None and stripped.startswith("```"):
            inside = stripped[3:].strip() or "code"
            out.append(line if inside == "math" else blank(line))
        elif inside is not None and stripped == "```":
            out.append(line if inside == "math" else blank(line))
            inside = None
        else:
            out.append(blank(line) if inside not in (None, "math") else line)
    return "".join(out)


def _sentence_before(text: str, start: int, end: int) -> str:
    """The last paragraph of prose before a block (inline math kept: it may state the case)."""
    chunk = text[start:end].strip()
    paragraphs = [p for p in re.split(r"\n\s*\n", chunk) if p.strip()]
    if not paragraphs:
        return ""
    last = paragraphs[-1]
    if _MD_HEADING.search(last) or _TEX_HEADING.search(last) or "derive:" in last:
        return ""
    return last


def _case_in(text: str, heading: bool = False) -> str | None:
    """A case stated in prose: 'Case 1: j = k', 'In the case where $i \\neq j$', or a heading
    'Off-diagonal entries ($m \\neq i$)'."""
    plain = text.replace("$", " ")
    if heading:
        found = _CASE_IN_TEXT.search(plain)
    else:  # the relation must follow a case word closely: "when i = j", "for $k \neq c$", "Case 2: i != j"
        found = next((m for m in _CASE_IN_TEXT.finditer(plain)
                      if _CASE_WORDS.search(plain[max(0, m.start() - 30):m.start()])
                      and not re.search(r"(\\\{|\[|\()\s*$", plain[max(0, m.start() - 3):m.start()])), None)
    if not found:
        return None
    a, op, b = found.groups()
    relation = "=" if op == "=" else r"\neq"
    return f"{a} {relation} {b}"


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


_WRAPPERS = re.compile(r"\\begin\{(aligned|align\*?|split|gathered|gather\*?|array)\}(\{[^}]*\})?"
                       r"|\\end\{(aligned|align\*?|split|gathered|gather\*?|array)\}"
                       r"|\\(label|tag\*?)\{[^}]*\}|\\nonumber|\\notag")


_ROW_SKIP = re.compile(r"\\\\\s*\[\s*-?[\d.]+\s*(?:pt|em|ex|mm|cm|in|bp|mu)\s*\]")
_AND = re.compile(r",\s*\\qquad(?!\s*[a-z]\s*(?:=|\\neq|\\ne|≠)\s*[a-z]\s*[.,;]?\s*(?:\\\\|$))|(?:\\q?quad|\\[,;: ]|~|\s)*\\(?:text|mbox|mathrm)\s*\{\s*(?:and|or)\s*\}(?:\\q?quad|\\[,;: ]|~|\s)*")


def _chains(body: str, base: int) -> list[Chain]:
    """Split a display block into rows and chains; rows that start with '=' continue the previous chain;
    ``A = B \\quad\\text{and}\\quad C = D`` is two rows."""
    text = _WRAPPERS.sub(lambda m: " " * len(m.group()), body)
    text = _AND.sub(lambda m: "\\\\" + " " * (len(m.group()) - 2), text)
    text = _ROW_SKIP.sub(lambda m: "\\\\" + " " * (len(m.group()) - 2), text)  # \\[4pt]: a row break
    rows = _split_rows(text)
    chains: list[Chain] = []
    for row_start, row_end in rows:
        row = text[row_start:row_end]
        row = _strip_annotation(row)
        row, row_case = _trailing_case(row)
        sides, equals = _split_equals(row)
        if not any(s.strip() for s, _ in sides):
            continue
        continues = not sides[0][0].strip() and chains and equals
        if continues:
            chain = chains[-1]
            for (side, offset), eq in zip(sides[1:], equals):
                chain.equals.append(base + row_start + eq)
                chain.sides.append(Side(side, base + row_start + offset))
        else:
            chains.append(Chain([Side(s, base + row_start + o) for s, o in sides],
                                [base + row_start + e for e in equals], None, row_case=row_case))
    return [c for c in chains if len(c.sides) >= 2]


def _depth_walk(text: str):  # type: ignore[no-untyped-def]
    """Yield (index, char, depth) with depth counting braces, brackets, parentheses and cases environments."""
    depth, index = 0, 0
    while index < len(text):
        if text.startswith("\\begin{cases}", index):
            depth += 1
            index += len("\\begin{cases}")
            continue
        if text.startswith("\\end{cases}", index):
            depth -= 1
            index += len("\\end{cases}")
            continue
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in "{}[]()":
            if text[index + 1] == "{":
                depth += 1
            elif text[index + 1] == "}":
                depth -= 1
            yield index, "\\" + text[index + 1], depth
            index += 2
            continue
        if char == "%" and (index == 0 or text[index - 1] != "\\"):  # a TeX comment: to the end of the line
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
        yield index, char, depth
        index += 1


def _split_rows(text: str) -> list[tuple[int, int]]:
    rows, start = [], 0
    walk = list(_depth_walk(text))
    position = 0
    while position < len(walk):
        index, char, depth = walk[position]
        if char == "\\" and depth == 0 and index + 1 < len(text) and text[index + 1] == "\\":
            rows.append((start, index))
            start = index + 2
            position += 2
            continue
        position += 1
    rows.append((start, len(text)))
    return rows


def _top_level(text: str, offset: int) -> bool:
    for index, _, depth in _depth_walk(text):
        if index >= offset:
            return depth == 0
    return True


def _strip_annotation(row: str) -> str:
    """Drop '&&...' annotations and alignment '&' at the top level; blank trailing punctuation."""
    out = row
    for index, char, depth in _depth_walk(row):
        if char == "&" and depth == 0:
            if index + 1 < len(row) and row[index + 1] == "&":
                out = _blank(out, index, len(row))
                break
            out = _blank(out, index, index + 1)
    stripped = out.rstrip()
    while stripped and stripped[-1] in ",.;":
        stripped = stripped[:-1].rstrip()
    return stripped + " " * (len(out) - len(stripped))


_ROW_CASE = re.compile(r",?\s*(?:\\q?quad|\\,|~|\s)*(?:\\text\{\s*(?:if|for|when|where)\s*\}|(?:if|for|when)\b)?"
                       r"\s*\$?\s*([a-z])\s*(=|\\neq|\\ne|\\not=|≠)\s*([a-z])\s*\$?\s*[.,;]?\s*$")


def _trailing_case(row: str) -> tuple[str, str | None]:
    """``s_i(1 - s_i), \\quad i = j``: a condition after a comma ends the row and states its case."""
    comma = max(row.rfind(","), row.rfind("\\quad"), row.rfind("\\text{"))
    if comma < 0:
        return row, None
    found = _ROW_CASE.match(row, comma)
    if found is None or row.count("=", 0, comma) == 0:
        return row, None
    a, op, b = found.groups()
    relation = "=" if op == "=" else r"\neq"
    head = row[:comma].rstrip()
    head = head[:-1] if head.endswith(",") else head
    return head + " " * (len(row) - len(head)), f"{a} {relation} {b}"


_DEFINES = re.compile(r":=|\\coloneqq|\\equiv|\\triangleq|\\stackrel\{[^{}]{0,12}\}\{=\}|\\overset\{[^{}]{0,12}\}\{=\}")
_NOT_A_STEP = re.compile(r"\\approx|\\propto|\\simeq|\\sim(?![a-zA-Z])|\\leq?(?![a-zA-Z])|\\geq?(?![a-zA-Z])|"
                         r"\\ll(?![a-zA-Z])|\\gg(?![a-zA-Z])|(?<![\\{])<|(?<![\\{])>")


def _split_equals(row: str) -> tuple[list[tuple[str, int]], list[int]]:
    """Top-level ``=`` split a row into sides; ``:=`` and ``\\equiv`` define like ``=``; a relation that is not an
    equality (``\\approx``, ``\\propto``, ``<``) ends the chain there."""
    row = _DEFINES.sub(lambda m: "=" + " " * (len(m.group()) - 1), row)
    for found in _NOT_A_STEP.finditer(row):
        if _top_level(row, found.start()):
            row = row[:found.start()] + " " * (len(row) - found.start())
            break
    sides, equals, start = [], [], 0
    for index, char, depth in _depth_walk(row):
        if char == "=" and depth == 0:
            sides.append((row[start:index], start))
            equals.append(index)
            start = index + 1
    sides.append((row[start:], start))
    return sides, equals
