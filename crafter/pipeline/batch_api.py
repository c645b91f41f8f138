"""``crafter regen --batch-api``: the library's model calls go through a provider's batch API.

Batch APIs bill about half but answer in minutes to hours, so drafting turns inside out. Every
scenario's pipeline is replayed against a store of answers collected so far; the first call it
needs that has no answer yet stops it (``Deferred``), and those calls from all scenarios go out
together as one batch. When the batch ends its answers join the store and the replay goes one
call further: a library drafted with research takes a batch per stage (frame, notes, draft, and
a revision where lint finds errors). The local stages (retrieval, lint) are deterministic, so a
replay asks for exactly the calls it asked for before and pays nothing twice.

Answers are kept in ``<library>/.crafter/batch/replies.jsonl``; submitted batches are journalled,
so after Ctrl-C, kill -9 or ``--no-wait`` the same command polls the batch already at the
provider instead of sending a new one.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crafter.domain.jsonlines import append_rows, read_rows
from crafter.errors import ProviderError
from crafter.pipeline.batch import PlanItem, RegenPlan
from crafter.pipeline.draft import draft_scenario
from crafter.pipeline.regen_journal import Journal, remove_stale_temp_files
from crafter.pipeline.regen_run import (
    Outcome,
    RegenProgress,
    RegenReport,
    RegenSession,
    _failed,
    _Work,
    _write_one,
    progress_snapshot,
)
from crafter.providers import Provider
from crafter.providers.base import Generation, Message, T
from crafter.providers.batches import (
    BatchBackend,
    BatchRequest,
    BatchStatus,
    batch_backend,
    request_id,
)
from crafter.providers.retry import RetryPolicy
from crafter.providers.structured import RawReply, generate_structured

REPLIES = "batch/replies.jsonl"
DEFAULT_POLL_SECONDS = 30.0
DEFAULT_MAX_TOKENS = 8000
TERMINAL = ("ended", "failed", "cancelled", "expired")

__all__ = [
    "DEFAULT_POLL_SECONDS",
    "BatchRegen",
    "Deferred",
    "ReplayProvider",
    "ReplyStore",
    "batch_backend",
]


class Deferred(Exception):
    """A model call whose answer has not come back from a batch yet."""

    def __init__(self, request: BatchRequest) -> None:
        super().__init__(request.custom_id)
        self.request = request


class ReplyStore:
    """Batch answers by request id. Successes are kept on disk (a rerun replays them instead of
    paying again); failures only for this run, so the next run asks again."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: dict[str, str] = {}
        self._replies: dict[str, RawReply] = {}
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        for row in read_rows(self.path):
            # A kill can cut the last line short; the answer is fetched again if it is needed.
            with contextlib.suppress(ValueError, KeyError, TypeError):
                self._replies[str(row["id"])] = RawReply(
                    text=str(row["text"]),
                    finish=row["finish"],
                    input_tokens=int(row["input_tokens"]),
                    output_tokens=int(row["output_tokens"]),
                )

    def clear(self) -> None:
        with self._lock:
            self._replies.clear()
            self.path.unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(self._replies)

    def get(self, custom_id: str) -> RawReply | None:
        with self._lock:
            return self._replies.get(custom_id)

    def add(self, items: Sequence[tuple[str, RawReply]]) -> None:
        """Keep answers, appended and fsynced in one write."""
        rows: list[dict[str, Any]] = []
        with self._lock:
            for custom_id, reply in items:
                self._replies[custom_id] = reply
                self.errors.pop(custom_id, None)
                rows.append(
                    {
                        "id": custom_id,
                        "text": reply.text,
                        "finish": reply.finish,
                        "input_tokens": reply.input_tokens,
                        "output_tokens": reply.output_tokens,
                    }
                )
            append_rows(self.path, rows)


