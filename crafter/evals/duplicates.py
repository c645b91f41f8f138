"""Near-duplicates inside a library: one loop asking the same thing twice.

Each scenario's candidate-facing probe (title, seed, premise opening) is embedded once (cached by
text hash); one matrix product gives every pair's cosine, and only pairs above the floor are
compared by wording. No text is compared all-pairs: 1,000 scenarios are one 1,000 x 384 product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crafter.evals.exposure import content_tokens, probe_of, rule, shingles
from crafter.evals.findings import FileResult, Finding

CHECK = "duplicate"


@dataclass(frozen=True)
class Pair:
    a: int
    b: int
    cos: float
    shingles: float


def _overlap(x: str, y: str) -> float:
    gx, gy = shingles(content_tokens(x)), shingles(content_tokens(y))
    return len(gx & gy) / max(1, min(len(gx), len(gy)))


def near_duplicates(probes: Sequence[str]) -> list[Pair]:
    """Pairs (a < b) of probes that are near-duplicates, most similar first."""
    if len(probes) < 2:
        return []
    import numpy as np

    from crafter.evals.exposure_vectors import embed_probes

    r = rule()
    vectors = embed_probes(list(probes))
    sims = vectors @ vectors.T
    floor = r.duplicate_cos - 0.08
    a_idx, b_idx = np.nonzero(np.triu(sims >= floor, k=1))
    pairs = []
    for a, b in zip(a_idx.tolist(), b_idx.tolist(), strict=True):
        cos = float(sims[a, b])
        grams = _overlap(probes[a], probes[b])
        if cos >= r.duplicate_cos or grams >= r.duplicate_shingles:
            pairs.append(Pair(a, b, cos, grams))
    return sorted(pairs, key=lambda p: -p.cos)


def report_duplicates(results: Sequence[FileResult]) -> None:
    """Add a ``duplicate`` warning to each scenario that nearly duplicates another one linted."""
    scenarios = [r for r in results if r.kind == "scenario" and r.probe]
    for pair in near_duplicates([r.probe for r in scenarios]):
        for me, other in (
            (scenarios[pair.a], scenarios[pair.b]),
            (scenarios[pair.b], scenarios[pair.a]),
        ):
            me.findings.append(
                Finding(
                    CHECK, "warning",
                    f"near-duplicate of {other.path} in the same library: the loop would ask the "
                    "same thing twice",
                    evidence=f"{me.probe[:100]} ~ {other.probe[:100]} (similarity {pair.cos:.2f})",
                    location="title",
                    suggestion="retire one of them, or move one to an adjacent need (another user, "
                    "another decision) so each scenario measures something the other does not",
                )
            )  # fmt: skip


def similar_to_seed(seed: str, probes: Sequence[str]) -> list[tuple[int, float]]:
    """Existing scenarios (index into ``probes``, cosine) that a new seed would duplicate."""
    if not probes or not seed.strip():
        return []
    from crafter.evals.exposure_vectors import embed_probes

    vectors = embed_probes([probe_of(seed), *probes])
    sims = vectors[1:] @ vectors[0]
    r = rule()
    found = [(i, float(c)) for i, c in enumerate(sims) if c >= r.duplicate_cos - 0.04]
    return sorted(found, key=lambda t: -t[1])
