"""Append-only JSON-lines files (regen's journal, batch replies, rehearsal batch logs).

Each append is one fsynced write that starts on a fresh line, so a run killed mid-write leaves at
most one cut-short last line; readers skip any line that is not a JSON object.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The JSON objects in ``path``, one per line; a missing file has none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            row = json.loads(line)
            if isinstance(row, dict):
                out.append(row)
    return out


def append_rows(path: Path, rows: Iterable[dict[str, Any]], *, mode: int = 0o600) -> None:
    """Append ``rows`` in one fsynced write, starting on a fresh line if the file's last one was
    cut short."""
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    if not lines:
        return
    data = ("\n".join(lines) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    try:
        size = os.fstat(fd).st_size
        if size:
            with open(path, "rb") as fh:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    data = b"\n" + data
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
