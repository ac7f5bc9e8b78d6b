"""Reading user files safely (contract §7): bounded reads of regular files only, UTF-8 with an optional BOM,
and YAML front matter that cannot expand (no anchors or aliases, capped size and nesting).

Why a module of its own: ``check``, ``embed`` and the Python API all read user files, and each of them was once
able to hang on a FIFO or grow without bound on ``/dev/zero``. One reader keeps the rules in one place.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
from typing import BinaryIO, Callable

from .errors import InputError

MAX_BYTES = 1_000_000
MAX_FRONT_MATTER_BYTES = 32_768
MAX_FRONT_MATTER_DEPTH = 16
STDIN = "-"
STDIN_LABEL = "<stdin>"
_BOM = "\ufeff"
_CHUNK = 65_536

_KINDS = ((stat.S_ISDIR, "is a directory, not a file"), (stat.S_ISFIFO, "is a FIFO (named pipe), not a regular file"),
          (stat.S_ISCHR, "is a character device, not a regular file"),
          (stat.S_ISBLK, "is a block device, not a regular file"), (stat.S_ISSOCK, "is a socket, not a regular file"))


def read_text(source: str | os.PathLike[str], label: str | None = None) -> tuple[str, str]:
    """Return ``(text, label)`` of a regular file, or of standard input when ``source`` is ``-``.

    At most MAX_BYTES are read: a device such as /dev/zero is refused before it is opened, and a file that grows
    while it is read is refused after MAX_BYTES + 1 bytes. ``label`` names the source in errors (default: the path,
    or ``<stdin>``).
    """
    if isinstance(source, str) and source == STDIN:
        label = label or STDIN_LABEL
        if sys.stdin is None:
            raise InputError("no standard input to read", label)
        stream: BinaryIO = getattr(sys.stdin, "buffer", None) or sys.stdin  # type: ignore[assignment]

        def read(size: int) -> bytes:
            chunk = stream.read(size)
            return chunk.encode("utf-8", "surrogateescape") if isinstance(chunk, str) else chunk
        try:
            raw = _read_bounded(read, label)
        except OSError as error:
            raise InputError(f"cannot read: {error.strerror or error}", label) from None
        return decode(raw, label), label
    try:
        path = os.fspath(source)
    except TypeError:
        raise InputError(f"not a path: {type(source).__name__}", label) from None
    label = label or str(path)
    if "\x00" in str(path):
        raise InputError("path contains a NUL byte", label)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError("no such file", label) from None
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read: {getattr(error, 'strerror', None) or error}", label) from None
    _require_regular(info.st_mode, label)
    if info.st_size > MAX_BYTES:
        raise InputError(f"file larger than {MAX_BYTES} bytes", label)
    # O_NONBLOCK: if the path was swapped for a FIFO after the stat, opening it must not wait for a writer.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", label) from None
    try:
        _require_regular(os.fstat(descriptor).st_mode, label)
        raw = _read_bounded(lambda size: os.read(descriptor, size), label)
    except OSError as error:
        if error.errno == errno.EISDIR:
            raise InputError("is a directory, not a file", label) from None
        raise InputError(f"cannot read: {error.strerror or error}", label) from None
    finally:
        os.close(descriptor)
    return decode(raw, label), label


def _require_regular(mode: int, label: str) -> None:
    """Refuse anything but a regular file, naming what it is."""
    if stat.S_ISREG(mode):
        return
    for test, reason in _KINDS:
        if test(mode):
            raise InputError(reason, label)
    raise InputError("not a regular file", label)


def _read_bounded(read: Callable[[int], bytes], label: str) -> bytes:
    """Read until end of input or MAX_BYTES + 1 bytes, whichever comes first; refuse the latter."""
    chunks: list[bytes] = []
    total = 0
    while total <= MAX_BYTES:
        chunk = read(min(_CHUNK, MAX_BYTES + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > MAX_BYTES:
        raise InputError(f"input larger than {MAX_BYTES} bytes", label)
    return b"".join(chunks)


def decode(raw: bytes, label: str) -> str:
    """UTF-8 text with a leading byte-order mark dropped; binary or other encodings are refused with the line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise InputError("not UTF-8 text", label, line, column) from None
    if text.startswith(_BOM):
        text = text[1:]
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise InputError("binary file (NUL byte), not Markdown or LaTeX", label, line,
                         nul - (text.rfind("\n", 0, nul) + 1) + 1)
    return text


