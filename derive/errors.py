"""Every error derive raises on purpose.

    DeriveError                 base: the CLI prints ``str(error)`` on one line and exits with ``exit_code``
    ├── UsageError              bad command line, unknown name, format or notation key   (exit 2)
    ├── InputError              unreadable or malformed input file; carries file/line/column (exit 2)
    └── EngineError             a generated step failed its own verification: a bug, never printed as valid
"""

from __future__ import annotations

import unicodedata


def printable(text: str) -> str:
    """``text`` on one line with control and invisible format characters shown as ``\\x1b``, ``\\n``, ``\\u202e``.

    Messages quote user input (paths, values, document text); echoed raw, an escape sequence could rewrite the
    terminal, and a line break would split the one-line error that scripts parse.
    """
    if text.isprintable():
        return text
    out = []
    for char in text:
        code = ord(char)
        if char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append(" ")
        elif code < 0x20 or 0x7F <= code <= 0x9F or unicodedata.category(char) in ("Cf", "Cs", "Zl", "Zp", "Co", "Cn"):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out)


class DeriveError(Exception):
    """Base of derive's own errors; anything else escaping is a bug. The message is made printable here."""

    exit_code = 2

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(printable(str(message)), *args)


class UsageError(DeriveError):
    """The user asked for something that does not exist or is malformed."""


class InputError(DeriveError):
    """An input file cannot be read or understood; located when possible."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        self.file, self.line, self.column = file, line, column
        where = ":".join(str(part) for part in (file, line, column) if part is not None)
        super().__init__(f"{where}: {message}" if where else message)


class EngineError(DeriveError):
    """The engine produced a step that does not verify: an internal error, reported loudly."""

    exit_code = 70
