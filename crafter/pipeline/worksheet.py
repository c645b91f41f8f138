"""The scaffold's worksheet: a schema-valid scenario built from the seed and prompts/scaffold.yaml.

Everything only the interviewer can know (their company's numbers, the prepared answers) is left
as a TODO(interviewer) placeholder, which lint reports until it is filled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from crafter.domain import (
    ContextFact,
    Decision,
    Hook,
    Question,
    RubricRow,
    ScenarioContent,
    Trap,
    placeholder,
)
from crafter.domain.scenario import CATEGORIES, Constraint, DataSource
from crafter.resources import data_dir


@dataclass(frozen=True)
class ScaffoldKit:
    version: str
    raw: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"scaffold@{self.version}"


@cache
def scaffold_kit() -> ScaffoldKit:
    raw = yaml.safe_load((data_dir("prompts") / "scaffold.yaml").read_text(encoding="utf-8"))
    return ScaffoldKit(str(raw["version"]), raw)


MAX_PREMISE = 4000


_LEAD = re.compile(
    r"^(?:(?:we|i)\s+(?:want|need|would like|'d like)\s+(?:to\s+)?|(?:please\s+)?help\s+(?:us\s+)?|"
    r"(?:let'?s|lets)\s+|build\s+(?:a|an|the)?\s*(?:system|model|tool)?\s*(?:that|to)\s+)",
    re.I,
)
_CLAUSE_END = re.compile(
    r"[.!?;:(\u2014\u2013]|,\s|\s-\s|\s(?:so that|so|because|since|while|without|but)\s", re.I
)
_TRAILING = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "for",
        "to",
        "in",
        "on",
        "at",
        "by",
        "with",
        "from",
        "or",
        "our",
        "their",
        "its",
        "into",
        "per",
        "what",
        "which",
        "who",
        "that",
        "when",
        "how",
        "each",
        "every",
    ]
)


def title_from_seed(seed: str, limit: int = 70, words: int = 9) -> str:
    """A short title from the seed's first clause: at most ``words`` words, never cut mid-word and
    never ending on a connective ('Route questions in #ask-eng to people who can answer')."""
    flat = " ".join(seed.split())
    clauses = [
        c.strip() for c in _CLAUSE_END.split(_LEAD.sub("", flat, count=1)) if c and c.strip()
    ]
    # A short opener ("Every Monday,") is a time, not the need: take the first real clause.
    first = next((c for c in clauses if len(c.split()) >= 4), clauses[0] if clauses else flat)
    parts = first.split()[:words]
    while len(" ".join(parts)) > limit and len(parts) > 1:
        parts.pop()
    while len(parts) > 2 and parts[-1].lower().strip(",") in _TRAILING:
        parts.pop()
    title = " ".join(parts).rstrip(",") or flat[:limit]
    return title[:1].upper() + title[1:]


def _hook_category(key: str, spec: dict[str, Any]) -> str:
    if key in CATEGORIES:
        return key
    text = f"{key} {spec.get('fill', '')}".lower()
    for cat, rx in (
        ("scale", r"scale|load|volume|latency|throughput|per day|per second"),
        ("errors", r"error|cost|mistake|wrong|harm"),
        ("policy", r"policy|permission|approval|consent|privacy|regulat|safety|override"),
        ("data", r"data|label|history|candidate|corpus|source"),
        ("product", r"user|product|customer"),
    ):
        if re.search(rx, text):
            return cat
    return "domain"


# Base categories the kinds replace: generic "errors" and "scale" assume a classifier deciding
# per request, which a forecast, a digest or an agent does not.
KIND_REPLACES = frozenset({"errors", "scale"})


def build_worksheet(seed: str, level: str, kind: str | None = None) -> ScenarioContent:
    """A worksheet for ``seed``: structure, the good questions for its kind of problem, and the
    facts the seed states; gaps are marked for the interviewer."""
    from crafter.pipeline.facets import seed_constraints
    from crafter.retrieval.kinds import load_kinds

    kit = scaffold_kit().raw
    spec_kind = load_kinds().get(kind or "")
    extra = spec_kind.raw if spec_kind is not None else {}
    base_hooks = {
        cat: spec
        for cat, spec in kit["hooks"].items()
        if not (extra.get("hooks") and cat in KIND_REPLACES)
    }
    all_hooks: list[tuple[str, str, dict[str, Any]]] = [
        (cat, cat, spec) for cat, spec in base_hooks.items()
    ] + [(key, _hook_category(key, spec), spec) for key, spec in extra.get("hooks", {}).items()]
    hooks = [
        Hook(
            id=f"h{i}",
            detail=placeholder(spec["fill"]),
            decision_forced=spec["decision"][:1].upper() + spec["decision"][1:],
            category=cat,
        )
        for i, (_key, cat, spec) in enumerate(all_hooks, start=1)
    ]
    from crafter.pipeline.exposure_hooks import published_hook

    hooks += [h for h in [published_hook(seed, len(hooks) + 1)] if h is not None]
    hook_by_key = {key: h.id for (key, _c, _s), h in zip(all_hooks, hooks, strict=False)}
    questions: list[Question] = []
    asked = {
        **{
            c: q
            for c, q in kit["questions"].items()
            if not (extra.get("hooks") and c in KIND_REPLACES)
        },
        **extra.get("questions", {}),
    }
    for cat, items in asked.items():
        for item in items:
            questions.append(
                Question(
                    id=f"q{len(questions) + 1}",
                    question=item["q"],
                    why_good=item["why"],
                    answer=placeholder("your prepared answer, with this company's real numbers"),
                    hooks=[hook_by_key[cat]] if cat in hook_by_key else [],
                )
            )
    ask = placeholder(
        "one or two paragraphs the candidate reads first: the product, its users, and what is "
        "painful today, without naming a solution"
    )
    # The premise field holds 4,000 characters: a long seed is cut at a word, never overflowing.
    room = MAX_PREMISE - len(ask) - 2
    opening = seed.strip()
    if len(opening) > room:
        opening = opening[: room - 3].rsplit(" ", 1)[0] + "..."
    premise = f"{opening}\n\n{ask}"
    context = [
        ContextFact(id=f"c{i}", text=placeholder(text), category=cat, reveal="on_ask")
        for i, (cat, text) in enumerate(
            [
                ("product", "who the users are, how many, and what they do today"),
                ("data", "what history exists (volume, time span, labels) and what is off-limits"),
                ("errors", "what each kind of mistake costs"),
                ("policy", "who may override decisions and what rules or regulations apply"),
            ],
            start=1,
        )
    ]
    stated = seed_constraints(seed)
    for fact in stated:
        context.append(
            ContextFact(
                id=f"c{len(context) + 1}",
                text=f"The seed states: {fact}.",
                category=_fact_category(fact),
                reveal="upfront",
            )
        )
    data = [
        DataSource(
            name=placeholder("main data source"),
            description=placeholder("what one record holds"),
            size=placeholder("rows or events, time span"),
            labels=placeholder("which outcome is recorded, by whom, how late"),
            freshness=placeholder("how current it is at decision time"),
            limits=placeholder("consent, privacy or retention limits"),
        )
    ]
    constraints = [
        Constraint(
            name=_constraint_name(fact),
            value=fact[:200],
            unit="",
            why=placeholder("why this limit holds, and what happens when it is missed"),
        )
        for fact in stated
    ]
    spec_constraints = extra.get("constraints") or [
        {"name": "peak load", "unit": "", "fill": "decisions per second"},
        {"name": "latency budget", "unit": "ms", "fill": "milliseconds"},
    ]
    have = {c.name for c in constraints}
    for c in spec_constraints:
        if c["name"] not in have:
            constraints.append(
                Constraint(
                    name=c["name"],
                    value=placeholder(c["fill"]),
                    unit=c.get("unit", "")[:40],
                    why=placeholder("why"),
                )
            )
    decisions = [
        Decision(
            id=f"d{i}",
            decision=d["decision"],
            options=list(d["options"]),
            tradeoffs=d["tradeoffs"],
            modern_approach=d.get("modern") or d["modern_approach"],
        )
        for i, d in enumerate([*extra.get("decisions", []), *kit["decisions"]], start=1)
    ]
    overrides = extra.get("rubric", {})
    rubric = [
        RubricRow.model_validate({**row, **overrides.get(row["signal"], {})})
        for row in kit["rubric"]
    ]
    traps = [
        Trap(
            generic_answer=t.get("generic") or t["generic_answer"],
            follow_up=t["follow_up"],
            exposes=t["exposes"],
        )
        for t in [*extra.get("traps", []), *kit["traps"]]
    ][:5]
    return ScenarioContent(
        title=title_from_seed(seed),
        premise=premise,
        context=context,
        data=data,
        constraints=constraints,
        hooks=hooks,
        questions=questions,
        decisions=decisions,
        rubric=rubric,
        traps=traps,
    )


def _fact_category(fact: str) -> str:
    low = fact.lower()
    if re.search(r"ms\b|second|minute|hour|latency|within", low):
        return "scale"
    if re.search(r"gdpr|hipaa|pci|sox|coppa|fcra|consent|regulat|complian|audit|fair|phi|pii", low):
        return "policy"
    return "domain"


def _constraint_name(fact: str) -> str:
    low = fact.lower()
    if re.search(r"\d\s?(?:ms|s|sec|seconds?|minutes?|min)\b", low):
        return (
            "latency budget"
            if "ms" in low or "second" in low or re.search(r"\ds\b", low)
            else "time limit"
        )
    if re.search(r"per|a day|each|daily|/", low):
        return "volume"
    if re.search(r"days?|weeks?|months?|years?|hours?", low):
        return "horizon or window"
    if "%" in low:
        return "target"
    if re.search(r"[a-z]", low) and not re.search(r"\d", low):
        return "rule"
    return "stated in the seed"
