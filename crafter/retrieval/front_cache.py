"""Parsed front matter kept between runs, keyed by a hash of the exact front-matter text.

Reading the 1,546 bundled write-ups parses 1,546 YAML headers; even with libyaml that is about
0.3 s of Python object construction on every ``crafter draft``. The parsed values are kept in
``$CRAFTER_CACHE_DIR/corpus/front-matter.json`` (default: the per-user cache folder), keyed by the
sha256 of the text, so a header is parsed again only when its text changes, and a cached value
is exactly what parsing gives (dates are tagged, since JSON has none). A missing, unreadable or
foreign cache file is ignored; writing it is best effort. ``CRAFTER_FRONT_CACHE=0`` turns it off.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

FORMAT = 1
_lock = threading.Lock()
_memory: dict[str, Any] | None = None
_used: set[str] = set()
_dirty = False


def cache_file() -> Path | None:
    if os.environ.get("CRAFTER_FRONT_CACHE", "1") == "0":
        return None
    from crafter.resources import cache_root

    return cache_root() / "corpus" / "front-matter.json"


def key(front: str) -> str:
    return hashlib.sha256(front.encode("utf-8")).hexdigest()[:32]


def _entries() -> dict[str, Any]:
    global _memory
    if _memory is None:
        _memory = {}
        path = cache_file()
        if path is not None and path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(data, dict) and data.get("format") == FORMAT:
                    _memory = dict(data.get("entries", {}))
            except (OSError, ValueError):
                pass
    return _memory


def get(front: str) -> tuple[bool, Any]:
    """(found, parsed value) for a front-matter text."""
    k = key(front)
    with _lock:
        entries = _entries()
        if k not in entries:
            return False, None
        _used.add(k)
        return True, _decode(entries[k])


def put(front: str, value: Any) -> None:
    global _dirty
    encoded = _encode(value)
    if encoded is _UNSUPPORTED:
        return
    k = key(front)
    with _lock:
        _entries()[k] = encoded
        _used.add(k)
        _dirty = True


def flush() -> None:
    """Write the entries used in this process if any was added (atomically, best effort)."""
    global _dirty
    path = cache_file()
    with _lock:
        if not _dirty or path is None or _memory is None:
            return
        keep = {k: v for k, v in _memory.items() if k in _used}
        _dirty = False
    try:
        from crafter.domain.atomic import atomic_write_text

        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"format": FORMAT, "entries": keep}))
    except OSError:
        pass


_UNSUPPORTED = object()


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, list):
        items = [_encode(v) for v in value]
        return _UNSUPPORTED if any(i is _UNSUPPORTED for i in items) else items
    if isinstance(value, dict) and all(isinstance(k, str) and not k.startswith("$") for k in value):
        out = {k: _encode(v) for k, v in value.items()}
        return _UNSUPPORTED if any(v is _UNSUPPORTED for v in out.values()) else out
    return _UNSUPPORTED  # anything else (a non-string key, a set) is simply parsed every time


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and "$date" in value:
            return dt.date.fromisoformat(value["$date"])
        if len(value) == 1 and "$datetime" in value:
            return dt.datetime.fromisoformat(value["$datetime"])
        return {k: _decode(v) for k, v in value.items()}
    return value
