"""A programmable provider for tests: queued or computed outputs, and a record of every call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from crafter.errors import ProviderError
from crafter.providers.base import Generation, Message, T, Usage

Output = (
    BaseModel | dict[str, Any] | Exception | Callable[[Sequence[Message], type[BaseModel]], Any]
)


@dataclass
class FakeCall:
    messages: list[Message]
    schema: type[BaseModel]
    max_tokens: int | None


@dataclass
class FakeProvider:
    """Returns queued outputs in order (or ``default`` once the queue is empty).

    An output may be a model instance, a dict (validated against the schema), an exception to
    raise, or a callable ``(messages, schema) -> any of those``.
    """

    outputs: list[Output] = field(default_factory=list)
    default: Output | None = None
    model_id: str = "fake:test"
    tokens_per_call: tuple[int, int] = (100, 50)
    calls: list[FakeCall] = field(default_factory=list)
    generates_text: bool = True

    def queue(self, *outputs: Output) -> FakeProvider:
        self.outputs.extend(outputs)
        return self

    def generate(
        self, messages: Sequence[Message], schema: type[T], *, max_tokens: int | None = None
    ) -> Generation[T]:
        self.calls.append(FakeCall(list(messages), schema, max_tokens))
        if self.outputs:
            out: Any = self.outputs.pop(0)
        elif self.default is not None:
            out = self.default
        else:
            raise ProviderError("fake provider: no output queued for this call")
        if callable(out) and not isinstance(out, BaseModel | Exception):
            out = out(messages, schema)
        if isinstance(out, Exception):
            raise out
        value = (
            out
            if isinstance(out, schema)
            else schema.model_validate(out.model_dump() if isinstance(out, BaseModel) else out)
        )
        return Generation(value, self.model_id, Usage(*self.tokens_per_call, 0.0))
