"""Near-duplicates inside a library: one loop asking the same thing twice.

Each scenario's candidate-facing probe (title, seed, premise opening) is embedded once (cached by
text hash); one matrix product gives every pair's cosine, and only pairs above the floor are
compared by wording. No text is compared all-pairs: 1,000 scenarios are one 1,000 x 384 product.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from crafter.evals.exposure import content_tokens, probe_of, rule, shingles
from crafter.evals.findings import FileResult, Finding

CHECK = "duplicate"


class Pair(NamedTuple):
    a: int
    b: int
    cos: float
    shingles: float


def _overlap(gx: set[str], gy: set[str]) -> float:
    return len(gx & gy) / max(1, min(len(gx), len(gy)))


def _distinct_pairs(probes: Sequence[str]) -> tuple[list[list[int]], list[Pair]]:
    """The probes grouped by identical text (a scenario copied whole is one row), and the pairs of
    distinct texts (indices into the groups) that are near-duplicates."""
    members: dict[str, list[int]] = {}
    for i, text in enumerate(probes):
        members.setdefault(text, []).append(i)
    texts = list(members)
    groups = list(members.values())
    if len(texts) < 2:
        return groups, []
    import numpy as np

    from crafter.evals.exposure_vectors import embed_probes

    r = rule()
    vectors = embed_probes(texts)
    sims = vectors @ vectors.T
    floor = r.duplicate_cos - 0.08
    a_idx, b_idx = np.nonzero(np.triu(sims >= floor, k=1))
    grams_of: dict[int, set[str]] = {}  # each text's shingles, computed once

    def grams_for(i: int) -> set[str]:
        if i not in grams_of:
            grams_of[i] = shingles(content_tokens(texts[i]))
        return grams_of[i]

    pairs = []
    for u, v in zip(a_idx.tolist(), b_idx.tolist(), strict=True):
        cos = float(sims[u, v])
        grams = _overlap(grams_for(u), grams_for(v))
        if cos >= r.duplicate_cos or grams >= r.duplicate_shingles:
            pairs.append(Pair(u, v, cos, grams))
    return groups, pairs


def near_duplicates(probes: Sequence[str]) -> list[Pair]:
    """Pairs (a < b) of probes that are near-duplicates, most similar first."""
    groups, distinct = _distinct_pairs(probes)
    pairs = [Pair(a, b, 1.0, 1.0) for g in groups for n, a in enumerate(g) for b in g[n + 1 :]]
    for d in distinct:
        pairs.extend(
            Pair(min(a, b), max(a, b), d.cos, d.shingles) for a in groups[d.a] for b in groups[d.b]
        )
    return sorted(pairs, key=lambda p: (-p.cos, p.a, p.b))


# One warning per scenario names its closest near-duplicates, at most this many, and counts the rest.
SHOWN = 3


def report_duplicates(results: Sequence[FileResult]) -> None:
    """Add a ``duplicate`` warning to each scenario that nearly duplicates another one linted."""
    scenarios = [r for r in results if r.kind == "scenario" and r.probe]
    groups, distinct = _distinct_pairs([r.probe for r in scenarios])
    # Per group of identical texts, the other groups it nearly duplicates, most similar first:
    # a library of copies is answered per distinct text, not per pair of files.
    near: dict[int, list[tuple[float, int]]] = {}
    for d in distinct:
        near.setdefault(d.a, []).append((d.cos, d.b))
        near.setdefault(d.b, []).append((d.cos, d.a))
    for u, group in enumerate(groups):
        if len(group) < 2 and u not in near:
            continue
        ranked = sorted(near.get(u, []), key=lambda t: (-t[0], t[1]))
        for i in group:
            shown: list[tuple[int, float]] = [(j, 1.0) for j in group if j != i][:SHOWN]
            for cos, v in ranked:
                if len(shown) >= SHOWN:
                    break
                shown.extend((j, cos) for j in groups[v][: SHOWN - len(shown)])
            total = len(group) - 1 + sum(len(groups[v]) for _, v in ranked)
            _warn(scenarios, i, shown, total)


def _warn(
    scenarios: Sequence[FileResult], i: int, shown: list[tuple[int, float]], total: int
) -> None:
    me = scenarios[i]
    closest, cos = scenarios[shown[0][0]], shown[0][1]
    names = ", ".join(str(scenarios[j].path) for j, _ in shown)
    more = f" and {total - len(shown)} more" if total > len(shown) else ""
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
