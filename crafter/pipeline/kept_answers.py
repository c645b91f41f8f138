"""Model answers kept the moment they arrive, so a killed regen never pays for one twice.

Between a model's answer and the scenario file it becomes, regen still lints, checks support
and may revise: seconds in which a crash, ``kill -9`` or a power cut would lose an answer that
was paid for. Every answer is therefore written first (atomically, fsynced) to
``<library>/.crafter/answers/<key>.json`` (the library's state folder), keyed by a digest of the
model, the messages, the schema and the token limit; the rerun that resumes the run finds it there
and sends nothing.
An answer is dropped once its scenario's file is written, and the folder emptied when a run
ends with nothing failed; answers that do not parse are ignored and asked again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from crafter.domain.atomic import atomic_write_text
from crafter.providers.base import Generation, Message, Provider, T, Usage


class KeptAnswers:
    def __init__(self, state_dir: Path) -> None:
        self.folder = state_dir / "answers"

    @staticmethod
    def key(
        model_id: str, messages: Sequence[Message], schema: type[Any], max_tokens: int | None
    ) -> str:
        digest = hashlib.sha256()
        for part in (model_id, schema.__name__, str(max_tokens)):
            digest.update(part.encode() + b"\0")
        for m in messages:
            digest.update(m.role.encode() + b"\0" + m.content.encode() + b"\0")
        return digest.hexdigest()[:32]

    def get(self, key: str, schema: type[T]) -> Generation[T] | None:
        try:
            data = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            value = schema.model_validate(data["value"])
            usage = Usage(**data["usage"])
            return Generation(value, str(data["model"]), usage, int(data["attempts"]), 0)
        except (OSError, ValueError, TypeError, KeyError, ValidationError):
            return None

    def put(self, key: str, generation: Generation[Any]) -> None:
        data = {
            "model": generation.model,
            "value": generation.value.model_dump(mode="json"),
            "usage": asdict(generation.usage),
            "attempts": generation.attempts,
        }
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.folder / f"{key}.json", json.dumps(data))
        except OSError:
            pass  # a full disk costs the safety net, not the answer in hand

    def drop(self, keys: Sequence[str]) -> None:
        for key in keys:
            (self.folder / f"{key}.json").unlink(missing_ok=True)

    def clear(self) -> None:
        """Every kept answer, and the temp file of one whose write a kill cut short."""
        if not self.folder.is_dir():
            return
        for pattern in ("*.json", ".*.json.*.tmp"):
            for path in self.folder.glob(pattern):
                path.unlink(missing_ok=True)


class KeepingProvider:
    """``inner`` with each answer kept before it is used, and a kept answer reused instead of a
    request; everything else (model id, batch support, warm-up) is the inner provider's own."""

    def __init__(self, inner: Provider, kept: KeptAnswers) -> None:
        self.inner = inner
        self.kept = kept
        self.model_id = inner.model_id
        self.generates_text = inner.generates_text
        self.keys: list[str] = []  # the answers this draft used, dropped once its file is written

    def generate(
        self, messages: Sequence[Message], schema: type[T], *, max_tokens: int | None = None
    ) -> Generation[T]:
        key = KeptAnswers.key(self.model_id, messages, schema, max_tokens)
        self.keys.append(key)
        found = self.kept.get(key, schema)
        if found is not None:
            return found
        generation = self.inner.generate(messages, schema, max_tokens=max_tokens)
        self.kept.put(key, generation)
        return generation

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
