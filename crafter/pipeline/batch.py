"""Library drafting and regeneration: ``crafter new`` and ``crafter regen``.

Regeneration re-drafts a scenario only when what produced it changed: the cache key is
``draft_inputs_key`` (seed, level, model, prompt and corpus versions) and the scenario records
the key it was drafted with in ``provenance.inputs_hash``. Drafts run in worker threads, at most
``concurrency`` at once. Every scenario is written by an atomic rename, so an interrupted run
leaves each file either old or new. A journal under ``<library>/.crafter/`` records each run and
each finished scenario, so a rerun after Ctrl-C or kill -9 picks up where it stopped, including a
``--force`` run whose work the cache alone cannot tell apart. Approved scenarios are never
overwritten: their new draft goes beside them as ``<name>.proposed.yaml``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fnmatch
import hashlib
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from crafter.config import load_config
from crafter.domain import (
    Review,
    Scenario,
    ScenarioFileError,
    atomic_write_text,
    edited_by_person,
    load_scenario,
    save_new_scenario,
    to_yaml,
)
from crafter.domain.library import (
    Library,
    LibraryConfig,
    LibraryError,
    open_library,
    proposal_path,
)
from crafter.errors import CrafterError, UsageError
from crafter.pipeline.draft import DraftRequest, DraftResult, draft_scenario
from crafter.pipeline.kept_answers import KeepingProvider, KeptAnswers
from crafter.pipeline.library_drafting import Drafting, SyncIndex, library_drafting
from crafter.pipeline.regen_journal import (
    Journal,
    RunRecord,
    backup_file,
    library_lock,
    remove_stale_temp_files,
)
from crafter.pipeline.request_gate import GatedProvider, NotSent, RequestGate
from crafter.providers import Choice, Provider, build_provider, resolve_model

DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 64

# kept: not redrafted because its proposal file holds a person's edits.
Action = Literal["draft", "propose", "fresh", "retired", "invalid", "kept"]


def library_or_usage_error(root: Path, *, create: bool = False) -> Library:
    """``open_library`` with its errors as UsageError (exit 2)."""
    try:
        return open_library(root, create=create)
    except LibraryError as exc:
        raise UsageError(exc.message, hint=exc.hint) from None


def choose_model(library: Library, explicit: str | None) -> tuple[Choice, bool]:
    """The model for this library: --model, then crafter.toml, then crafter's usual choice.

    The flag is True when nobody chose the model (crafter fell back to a key it found or to the
    scaffold), which regen refuses to use to replace scenarios drafted with another model.
    """
    if explicit and explicit.strip():
        return Choice(explicit.strip(), "--model was given"), False
    if library.config.model:
        return Choice(library.config.model, f"set in {library.config_path}"), False
    choice = resolve_model(None)
    chosen = bool(os.environ.get("CRAFTER_MODEL", "").strip()) or bool(load_config().model)
    return choice, not chosen


# -- crafter new -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewDraft:
    path: Path
    result: DraftResult
    model: Choice


@dataclass(frozen=True)
class NewPlan:
    """What ``crafter new`` will do, settled before any model call."""

    library: Library
    request: DraftRequest
    model: Choice


def prepare_new(
    root: Path,
    seed: str,
    *,
    model: str | None = None,
    level: str | None = None,
    as_of: dt.date | None = None,
) -> NewPlan:
    """Check the inputs of ``crafter new`` (library defaults filled in) before any model call.

    A missing library folder is fine (it is created when the draft is written).
    """
    root = Path(root)
    library = library_or_usage_error(root) if root.exists() else Library(root, LibraryConfig())
    cfg = library.config
    pinned = cfg.as_of if isinstance(cfg.as_of, dt.date) else None
    request = DraftRequest(seed, level or cfg.level or "staff", as_of or pinned).checked()
    choice, _ = choose_model(library, model)
    return NewPlan(library, request, choice)


def draft_into_library(plan: NewPlan, provider: Provider, drafting: Drafting) -> NewDraft:
    """Draft the planned scenario and write it into the library (never replacing a file)."""
    # Created and proven writable before the model call, so a folder we cannot write costs
    # nothing.
    library_or_usage_error(plan.library.root, create=True)
    from crafter.domain.files import writable_dir_problem

    problem = writable_dir_problem(plan.library.root)
    if problem:
        raise UsageError(problem, hint="make the library folder writable, or use another one")
    result = draft_scenario(plan.request, provider, index=drafting.index, rounds=drafting.rounds)
    path = save_new_scenario(result.scenario, plan.library.root)
    return NewDraft(path, result, plan.model)


# -- planning ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegenOptions:
    model: str | None = None
    concurrency: int | None = None
    only: tuple[str, ...] = ()
    force: bool = False
    dry_run: bool = False
    # None: crafter.toml decides, else research on and 2 rounds (as `crafter draft` does).
    research: bool | None = None
    rounds: int | None = None
    index_dir: Path | None = None
    # Redraft scenarios a person edited in place (a backup goes to .crafter/backups/ first);
    # without it their new draft goes beside them as <name>.proposed.yaml. Approved ones are
    # never overwritten either way.
    overwrite_edits: bool = False


@dataclass(frozen=True)
class PlanItem:
    """What regen does with one scenario file, and why."""

    path: Path
    rel: str
    action: Action
    reason: str
    key: str | None = None
    target: Path | None = None  # where a new draft is written
    request: DraftRequest | None = None
    scenario: Scenario | None = None
    carry: Review | None = None  # the review block the new draft gets
    problems: tuple[str, ...] = ()
    recovered: bool = False  # written by an interrupted run that died before journalling it
    backup: bool = False  # copy the current file aside first (--overwrite-edits on an edited file)

    @property
    def needs_draft(self) -> bool:
        return self.action in ("draft", "propose")


@dataclass
class RegenPlan:
    library: Library
    model: Choice
    concurrency: int
    force: bool
    items: list[PlanItem]
    drafting: Drafting
    resumed: RunRecord | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def to_draft(self) -> list[PlanItem]:
        return [i for i in self.items if i.needs_draft]

    def count(self, action: Action) -> int:
        return sum(1 for i in self.items if i.action == action)


def _matches(library: Library, path: Path, globs: tuple[str, ...]) -> bool:
    if not globs:
        return True
    rel = library.relative(path)
    shown = path.as_posix()
    return any(fnmatch.fnmatchcase(c, g) for g in globs for c in (rel, path.name, shown, path.stem))


def _as_of(library: Library, scenario: Scenario) -> dt.date:
    policy = library.config.as_of
    if policy == "keep":
        return scenario.as_of
    if policy == "today":
        return dt.date.today()
    assert isinstance(policy, dt.date)
    return policy


def _why(scenario: Scenario, drafting: Drafting, provider: Provider, force: bool) -> str:
    p = scenario.provenance
    if force:
        return "--force"
    if not p.inputs_hash:
        return "no inputs hash recorded (not drafted by crafter)"
    if p.model != provider.model_id:
        return f"model {p.model} -> {provider.model_id}"
    if p.corpus_version != drafting.corpus_version:
        # Recompute the key with the corpus version the scenario was drafted with: when that
        # matches, nothing but the corpus changed.
        request = DraftRequest(scenario.seed, scenario.level, scenario.as_of)
        with contextlib.suppress(CrafterError):
            if drafting.key(request, provider, corpus_version=p.corpus_version) == p.inputs_hash:
                return f"only the corpus changed ({p.corpus_version} -> {drafting.corpus_version})"
    return "seed, level, as-of date, prompts or research settings changed"


def _load_valid(path: Path) -> Scenario | None:
    try:
        return load_scenario(path)
    except ScenarioFileError:
        return None


def _edit_reason(scenario: Scenario) -> str:
    if scenario.provenance.content_hash is None:
        return "no record of what crafter generated (hand-written or drafted by an older crafter)"
    return "edited by a person since crafter drafted it"


def _plan_one(
    library: Library,
    path: Path,
    provider: Provider,
    drafting: Drafting,
    force: bool,
    overwrite_edits: bool = False,
) -> PlanItem:
    rel = library.relative(path)
    try:
        scenario = load_scenario(path)
    except ScenarioFileError as exc:
        problems = tuple(p.render() for p in exc.problems)
        return PlanItem(path, rel, "invalid", "not a valid scenario", problems=problems)
    if scenario.review.status == "retired":
        return PlanItem(path, rel, "retired", "retired", scenario=scenario)
    request = DraftRequest(scenario.seed, scenario.level, _as_of(library, scenario))
    try:
        key = drafting.key(request, provider)
    except CrafterError as exc:
        return PlanItem(path, rel, "invalid", "cannot be drafted", problems=(exc.message,))
    common: dict[str, Any] = {"key": key, "request": request, "scenario": scenario}
    approved = scenario.review.status == "approved"
    edited = edited_by_person(scenario)
    if approved or (edited and not overwrite_edits):
        target = proposal_path(path)
        proposal = _load_valid(target) if target.exists() else None
        if not force and proposal is not None and proposal.provenance.inputs_hash == key:
            return PlanItem(path, rel, "fresh", "its proposal is up to date", **common)
        if not force and scenario.provenance.inputs_hash == key:
            why_fresh = "approved and up to date" if approved else "up to date"
            return PlanItem(path, rel, "fresh", why_fresh, **common)
        if target.exists() and (proposal is None or edited_by_person(proposal)):
            # A proposal a person has edited (or that no longer parses) is their work too.
            return PlanItem(
                path,
                rel,
                "kept",
                f"{target.name} holds edits of its own: review it (crafter review) or move it "
                "aside, then rerun",
                **common,
            )
        # The new text is unreviewed: it starts as a draft with no reviewer and no notes.
        why = "approved" if approved else _edit_reason(scenario)
        reason = f"{why}: new draft goes beside it as {target.name}; {_why(scenario, drafting, provider, force)}"
        return PlanItem(path, rel, "propose", reason, target=target, carry=Review(), **common)
    if not force and scenario.provenance.inputs_hash == key:
        return PlanItem(path, rel, "fresh", "up to date", **common)
    reason = _why(scenario, drafting, provider, force)
    if edited:
        reason = f"{_edit_reason(scenario)}, overwritten (--overwrite-edits; backup kept); {reason}"
    return PlanItem(
        path,
        rel,
        "draft",
        reason,
        target=path,
        carry=scenario.review,
        backup=edited,
        **common,
    )


def plan_regen(
    library: Library,
    options: RegenOptions,
    provider: Provider,
    choice: Choice,
    drafting: Drafting,
) -> RegenPlan:
    """Decide, file by file, what regen would do; reads files and the journal, writes nothing."""
    for g in options.only:
        if not g.strip():
            raise UsageError(
                "--only needs a glob", hint="e.g. --only 'slack-*' or --only 'team-a/*'"
            )
    concurrency = next(
        (c for c in (options.concurrency, library.config.concurrency) if c is not None),
        DEFAULT_CONCURRENCY,
    )
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise UsageError(
            f"--concurrency {concurrency} is out of range", hint=f"use 1 to {MAX_CONCURRENCY}"
        )
    files = library.scenario_files()
    if not files:
        raise UsageError(
            f"{library.root} holds no scenario files",
            hint='crafter new "SEED" --library DIR drafts the first one',
        )
    chosen = [f for f in files if _matches(library, f, options.only)]
    if not chosen:
        names = ", ".join(library.relative(f) for f in files[:5])
        raise UsageError(
            f"--only {' '.join(options.only)} matches no scenario in {library.root}",
            hint=f"globs match paths relative to the library or file names, e.g. {names}",
        )
    items = [
        _plan_one(library, f, provider, drafting, options.force, options.overwrite_edits)
        for f in chosen
    ]
    record = Journal(library).last_run()
    resumed = record if record is not None and not record.finished else None
    if resumed is not None:
        items = [_resume(item, resumed) for item in items]
    return RegenPlan(library, choice, concurrency, options.force, items, drafting, resumed)


def _resume(item: PlanItem, run: RunRecord) -> PlanItem:
    """Mark as fresh what the interrupted run already finished with the same inputs."""
    if not item.needs_draft or item.key is None:
        return item
    if run.done.get(item.rel) == item.key:
        return _fresh(item, "finished by the interrupted run")
    # Killed between writing the file and journalling it: the bytes it meant to write are there.
    digest = run.writing.get(item.rel)
    if digest is not None and item.target is not None and _sha256(item.target) == digest:
        return _fresh(item, "written by the interrupted run", recovered=True)
    return item


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _fresh(item: PlanItem, reason: str, *, recovered: bool = False) -> PlanItem:
    return PlanItem(
        item.path,
        item.rel,
        "fresh",
        reason,
        item.key,
        target=item.target if recovered else None,
        scenario=item.scenario,
        recovered=recovered,
    )


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
    try:
        gated = GatedProvider(work.provider, work.gate)
        keeping = KeepingProvider(gated, work.kept) if work.kept is not None else None
        result = draft_scenario(
            item.request,
            keeping or gated,
            index=work.drafting.index,
            rounds=work.drafting.rounds,
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
        """Wait (interruptibly) until ``until()`` holds or the deadline passes; returns the
        outcomes finished since the last call."""
        with self.cond:
            while not until():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self.cond.wait(0.2 if left is None else min(0.2, left))
                if self.finished:
                    break
            done, self.finished = self.finished, []
        return done


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
            on_interrupt(max(0, pool.running - work.gate.waiting))
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


@contextlib.contextmanager
def open_regen(
    root: Path,
    options: RegenOptions,
    provider: Provider | None = None,
    *,
    sync: SyncIndex | None = None,
) -> Iterator[RegenSession]:
    """Plan a regen of the library at ``root``; a real run holds the library's lock throughout.

    ``provider`` is for tests; otherwise the model comes from --model, crafter.toml or crafter's
    usual choice. ``sync`` brings the index up to date before planning (default: quietly).
    """
    library = library_or_usage_error(root)
    if provider is None:
        choice, implicit = choose_model(library, options.model)
        provider = build_provider(choice.model_id)
    else:
        choice, implicit = Choice(provider.model_id, "given by the caller"), False
    if not options.dry_run:
        from crafter.pipeline.warmup import warm_provider

        warm_provider(provider)  # the SDK imports while the library is read and planned
        # Before any model call: the scenarios, their proposals and the journal must be writable.
        from crafter.domain.files import writable_dir_problem

        problem = writable_dir_problem(library.root, create=False) or writable_dir_problem(
            library.state_dir
        )
        if problem:
            raise UsageError(
                problem,
                hint="regen writes scenario files and its journal into the library: make it "
                "writable (--dry-run only reads)",
            )
    lock = contextlib.nullcontext() if options.dry_run else library_lock(library)
    with lock:
        drafting = library_drafting(
            library,
            research=options.research,
            rounds=options.rounds,
            index_dir=options.index_dir,
            dry_run=options.dry_run,
            sync=sync,
        )
        plan = plan_regen(library, options, provider, choice, drafting)
        if implicit:
            _guard_implicit_model(plan, options.dry_run)
        yield RegenSession(plan, provider)


def _guard_implicit_model(plan: RegenPlan, dry_run: bool) -> None:
    """Refuse to replace drafts made with another model when nobody chose this one."""
    others = Counter(
        i.scenario.provenance.model
        for i in plan.to_draft
        if i.scenario is not None and i.scenario.provenance.model != plan.model.model_id
    )
    if not others:
        return
    usual = others.most_common(1)[0][0]
    message = (
        f"{sum(others.values())} scenario(s) were drafted with {', '.join(sorted(others))}; "
        f"crafter picked {plan.model.model_id} only because {plan.model.reason}"
    )
    if dry_run:
        plan.warnings.append(message + "; a real run would stop here (pass --model)")
        return
    raise UsageError(
        message,
        hint=f"say which model to use: --model {usual} (or set model in "
        f"{plan.library.root / 'crafter.toml'})",
    )
