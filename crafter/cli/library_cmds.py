"""``crafter new``, ``crafter review``, ``crafter regen`` and ``crafter diff``: parse and print."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crafter.cli.options import IndexOpt, NoWaitOpt, PollIntervalOpt, check_no_wait
from crafter.cli.output import err_console, note, out_console, parse_date
from crafter.errors import CrafterError, UsageError

if TYPE_CHECKING:
    from crafter.domain import Scenario
    from crafter.pipeline.batch import RegenOptions, RegenPlan
    from crafter.pipeline.regen_run import Outcome, RegenProgress, RegenReport, RegenSession
    from crafter.providers.batches import BatchStatus


@contextmanager
def _library_errors() -> Iterator[None]:
    """Library mistakes (bad path, status, revision) are usage errors: exit 2 with a hint."""
    from crafter.domain.library import ApprovalBlocked, LibraryError

    try:
        yield
    except ApprovalBlocked as exc:
        # Not a usage mistake: the scenario has open findings, like lint's exit 1.
        raise CrafterError(exc.message, hint=exc.hint) from None
    except LibraryError as exc:
        raise UsageError(exc.message, hint=exc.hint) from None


ResearchOpt = Annotated[
    bool | None,
    typer.Option(
        "--research/--no-research",
        help="Research the reference corpus first (default: crafter.toml, else on).",
    ),
]
RoundsOpt = Annotated[
    int | None,
    typer.Option("--rounds", help="Revision rounds at most, 0-5 (default: crafter.toml, else 2)."),
]


def _sync(index: object) -> None:
    from crafter.cli.retrieval_cmds import sync_with_progress
    from crafter.retrieval.index import CorpusIndex

    assert isinstance(index, CorpusIndex)
    if not index.exists():
        note(f"building the reference index at {index.dir} (once; about a minute)")
    sync_with_progress(index)


def new(
    seed: Annotated[
        str, typer.Argument(help="The user need, in a few sentences; '-' reads stdin.")
    ],
    library: Annotated[
        Path, typer.Option("--library", "-l", help="Library folder (created if missing).")
    ],
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="provider:model (default: crafter.toml, then usual)."),
    ] = None,
    level: Annotated[
        str | None, typer.Option(help="Candidate level (default: crafter.toml, then staff).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Date the content must be current on (default today)."),
    ] = None,
    research: ResearchOpt = None,
    rounds: RoundsOpt = None,
    index_dir: IndexOpt = None,
) -> None:
    """Draft a scenario for SEED into a library folder and print the file's path."""
    from crafter.pipeline.batch import draft_into_library, prepare_new
    from crafter.pipeline.library_drafting import library_drafting
    from crafter.providers import build_provider

    if seed == "-":
        seed = sys.stdin.read()
    plan = prepare_new(library, seed, model=model, level=level, as_of=parse_date(as_of, "--as-of"))
    from crafter.pipeline.exposure_hooks import library_duplicates

    for message in library_duplicates(plan.library.scenario_files(), seed):
        note(message)
    provider = build_provider(plan.model.model_id)
    note(f"model: {plan.model.model_id} ({plan.model.reason})")
    drafting = library_drafting(
        plan.library, research=research, rounds=rounds, index_dir=index_dir, sync=_sync
    )
    note(f"drafting: {drafting.describe()}")
    with err_console().status(f"drafting with {plan.model.model_id}..."):
        made = draft_into_library(plan, provider, drafting)
    p = made.result.scenario.provenance
    cost = "unknown cost" if p.cost_usd is None else f"${p.cost_usd:.4f}"
    note(f"{p.input_tokens} input + {p.output_tokens} output tokens, {cost}")
    pipeline = made.result.pipeline
    if pipeline is not None:
        errors = sum(1 for f in pipeline.findings if f.severity == "error")
        warnings = sum(1 for f in pipeline.findings if f.severity == "warning")
        note(f"lint: {errors} error(s), {warnings} warning(s)")
    typer.echo(str(made.path))


def review(
    file: Annotated[Path, typer.Argument(help="The scenario YAML file.")],
    status: Annotated[
        str, typer.Option("--status", "-s", help="draft, reviewed, approved or retired.")
    ],
    by: Annotated[
        str | None, typer.Option("--by", help="Reviewer's name (needed for reviewed/approved).")
    ] = None,
    notes: Annotated[
        str | None, typer.Option("--notes", help="Review notes (replace the current ones).")
    ] = None,
    allow_open: Annotated[
        bool,
        typer.Option(
            "--allow-open", help="Approve even with lint errors or TODO placeholders still open."
        ),
    ] = False,
) -> None:
    """Set a scenario's review status, reviewer and notes (approving a proposal promotes it)."""
    from crafter.domain.library import review_file
    from crafter.evals.lint import open_items

    with _library_errors():
        outcome = review_file(
            file, status, by, notes, open_items=None if allow_open else open_items
        )
    if allow_open and status == "approved":
        left = open_items(outcome.scenario, str(outcome.path))
        if left:
            note(f"approved with {len(left)} open item(s) (--allow-open)")
    r = outcome.scenario.review
    if outcome.promoted_from is not None:
        note(f"{outcome.promoted_from} approved: it replaced {outcome.path}")
    who = f" by {r.reviewer}" if r.reviewer else ""
    note(f"{outcome.path}: {r.status}{who}")
    typer.echo(str(outcome.path))


