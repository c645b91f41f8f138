"""Retrieval quality on evals/retrieval/needs.yaml: hit@1, hit@5 and MRR per search mode."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from crafter.retrieval.index import CorpusIndex


@dataclass(frozen=True)
class Need:
    need: str
    relevant: frozenset[str]


@dataclass(frozen=True)
class RetrievalScores:
    mode: str
    hit_at_1: float
    hit_at_5: float
    mrr: float
    misses: tuple[str, ...]


def load_needs(path: Path) -> list[Need]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Need(n["need"], frozenset(n["relevant"])) for n in raw["needs"]]


MODES = ("dense", "bm25", "hybrid", "reranked")


def evaluate(index: CorpusIndex, needs: list[Need], mode: str, depth: int = 10) -> RetrievalScores:
    """``dense``, ``bm25`` and ``hybrid`` score the first stage alone; ``reranked`` is what
    search returns (hybrid, then the relevance model)."""
    hit1 = hit5 = rr = 0.0
    misses = []
    first = "hybrid" if mode == "reranked" else mode
    for need in needs:
        hits = index.search(need.need, depth, mode=first, rerank=mode == "reranked")
        ids = [h.id for h in hits]
        rank = next((i for i, doc in enumerate(ids, 1) if doc in need.relevant), None)
        if rank == 1:
            hit1 += 1
        if rank is not None and rank <= 5:
            hit5 += 1
        else:
            misses.append(need.need)
        rr += 1.0 / rank if rank else 0.0
    n = len(needs) or 1
    return RetrievalScores(mode, hit1 / n, hit5 / n, rr / n, tuple(misses))
