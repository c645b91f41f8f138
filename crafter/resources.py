"""Locate the data folders (prompts/, evals/, reference_corpus/) in a wheel or a source checkout."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

_PKG = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """Return the folder holding ``name`` data.

    A built wheel carries the folders under ``crafter/_data``; an editable install or a source
    checkout reads them in place at the repository root.
    """
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"crafter data folder {name!r} not found; the installation is incomplete"
    )


def package_data(name: str) -> Path:
    """A file shipped inside the crafter package itself (crafter/data/)."""
    return _PKG / "data" / name


def cache_root() -> Path:
    """crafter's cache folder: ``$CRAFTER_CACHE_DIR``, else the per-user cache folder. Each cache
    (judges, lint results, rehearsals, exposure probes, front matter) keeps a subfolder of it."""
    import os

    env = os.environ.get("CRAFTER_CACHE_DIR")
    if env:
        return Path(env)
    return _user_cache(os.environ.get("XDG_CACHE_HOME"), os.environ.get("HOME"))


@cache
def _user_cache(xdg: str | None, home: str | None) -> Path:
    # Keyed by what platformdirs reads, so a changed environment is honoured; asked once per
    # process otherwise (a lint of 1,000 cached files asks 1,000 times).
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("crafter"))


def store_cached(path: Path, data: bytes) -> None:
    """Write a cache file whole (a temporary file beside it, then a rename), best effort: a
    read-only or full cache folder only costs recomputing the value next time."""
    import os

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError:
        pass


def cached_parse(kind: str, inputs: list[bytes], build: Callable[[], Any]) -> Any:
    """``build()``'s JSON-able result, kept in the cache folder under a digest of ``inputs``.

    For bundled data files that take tens of milliseconds to read as YAML on every start (the
    exposure index and its exemplars: about 80 ms together) and a millisecond as JSON. Callers
    pass the file's bytes and the source of the code that parses it, so an edit to either makes
    a new entry. A missing, unreadable or corrupt entry is rebuilt; ``CRAFTER_PARSE_CACHE=0``
    turns the cache off."""
    import hashlib
    import json
    import os

    if os.environ.get("CRAFTER_PARSE_CACHE", "1") == "0":
        return build()
    digest = hashlib.sha256()
    for part in inputs:
        digest.update(len(part).to_bytes(8, "little") + part)
    path = cache_root() / "parsed" / f"{kind}-{digest.hexdigest()[:32]}.json"
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        pass
    value = build()
    try:
        data = json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError):
        return value
    store_cached(path, data)
    return value
