"""Writing files so that a failure never leaves a half-written output: write a temporary file in
the same directory, flush it to disk, then rename it over the target.

Public outputs get the usual permissions (0666 less the user's umask); secrets (keys, openings,
an exchange's secrets) are created owner-only (0600) and never exist with wider permissions.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")


def safe_stem(name: str, prefix: str = "account") -> str:
    """A file name stem for ``name`` (an account id): itself when it is plain, else ``prefix-``
    and a digest of it, so no id can name a path outside the folder or collide with another."""
    if _SAFE.match(name):
        return name
    return f"{prefix}-" + hashlib.sha256(name.encode()).hexdigest()[:20]


class OutputError(OSError):
    """An output path cannot be written; the message names the user's path."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def seal(path: Path, *, secret: bool = False) -> None:
    """Give a file written by another writer (SQLite) its final permissions and flush it to
    disk, before it is renamed into place."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fchmod(fd, 0o600 if secret else 0o666 & ~_umask())
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def sealed_replace(
    out: Path, suffix: str, *, secret: bool = False, what: str = ""
) -> Iterator[Path]:
    """A temporary path beside ``out`` (``out`` + ``suffix``, emptied first) for another writer
    (SQLite) to fill in the ``with`` body; then :func:`seal` it and rename it over ``out``.
    Whatever stops it (an error, Ctrl-C), no temporary file is left behind; an OS or SQLite
    error is an :class:`OutputError` naming ``out`` (and ``what`` was being written)."""
    tmp = out.with_name(out.name + suffix)
    placed = False
    try:
        tmp.unlink(missing_ok=True)
        yield tmp
        seal(tmp, secret=secret)
        os.replace(tmp, out)
        placed = True
    except (OSError, sqlite3.DatabaseError) as exc:
        raise OutputError(f"{out}: cannot write{' ' + what if what else ''}: {exc}") from None
    finally:
        if not placed:
            tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, data: bytes, *, secret: bool = False) -> None:
    """Replace ``path`` by ``data`` atomically."""
    atomic_write(path, lambda f: f.write(data), secret=secret)


def atomic_write_text(path: Path, text: str, *, secret: bool = False) -> None:
    """Replace ``path`` by ``text`` (UTF-8) atomically."""
    atomic_write_bytes(path, text.encode(), secret=secret)


def atomic_write(
    path: Path,
    write: Callable[[tempfile._TemporaryFileWrapper[bytes]], object],
    *,
    secret: bool = False,
) -> None:
    """Call ``write`` on a temporary file beside ``path``, then rename it into place.

    Refuses to replace anything but a regular file (a device, a directory, a FIFO).
    """
    path = Path(path)
    if path.name == "-":
        raise OutputError("-: this command writes a file, not standard output; give a file name")
    try:
        st = path.lstat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise OutputError(f"{path}: exists and is not a regular file; refusing to replace it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        f = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by the with below)
            dir=path.parent, prefix=f".{path.name}.", delete=False
        )
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror}") from None
    tmp = Path(f.name)
    placed = False
    try:  # whatever stops it (an error, Ctrl-C), no temporary file is left behind
        with f:
            os.fchmod(f.fileno(), 0o600 if secret else 0o666 & ~_umask())
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        placed = True
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror}") from None
    finally:
        if not placed:
            tmp.unlink(missing_ok=True)
