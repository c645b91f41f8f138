"""What the drafting stages exchange: research questions, notes, the model's draft output."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crafter.domain.scenario import Ident, ScenarioContent

Perspective = Literal[
    "product", "data", "modeling", "policy", "operations", "need", "task", "domain", "constraints"
]
PERSPECTIVES: tuple[str, ...] = (
    "product", "data", "modeling", "policy", "operations", "need", "task", "domain", "constraints"
)  # fmt: skip
Line = Annotated[str, StringConstraints(min_length=1, max_length=400, strip_whitespace=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResearchQuestion(_Strict):
    perspective: Perspective
    question: Line
    query: Annotated[str, StringConstraints(min_length=2, max_length=200, strip_whitespace=True)]


class Frame(_Strict):
    questions: list[ResearchQuestion] = Field(min_length=1, max_length=10)


class Note(_Strict):
    """One peculiarity from one document, in our words, tied to the document's id."""

    doc_id: Ident
    note: Annotated[str, StringConstraints(min_length=1, max_length=600, strip_whitespace=True)]


class NoteSet(_Strict):
    notes: list[Note] = Field(max_length=40)


class RefReason(_Strict):
    id: Ident
    why_relevant: Line


class DraftOutput(ScenarioContent):
    """The scenario content a model writes, with a reason per cited document."""

    reference_reasons: list[RefReason] = Field(default_factory=list, max_length=12)


class FoundDoc(_Strict):
    """A retrieved document: metadata always from the index, never from a model."""

    id: str
    title: str
    org: str
    year: int
    url: str
    source: str
    snippet: str
    # What the write-up states (may be presented as "Seen at <org>") and the design questions we
    # infer from it (attributed to nobody).
    reported: list[str] = Field(default_factory=list)
    design_questions: list[str] = Field(default_factory=list)
    questions: list[int] = Field(default_factory=list)
    # Calibrated P(at least related to the seed) from the relevance model; None before reranking.
    relevance: float | None = None


class Research(_Strict):
    docs: list[FoundDoc]  # only documents above the relevance floor
    notes: list[Note]
    # When nothing cleared the floor: the closest documents, shown as such and never cited.
    nearest: list[FoundDoc] = Field(default_factory=list)
    floor: float | None = None
    kind: str = ""  # the kind of ML problem detected in the seed (prompts/kinds/)

    @property
    def found_nothing_close(self) -> bool:
        return not self.docs and self.floor is not None
