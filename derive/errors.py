"""Every error derive raises on purpose.

    DeriveError                 base: the CLI prints ``str(error)`` on one line and exits with ``exit_code``
    ├── UsageError              bad command line, unknown name, format or notation key   (exit 2)
    ├── InputError              unreadable or malformed input file; carries file/line/column (exit 2)
    └── EngineError             a generated step failed its own verification: a bug, never printed as valid
"""

from __future__ import annotations


class DeriveError(Exception):
    """Base of derive's own errors; anything else escaping is a bug."""

    exit_code = 2


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
