"""``crafter rehearse --batch-api``: each round of the rehearsals' calls goes out as one batch.

A rehearsal is a chain of calls (candidate, interviewer, ..., grader), each needing the one
before. So the rehearsals are replayed, all of them, against the answers collected so far: every
call already answered comes from the rehearsal cache, the first one without an answer stops that
persona (``Deferred``), and the deferred calls of every scenario and persona go out together as
one batch per provider. When a batch ends its answers join the reply store and the replay goes one
call further: a rehearsal of N turns takes 2N batches however many scenarios and personas it
covers. This reuses ``crafter regen --batch-api``'s replay provider, reply store and backends.

Submitted batches are journalled (``<cache>/batch/journal.jsonl``), so after Ctrl-C, kill -9 or
``--no-wait`` the same command collects the batch already at the provider instead of paying for
a new one.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crafter.domain.jsonlines import append_rows, read_rows
from crafter.pipeline.batch_api import TERMINAL, BatchOptions, Deferred, ReplayProvider, ReplyStore
from crafter.pipeline.rehearsal import Persona, PersonaRun, Roles, rehearse_persona
from crafter.providers import Provider
from crafter.providers.base import Generation, Message, T
from crafter.providers.batches import BatchBackend, BatchRequest, BatchStatus, batch_backend
from crafter.providers.structured import RawReply

StatusCallback = Callable[[BatchStatus], None]
Job = tuple[Any, Persona]  # (Target, Persona): the scenario is ``job[0].scenario``


@dataclass
class BatchOutcome:
    """Finished runs by job index; batch ids still at the provider (``--no-wait``)."""

    runs: dict[int, PersonaRun] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)
    batches: int = 0


class _Waiting(Deferred):
    """A deferred call, with the model whose batch it must go in."""

    def __init__(self, model: str, request: BatchRequest) -> None:
        super().__init__(request)
        self.model = model


class _LaneReplay(ReplayProvider):
    def generate(
        self, messages: Sequence[Message], schema: type[T], *, max_tokens: int | None = None
    ) -> Generation[T]:
        try:
            return super().generate(messages, schema, max_tokens=max_tokens)
        except Deferred as wait:
            raise _Waiting(self.model_id, wait.request) from None


class _Lane:
    """One provider's batch backend, reply store and replaying stand-in."""

    def __init__(self, provider: Provider, root: Path) -> None:
        self.provider = provider
        self.backend: BatchBackend = batch_backend(provider)  # UsageError without a batch API
        name = hashlib.sha256(provider.model_id.encode()).hexdigest()[:16]
        self.store = ReplyStore(root / f"replies-{name}.jsonl")
        self.replay = _LaneReplay(provider, self.backend, self.store)


