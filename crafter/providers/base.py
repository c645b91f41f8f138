"""The provider interface: structured generation (messages + pydantic schema -> object + usage)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from crafter.domain.messages import Message, Role

T = TypeVar("T", bound=BaseModel)
__all__ = ["Generation", "Message", "Provider", "Role", "T", "Usage"]


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        if self.cost_usd is None or other.cost_usd is None:
            self.cost_usd = None
        else:
            self.cost_usd += other.cost_usd


@dataclass
class Generation(Generic[T]):
    """A validated object and what producing it cost."""

    value: T
    model: str
    usage: Usage = field(default_factory=Usage)
    attempts: int = 1
    reasks: int = 0


@runtime_checkable
class Provider(Protocol):
    """One small method: turn messages into a validated instance of ``schema``.

    ``generates_text`` is False for the scaffold, which writes worksheets without a model.
    """

    model_id: str
    generates_text: bool

    def generate(
        self, messages: Sequence[Message], schema: type[T], *, max_tokens: int | None = None
    ) -> Generation[T]: ...
