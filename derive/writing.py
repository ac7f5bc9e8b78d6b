"""Writing the user's files (contract §7): ``show -o``, ``embed -o`` and ``embed --in-place``.

Why a module of its own: a write must never cost the user what was there before. So every write goes to a
temporary file beside the target and is renamed over it (a crash or SIGKILL at any moment leaves the old file
or the new one, never half of one); the target keeps its mode and owner (a new file gets the umask's default);
a symlink is written through, so the link stays a link; a read-only target is refused unless forced; and the
temporary file is removed on every failure path.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from .errors import InputError

TEMPORARY_PREFIX = ".derive-"


def write_text(target: str | os.PathLike[str], text: str, *, force: bool = False) -> Path:
    """Replace ``target`` by ``text`` (UTF-8, newlines as given) atomically; return the path written.

    ``target`` may be a symlink (its final target is written, the link is kept), a new file (created with the
    umask's default mode), or an existing regular file (its mode and, where permitted, its owner are kept). A
    read-only target raises InputError unless ``force``. A FIFO or a character device (``/dev/stdout``) is
    written directly, since it cannot be renamed over. Every failure raises InputError, never a raw OSError.
    """
    label = os.fspath(target)
    if "\x00" in label:
        raise InputError("path contains a NUL byte", label.replace("\x00", "\\x00"))
    data = text.encode("utf-8", "surrogateescape")
    try:
        info: os.stat_result | None = os.stat(label)  # follows symlinks, /dev/stdout's magic link included
    except FileNotFoundError:
        info = None  # a new file, or a dangling symlink whose target will be created
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror or error}", label) from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise InputError("is a directory, not a file", label)
    if info is not None and not stat.S_ISREG(info.st_mode):
        _write_to_device(label, data, label)
        return Path(label)
    real = os.path.realpath(label)
    if info is not None and not force and _read_only(real, info):
        raise InputError("the file is read-only; use --force to replace it", label)
    mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~_umask()
    _replace(real, data, mode, info, label)
    return Path(real)


def _read_only(path: str, info: os.stat_result) -> bool:
    """No write permission for us, or no write bit at all (root may write anything, but a 0444 file says 'keep')."""
    return not os.access(path, os.W_OK) or not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def _replace(real: str, data: bytes, mode: int, info: os.stat_result | None, label: str) -> None:
    """Write a temporary file in the target's directory, give it the target's mode and owner, rename it over."""
    directory = os.path.dirname(real) or "."
    temporary: str | None = None
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=TEMPORARY_PREFIX)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), mode)
            if info is not None and (info.st_uid, info.st_gid) != _owner(out.fileno()):
                try:
                    os.fchown(out.fileno(), info.st_uid, info.st_gid)
                except OSError:
                    pass  # only root may give a file away; the content still matters more than the owner
            os.fsync(out.fileno())
        os.replace(temporary, real)
        temporary = None
        _sync_directory(directory)
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror or error}", label) from None
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass


def _write_to_device(real: str, data: bytes, label: str) -> None:
    """A FIFO or device cannot be replaced; write into it, refusing a FIFO nobody reads instead of hanging."""
    try:
        descriptor = os.open(real, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        reason = "nothing reads from this pipe" if error.errno == errno.ENXIO else error.strerror or str(error)
        raise InputError(f"cannot write: {reason}", label) from None
    try:
        os.set_blocking(descriptor, True)
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view):]
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror or error}", label) from None
    finally:
        os.close(descriptor)


def _owner(descriptor: int) -> tuple[int, int]:
    info = os.fstat(descriptor)
    return info.st_uid, info.st_gid


def _sync_directory(directory: str) -> None:
    """Make the rename itself durable where the system allows it; a failure here loses nothing."""
    try:
        descriptor = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _umask() -> int:
    """The process umask, read without changing it where /proc allows (os.umask can only set it)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current
