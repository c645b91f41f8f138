"""Exemplars per check, read from ``evals/knowledge/semantic/<check>.yaml``.

Each file: ``check``, ``label`` (how a finding says what the passage resembled), ``threshold``
(the probability at which a passage is flagged), ``positives`` and ``negatives`` (near misses),
plus optional check-specific numbers. A missing or malformed file is a UsageError naming it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from crafter.errors import UsageError

SEMANTIC_CHECKS = ("vagueness", "staleness", "rederive", "ml-clothing", "coverage", "buzzword")
_HINT = "restore it from the crafter source (evals/knowledge/semantic/) or fix the line named"


@dataclass(frozen=True)
class ExemplarSet:
    check: str
    label: str
    threshold: float
    positives: tuple[str, ...]
    negatives: tuple[str, ...]
    extra: dict[str, float] = field(default_factory=dict)
    source: str = ""


def semantic_dir() -> Path:
    """The exemplar folder: ``CRAFTER_SEMANTIC_DIR`` (a team's own exemplars) or the bundled one."""
    import os

    env = os.environ.get("CRAFTER_SEMANTIC_DIR")
    if env:
        return Path(env)
    from crafter.resources import data_dir

    return data_dir("evals") / "knowledge" / "semantic"


def _strings(data: dict[str, Any], key: str, path: Path) -> tuple[str, ...]:
    items = data.get(key)
    if not isinstance(items, list) or len(items) < 3:
        raise UsageError(f"{path}: '{key}' must be a list of at least 3 exemplars", hint=_HINT)
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip() or len(item) > 1_000:
            raise UsageError(f"{path}: {key}[{i}] must be a sentence (1-1,000 characters)",
                             hint=_HINT)  # fmt: skip
        out.append(" ".join(item.split()))
    return tuple(out)


def load_set(path: Path) -> ExemplarSet:
    import yaml

    try:
        # libyaml's loader when present: the same data, several times faster.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except FileNotFoundError:
        raise UsageError(f"semantic exemplar file missing: {path}", hint=_HINT) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read semantic exemplar file {path}: {exc}", hint=_HINT) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{path}{where}: not valid YAML", hint=_HINT) from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping with check, positives, negatives", hint=_HINT)
    threshold = data.get("threshold")
    if not isinstance(threshold, int | float) or not 0 < threshold < 1:
        raise UsageError(f"{path}: 'threshold' must be a number between 0 and 1", hint=_HINT)
    extra = {
        k: float(v)
        for k, v in data.items()
        if isinstance(v, int | float)
        and not isinstance(v, bool)
        and k not in ("version", "threshold")
    }
    return ExemplarSet(
        check=str(data.get("check", path.stem)),
        label=str(data.get("label", f"resembles a {path.stem} exemplar")),
        threshold=float(threshold),
        positives=_strings(data, "positives", path),
        negatives=_strings(data, "negatives", path),
        extra=extra,
        source=str(path),
    )


@cache
def exemplar_sets() -> dict[str, ExemplarSet]:
    folder = semantic_dir()
    return {check: load_set(folder / f"{check}.yaml") for check in SEMANTIC_CHECKS}


@cache
def knowledge_version() -> str:
    """A digest of everything the checks know (knowledge YAML, exemplars, the static table's
    checksum): part of the result cache's key."""
    from crafter.resources import data_dir

    digest = hashlib.sha256()
    root = data_dir("evals") / "knowledge"
    for p in sorted(root.rglob("*.yaml")):
        digest.update(p.relative_to(root).as_posix().encode())
        digest.update(p.read_bytes())
    from crafter.evals.semantic.static import table_paths

    meta = table_paths()[1]
    if meta.is_file():
        digest.update(meta.read_bytes()[-200:])
    return digest.hexdigest()[:20]
