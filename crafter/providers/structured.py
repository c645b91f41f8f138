"""The re-ask loop shared by model providers: parse, validate, and ask again when it fails."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

from pydantic import ValidationError

from crafter.errors import ProviderError
from crafter.providers.base import Generation, Message, T, Usage
from crafter.providers.pricing import price_table
from crafter.providers.retry import RetryPolicy, with_retries


@dataclass(frozen=True)
class RawReply:
    """What one model call returned, before parsing."""

    text: str
    finish: Literal["stop", "length", "other"]
    input_tokens: int = 0
    output_tokens: int = 0


Send = Callable[[Sequence[Message], int], RawReply]


def _validation_summary(err: ValidationError, limit: int = 12) -> str:
    lines = []
    for e in err.errors()[:limit]:
        loc = ".".join(str(p) for p in e["loc"]) or "(root)"
        lines.append(f"- {loc}: {e['msg']}")
    more = len(err.errors()) - limit
    if more > 0:
        lines.append(f"- ... and {more} more")
    return "\n".join(lines)


def generate_structured(
    send: Send,
    messages: Sequence[Message],
    schema: type[T],
    *,
    model_id: str,
    max_tokens: int,
    policy: RetryPolicy,
    max_reasks: int = 2,
    price_factor: float = 1.0,
) -> Generation[T]:
    """Call ``send`` until it yields JSON that validates against ``schema``.

    Transport failures are retried by ``policy``; an answer that is cut off, not JSON, or not
    valid against the schema is re-asked up to ``max_reasks`` times with the reason attached.
    ``price_factor`` scales the listed price (batch APIs bill about half of it).
    """
    convo = list(messages)
    usage = Usage()
    attempts = 0
    problem = ""
    for reask in range(max_reasks + 1):
        reply, tries = with_retries(partial(send, list(convo), max_tokens), policy, what=model_id)
        attempts += tries
        cost = price_table().cost(model_id, reply.input_tokens, reply.output_tokens)
        if cost is not None and price_factor != 1.0:
            cost = round(cost * price_factor, 6)
        usage.add(Usage(reply.input_tokens, reply.output_tokens, cost))
        if reply.finish == "length":
            problem = f"the answer was cut off at the {max_tokens}-token limit"
            convo = [
                *messages,
                Message(
                    "user",
                    "Your previous answer was cut off at the output token limit. Answer again with "
                    "the same structure but shorter text in every field.",
                ),
            ]
            continue
        try:
            data = json.loads(reply.text)
        except json.JSONDecodeError as exc:
            problem = f"the answer was not valid JSON ({exc.msg} at char {exc.pos})"
            convo = [
                *messages,
                Message("assistant", reply.text[:2000]),
                Message(
                    "user", f"That was not valid JSON ({exc.msg}). Reply with one JSON object only."
                ),
            ]
            continue
        try:
            value = schema.model_validate(data)
        except ValidationError as exc:
            problem = f"the answer did not match the schema:\n{_validation_summary(exc)}"
            convo = [
                *messages,
                Message("assistant", reply.text[:6000]),
                Message(
                    "user",
                    "That JSON does not match the required schema. Fix these problems and reply "
                    f"with the whole corrected JSON object:\n{_validation_summary(exc)}",
                ),
            ]
            continue
        return Generation(value, model_id, usage, attempts=attempts, reasks=reask)
    raise ProviderError(
        f"{model_id} gave no usable answer after {max_reasks + 1} tries: {problem}",
        hint="a larger model usually fixes this; small local models often cannot follow a big schema",
    )
