"""The Scenario model: the canonical, git-friendly form of an interview scenario.

Top-level names marked as a contract in DESIGN.md (schema_version, id, title, seed, as_of, premise,
hooks, questions, rubric, references, provenance) are relied on by the CLI, tests and libraries.
Every string and list is bounded: a small local model would otherwise fill a field forever.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

SCHEMA_VERSION: Literal[1] = 1
MAX_SEED_CHARS = 4000

Short = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=1500, strip_whitespace=True)]
Long = Annotated[str, StringConstraints(min_length=1, max_length=4000, strip_whitespace=True)]
Ident = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,79}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")]

Level = Literal["mid", "senior", "staff", "principal"]
LEVELS: tuple[str, ...] = ("mid", "senior", "staff", "principal")

# What a hook or an interviewer-held fact is about; the scaffold's question bank is keyed on these.
Category = Literal[
    "product", "data", "scale", "errors", "policy", "people", "domain", "modeling", "operations"
]
CATEGORIES: tuple[str, ...] = (
    "product",
    "data",
    "scale",
    "errors",
    "policy",
    "people",
    "domain",
    "modeling",
    "operations",
)

ReviewStatus = Literal["draft", "reviewed", "approved", "retired"]
Signal = Literal[
    "problem framing",
    "data",
    "modeling",
    "evaluation",
    "deployment and monitoring",
    "product sense",
]
SIGNALS: tuple[str, ...] = (
    "problem framing",
    "data",
    "modeling",
    "evaluation",
    "deployment and monitoring",
    "product sense",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=True)


class ContextFact(_Strict):
    """A fact the interviewer holds: revealed up front or only when the candidate asks."""

    id: Ident
    text: Text
    category: Category
    reveal: Literal["upfront", "on_ask"] = "on_ask"


class DataSource(_Strict):
    name: Short
    description: Text
    size: Short
    labels: Short
    freshness: Short
    limits: Text


class Constraint(_Strict):
    name: Short
    value: Short
    unit: Annotated[str, StringConstraints(max_length=40, strip_whitespace=True)] = ""
    why: Text


class Hook(_Strict):
    """A specific detail that forces a design decision."""

    id: Ident
    detail: Text
    decision_forced: Text
    category: Category
    # Ids of entries in ``references``: the write-ups this hook is drawn from.
    refs: list[Ident] = Field(default_factory=list, max_length=8)


class Question(_Strict):
    """A good question a strong candidate asks, and the interviewer's prepared answer."""

    id: Ident
    question: Text
    why_good: Text
    answer: Text
    hooks: list[Ident] = Field(default_factory=list, max_length=8)


class Decision(_Strict):
    id: Ident
    decision: Text
    options: list[Short] = Field(min_length=1, max_length=8)
    tradeoffs: Text
    modern_approach: Text


class RubricRow(_Strict):
    """Observable evidence per level for one signal."""

    signal: Signal
    no_hire: Text
    lean_hire: Text
    hire: Text
    strong_hire: Text


class Trap(_Strict):
    """A smooth-talker answer that must not pass, and the follow-up that exposes it."""

    generic_answer: Text
    follow_up: Text
    exposes: Text


class Reference(_Strict):
    id: Ident
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    org: Short
    year: int = Field(ge=1950, le=2100)
    url: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    why_relevant: Text


class Provenance(_Strict):
    generator: Short
    model: Short
    prompt_version: Short
    corpus_version: Short
    created_at: dt.datetime
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cost_usd: float | None = Field(default=0.0, ge=0)
    price_as_of: dt.date | None = None
    inputs_hash: Annotated[str, StringConstraints(max_length=128)] | None = None
    # A digest of the content crafter generated (see ``content_digest``): when the file's content
    # no longer matches it, a person has edited the scenario and regen must not overwrite it.
    content_hash: Annotated[str, StringConstraints(max_length=128)] | None = None


class Review(_Strict):
    status: ReviewStatus = "draft"
    reviewer: Annotated[str, StringConstraints(max_length=200)] = ""
    notes: Annotated[str, StringConstraints(max_length=4000)] = ""


