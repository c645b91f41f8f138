"""``crafter rehearse``: parse options, run the rehearsal, print findings and costs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crafter.cli.lint_cmds import FailOnOpt, FormatOpt
from crafter.cli.options import NoWaitOpt, PollIntervalOpt, check_no_wait
from crafter.cli.output import err_console, note
from crafter.errors import UsageError

if TYPE_CHECKING:
    from crafter.providers.batches import BatchStatus


def rehearse(
    scenarios: Annotated[list[str], typer.Argument(help="Scenario YAML files or library folders.")],
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="provider:model for the interviewer (and the rest)."),
    ] = None,
    candidate_model: Annotated[
        str | None, typer.Option("--candidate-model", help="Model playing the candidates.")
    ] = None,
    grader_model: Annotated[
        str | None, typer.Option("--grader-model", help="Model grading the candidates.")
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "-j",
            min=1,
            max=64,
            help="Personas rehearsed at once (default: concurrency in the library's "
            "crafter.toml, else 4).",
        ),
    ] = None,
    turns: Annotated[
        int, typer.Option("--turns", min=1, max=12, help="Candidate answers per interview.")
    ] = 6,
    persona: Annotated[
        list[str] | None,
        typer.Option("--persona", help="Only these personas (repeatable; default all)."),
    ] = None,
    runs: Annotated[Path, typer.Option("--runs", help="Folder for run artifacts.")] = Path("runs"),
    fmt: FormatOpt = "text",
    fail_on: FailOnOpt = "error",
    batch_api: Annotated[
        bool,
        typer.Option(
            "--batch-api",
            help="Send each round of calls, across scenarios and personas, as one batch through "
            "the provider's batch API (about half the price; answers take minutes to hours).",
        ),
    ] = False,
    poll_interval: PollIntervalOpt = 30.0,
    no_wait: NoWaitOpt = False,
) -> None:
    """Interview simulated candidates (strong, smooth talker, one-corner, off-track) with each
    scenario and check that its rubric tells them apart."""
    from crafter.evals.formats import FORMATS, render
    from crafter.pipeline.rehearsal import pick_personas
    from crafter.pipeline.rehearse_run import (
        cache_dir,
        choose_roles,
        default_concurrency,
        load_targets,
        rehearse_all,
        usage_rows,
    )

    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    if fail_on not in ("error", "warning", "never"):
        raise UsageError(f"unknown --fail-on {fail_on!r}", hint="use error, warning or never")
    check_no_wait(no_wait, batch_api)
    targets = load_targets(scenarios)
    personas = pick_personas(persona)
    roles = choose_roles(model, candidate_model, grader_model)
    if concurrency is None:
        concurrency, source = default_concurrency(targets)
        if source != "the default":
            note(f"concurrency {concurrency} ({source})")
    batch = None
    if batch_api:
        from crafter.pipeline.batch_api import BatchOptions

        batch = BatchOptions(poll_interval, not no_wait)
    err = err_console()

    def progress(done: int, total: int, what: str) -> None:
        err.print(f"[{done}/{total}] {what}", markup=False)

    def on_status(status: BatchStatus) -> None:
        from crafter.pipeline.batch_api import describe_status

        err.print(describe_status(status, poll_interval), markup=False)

    try:
        out = rehearse_all(
            targets,
            personas,
            roles,
            cache_root=cache_dir(),
            runs_root=runs,
            turns=turns,
            concurrency=concurrency,
            progress=progress,
            batch=batch,
            on_status=on_status,
        )
    except KeyboardInterrupt:
        note(
            "interrupted: answered calls are cached"
            + (", and a submitted batch keeps running at the provider" if batch_api else "")
            + "; run the same command again to go on (nothing is asked twice)"
        )
        raise
    if out.batches:
        note(f"submitted {out.batches} batch(es)")
    for batch_id in out.waiting:
        note(f"batch {batch_id} is still running at the provider; run the same command again")
    typer.echo(render(out.report, fmt, fail_on))
    for row in usage_rows(out):
        cost = "unknown cost" if row["cost_usd"] is None else f"${row['cost_usd']:.4f}"
        note(
            f"{row['scenario']} {row['persona']}: {row['status']}, "
            f"{row['input_tokens'] + row['output_tokens']:,} tokens, {cost}, "
            f"{row['calls']} calls ({row['asked_now']} asked now)"
        )
    if out.folder is not None:
        note(f"transcripts and scores: {out.folder.path}")
    if out.waiting:
        return  # the verdicts come with the batch: nothing to gate on yet
    if out.failed or out.report.fails(fail_on):
        raise typer.Exit(1)