class ReplayProvider:
    """A provider that answers from the store and defers every call it has no answer for.

    The request body comes from the batch backend, built exactly as the live provider builds
    it, so the same conversation always maps to the same request id. Re-asks (an answer that
    was not valid JSON, say) are new conversations and go out in the next batch.
    """

    generates_text = True

    def __init__(self, inner: Provider, backend: BatchBackend, store: ReplyStore) -> None:
        self.model_id = inner.model_id
        self.backend = backend
        self.store = store

    def generate(
        self, messages: Sequence[Message], schema: type[T], *, max_tokens: int | None = None
    ) -> Generation[T]:
        def send(convo: Sequence[Message], limit: int) -> RawReply:
            body = self.backend.request(convo, schema, limit)
            custom_id = request_id(body)
            reply = self.store.get(custom_id)
            if reply is not None:
                return reply
            error = self.store.errors.get(custom_id)
            if error is not None:
                raise ProviderError(f"{self.model_id}: the batch request failed: {error}")
            raise Deferred(BatchRequest(custom_id, body))

        return generate_structured(
            send,
            messages,
            schema,
            model_id=self.model_id,
            max_tokens=max_tokens or DEFAULT_MAX_TOKENS,
            # Nothing to retry locally: a missing answer is deferred, a failed one reported.
            policy=RetryPolicy(max_attempts=1),
            price_factor=self.backend.price_factor,
        )


StatusCallback = Callable[[BatchStatus], None]


@dataclass(frozen=True)
class BatchOptions:
    poll_seconds: float = DEFAULT_POLL_SECONDS
    wait: bool = True  # False: submit or collect once, then return (rerun to go on)