def _print_plan(plan: RegenPlan) -> None:
    out = out_console()
    for item in plan.items:
        out.print(f"{item.action:<8} {item.rel}  ({item.reason})", markup=False)
        for problem in item.problems:
            out.print(f"         {problem}", markup=False)


def _approved(o: Outcome) -> bool:
    return o.item.scenario is not None and o.item.scenario.review.status == "approved"


def _money(cost: float | None) -> str:
    return "unknown cost" if cost is None else f"${cost:.4f}"


def _print_report(report: RegenReport) -> None:
    out, err = out_console(), err_console()
    for o in report.outcomes:
        if o.ok and o.item.action == "propose":
            why = "is approved" if _approved(o) else "holds a person's edits"
            out.print(
                f"proposed {o.written}  ({o.item.rel} {why}; "
                f"crafter diff {o.item.path} {o.written} shows what would change)",
                markup=False,
            )
        elif o.ok:
            out.print(f"drafted  {o.written}", markup=False)
    invalid = [i for i in report.plan.items if i.action == "invalid"]
    for item in invalid:
        err.print(f"invalid  {item.rel}: {item.reason}", markup=False)
        for problem in item.problems:
            err.print(f"           {problem}", markup=False)
    for o in report.failed:
        err.print(f"failed   {o.item.rel}: {o.error}", markup=False)
    plan = report.plan
    tokens = report.input_tokens + report.output_tokens
    note(
        f"regen: {len(report.drafted)} drafted, {len(report.proposed)} proposed beside "
        f"approved or edited, {len(report.failed)} failed, {plan.count('fresh')} up to date, "
        f"{plan.count('kept')} kept (edited proposal), "
        f"{plan.count('retired')} retired, {len(invalid)} invalid; "
        f"{tokens:,} tokens, {_money(report.cost_usd)}, {report.seconds:.1f}s"
    )
    if report.removed_temp_files:
        note(f"removed {report.removed_temp_files} temp file(s) left by the interrupted run")
    if report.failed:
        note("rerun the same command to retry the failed ones; finished ones are not redone")


def regen(
    library: Annotated[Path, typer.Argument(help="The library folder.")],
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="provider:model (default: crafter.toml, then usual)."),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-j", help="Drafts at once (default 4).")
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Only files matching this glob (path or name); repeatable."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Redraft even when no input changed (edited scenarios still get a proposal).",
        ),
    ] = False,
    overwrite_edits: Annotated[
        bool,
        typer.Option(
            "--overwrite-edits",
            help="Redraft scenarios a person edited in place, after copying each to "
            ".crafter/backups/ (approved ones still get a proposal beside them).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be redrafted; call no model.")
    ] = False,
    research: ResearchOpt = None,
    rounds: RoundsOpt = None,
    index_dir: IndexOpt = None,
    batch_api: Annotated[
        bool,
        typer.Option(
            "--batch-api",
            help="Send the calls through the provider's batch API (about half the price; "
            "answers take minutes to hours).",
        ),
    ] = False,
    poll_interval: PollIntervalOpt = 30.0,
    no_wait: NoWaitOpt = False,
) -> None:
    """Redraft the library's scenarios whose inputs changed (seed, level, model, prompts, corpus)."""
    from crafter.pipeline.batch import RegenOptions

    check_no_wait(no_wait, batch_api)
    options = RegenOptions(
        model,
        concurrency,
        tuple(only or ()),
        force,
        dry_run,
        research,
        rounds,
        index_dir,
        overwrite_edits,
    )
    try:
        report = _regen(library, options, batch=(poll_interval, not no_wait) if batch_api else None)
    except KeyboardInterrupt:
        if batch_api:
            note(
                "interrupted: a submitted batch keeps running at the provider; run the same "
                "command again to collect it (nothing is sent twice)"
            )
        else:
            note("interrupted: finished scenarios are kept; run the same command again to resume")
        raise
    if report is None:
        return
    _print_report(report)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _stopping(in_flight: int) -> None:
    if in_flight:
        note(
            f"stopping: waiting for {in_flight} draft(s) in flight, which will be kept "
            "(Ctrl-C again stops waiting for the model; answers already received are still written)"
        )


