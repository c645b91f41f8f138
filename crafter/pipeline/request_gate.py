"""At most N model requests at once, however many drafts are being worked on.

Regen used to run N drafting threads, each holding its slot from its first model call to its file
write. The answers of one round come back together, and every thread then validated, linted and
wrote its draft (about 20 ms of CPU each, one at a time under the GIL) before its next request
went out: with 8 threads, every round of requests started about 0.15 s late. Now regen keeps more
drafts going than the concurrency (see regen_run._Pool) and this gate bounds what matters, the
requests in flight: a thread takes a slot for its model call only, so the next draft's request
leaves as soon as an answer arrives, while the finished one is checked and written.

After Ctrl-C the gate is closed: a thread still waiting for a slot sends nothing (it raises
NotSent, and its scenario counts as never started), while requests already sent run to the end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from crafter.providers.base import Generation, Message, Provider

T = TypeVar("T", bound=BaseModel)


class NotSent(Exception):
    """The run was stopped before this request could be sent; nothing was paid for."""


class RequestGate:
    def __init__(self, slots: int, on_first: Callable[[], object] | None = None) -> None:
        self._slots = threading.BoundedSemaphore(max(1, slots))
        self._closed = threading.Event()
        self._lock = threading.Lock()
        # Run once, as the first request is let through: work that can wait for the model's
        # first answer (regen loads the lint data then) instead of delaying the first request.
        self._on_first = on_first

    def close(self) -> None:
        self._closed.set()

    def __enter__(self) -> None:
        while not self._slots.acquire(timeout=0.2):
            if self._closed.is_set():
                raise NotSent
        if self._closed.is_set():
            self._slots.release()
            raise NotSent
        with self._lock:
            first, self._on_first = self._on_first, None
        if first is not None:
            import contextlib

            with contextlib.suppress(Exception):
                first()

    def __exit__(self, *exc: object) -> None:
        self._slots.release()


class GatedProvider:
    """``inner`` with every ``generate`` call passed through ``gate``; everything else (model id,
    batch support, warm-up) is the inner provider's own."""

    def __init__(self, inner: Provider, gate: RequestGate) -> None:
        self.inner = inner
        self.gate = gate
        self.model_id = inner.model_id
        self.generates_text = inner.generates_text
        # Set once a request of this draft has gone out: after Ctrl-C, such a draft is waited
        # for (and kept), while one that has sent nothing yet never will.
        self.sent = False

    def generate(
        self, messages: Sequence[Message], schema: type[T], *, max_tokens: int | None = None
    ) -> Generation[T]:
        with self.gate:
            self.sent = True
            return self.inner.generate(messages, schema, max_tokens=max_tokens)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