class BatchRegen:
    """Runs a planned regen through the provider's batch API (see the module docstring)."""

    def __init__(
        self,
        session: RegenSession,
        options: BatchOptions | None = None,
        *,
        backend: BatchBackend | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.plan: RegenPlan = session.plan
        self.options = options or BatchOptions()
        # Raises UsageError for providers without a batch API, before anything is written.
        self.backend = backend or batch_backend(session.provider)
        self.provider = session.provider
        self.sleep = sleep

    def run(
        self,
        on_progress: Callable[[RegenProgress], None] | None = None,
        on_status: StatusCallback | None = None,
    ) -> RegenReport:
        plan = self.plan
        journal = Journal(plan.library)
        run = journal.start(plan)
        removed = remove_stale_temp_files(plan.library) if plan.resumed else 0
        store = ReplyStore(plan.library.state_dir / REPLIES)
        replay = ReplayProvider(self.provider, self.backend, store)
        started = time.perf_counter()
        todo: list[PlanItem] = plan.to_draft
        outcomes: list[Outcome] = []
        # Batches an interrupted run submitted and never collected: poll them, do not resend.
        open_batches = self._interrupted_batches(journal, run.run)
        waiting: list[str] = []
        rounds = 0

        def report(last: str) -> None:
            if on_progress is not None:
                on_progress(progress_snapshot(len(plan.to_draft), outcomes, last))

        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crafter-regen-write")
        work = _Work(replay, plan.drafting, journal, run, writer)
        try:
            report("")
            while True:
                for batch_id, ids in list(open_batches.items()):
                    if not self._collect(batch_id, ids, store, journal, run.run, on_status):
                        waiting.append(batch_id)
                        break
                    del open_batches[batch_id]
                if waiting:
                    break
                todo, deferred = self._advance(todo, work, outcomes, report)
                if not deferred:
                    break
                rounds += 1
                # Journalled first: killed before the id is recorded, the rerun can still find
                # the batch by its token (where the provider keeps metadata) and not pay twice.
                token = uuid.uuid4().hex
                journal.append(
                    {
                        "event": "batch-submitting",
                        "run": run.run,
                        "token": token,
                        "ids": list(deferred),
                    }
                )
                batch_id = self.backend.submit(
                    list(deferred.values()),
                    description=f"crafter regen {plan.library.root.name} run {run.run}",
                    token=token,
                )
                journal.append(
                    {
                        "event": "batch-submitted",
                        "run": run.run,
                        "batch": batch_id,
                        "token": token,
                        "provider": self.backend.provider_name,
                        "requests": len(deferred),
                        "ids": list(deferred),
                    }
                )
                open_batches = {batch_id: list(deferred)}
                if not self.options.wait:
                    waiting.append(batch_id)
                    break
        finally:
            writer.shutdown(wait=True)
        order = {item.rel: n for n, item in enumerate(plan.to_draft)}
        outcomes.sort(key=lambda o: order[o.item.rel])
        result = RegenReport(
            plan,
            run.run,
            outcomes,
            time.perf_counter() - started,
            removed,
            waiting=tuple(waiting),
            batches=rounds,
        )
        if not waiting and not result.failed:
            # Every answer is in a scenario file now; a failed scenario's earlier answers are
            # kept so that the rerun does not pay for its finished stages again.
            store.clear()
        if not waiting:
            journal.append(
                {
                    "event": "end",
                    "run": run.run,
                    "drafted": len(result.drafted),
                    "proposed": len(result.proposed),
                    "failed": len(result.failed),
                    "seconds": round(result.seconds, 3),
                }
            )
        return result

    def _interrupted_batches(self, journal: Journal, run: str) -> dict[str, list[str]]:
        """Batches the interrupted run left at the provider, those it was killed submitting
        included when the provider can find them by token."""
        resumed = self.plan.resumed
        if resumed is None:
            return {}
        found = dict(resumed.batches)
        for token, ids in resumed.submitting.items():
            batch_id = self.backend.find_submission(token)
            if batch_id is not None and batch_id not in found:
                found[batch_id] = ids
                journal.append(
                    {
                        "event": "batch-submitted",
                        "run": run,
                        "batch": batch_id,
                        "token": token,
                        "provider": self.backend.provider_name,
                        "requests": len(ids),
                        "ids": ids,
                        "recovered": True,
                    }
                )
        return found

    def _collect(
        self,
        batch_id: str,
        ids: Sequence[str],
        store: ReplyStore,
        journal: Journal,
        run: str,
        on_status: StatusCallback | None,
    ) -> bool:
        """Poll ``batch_id`` until it ends and keep its answers; False if we may not wait."""
        while True:
            status = self.backend.status(batch_id)
            if on_status is not None:
                on_status(status)
            if status.state in TERMINAL:
                break
            if not self.options.wait:
                return False
            self.sleep(self.options.poll_seconds)
        answers: list[tuple[str, RawReply]] = []
        failures = 0
        if status.state == "failed":
            # Nothing ran: the scenarios waiting on it fail this run and the next run resends.
            for custom_id in ids:
                store.errors[custom_id] = f"the batch failed: {status.detail or status.state}"
            failures = len(ids)
        else:
            for item in self.backend.results(batch_id):
                if item.reply is not None:
                    answers.append((item.custom_id, item.reply))
                else:
                    store.errors[item.custom_id] = item.error or "no answer"
                    failures += 1
        store.add(answers)
        journal.append(
            {
                "event": "batch-collected",
                "run": run,
                "batch": batch_id,
                "state": status.state,
                "answers": len(answers),
                "failed": failures,
            }
        )
        return True

    def _advance(
        self,
        todo: list[PlanItem],
        work: _Work,
        outcomes: list[Outcome],
        report: Callable[[str], None],
    ) -> tuple[list[PlanItem], dict[str, BatchRequest]]:
        """Replay every unfinished scenario as far as the answers in hand allow."""
        deferred: dict[str, BatchRequest] = {}
        still: list[PlanItem] = []
        lock = threading.Lock()

        def one(item: PlanItem) -> None:
            assert item.request is not None
            t0 = time.perf_counter()
            try:
                result = draft_scenario(
                    item.request,
                    work.provider,
                    index=work.drafting.index,
                    rounds=work.drafting.rounds,
                    new_seed=False,  # redrafts: the seed is the library's own
                )
            except Deferred as wait:
                with lock:
                    deferred.setdefault(wait.request.custom_id, wait.request)
                    still.append(item)
                return
            except Exception as exc:
                outcome = _failed(item, exc, work)
            else:
                outcome = work.writer.submit(
                    _write_one, item, result, work, time.perf_counter() - t0
                ).result()
            with lock:
                outcomes.append(outcome)
            report(item.rel)

        # Replays are local work (retrieval, lint) on a shared, locked index: a few threads do.
        with ThreadPoolExecutor(
            max_workers=min(self.plan.concurrency, 8), thread_name_prefix="crafter-replay"
        ) as pool:
            list(pool.map(one, todo))
        order = {item.rel: n for n, item in enumerate(todo)}
        still.sort(key=lambda i: order[i.rel])
        return still, deferred


def describe_status(status: BatchStatus, poll_seconds: float) -> str:
    """One line for a progress display."""
    return (
        f"batch {status.batch_id}: {status.state.replace('_', ' ')}, "
        f"{status.succeeded + status.failed}/{status.total} answered"
        + (f" ({status.failed} failed)" if status.failed else "")
        + (f"; checking every {poll_seconds:g}s" if status.state not in TERMINAL else "")
    )
