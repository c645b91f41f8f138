"""A small calibrated detector per check: logistic regression over static MiniLM passage vectors,
fitted at load on the check's exemplars (positives against near-miss negatives), and the nearest
positive exemplar, which a finding names."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from crafter.evals.semantic.exemplars import ExemplarSet, exemplar_sets

if TYPE_CHECKING:
    import numpy as np

# L2 penalty and steps of the fit; deterministic (zero start, full-batch gradient descent).
_L2 = 0.01
_STEPS = 400
_RATE = 2.0


@dataclass(frozen=True)
class Verdict:
    probability: float
    nearest: str  # the closest positive exemplar
    similarity: float  # its cosine
    # Cosine of the nearest negative (near miss or another check's exemplar): a passage closer to
    # a near miss than to every positive is never flagged, whatever the fitted model says.
    negative_similarity: float = 0.0


class Detector:
    def __init__(self, exemplars: ExemplarSet, background: Sequence[str] = ()) -> None:
        import numpy as np

        from crafter.evals.semantic.static import shared_static

        self.exemplars = exemplars
        self.threshold = exemplars.threshold
        # Below this cosine to every positive exemplar a passage is never flagged: the model
        # must not extrapolate to text unlike anything it was shown.
        self.min_similarity = exemplars.extra.get("min_similarity", 0.5)
        embed = shared_static().embed
        pos = embed(exemplars.positives)
        neg = embed(exemplars.negatives)
        bg = embed(list(background)) if background else np.zeros((0, pos.shape[1]), np.float32)
        self._pos = pos
        self._neg = np.vstack([neg, bg])
        x = np.vstack([pos, neg, bg]).astype(np.float64)
        y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg) + len(bg))])
        # Balanced weights: positives half, near misses a third, other checks' exemplars (the
        # background: text this check must not fire on) a sixth.
        w = np.concatenate([
            np.full(len(pos), 0.5 / len(pos)),
            np.full(len(neg), (0.5 if not len(bg) else 1 / 3) / len(neg)),
            np.full(len(bg), (1 / 6) / max(1, len(bg))),
        ])  # fmt: skip
        self._mean = x.mean(axis=0)
        fitted = _cached_fit(exemplars.check, x, y, w)
        if fitted is None:
            xc = (x - self._mean) * 8.0  # unit vectors have small coordinates: scale for the fit
            coef = np.zeros(x.shape[1])
            bias = 0.0
            for _ in range(_STEPS):
                p = 1.0 / (1.0 + np.exp(-(xc @ coef + bias)))
                g = (p - y) * w
                coef -= _RATE * (xc.T @ g + _L2 * coef)
                bias -= _RATE * g.sum()
            fitted = (coef * 8.0, float(bias))
            _store_fit(exemplars.check, x, y, w, fitted)
        self._coef: np.ndarray = fitted[0]
        self._bias: float = fitted[1]

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        import numpy as np

        z = (vectors.astype(np.float64) - self._mean) @ self._coef + self._bias
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))

    def judge(self, texts: Sequence[str]) -> list[Verdict]:
        from crafter.evals.semantic.static import shared_static

        if not texts:
            return []
        vectors = shared_static().embed(texts)
        return self._verdicts(vectors, self.probabilities(vectors))

    def flagged(self, texts: Sequence[str]) -> list[tuple[int, Verdict]]:
        """(index, verdict) of each passage flagged. Only passages the fitted model rates at the
        threshold or above are compared with the exemplars (most rate below it)."""
        import numpy as np

        from crafter.evals.semantic.static import shared_static

        if not texts:
            return []
        vectors = shared_static().embed(texts)
        probs = self.probabilities(vectors)
        rows = np.flatnonzero(probs >= self.threshold).tolist()
        if not rows:
            return []
        return [
            (i, v)
            for i, v in zip(rows, self._verdicts(vectors[rows], probs[rows]), strict=True)
            if v.similarity >= self.min_similarity and v.similarity > v.negative_similarity
        ]

    def _verdicts(self, vectors: np.ndarray, probs: np.ndarray) -> list[Verdict]:
        """Each passage's verdict: its probability, nearest positive exemplar and nearest
        negative's cosine."""
        # (exemplars @ passages.T).T: the same numbers, and with few passages OpenBLAS runs this
        # orientation ~15x faster than passages @ exemplars.T on 2 cores.
        sims = (self._pos @ vectors.T).T
        best = sims.argmax(axis=1)
        negative = (self._neg @ vectors.T).max(axis=0)
        return [
            Verdict(
                float(probs[i]),
                self.exemplars.positives[int(best[i])],
                float(sims[i, best[i]]),
                float(negative[i]),
            )
            for i in range(len(vectors))
        ]