_OPEN = re.compile(r"---[ \t\r]*\n")
_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t\r]*$", re.M)


def front_matter(text: str, label: str) -> dict[str, str]:
    """The ``derive:`` mapping of a Markdown file's YAML front matter, as strings (lists joined by ", ").

    YAML anchors and aliases are refused before anything is built (a few hundred bytes of aliases expand to
    gigabytes), and so is front matter larger than MAX_FRONT_MATTER_BYTES or nested deeper than
    MAX_FRONT_MATTER_DEPTH (the YAML composer recurses).
    """
    if text.startswith(_BOM):
        text = text[1:]
    opening = _OPEN.match(text)
    if not opening:
        return {}
    start = opening.end()
    end = _CLOSE.search(text, start)
    if not end:
        raise InputError("front matter starts with --- but never ends", label, 1, 1)
    body = text[start:end.start()]
    if len(body.encode("utf-8", "surrogatepass")) > MAX_FRONT_MATTER_BYTES:
        raise InputError(f"front matter larger than {MAX_FRONT_MATTER_BYTES} bytes", label, 2, 1)
    import yaml

    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)  # libyaml when present: several times faster
    first_line = 2  # the body starts on the line after ---

    def located(message: str, mark: object | None) -> InputError:
        line = first_line + getattr(mark, "line", 0) if mark is not None else first_line
        column = getattr(mark, "column", 0) + 1 if mark is not None else None
        return InputError(message, label, line, column)

    try:
        depth = 0
        for token in yaml.scan(body, Loader=loader):
            if isinstance(token, yaml.AnchorToken):
                raise located(f"YAML anchor &{token.value} is not allowed in front matter", token.start_mark)
            if isinstance(token, yaml.AliasToken):
                raise located(f"YAML alias *{token.value} is not allowed in front matter", token.start_mark)
            if isinstance(token, (yaml.TagToken, yaml.DirectiveToken)):
                raise located("YAML tags and directives are not allowed in front matter", token.start_mark)
            if isinstance(token, (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken,
                                  yaml.FlowMappingStartToken, yaml.FlowSequenceStartToken)):
                depth += 1
                if depth > MAX_FRONT_MATTER_DEPTH:
                    raise located(f"front matter nested deeper than {MAX_FRONT_MATTER_DEPTH} levels",
                                  token.start_mark)
            elif isinstance(token, (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)):
                depth -= 1
        # BaseLoader: every scalar stays text, so no int, float or date is built from user text (a 5,000-digit
        # integer or the 13th month raises ValueError in the safe loader's constructors).
        data = yaml.load(body, Loader=loader)  # noqa: S506 - a BaseLoader constructs no objects
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or (str(error).splitlines() or ["syntax error"])[0]
        raise located(f"bad YAML front matter: {problem}", getattr(error, "problem_mark", None)) from None
    except RecursionError:
        raise InputError("front matter nested too deeply", label, first_line) from None
    except (ValueError, TypeError, OverflowError) as error:
        raise InputError(f"bad YAML front matter: {error}", label, first_line) from None
    if data is None or data == "":
        return {}
    if not isinstance(data, dict):
        raise InputError("front matter is not a mapping", label, 1, 1)
    notation = data.get("derive", {})
    if notation is None or notation in ("", "~", "null", "Null", "NULL"):
        return {}
    if not isinstance(notation, dict):
        raise InputError("front matter key 'derive' must hold KEY: VALUE pairs", label, 1, 1)

    def scalar(key: object, value: object) -> str:
        if isinstance(value, (dict, list)):
            raise InputError(f"front matter derive.{key}: a notation value must be plain text", label, 1, 1)
        return str(value)
    return {str(k): ", ".join(scalar(k, item) for item in v) if isinstance(v, list) else scalar(k, v)
            for k, v in notation.items()}
