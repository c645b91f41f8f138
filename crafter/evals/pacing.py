"""Deterministic pre-checks over a structured scenario: pacing against the interview slot, and
trap quality (a trap's generic answer must be one the hire anchors reject).

What they assume (minutes per item, reading pace, thresholds, words that are never key terms)
lives in ``evals/knowledge/pacing.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from crafter.domain import Scenario
from crafter.evals.findings import Finding, Severity
from crafter.resources import data_dir


@dataclass(frozen=True)
class PacingKnowledge:
    default_slot: int
    overhead: float
    words_per_minute: float
    hook: float
    question: float
    trap: float
    too_much: float
    way_too_much: float
    too_little: float
    min_shared: int
    min_share: float
    many_shared: int
    ignore: frozenset[str]


@cache
def pacing_knowledge() -> PacingKnowledge:
    raw: Any = yaml.safe_load(
        (data_dir("evals") / "knowledge" / "pacing.yaml").read_text(encoding="utf-8")
    )
    p, t = raw["pacing"], raw["traps"]
    minutes = p["minutes"]
    return PacingKnowledge(
        default_slot=int(p["default_slot_minutes"]),
        overhead=float(p["overhead_minutes"]),
        words_per_minute=float(p["reading_words_per_minute"]),
        hook=float(minutes["hook"]),
        question=float(minutes["question"]),
        trap=float(minutes["trap"]),
        too_much=float(p["too_much"]),
        way_too_much=float(p["way_too_much"]),
        too_little=float(p["too_little"]),
        min_shared=int(t["min_shared"]),
        min_share=float(t["min_share"]),
        many_shared=int(t["many_shared"]),
        ignore=frozenset(str(w).lower() for w in t["ignore"]),
    )


def default_slot() -> int:
    return pacing_knowledge().default_slot


@dataclass(frozen=True)
class PacingEstimate:
    """Minutes of material an interviewer must get through, item by item."""

    reading: float
    hooks: float
    questions: float
    traps: float
    available: float
    slot: int
    counts: tuple[int, int, int, int]  # premise and upfront words, hooks, questions, traps

    @property
    def material(self) -> float:
        return self.reading + self.hooks + self.questions + self.traps

    def breakdown(self) -> str:
        words, hooks, questions, traps = self.counts
        return (
            f"reading {self.reading:.1f} min ({words} words) + {hooks} hook(s) {self.hooks:g} min + "
            f"{questions} question(s) {self.questions:g} min + {traps} trap(s) {self.traps:g} min "
            f"= {self.material:.0f} min of material; a {self.slot}-minute slot leaves "
            f"{self.available:g} min after introductions and the candidate's questions"
        )


def estimate(s: Scenario, slot: int) -> PacingEstimate:
    k = pacing_knowledge()
    words = len(s.premise.split()) + sum(
        len(c.text.split()) for c in s.context if c.reveal == "upfront"
    )
    return PacingEstimate(
        reading=words / k.words_per_minute,
        hooks=len(s.hooks) * k.hook,
        questions=len(s.questions) * k.question,
        traps=len(s.traps) * k.trap,
        available=max(1.0, slot - k.overhead),
        slot=slot,
        counts=(words, len(s.hooks), len(s.questions), len(s.traps)),
    )


def pacing(s: Scenario, slot: int | None = None) -> list[Finding]:
    """Too much material for the slot (the interviewer cannot get through it) or too little
    (the candidate runs out of decisions to make)."""
    k = pacing_knowledge()
    est = estimate(s, slot or k.default_slot)
    ratio = est.material / est.available
    if ratio > k.too_much:
        severity: Severity = "error" if ratio > k.way_too_much else "warning"
        return [
            Finding(
                "pacing", severity,
                f"too much material for a {est.slot}-minute interview: about {est.material:.0f} "
                f"minutes against {est.available:g} available",
                evidence=est.breakdown(), location="hooks",
                suggestion="drop or merge the hooks and questions that force the same decision, "
                "or lint with a longer --slot (slot in crafter.toml) if the interview is longer",
            )
        ]  # fmt: skip
    if ratio < k.too_little:
        return [
            Finding(
                "pacing", "warning",
                f"too little material for a {est.slot}-minute interview: about "
                f"{est.material:.0f} minutes against {est.available:g} available",
                evidence=est.breakdown(), location="hooks",
                suggestion="add hooks that force design decisions and the good questions that "
                "uncover them, or lint with a shorter --slot",
            )
        ]  # fmt: skip
    return []


_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")


def _stem(word: str) -> str:
    if word.endswith(("ss", "us", "is")):
        return word
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def key_terms(text: str, ignore: frozenset[str] | None = None) -> set[str]:
    """Content words of ``text``, lightly stemmed ("monitors" and "monitoring" are one term)."""
    skip = pacing_knowledge().ignore if ignore is None else ignore
    out = set()
    for word in _WORD.findall(text.lower()):
        if word in skip or (len(word) < 3 and not word.isdigit()):
            continue
        stem = _stem(word)
        if stem not in skip:
            out.add(stem)
    return out


def trap_quality(s: Scenario) -> list[Finding]:
    """A trap whose generic answer shares the key terms of a hire or strong-hire anchor would
    pass the rubric: the smooth talker it is meant to expose scores as a hire."""
    k = pacing_knowledge()
    findings = []
    anchors = [
        (i, row.signal, level, getattr(row, level))
        for i, row in enumerate(s.rubric)
        for level in ("hire", "strong_hire")
    ]
    for t, trap in enumerate(s.traps):
        generic = key_terms(trap.generic_answer)
        best: tuple[int, float, int, str, str, set[str]] | None = None
        signal: str
        for i, signal, level, text in anchors:
            terms = key_terms(text)
            shared = generic & terms
            if not terms or len(shared) < k.min_shared:
                continue
            share = len(shared) / len(terms)
            if share < k.min_share and len(shared) < k.many_shared:
                continue
            if best is None or (len(shared), share) > (best[0], best[1]):
                best = (len(shared), share, i, signal, level, shared)
        if best is None:
            continue
        _, share, i, signal, level, shared = best
        findings.append(
            Finding(
                "trap", "warning",
                f"trap {t + 1}'s generic answer shares key terms with the {level.replace('_', ' ')} "
                f"anchor for {signal} ({', '.join(sorted(shared))}): the answer it should expose "
                "would read as a hire",
                evidence=f"generic answer: {trap.generic_answer[:160]} | {level}: "
                f"{getattr(s.rubric[i], level)[:160]}",
                location=f"traps[{t}].generic_answer",
                suggestion="make the hire anchor name what only engagement with this scenario "
                "shows (its numbers, data limits, costs), or rewrite the trap's generic answer",
            )
        )  # fmt: skip
    return findings
