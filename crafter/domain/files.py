"""Reading user files safely: regular files only, and never more than a size bound.

A FIFO, a device (``/dev/zero``) or a socket would block a read or never end, and a multi-GB
export would exhaust memory; each is reported as a problem with that file and the rest go on.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DEFAULT_MAX_MB = 10.0
ENV_MAX_MB = "CRAFTER_MAX_FILE_MB"


class FileReadError(Exception):
    """A file we will not or cannot read; ``message`` says why and how to fix it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def max_file_bytes(override_mb: float | None = None) -> int:
    """The per-file bound: ``override_mb``, else $CRAFTER_MAX_FILE_MB, else 10 MB."""
    mb = override_mb
    if mb is None:
        raw = os.environ.get(ENV_MAX_MB, "").strip()
        try:
            mb = float(raw) if raw else DEFAULT_MAX_MB
        except ValueError:
            mb = DEFAULT_MAX_MB
    return max(1, int(mb * 1024 * 1024))


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def is_regular(path: Path) -> bool:
    """True for a regular file (following symlinks); False for FIFOs, devices, sockets, folders."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def read_bounded(path: Path, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` (default ``max_file_bytes()``)."""
    limit = max_file_bytes() if limit is None else limit
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not hang before we can look at it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise FileReadError(f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = (
                "a FIFO"
                if stat.S_ISFIFO(info.st_mode)
                else "a device"
                if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
                else "a folder"
                if stat.S_ISDIR(info.st_mode)
                else "not a regular file"
            )
            raise FileReadError(f"skipped: {kind}, not a regular file (only files are read)")
        if info.st_size > limit:
            raise FileReadError(
                f"skipped: larger than {_mb(limit)} ({_mb(info.st_size)}); "
                f"raise the bound with {ENV_MAX_MB} if this file is meant to be read"
            )
        chunks: list[bytes] = []
        total = 0
        while True:
            block = os.read(fd, min(1 << 20, limit + 1 - total))
            if not block:
                break
            chunks.append(block)
            total += len(block)
            if total > limit:  # a file that grew, or a /proc file reporting size 0
                raise FileReadError(f"skipped: larger than {_mb(limit)}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def writable_dir_problem(path: Path, *, create: bool = True) -> str | None:
    """Why we cannot write files into ``path`` (created when ``create``), or None when we can.

    Proven by creating and removing a probe file, before anything costly (a paid model call)."""
    import tempfile

    path = Path(path)
    try:
        if create:
            path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".crafter-probe-"):
            pass
    except OSError as exc:
        return f"cannot write to {path}: {exc.strerror or exc}"
    return None


def describe_os_error(exc: OSError) -> tuple[str, str]:
    """A message and a hint for an OSError that reached the top of a command."""
    import errno

    where = f"{exc.filename}: " if exc.filename else ""
    what = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        return (
            f"{where}{what} (the disk is full)",
            "free some space and run the command again; files are written atomically, so "
            "nothing half-written was left",
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{where}{what}", "check the folder's permissions, or work on a copy you can write"
    return f"{where}{what}", "check the path and try again"
