"""A content-hash cache of lint results: an unchanged file is not re-checked.

The key is the file's bytes, its kind (suffix), the knowledge version (every YAML under
``evals/knowledge/`` and the semantic table's checksum), the as-of date, the pacing slot and the
exposure index in use; the value is the findings, scores and probe, as JSON in
``<cache dir>/lint/``. A cache that cannot be read or written only costs a re-lint; it is never
trusted blindly (a file that does not parse is ignored). ``--no-cache`` (or
CRAFTER_LINT_CACHE=0) turns it off.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
from pathlib import Path

from crafter.evals.findings import FileResult, Finding

FORMAT = "1"
_ENABLED = [True]


def set_enabled(on: bool) -> None:
    """Module-level, so forked lint workers inherit it."""
    _ENABLED[0] = on


def folder() -> Path | None:
    if not _ENABLED[0] or os.environ.get("CRAFTER_LINT_CACHE", "1") == "0":
        return None
    from crafter.resources import cache_root

    return cache_root() / "lint"


@functools.cache
def code_version() -> str:
    """A digest of the checks' own code (crafter/evals/**.py): a result found by other code is
    not reused, whether crafter was upgraded or edited in place."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def key(raw: bytes, suffix: str, as_of: dt.date, slot: int | None, exposure: str) -> str:
    from crafter.evals.semantic.exemplars import knowledge_version

    digest = hashlib.sha256(raw)
    for part in (
        FORMAT,
        code_version(),
        suffix.lower(),
        knowledge_version(),
        as_of.isoformat(),
        str(slot),
        exposure,
    ):
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:32]


def get(base: Path | None, k: str, path: str, kind: str) -> FileResult | None:
    if base is None:
        return None
    try:
        data = json.loads((base / k[:2] / f"{k}.json").read_text(encoding="utf-8"))
        result = FileResult(path, kind)  # type: ignore[arg-type]
        result.findings = [Finding(**f) for f in data["findings"]]
        result.scores = {str(n): float(v) for n, v in data["scores"].items()}
        result.probe = str(data.get("probe", ""))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return result


def put(base: Path | None, k: str, result: FileResult) -> None:
    if base is None or result.scores.get("input_error"):
        return
    data = {
        "findings": [f.as_json() for f in result.findings],
        "scores": result.scores,
        "probe": result.probe,
    }
    from crafter.resources import store_cached

    store_cached(base / k[:2] / f"{k}.json", json.dumps(data, separators=(",", ":")).encode())
