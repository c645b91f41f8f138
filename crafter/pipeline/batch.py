"""Library drafting and regeneration: ``crafter new`` and ``crafter regen``.

Regeneration re-drafts a scenario only when what produced it changed: the cache key is
``draft_inputs_key`` (seed, level, model, prompt and corpus versions) and the scenario records
the key it was drafted with in ``provenance.inputs_hash``. Drafts run in worker threads, at most
``concurrency`` at once. Every scenario is written by an atomic rename, so an interrupted run
leaves each file either old or new. A journal under ``<library>/.crafter/`` records each run and
each finished scenario, so a rerun after Ctrl-C or kill -9 picks up where it stopped, including a
``--force`` run whose work the cache alone cannot tell apart. Approved scenarios are never
overwritten: their new draft goes beside them as ``<name>.proposed.yaml``.

This module plans (what to redraft and why) and opens the session; regen_run.py runs it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fnmatch
import hashlib
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from crafter.config import load_config
from crafter.domain import (
    Review,
    Scenario,
    ScenarioFileError,
    edited_by_person,
    load_scenario,
    save_new_scenario,
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
from crafter.pipeline.library_drafting import Drafting, SyncIndex, library_drafting
from crafter.pipeline.regen_journal import (
    Journal,
    RunRecord,
    library_lock,
)
from crafter.pipeline.regen_run import RegenSession
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