def _fit_key(check: str, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> str:
    import hashlib

    digest = hashlib.sha256(f"{check}\0{_L2}\0{_STEPS}\0{_RATE}".encode())
    for a in (x, y, w):
        digest.update(a.tobytes())
    return digest.hexdigest()[:24]


def _fit_path(key: str) -> Path:
    from crafter.resources import cache_root

    return cache_root() / "lint" / f"detector-{key}.npy"


def _cached_fit(
    check: str, x: np.ndarray, y: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, float] | None:
    """A fit done before on exactly these vectors, labels and weights (every lint process used to
    refit all six, ~60 ms each); None when there is none or it does not read back whole."""
    import numpy as np

    try:
        data = np.load(_fit_path(_fit_key(check, x, y, w)), allow_pickle=False)
    except (OSError, ValueError):
        return None
    if data.shape != (x.shape[1] + 1,) or not np.all(np.isfinite(data)):
        return None
    return np.asarray(data[:-1], dtype=np.float64), float(data[-1])


def _store_fit(
    check: str, x: np.ndarray, y: np.ndarray, w: np.ndarray, fitted: tuple[np.ndarray, float]
) -> None:
    import io

    import numpy as np

    from crafter.resources import store_cached

    buf = io.BytesIO()
    np.save(buf, np.append(fitted[0], fitted[1]), allow_pickle=False)
    store_cached(_fit_path(_fit_key(check, x, y, w)), buf.getvalue())


_DETECTORS: dict[str, Detector] = {}
# Checks whose exemplars may be true of this one too (a vague prompt can be bare system design):
# they are not used as its background.
_OVERLAPS = {"vagueness": ("ml-clothing",), "buzzword": ("staleness",),
             "staleness": ("buzzword",)}  # fmt: skip
_LOCK = threading.Lock()


def detector(check: str) -> Detector:
    with _LOCK:
        if check not in _DETECTORS:
            sets = exemplar_sets()
            background = [
                t
                for other, e in sets.items()
                if other not in (check, *_OVERLAPS.get(check, ()))
                for t in (*e.positives, *e.negatives)
            ]
            _DETECTORS[check] = Detector(sets[check], background)
        return _DETECTORS[check]


_STACKED: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def all_probabilities(vectors: np.ndarray) -> np.ndarray:
    """(n, checks) probabilities of every check's fitted model, in ``SEMANTIC_CHECKS`` order, in
    one matrix product (the document model's features need them all)."""
    import numpy as np

    from crafter.evals.semantic.exemplars import SEMANTIC_CHECKS

    if "all" not in _STACKED:
        dets = [detector(c) for c in SEMANTIC_CHECKS]
        coef = np.stack([d._coef for d in dets], axis=1)
        bias = np.array([d._bias - float(d._mean @ d._coef) for d in dets])
        _STACKED["all"] = (coef, bias)
    coef, bias = _STACKED["all"]
    z = vectors.astype(np.float64) @ coef + bias
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))


def warm() -> None:
    """Fit every detector now (before forking workers, so each inherits them)."""
    for check in exemplar_sets():
        detector(check)


def describe(label: str, verdict: Verdict) -> str:
    return f"{label}: close to '{short(verdict.nearest)}' (p={verdict.probability:.2f})"


def short(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def reset() -> None:
    """Forget fitted detectors (tests that swap exemplar files)."""
    with _LOCK:
        _DETECTORS.clear()
        _STACKED.clear()
    exemplar_sets.cache_clear()