def _regen(
    library: Path, options: RegenOptions, batch: tuple[float, bool] | None = None
) -> RegenReport | None:
    """Plan, then print the plan (dry run) or run it under a progress bar.

    ``batch`` is (poll seconds, wait) for --batch-api.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from crafter.pipeline.batch import open_regen

    with open_regen(library, options, sync=_sync) as session:
        plan = session.plan
        note(f"model: {plan.model.model_id} ({plan.model.reason})")
        note(f"drafting: {plan.drafting.describe()}")
        for warning in plan.warnings:
            note(f"warning: {warning}")
        if plan.library.config.corpus and not plan.drafting.research:
            note("note: crafter.toml lists corpus folders, but research is off, so they are unused")
        if plan.resumed is not None:
            note(
                f"resuming interrupted run {plan.resumed.run}: "
                f"{len(plan.resumed.done)} scenario(s) already finished"
            )
        if batch is not None:
            from crafter.providers.batches import batch_backend

            batch_backend(session.provider)  # a model without a batch API: say so, dry run or not
        if options.dry_run:
            _print_plan(plan)
            note(
                f"dry run: {len(plan.to_draft)} to draft ({plan.count('propose')} beside the "
                f"current file), {plan.count('fresh')} up to date, "
                f"{plan.count('invalid')} invalid; no model was called"
            )
            return None
        if batch is not None:
            report = _run_batched(session, *batch)
        elif not plan.to_draft:
            # Still a run: it closes an interrupted run's journal and reports invalid files.
            report = session.run()
        else:
            with Progress(
                TextColumn("regen"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=err_console(),
                transient=True,
            ) as bar:
                task = bar.add_task("regen", total=len(plan.to_draft), stats="")

                def progress(p: RegenProgress) -> None:
                    cost = "$?" if p.cost_usd is None else f"${p.cost_usd:.4f}"
                    stats = (
                        f"ok {p.done} failed {p.failed} | "
                        f"{p.input_tokens + p.output_tokens:,} tokens {cost}"
                    )
                    bar.update(task, completed=p.done + p.failed, stats=stats)

                report = session.run(progress, _stopping)
    return report


def _run_batched(session: RegenSession, poll_seconds: float, wait: bool) -> RegenReport:
    """--batch-api under a status line: batch state, answers, scenarios finished."""
    from crafter.pipeline.batch_api import BatchOptions, BatchRegen, describe_status

    runner = BatchRegen(session, BatchOptions(poll_seconds, wait))
    if session.plan.resumed is not None and session.plan.resumed.batches:
        note(
            f"collecting batch(es) already at the provider: {', '.join(session.plan.resumed.batches)}"
        )
    with err_console().status("batch: replaying what is answered...") as status:

        def on_status(s: BatchStatus) -> None:
            status.update(describe_status(s, poll_seconds))

        def on_progress(p: RegenProgress) -> None:
            status.update(f"batch: {p.done} scenario(s) finished, {p.failed} failed")

        report = runner.run(on_progress, on_status)
    if report.batches:
        note(f"submitted {report.batches} batch(es) through {runner.backend.provider_name}")
    for batch_id in report.waiting:
        note(
            f"batch {batch_id} is still running at the provider; run the same command again "
            "to collect it"
        )
    return report


def _load(path: Path) -> Scenario:
    from crafter.domain import ScenarioFileError, load_scenario

    if not path.is_file():
        raise UsageError(f"{path}: no such scenario file")
    try:
        return load_scenario(path)
    except ScenarioFileError as exc:
        raise UsageError(
            f"{path} is not a valid scenario: " + exc.problems[0].render(),
            hint="crafter validate FILE lists every problem",
        ) from None


_STYLES = {
    "heading": "bold",
    "add": "green",
    "remove": "red",
    "change": "yellow",
    "ins": "bold green underline",
    "del": "red strike",
    "dim": "dim",
    "text": "",
}


def diff(
    a: Annotated[Path, typer.Argument(help="The old version (or the file, with --rev).")],
    b: Annotated[Path | None, typer.Argument(help="The new version.")] = None,
    rev: Annotated[
        str | None,
        typer.Option("--rev", help="Compare FILE with itself as of this git revision."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when the versions differ.")
    ] = False,
) -> None:
    """Show what changed in meaning between two versions of a scenario."""
    from crafter.domain import ScenarioFileError, parse_scenario_text
    from crafter.domain.diff import diff_scenarios, render_lines, render_plain
    from crafter.domain.library import read_at_revision

    if rev is not None:
        if b is not None:
            raise UsageError("give one file with --rev", hint="crafter diff FILE --rev HEAD~1")
        new_version = _load(a)
        with _library_errors():
            text = read_at_revision(a, rev)
        old_label = f"{a} @ {rev}"
        try:
            old_version = parse_scenario_text(text, old_label)
        except ScenarioFileError as exc:
            raise UsageError(
                f"{a} as of {rev} is not a valid scenario: " + exc.problems[0].render()
            ) from None
        new_label = str(a)
    else:
        if b is None:
            raise UsageError(
                "give two files, or one file with --rev",
                hint="crafter diff old.yaml new.yaml, or crafter diff FILE --rev HEAD",
            )
        old_version, new_version = _load(a), _load(b)
        old_label, new_label = str(a), str(b)
    result = diff_scenarios(old_version, new_version)
    if as_json:
        typer.echo(json.dumps({"old": old_label, "new": new_label, **result.to_dict()}, indent=2))
    else:
        lines = render_lines(result, old_label, new_label)
        console = out_console()
        if console.is_terminal and not console.no_color:
            from rich.text import Text

            for line in lines:
                console.print(Text.assemble(*((s.text, _STYLES[s.kind]) for s in line.segments)))
        else:
            sys.stdout.write(render_plain(lines))
    if exit_code and not result.identical:
        raise typer.Exit(1)
