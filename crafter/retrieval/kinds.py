"""The kind of ML problem a seed describes (classification, ranking, matching, forecasting...).

Each kind is a data file, ``prompts/kinds/<kind>.yaml``: a label, the words that signal it, seeds of
that kind in our own words (exemplars) and what the scaffold adds for it. A seed's kind is the one
whose exemplars it is closest to in meaning (MiniLM cosine, mean of the two closest), nudged by the
kind's cue words; when no kind is close the seed gets the generic worksheet. Adding an exemplar to
a file improves detection without code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from crafter.errors import UsageError
from crafter.resources import data_dir

GENERIC = "generic"
# Precomputed vectors of the bundled kinds' exemplars and task descriptions (float32, so they
# equal what embedding them here gives): crafter/data/kind_vectors.*, tools/build_kind_vectors.py.
VECTORS_STEM = "kind_vectors"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Below this combined score no kind is claimed (the generic worksheet is used).
MIN_SCORE = 0.36
CUE_WEIGHT = 0.06
MAX_CUES_COUNTED = 2


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    task_query: str
    cues: tuple[str, ...]
    exemplars: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False, hash=False, compare=False)


@dataclass(frozen=True)
class KindGuess:
    name: str
    score: float
    scores: dict[str, float]
    closest: str = ""  # the exemplar the seed was nearest to

    @property
    def label(self) -> str:
        kinds = load_kinds()
        return kinds[self.name].label if self.name in kinds else "a general ML problem"


def kinds_dir() -> Path:
    return data_dir("prompts") / "kinds"


def _bad(path: Path, why: str) -> UsageError:
    return UsageError(
        f"{path}: {why}",
        hint="fix or restore that kind file (schema in docs/scaffold-kinds.md)",
    )


@cache
def load_kinds() -> dict[str, Kind]:
    """Every kind file, checked; a broken file is a clear error naming it."""
    out: dict[str, Kind] = {}
    folder = kinds_dir()
    for path in sorted(folder.glob("*.yaml")):
        try:
            raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise _bad(path, f"unreadable ({type(exc).__name__})") from None
        if not isinstance(raw, dict):
            raise _bad(path, "not a mapping")
        name = raw.get("kind")
        if name != path.stem:
            raise _bad(path, f"kind {name!r} does not match the file name")
        exemplars = raw.get("exemplars")
        if not isinstance(exemplars, list) or not all(isinstance(e, str) for e in exemplars):
            raise _bad(path, "exemplars must be a list of sentences")
        if len(exemplars) < 3:
            raise _bad(path, "needs at least 3 exemplars")
        cues = raw.get("cues", [])
        if not isinstance(cues, list) or not all(isinstance(c, str) for c in cues):
            raise _bad(path, "cues must be a list of words")
        for key in ("label", "task_query"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise _bad(path, f"{key} is missing")
        out[name] = Kind(
            name=name,
            label=raw["label"],
            task_query=raw["task_query"],
            cues=tuple(c.lower() for c in cues),
            exemplars=tuple(exemplars),
            raw=raw,
        )
    if not out:
        raise UsageError(f"no kind files in {folder}", hint="reinstall crafter")
    return out


def _cue_hits(text: str, cues: tuple[str, ...]) -> int:
    low = " " + re.sub(r"\s+", " ", text.lower()) + " "
    hits = 0
    for cue in cues:
        # A cue matches at a word start ("classif" matches "classify" and "classification").
        if re.search(r"(?<![a-z])" + re.escape(cue), low):
            hits += 1
    return min(hits, MAX_CUES_COUNTED)


def embed_texts(texts: list[str]) -> Any:
    """Vectors of kind texts: the shipped ones where the text is known, the rest embedded now
    (a kind file edited or added by a team)."""
    import numpy as np

    from crafter.retrieval.embedding import DIMENSIONS, shared_embedder
    from crafter.retrieval.shipped_vectors import load_shipped

    shipped, _ = load_shipped(stem=VECTORS_STEM)
    known = [shipped.get(t) if shipped is not None else None for t in texts]
    missing = [i for i, v in enumerate(known) if v is None]
    if missing:
        fresh = shared_embedder().embed([texts[i] for i in missing])
        for i, vec in zip(missing, fresh, strict=True):
            known[i] = vec
    rows = [v for v in known if v is not None]
    return np.stack(rows) if rows else np.zeros((0, DIMENSIONS), dtype=np.float32)


def kind_texts() -> list[str]:
    """Every text a kind is embedded from: exemplars, then task descriptions."""
    kinds = load_kinds().values()
    return [ex for k in kinds for ex in k.exemplars] + [k.task_query for k in kinds]


@cache
def _exemplar_matrix() -> tuple[Any, tuple[str, ...], tuple[str, ...]]:
    names: list[str] = []
    texts: list[str] = []
    for kind in load_kinds().values():
        for ex in kind.exemplars:
            names.append(kind.name)
            texts.append(ex)
    return embed_texts(texts), tuple(names), tuple(texts)


# Below this, a seed reads like no ML need at all. The score is the mean cosine of the seed's two
# closest kind exemplars (any kind), plus NEED_CUE_BONUS for each of up to two task cues it names
# (the kinds' own cue words: "classify", "ranking", "search"...). Measured 2026-12-03: "zzqxj
# flurb", "hello world", "the cat sat on the mat", "lorem ipsum", "AI", "asdf qwer zxcv" and "???"
# score 0.11-0.25; every realistic seed of the four blind seed sets 0.29 and up. Two terse seeds
# of the fourth set (grooming reports in game chat; code search across 30k repos) scored 0.25 on
# cosine alone and were refused until the cues counted. A seed of the seventh set (benefit
# applications likely to be incomplete, 2026-12-04) scored 0.27 until phrases that say someone
# needs something (prompts/need_cues.yaml: "wants to", "so that") counted as cues too.
NEED_FLOOR = 0.28
NEED_CUE_BONUS = 0.02


def need_closeness(seed: str) -> float | None:
    """How much ``seed`` reads like an ML need (see NEED_FLOOR); None for text mostly in a script
    the English embedder cannot judge (Japanese, Chinese, Thai...), which is not refused."""
    import numpy as np

    from crafter.retrieval.embedding import shared_embedder

    letters = [c for c in seed if c.isalpha()]
    if (
        not letters
        or sum(c.isascii() or "\u00c0" <= c <= "\u024f" for c in letters) < len(letters) / 2
    ):
        return None
    matrix, _, _ = _exemplar_matrix()
    sims = np.sort(matrix @ shared_embedder().embed_one(seed[:2000]))[::-1]
    cues = sum(_cue_hits(seed[:2000], kind.cues) for kind in load_kinds().values())
    cues += _cue_hits(seed[:2000], need_cues())
    return float(sims[:2].mean()) + NEED_CUE_BONUS * min(2, cues)


@cache
def need_cues() -> tuple[str, ...]:
    """Phrases that say someone needs something (prompts/need_cues.yaml); a broken file is a
    clear error naming it."""
    path = data_dir("prompts") / "need_cues.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise _bad(path, f"unreadable ({type(exc).__name__})") from None
    cues = raw.get("cues") if isinstance(raw, dict) else None
    if not isinstance(cues, list) or not all(isinstance(c, str) and c.strip() for c in cues):
        raise _bad(path, "needs a 'cues' list of phrases")
    return tuple(c.strip().lower() for c in cues)


def detect_kind(seed: str) -> KindGuess:
    """The seed's kind, with per-kind scores (cosine of the two closest exemplars plus cues)."""
    import numpy as np

    from crafter.retrieval.embedding import shared_embedder

    matrix, names, texts = _exemplar_matrix()
    vec = shared_embedder().embed_one(seed[:2000])
    sims = matrix @ vec
    kinds = load_kinds()
    scores: dict[str, float] = {}
    closest: dict[str, str] = {}
    for name, kind in kinds.items():
        idx = [i for i, n in enumerate(names) if n == name]
        top = sorted((float(sims[i]), i) for i in idx)[-2:]
        scores[name] = float(np.mean([s for s, _ in top])) + CUE_WEIGHT * _cue_hits(seed, kind.cues)
        closest[name] = texts[top[-1][1]]
    best = max(scores, key=lambda n: (scores[n], n))
    if scores[best] < MIN_SCORE:
        return KindGuess(GENERIC, scores[best], scores)
    return KindGuess(best, round(scores[best], 4), scores, closest[best])


@cache
def kind_vectors() -> dict[str, Any]:
    """One unit vector per kind: the mean of its task description and exemplars."""
    import numpy as np

    matrix, names, _ = _exemplar_matrix()
    kinds = load_kinds()
    tasks = embed_texts([k.task_query for k in kinds.values()])
    out: dict[str, Any] = {}
    for (name, _kind), task in zip(kinds.items(), tasks, strict=True):
        rows = [matrix[i] for i, n in enumerate(names) if n == name]
        vec = np.mean([task, *rows], axis=0)
        out[name] = vec / max(float(np.linalg.norm(vec)), 1e-9)
    return out