class ScenarioContent(_Strict):
    """What a generator writes: everything but identity, provenance and review."""

    title: Short
    premise: Long
    context: list[ContextFact] = Field(default_factory=list, max_length=40)
    data: list[DataSource] = Field(default_factory=list, max_length=20)
    constraints: list[Constraint] = Field(default_factory=list, max_length=20)
    hooks: list[Hook] = Field(min_length=1, max_length=20)
    questions: list[Question] = Field(min_length=1, max_length=30)
    decisions: list[Decision] = Field(default_factory=list, max_length=15)
    rubric: list[RubricRow] = Field(min_length=1, max_length=len(SIGNALS))
    traps: list[Trap] = Field(default_factory=list, max_length=15)

    @field_validator("context", "hooks", "questions", "decisions")
    @classmethod
    def _unique_ids(cls, items: list[Any], info: ValidationInfo) -> list[Any]:
        """Ids name items that questions, hooks and editors point at: unique within each list."""
        seen: dict[str, int] = {}
        for n, item in enumerate(items):
            if item.id in seen:
                raise ValueError(
                    f"the id {item.id!r} is used by items {seen[item.id]} and {n} of "
                    f"{info.field_name}; give each its own id"
                )
            seen[item.id] = n
        return items

    @field_validator("rubric")
    @classmethod
    def _one_row_per_signal(cls, rows: list[RubricRow]) -> list[RubricRow]:
        signals = [row.signal for row in rows]
        twice = sorted({s for s in signals if signals.count(s) > 1})
        if twice:
            raise ValueError(f"more than one rubric row for {', '.join(twice)}")
        return rows


class Scenario(ScenarioContent):
    """A whole scenario as stored in a library: one YAML file each."""

    schema_version: Literal[1] = SCHEMA_VERSION
    id: Slug
    seed: Annotated[str, StringConstraints(min_length=1, max_length=MAX_SEED_CHARS)]
    as_of: dt.date
    level: Level = "staff"
    references: list[Reference] = Field(default_factory=list, max_length=30)
    provenance: Provenance
    review: Review = Field(default_factory=Review)


# The order fields are written in, so a YAML file reads top to bottom like a scenario.
FIELD_ORDER: tuple[str, ...] = (
    "schema_version",
    "id",
    "title",
    "seed",
    "as_of",
    "level",
    "premise",
    "context",
    "data",
    "constraints",
    "hooks",
    "questions",
    "decisions",
    "rubric",
    "traps",
    "references",
    "provenance",
    "review",
)


# What a person may edit after crafter drafted it: everything but identity, inputs, provenance and
# review. A review (status, reviewer, notes) is not an edit of the content.
CONTENT_FIELDS: frozenset[str] = frozenset(ScenarioContent.model_fields) | {"references"}


def content_digest(scenario: Scenario) -> str:
    """A stable digest of the scenario's content fields (independent of YAML layout)."""
    import hashlib
    import json

    data = scenario.model_dump(mode="json", include=set(CONTENT_FIELDS))
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "c1-" + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:40]


def stamp_generated(scenario: Scenario) -> Scenario:
    """A copy whose provenance records the content as generated by crafter."""
    provenance = scenario.provenance.model_copy(update={"content_hash": content_digest(scenario)})
    return scenario.model_copy(update={"provenance": provenance})


def edited_by_person(scenario: Scenario) -> bool:
    """True when the content differs from what crafter generated, or when there is no record of
    what it generated (a hand-written file, or one drafted before the record existed): either way
    the text may hold a person's work."""
    recorded = scenario.provenance.content_hash
    return recorded is None or recorded != content_digest(scenario)


def placeholder_fields(scenario: Scenario) -> list[tuple[str, str]]:
    """(field path, text) of every content field still holding a TODO(interviewer) placeholder,
    in file order; lint and the interviewer packet both count these."""
    from crafter.domain.text import is_placeholder

    out: list[tuple[str, str]] = []

    def walk(value: object, path: str) -> None:
        if isinstance(value, str):
            if is_placeholder(value):
                out.append((path, value))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")

    data = scenario.model_dump(mode="json", exclude={"provenance", "review"})
    for name in FIELD_ORDER:
        if name in data:
            walk(data[name], name)
    return out
