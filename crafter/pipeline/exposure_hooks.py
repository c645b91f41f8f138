"""Drafting from a seed that is itself a widely published prompt.

The frame stage says so (an event); the draft prompt asks for hooks that make the published
walkthrough insufficient; the scaffold adds such a hook as a TODO(interviewer) placeholder.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from crafter.domain import Hook, placeholder
from crafter.evals.exposure import Match, seed_exposure


@cache
def published_match(seed: str) -> Match | None:
    """The published prompt ``seed`` nearly copies, or None (and None if the check cannot run)."""
    try:
        return seed_exposure(seed)
    except Exception:
        return None


def seed_note(seed: str) -> str | None:
    m = published_match(seed)
    if m is None:
        return None
    return (
        f"the seed is a widely published prompt: {m.prompt.title!r} ({m.prompt.count} source(s)); "
        "candidates may have rehearsed its walkthrough, so the draft adds hooks that make it "
        "insufficient"
    )


def draft_instruction(seed: str) -> str:
    """The draft prompt's ``exposure`` paragraph."""
    m = published_match(seed)
    if m is None:
        return "The seed is not a widely published interview prompt."
    return (
        f"This seed is a widely published interview prompt ({m.prompt.title!r}: {m.prompt.gist} "
        f"It is listed by {m.prompt.count} source(s)). Candidates may have memorised its published "
        "walkthrough. Build at least two hooks that make that walkthrough insufficient here: data "
        "the standard answer assumes but this company does not have, a constraint (latency, "
        "policy, cost of an error) that flips its usual choice, or a peculiarity of this product "
        "that the standard metric gets wrong. Name the published answer's blind spot in a trap."
    )


def published_hook(seed: str, next_id: int) -> Hook | None:
    """The scaffold's hook for a published seed: a placeholder the interviewer must fill."""
    m = published_match(seed)
    if m is None:
        return None
    return Hook(
        id=f"h{next_id}",
        detail=placeholder(
            f"a detail of your product that makes the published walkthrough of "
            f"{m.prompt.title!r} wrong here (data it assumes that you lack, a limit it ignores)"
        )[:1000],
        decision_forced="Whether the standard published design still holds, and what must change",
        category="domain",
    )


def library_duplicates(files: list[Path], seed: str) -> list[str]:
    """Warnings, one per existing scenario in ``files`` that a new ``seed`` would duplicate."""
    from crafter.domain.yamlio import ScenarioFileError, load_scenario
    from crafter.evals.duplicates import similar_to_seed
    from crafter.evals.exposure import probe_of

    names, probes = [], []
    for f in files:
        try:
            s = load_scenario(f)
        except (ScenarioFileError, OSError, ValueError):
            continue  # crafter lint and validate report broken files; here they are skipped
        names.append((f, s.title))
        probes.append(probe_of(s.seed))  # the same ask, whatever the title
    try:
        found = similar_to_seed(seed, probes)
    except Exception:
        return []
    return [
        f"warning: this seed nearly duplicates {names[i][0].name} ({names[i][1]!r}, similarity "
        f"{cos:.2f}); draft an adjacent need instead, or redraft that scenario"
        for i, cos in found[:3]
    ]
