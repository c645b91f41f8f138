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


def _overlap(gx: set[str], gy: set[str]) -> float:
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
    grams_of: dict[int, set[str]] = {}  # each probe's shingles, computed once

    def grams_for(i: int) -> set[str]:
        if i not in grams_of:
            grams_of[i] = shingles(content_tokens(probes[i]))
        return grams_of[i]

    for a, b in zip(a_idx.tolist(), b_idx.tolist(), strict=True):
        cos = float(sims[a, b])
        grams = _overlap(grams_for(a), grams_for(b))
        if cos >= r.duplicate_cos or grams >= r.duplicate_shingles:
            pairs.append(Pair(a, b, cos, grams))
    return sorted(pairs, key=lambda p: -p.cos)


# One warning per scenario names its closest near-duplicates, at most this many, and counts the rest.
SHOWN = 3


def report_duplicates(results: Sequence[FileResult]) -> None:
    """Add a ``duplicate`` warning to each scenario that nearly duplicates another one linted."""
    scenarios = [r for r in results if r.kind == "scenario" and r.probe]
    others: dict[int, list[tuple[int, float]]] = {}
    for pair in near_duplicates([r.probe for r in scenarios]):  # most similar first
        others.setdefault(pair.a, []).append((pair.b, pair.cos))
        others.setdefault(pair.b, []).append((pair.a, pair.cos))
    for i, found in sorted(others.items()):
        me = scenarios[i]
        closest, cos = scenarios[found[0][0]], found[0][1]
        names = ", ".join(str(scenarios[j].path) for j, _ in found[:SHOWN])
        more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
        me.findings.append(
            Finding(
                CHECK, "warning",
                f"near-duplicate of {names}{more} in the same library: the loop would ask the "
                "same thing twice",
                evidence=f"{me.probe[:100]} ~ {closest.probe[:100]} (similarity {cos:.2f})",
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