class _Journal:
    """Append-only record of submitted and collected batches (fsynced lines)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, row: dict[str, Any]) -> None:
        append_rows(self.path, [row])

    def rows(self) -> list[dict[str, Any]]:
        return read_rows(self.path)

    def open_batches(self, lanes: dict[str, _Lane]) -> list[tuple[str, str, list[str]]]:
        """(model id, batch id, request ids) of batches submitted and never collected, those a
        kill interrupted mid-submit included when the provider can find them by token."""
        rows = self.rows()
        collected = {r["batch"] for r in rows if r.get("event") == "collected"}
        submitted = {r["token"]: r for r in rows if r.get("event") == "submitted"}
        out = []
        for r in rows:
            model = r.get("model")
            if model not in lanes:
                continue
            if r.get("event") == "submitted" and r["batch"] not in collected:
                out.append((model, r["batch"], list(r["ids"])))
            elif r.get("event") == "submitting" and r["token"] not in submitted:
                found = lanes[model].backend.find_submission(r["token"])
                if found is not None and found not in collected:
                    self.append({**r, "event": "submitted", "batch": found, "recovered": True})
                    out.append((model, found, list(r["ids"])))
        return out


def _collect(
    lane: _Lane,
    batch_id: str,
    ids: Sequence[str],
    options: BatchOptions,
    sleep: Callable[[float], None],
    on_status: StatusCallback | None,
) -> bool:
    """Poll until the batch ends and keep its answers; False when we may not wait."""
    while True:
        status = lane.backend.status(batch_id)
        if on_status is not None:
            on_status(status)
        if status.state in TERMINAL:
            break
        if not options.wait:
            return False
        sleep(options.poll_seconds)
    answers: list[tuple[str, RawReply]] = []
    if status.state == "failed":
        for custom_id in ids:
            lane.store.errors[custom_id] = f"the batch failed: {status.detail or status.state}"
    else:
        for item in lane.backend.results(batch_id):
            if item.reply is not None:
                answers.append((item.custom_id, item.reply))
            else:
                lane.store.errors[item.custom_id] = item.error or "no answer"
    lane.store.add(answers)
    return True


def rehearse_batched(
    jobs: Sequence[Job],
    roles: Roles,
    *,
    cache_root: Path,
    turns: int,
    options: BatchOptions | None = None,
    on_status: StatusCallback | None = None,
    on_done: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchOutcome:
    """Rehearse ``jobs`` through the roles' batch APIs (see the module docstring)."""
    options = options or BatchOptions()
    root = cache_root / "batch"
    lanes: dict[str, _Lane] = {}
    for provider in (roles.interviewer, roles.candidate, roles.grader):
        if provider.model_id not in lanes:
            lanes[provider.model_id] = _Lane(provider, root)
    replay = Roles(
        lanes[roles.interviewer.model_id].replay,
        lanes[roles.candidate.model_id].replay,
        lanes[roles.grader.model_id].replay,
    )
    journal = _Journal(root / "journal.jsonl")
    out = BatchOutcome()
    todo = list(range(len(jobs)))
    pending = journal.open_batches(lanes)
    while True:
        for model, batch_id, ids in list(pending):
            if not _collect(lanes[model], batch_id, ids, options, sleep, on_status):
                out.waiting.append(batch_id)
                continue
            journal.append({"event": "collected", "model": model, "batch": batch_id})
            pending.remove((model, batch_id, ids))
        if out.waiting:
            break
        todo, deferred = _round(jobs, todo, replay, cache_root, turns, out, on_done)
        if not deferred:
            break
        for model, requests in deferred.items():
            lane = lanes[model]
            token = uuid.uuid4().hex
            ids = list(requests)
            journal.append({"event": "submitting", "model": model, "token": token, "ids": ids})
            batch_id = lane.backend.submit(
                list(requests.values()), description=f"crafter rehearse round {out.batches + 1}",
                token=token,
            )  # fmt: skip
            journal.append(
                {
                    "event": "submitted",
                    "model": model,
                    "token": token,
                    "batch": batch_id,
                    "ids": ids,
                }
            )
            out.batches += 1
            pending.append((model, batch_id, ids))
        if not options.wait:
            out.waiting += [b for _, b, _ in pending]
            break
    if not todo and not out.waiting:
        # Every answer is in the rehearsal cache now: the reply stores are not needed again.
        for lane in lanes.values():
            lane.store.clear()
    return out


def _round(
    jobs: Sequence[Job],
    todo: list[int],
    replay: Roles,
    cache_root: Path,
    turns: int,
    out: BatchOutcome,
    on_done: Callable[[int], None] | None,
) -> tuple[list[int], dict[str, dict[str, BatchRequest]]]:
    """Replay every unfinished job as far as the answers in hand go: (still waiting, deferred
    requests by model)."""
    deferred: dict[str, dict[str, BatchRequest]] = {}
    still: list[int] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        target, persona = jobs[i]
        try:
            run = rehearse_persona(target.scenario, persona, replay, cache_root, turns=turns)
        except _Waiting as wait:
            with lock:
                deferred.setdefault(wait.model, {})[wait.request.custom_id] = wait.request
                still.append(i)
            return
        with lock:
            out.runs[i] = run
        if on_done is not None:
            on_done(i)

    # Replays are local work (cache reads, prompt rendering): a few threads do.
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="crafter-rehearse-replay") as pool:
        list(pool.map(one, todo))
    return sorted(still), deferred
