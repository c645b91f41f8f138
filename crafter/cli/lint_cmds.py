"""``crafter lint`` and ``crafter eval``: parse options, run the evals, print a format."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from crafter.cli.output import note, parse_date
from crafter.errors import UsageError

FormatOpt = Annotated[
    str, typer.Option("--format", "-f", help="text, json, junit, github or sarif.")
]
FailOnOpt = Annotated[
    str, typer.Option("--fail-on", help="Exit 1 on findings at or above: error, warning, never.")
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Judge freshness as of this date (default today).")
]
SlotOpt = Annotated[
    int | None,
    typer.Option(
        "--slot",
        min=10,
        max=240,
        help="Interview length in minutes for the pacing check (default: slot in the library's "
        "crafter.toml, else 45).",
    ),
]
ExposureOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--exposure",
        help="Also check against this list of published or leaked prompts (YAML; repeatable). "
        "Lists named by exposure = [...] in crafter.toml are read too.",
    ),
]


def _exposure_index(paths: list[str], files: list[Path] | None) -> object:
    """The exposure index for this run: the bundled prompts plus the team's lists."""
    from crafter.evals.exposure import index_for
    from crafter.evals.exposure_data import lists_for

    index = index_for(lists_for(paths, files or []))
    for message in index.notes:
        note(message)
    return index


def _options(paths: list[str], fmt: str, fail_on: str, as_of: str | None) -> dt.date:
    from crafter.evals.formats import FORMATS

    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    if fail_on not in ("error", "warning", "never"):
        raise UsageError(f"unknown --fail-on {fail_on!r}", hint="use error, warning or never")
    for p in paths:
        if p != "-" and not Path(p).exists():
            raise UsageError(f"{p}: no such file or folder")
    return parse_date(as_of, "--as-of") or dt.date.today()


def _jobs() -> int:
    import os

    return max(1, min(8, os.cpu_count() or 1))


def _finish(report: object, fmt: str, fail_on: str, junit: Path | None) -> None:
    from crafter.evals.formats import render
    from crafter.evals.lint import LintReport

    assert isinstance(report, LintReport)
    if not report.results:
        raise UsageError("no .md, .txt, .yaml or .yml files found in the given paths")
    typer.echo(render(report, fmt, fail_on))
    if junit is not None:
        from crafter.domain.atomic import atomic_write_text

        atomic_write_text(junit, render(report, "junit", fail_on))
        note(f"JUnit report written to {junit}")
    if report.input_errors:
        note(f"{report.input_errors} file(s) could not be read as a question or scenario")
        raise typer.Exit(2)
    if report.fails(fail_on):
        raise typer.Exit(1)


def lint(
    paths: Annotated[
        list[str], typer.Argument(help="Scenario YAML, Markdown or text files, folders, or '-'.")
    ],
    fmt: FormatOpt = "text",
    fail_on: FailOnOpt = "error",
    as_of: AsOfOpt = None,
    slot: SlotOpt = None,
    exposure: ExposureOpt = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Re-check every file (no result cache).")
    ] = False,
) -> None:
    """Check questions and scenarios for vagueness, staleness, ambushes, shallow ML, pacing, traps
    and prompts candidates have already rehearsed (no model needed)."""
    from crafter.evals.lint import lint_paths

    day = _options(paths, fmt, fail_on, as_of)
    index = _exposure_index(paths, exposure)
    report = lint_paths(paths, day, jobs=_jobs(), slot=slot, exposure=index, cache=not no_cache)
    _finish(report, fmt, fail_on, None)


def eval_(
    paths: Annotated[
        list[str], typer.Argument(help="Scenario YAML, Markdown or text files, folders, or '-'.")
    ],
    judge: Annotated[
        str | None, typer.Option("--judge", help="Also grade with this model (provider:model).")
    ] = None,
    votes: Annotated[
        int, typer.Option("--votes", min=1, max=9, help="Judge votes per question (majority).")
    ] = 1,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Also write a JUnit XML report here.")
    ] = None,
    fmt: FormatOpt = "text",
    fail_on: FailOnOpt = "error",
    as_of: AsOfOpt = None,
    slot: SlotOpt = None,
    exposure: ExposureOpt = None,
) -> None:
    """Lint, and with --judge add LLM-graded specificity, freshness and ML depth (cached)."""
    from crafter.evals.judges import judge_findings
    from crafter.evals.lint import lint_paths
    from crafter.providers import build_provider

    day = _options(paths, fmt, fail_on, as_of)
    provider = build_provider(judge) if judge else None
    if provider is not None and not provider.generates_text:
        raise UsageError("the scaffold cannot judge", hint="pick a model: crafter models")
    index = _exposure_index(paths, exposure)
    report = lint_paths(
        paths, day, jobs=_jobs(), keep_sources=provider is not None, slot=slot, exposure=index
    )
    if provider is not None:
        for result in report.results:
            if result.path in report.sources:
                judge_findings(
                    result, report.sources[result.path], provider, votes=votes, as_of=day
                )
    _finish(report, fmt, fail_on, junit)
