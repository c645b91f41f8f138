"""Second-stage relevance: a calibrated score per (need, document) and the floor that decides
what may ground a scenario.

The first stage (dense + BM25, fused by rank) finds candidates; it cannot tell a document that
shares a word from one that solves the same problem, and its RRF score means nothing across
queries. This stage scores each candidate on signals the first stage does not use together:
- how close the need is to the document's *Problem* section and to its closest section (MiniLM);
- keyword evidence, absolute (BM25 per query term) and relative to the best candidate;
- whether the document does the same kind of task as the need (the need's kind from
  ``prompts/kinds/``, compared with the document's problem).

Two logistic models turn those into probabilities: ``related`` (graded at least "related") and
``close`` (graded "same task in a similar setting"). The weights and the floor live in
``crafter/data/relevance.json``, fitted by ``tools/fit_relevance.py`` on blind-graded pairs;
its sha256 is pinned here, so a changed or missing file is an error, never a silent fallback.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from crafter.errors import UsageError

FEATURES = (
    "dense_problem",
    "dense_best",
    "dense_mean2",
    "bm25_per_term",
    "bm25_relative",
    "kind_match",
)
MODEL_FILE = "relevance.json"
# Pinned by tools/fit_relevance.py when it writes the file.
MODEL_SHA256 = "d678988c5677f5cb618545875da76114252cf3237576ca635874b80329d0afee"


@dataclass(frozen=True)
class RelevanceModel:
    version: str
    related: tuple[float, ...]  # bias first, then one weight per feature
    close: tuple[float, ...]
    floor: float  # minimum P(related) for a document to ground a scenario
    calibration: str  # how the floor was set, for messages and notes

    def score(self, features: dict[str, float]) -> tuple[float, float]:
        """(P(related), P(close)) for one candidate."""
        xs = [features[name] for name in FEATURES]
        return _logistic(self.related, xs), _logistic(self.close, xs)


def _logistic(weights: tuple[float, ...], xs: list[float]) -> float:
    z = weights[0] + sum(w * x for w, x in zip(weights[1:], xs, strict=True))
    z = max(-30.0, min(30.0, z))
    return 1.0 / (1.0 + math.exp(-z))


def model_path() -> Any:
    from crafter.resources import package_data

    return package_data(MODEL_FILE)


def parse_model(raw: bytes, where: str) -> RelevanceModel:
    try:
        data = json.loads(raw)
        if tuple(data["features"]) != FEATURES:
            raise ValueError("its features do not match this version of crafter")
        model = RelevanceModel(
            version=str(data["version"]),
            related=tuple(float(x) for x in data["related"]),
            close=tuple(float(x) for x in data["close"]),
            floor=float(data["floor"]),
            calibration=str(data.get("calibration", "")),
        )
        if len(model.related) != len(FEATURES) + 1 or len(model.close) != len(FEATURES) + 1:
            raise ValueError("wrong number of weights")
        if not 0.0 < model.floor < 1.0:
            raise ValueError("the floor must be a probability")
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"the relevance model {where} is malformed ({exc})", hint="reinstall crafter"
        ) from None
    return model


@cache
def load_model() -> RelevanceModel:
    path = model_path()
    try:
        raw = path.read_bytes()
    except OSError:
        raise UsageError(
            f"the relevance model {path} is missing",
            hint="reinstall crafter; search will not rank without it",
        ) from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != MODEL_SHA256:
        raise UsageError(
            f"the relevance model {path} does not match this version of crafter "
            f"(sha256 {digest[:12]}..., expected {MODEL_SHA256[:12]}...)",
            hint="reinstall crafter; the file was changed or belongs to another version",
        )
    return parse_model(raw, str(path))


def cosine_features(query: Any, vectors: Any, problem_row: int | None) -> dict[str, float]:
    """Dense features from the query vector and one document's chunk vectors (unit length)."""
    import numpy as np

    if len(vectors) == 0:
        return {"dense_problem": 0.0, "dense_best": 0.0, "dense_mean2": 0.0}
    sims = np.asarray(vectors, dtype=np.float32) @ np.asarray(query, dtype=np.float32)
    top = np.sort(sims)[::-1]
    return {
        "dense_problem": float(sims[problem_row]) if problem_row is not None else float(top[0]),
        "dense_best": float(top[0]),
        "dense_mean2": float(top[: min(2, len(top))].mean()),
    }
