"""Atomic file writes: a crash or Ctrl-C leaves either the old file or the new one, never half."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates files readable by their owner only; a scenario library is shared, so new files
# get the usual permissions (0644 under the common umask).
_MODE = 0o666 & ~_umask()


def atomic_write_text(path: Path, text: str, *, durable: bool = True) -> None:
    """Write ``text`` to ``path`` through a temp file in the same folder and an atomic rename.

    ``durable=False`` skips the fsync: a crash of the process still leaves the old file or the
    new one, but a crash of the machine may leave an empty file. Only for files whose reader
    treats a damaged file as missing (a cache entry, asked again), where the fsync would be a
    fixed cost on every write (about 15 ms here)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, _MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_new_text(path: Path, text: str) -> Path:
    """Atomically write ``text`` to ``path`` or, if it exists, to ``<stem>-2<suffix>`` and so on.

    Uses a hard link from the temp file so two writers never claim the same name.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, _MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        n = 1
        while True:
            target = path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")
            try:
                os.link(tmp, target)
                return target
            except FileExistsError:
                n += 1
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
