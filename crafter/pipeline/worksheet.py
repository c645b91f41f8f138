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
from crafter.domain.scenario import Constraint, DataSource
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


def title_from_seed(seed: str, limit: int = 90) -> str:
    first = re.split(r"(?<=[.!?])\s|\n", seed.strip(), maxsplit=1)[0].strip().rstrip(".!?")
    if len(first) > limit:
        first = first[:limit].rsplit(" ", 1)[0] + "..."
    return first[:1].upper() + first[1:]


def build_worksheet(seed: str, level: str) -> ScenarioContent:
    """A worksheet for ``seed``: structure and good generic questions, gaps marked for the interviewer."""
    kit = scaffold_kit().raw
    hooks = [
        Hook(
            id=f"h{i}",
            detail=placeholder(spec["fill"]),
            decision_forced=spec["decision"][:1].upper() + spec["decision"][1:],
            category=cat,
        )
        for i, (cat, spec) in enumerate(kit["hooks"].items(), start=1)
    ]
    hook_by_cat = {h.category: h.id for h in hooks}
    from crafter.pipeline.exposure_hooks import published_hook

    hooks += [h for h in [published_hook(seed, len(hooks) + 1)] if h is not None]
    questions: list[Question] = []
    for cat, items in kit["questions"].items():
        for item in items:
            questions.append(
                Question(
                    id=f"q{len(questions) + 1}",
                    question=item["q"],
                    why_good=item["why"],
                    answer=placeholder("your prepared answer, with this company's real numbers"),
                    hooks=[hook_by_cat[cat]] if cat in hook_by_cat else [],
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
            name="peak load",
            value=placeholder("decisions per second"),
            unit="",
            why=placeholder("why"),
        ),
        Constraint(
            name="latency budget",
            value=placeholder("milliseconds"),
            unit="ms",
            why=placeholder("why"),
        ),
    ]
    decisions = [
        Decision(
            id=f"d{i}",
            decision=d["decision"],
            options=list(d["options"]),
            tradeoffs=d["tradeoffs"],
            modern_approach=d["modern"],
        )
        for i, d in enumerate(kit["decisions"], start=1)
    ]
    rubric = [RubricRow.model_validate(row) for row in kit["rubric"]]
    traps = [
        Trap(generic_answer=t["generic"], follow_up=t["follow_up"], exposes=t["exposes"])
        for t in kit["traps"]
    ]
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
