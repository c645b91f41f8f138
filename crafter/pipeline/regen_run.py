"""Running a planned regen: drafting threads, each answer kept and written at once, the journal,
progress and the report, Ctrl-C handling; batch_api.py shares the per-item writing.

Planning (what to redraft and why) is in batch.py.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crafter.domain import (
    Scenario,
    ScenarioFileError,
    atomic_write_text,
    to_yaml,
)
from crafter.errors import CrafterError
from crafter.pipeline.draft import DraftResult, draft_scenario
from crafter.pipeline.kept_answers import KeepingProvider, KeptAnswers
from crafter.pipeline.library_drafting import Drafting
from crafter.pipeline.regen_journal import (
    Journal,
    RunRecord,
    backup_file,
    remove_stale_temp_files,
)
from crafter.pipeline.request_gate import GatedProvider, NotSent, RequestGate
from crafter.providers import Provider

if TYPE_CHECKING:
    from crafter.pipeline.batch import PlanItem, RegenPlan


@dataclass(frozen=True)
class Outcome:
    item: PlanItem
    ok: bool
    written: Path | None = None
    error: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    seconds: float = 0.0


@dataclass(frozen=True)
class RegenProgress:
    """A snapshot for a progress display, sent after each finished scenario."""

    total: int
    done: int
    failed: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    last: str = ""


@dataclass
class RegenReport:
    plan: RegenPlan
    run: str
    outcomes: list[Outcome]
    seconds: float
    removed_temp_files: int = 0
    # --batch-api: batches still running at the provider (--no-wait), and how many were sent.
    waiting: tuple[str, ...] = ()
    batches: int = 0

    @property
    def drafted(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok and o.item.action == "draft"]

    @property
    def proposed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok and o.item.action == "propose"]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def input_tokens(self) -> int:
        return sum(o.input_tokens for o in self.outcomes)

    @property
    def output_tokens(self) -> int:
        return sum(o.output_tokens for o in self.outcomes)

    @property
    def cost_usd(self) -> float | None:
        costs = [o.cost_usd for o in self.outcomes]
        return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)

    @property
    def exit_code(self) -> int:
        """1 when a draft failed, else 2 when a file was invalid, else 0."""
        if self.failed:
            return 1
        return 2 if self.plan.count("invalid") else 0


def progress_snapshot(total: int, outcomes: list[Outcome], last: str) -> RegenProgress:
    """Where a run stands after ``outcomes`` (for a progress display)."""
    costs = [o.cost_usd for o in outcomes]
    return RegenProgress(
        total=total,
        done=sum(1 for o in outcomes if o.ok),
        failed=sum(1 for o in outcomes if not o.ok),
        input_tokens=sum(o.input_tokens for o in outcomes),
        output_tokens=sum(o.output_tokens for o in outcomes),
        cost_usd=None if None in costs else sum(c or 0.0 for c in costs),
        last=last,
    )


ProgressCallback = Callable[[RegenProgress], None]
# Called once on Ctrl-C with the number of drafts still in flight (they finish and are kept).
InterruptCallback = Callable[[int], None]


def _finished_scenario(item: PlanItem, result: DraftResult) -> Scenario:
    """The new draft as it is stored: the file keeps its id, the review carries over."""
    assert item.scenario is not None
    update: dict[str, Any] = {"id": item.scenario.id}
    if item.carry is not None:
        update["review"] = item.carry
    return result.scenario.model_copy(update=update)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, CrafterError):
        return exc.message
    if isinstance(exc, ScenarioFileError):
        return "; ".join(p.render() for p in exc.problems)
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class _Work:
    """What the worker threads share for one run."""

    provider: Provider
    drafting: Drafting
    journal: Journal
    run: RunRecord
    writer: ThreadPoolExecutor  # one thread: serialises, YAML and fsync, off the drafting path
    # Live regen writes from the drafting threads, one at a time; ``writing`` counts the writes
    # under way so that a second Ctrl-C can still wait for answers already paid for.
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    writing: list[int] = field(default_factory=lambda: [0])
    # Bounds the model requests in flight to the run's concurrency (see request_gate.py).
    gate: RequestGate = field(default_factory=lambda: RequestGate(1))
    # Each answer is written here as it arrives, so a killed run's rerun reuses it.
    kept: KeptAnswers | None = None
    # The drafts under way, by file: after Ctrl-C, those that have sent a request are the ones
    # waited for (a draft still building its first prompt will meet the closed gate).
    active: dict[str, GatedProvider] = field(default_factory=dict)

    def in_flight(self) -> int:
        return sum(1 for gated in list(self.active.values()) if gated.sent)


def _failed(item: PlanItem, exc: BaseException, work: _Work) -> Outcome:
    outcome = Outcome(item, False, error=_describe(exc))
    work.journal.append(
        {"event": "failed", "run": work.run.run, "file": item.rel, "error": outcome.error}
    )
    return outcome


def _draft_one(item: PlanItem, work: _Work) -> Outcome | None:
    """Draft one scenario (in a drafting thread) and write its file at once, atomically; None
    when the run was stopped before its first request was sent (it never started).

    The write happens in this thread as soon as the model has answered, so a draft that was
    paid for is written even when Ctrl-C has stopped everything else.
    """
    assert item.request is not None
    started = time.perf_counter()
    gated = GatedProvider(work.provider, work.gate)
    work.active[item.rel] = gated
    try:
        return _draft_and_write(item, work, gated, started)
    finally:
        work.active.pop(item.rel, None)


def _draft_and_write(
    item: PlanItem, work: _Work, gated: GatedProvider, started: float
) -> Outcome | None:
    assert item.request is not None
    try:
        keeping = KeepingProvider(gated, work.kept) if work.kept is not None else None
        result = draft_scenario(
            item.request,
            keeping or gated,
            index=work.drafting.index,
            rounds=work.drafting.rounds,
            new_seed=False,  # redrafts: the seed is the library's own
        )
    except NotSent:
        return None
    except Exception as exc:
        return _failed(item, exc, work)
    with work.write_lock:
        work.writing[0] += 1
        try:
            outcome = _write_one(item, result, work, time.perf_counter() - started)
        finally:
            work.writing[0] -= 1
    if outcome.ok and keeping is not None and work.kept is not None:
        work.kept.drop(keeping.keys)
    return outcome


def _write_one(item: PlanItem, result: DraftResult, work: _Work, seconds: float) -> Outcome:
    assert item.target is not None
    try:
        text = to_yaml(_finished_scenario(item, result))
        # The intent line lets a rerun recognise this file if we die before "done".
        digest = hashlib.sha256(text.encode()).hexdigest()
        work.journal.append(
            {"event": "writing", "run": work.run.run, "file": item.rel, "sha256": digest}
        )
        if item.backup:
            backup_file(work.journal.library, item.target)
        atomic_write_text(item.target, text)
    except Exception as exc:
        return _failed(item, exc, work)
    p = result.scenario.provenance
    work.journal.append(
        {
            "event": "done",
            "run": work.run.run,
            "file": item.rel,
            "key": item.key,
            "written": item.target.name,
            "input_tokens": p.input_tokens,
            "output_tokens": p.output_tokens,
            "cost_usd": p.cost_usd,
        }
    )
    return Outcome(
        item,
        True,
        written=item.target,
        input_tokens=p.input_tokens,
        output_tokens=p.output_tokens,
        cost_usd=p.cost_usd,
        seconds=seconds,
    )


# After Ctrl-C, how long regen waits for drafts in flight (they are paid for) before it exits;
# a second Ctrl-C stops waiting for the model but still writes answers already received.
STOP_GRACE_ENV = "CRAFTER_STOP_GRACE_SECONDS"
DEFAULT_STOP_GRACE = 90.0
WRITE_GRACE = 15.0
_POLL_SECONDS = 0.01  # how often the main thread looks for finished drafts


def _stop_grace() -> float:
    try:
        return max(0.0, float(os.environ.get(STOP_GRACE_ENV, DEFAULT_STOP_GRACE)))
    except ValueError:
        return DEFAULT_STOP_GRACE


class _Pool:
    """Drafting threads, at most ``size`` at once (more than the concurrency: the request gate
    bounds the model calls; see request_gate.py). They are daemon threads: a model that hangs
    after Ctrl-C cannot hold the process beyond the grace period."""

    def __init__(self, size: int, work: _Work) -> None:
        self.size = size
        self.work = work
        self.cond = threading.Condition()
        self.running = 0
        self.finished: list[Outcome] = []

    def start(self, item: PlanItem) -> None:
        with self.cond:
            self.running += 1

        def target() -> None:
            outcome: Outcome | None
            try:
                outcome = _draft_one(item, self.work)
            except BaseException as exc:
                outcome = _failed(item, exc, self.work)
            with self.cond:
                if outcome is not None:
                    self.finished.append(outcome)
                self.running -= 1
                self.cond.notify_all()

        thread = threading.Thread(target=target, name="crafter-regen", daemon=True)
        try:
            thread.start()
        except BaseException:
            # Ctrl-C can land while start() waits for the new thread to run: if it did start,
            # it is in flight and will report; only a thread that never ran is uncounted.
            if thread.ident is None:
                with self.cond:
                    self.running -= 1
            raise

    def wait(self, until: Callable[[], bool], deadline: float | None = None) -> list[Outcome]:
        """Wait (interruptibly) until ``until()`` holds, an outcome arrives or the deadline
        passes; returns the outcomes finished since the last call.

        Polls with the lock held only to look: ``Condition.wait`` re-takes its lock in a
        ``finally``, and a second Ctrl-C landing there left the lock unowned ("cannot release
        un-acquired lock" instead of exit 130). A plain sleep is interrupted cleanly."""
        while True:
            with self.cond:
                over = deadline is not None and deadline - time.monotonic() <= 0
                if over or self.finished or until():
                    done, self.finished = self.finished, []
                    return done
            time.sleep(_POLL_SECONDS)


def _run_live(
    plan: RegenPlan,
    work: _Work,
    on_progress: ProgressCallback | None,
    on_interrupt: InterruptCallback | None,
) -> list[Outcome]:
    """Draft ``plan.to_draft`` with bounded concurrency. Ctrl-C (KeyboardInterrupt in this, the
    main, thread) starts no new draft, waits for the ones in flight up to the grace period,
    then re-raises; a second Ctrl-C waits only for writes of answers already received."""
    todo = plan.to_draft
    # Twice the concurrency in threads: while one draft is checked and written, another's
    # request already waits at the gate for the next free slot.
    pool = _Pool(min(len(todo), 2 * plan.concurrency) or 1, work)
    outcomes: list[Outcome] = []

    def collect(done: list[Outcome]) -> None:
        for outcome in done:
            outcomes.append(outcome)
            if on_progress is not None:
                on_progress(progress_snapshot(len(todo), outcomes, outcome.item.rel))

    if on_progress is not None:
        on_progress(progress_snapshot(len(todo), outcomes, ""))
    try:
        for item in todo:
            while pool.running >= pool.size:
                collect(pool.wait(lambda: pool.running < pool.size))
            pool.start(item)
        while pool.running or pool.finished:
            collect(pool.wait(lambda: pool.running == 0))
    except KeyboardInterrupt:
        work.gate.close()  # drafts waiting for a slot send nothing now
        if on_interrupt is not None:
            on_interrupt(work.in_flight())
        deadline = time.monotonic() + _stop_grace()
        try:
            while pool.running and time.monotonic() < deadline:
                collect(pool.wait(lambda: pool.running == 0, deadline))
        except KeyboardInterrupt:
            # A second Ctrl-C: stop waiting for the model; answers being written still land.
            end = time.monotonic() + WRITE_GRACE
            while work.writing[0] and time.monotonic() < end:
                time.sleep(0.02)
        collect(pool.wait(lambda: True))
        raise
    order = {item.rel: n for n, item in enumerate(todo)}
    return sorted(outcomes, key=lambda o: order[o.item.rel])


class RegenSession:
    """A planned regen holding the library lock (unless it is a dry run)."""

    def __init__(self, plan: RegenPlan, provider: Provider) -> None:
        self.plan = plan
        self.provider = provider

    def run(
        self,
        on_progress: ProgressCallback | None = None,
        on_interrupt: InterruptCallback | None = None,
    ) -> RegenReport:
        """Draft everything the plan says to, journalling as it goes."""
        journal = Journal(self.plan.library)
        run = journal.start(self.plan)
        removed = remove_stale_temp_files(self.plan.library) if self.plan.resumed else 0
        started = time.perf_counter()
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crafter-regen-write")
        from crafter.pipeline.warmup import warm_lint

        try:
            work = _Work(
                self.provider,
                self.plan.drafting,
                journal,
                run,
                writer,
                # The lint data loads while the first requests wait for the model, not before.
                gate=RequestGate(self.plan.concurrency, on_first=warm_lint),
                kept=KeptAnswers(self.plan.library.state_dir),
            )
            outcomes = _run_live(self.plan, work, on_progress, on_interrupt)
        finally:
            writer.shutdown(wait=False)
        report = RegenReport(self.plan, run.run, outcomes, time.perf_counter() - started, removed)
        journal.append(
            {
                "event": "end",
                "run": run.run,
                "drafted": len(report.drafted),
                "proposed": len(report.proposed),
                "failed": len(report.failed),
                "seconds": round(report.seconds, 3),
            }
        )
        if work.kept is not None and not report.failed:
            work.kept.clear()  # every answer is in its file now
        return report
