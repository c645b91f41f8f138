"""Entry point for the ``crafter`` command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from crafter import __version__
from crafter.cli.output import (
    err_console,
    note,
    out_console,
    parse_date,
    print_error,
    setup_logging,
)
from crafter.errors import CrafterError, UsageError

app = typer.Typer(
    name="crafter",
    help="Draft grounded ML system design interview scenarios, and lint the ones you have.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"crafter {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log retries and timings.")
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=1,
            help="Seconds a model server may stay silent before a call is retried (default 120; "
            "also CRAFTER_TIMEOUT or timeout in the config file). Raise it for CPU-served models.",
        ),
    ] = None,
) -> None:
    setup_logging(verbose)
    if timeout is not None:
        import os

        os.environ["CRAFTER_TIMEOUT"] = str(timeout)


def _writable_dir(path: Path) -> Path:
    """Create ``path`` if needed and prove we can write there, before paying for a model call."""
    from crafter.domain.files import writable_dir_problem

    problem = writable_dir_problem(path)
    if problem:
        raise UsageError(problem, hint="pick a folder you can write to with --out")
    return path


@app.command()
def draft(
    seed: Annotated[
        str | None, typer.Argument(help="The user need, in a few sentences; '-' reads stdin.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="provider:model, e.g. anthropic:claude-sonnet-5-5."),
    ] = None,
    research_model: Annotated[
        str | None, typer.Option("--research-model", help="A cheaper model for framing and notes.")
    ] = None,
    judge: Annotated[
        str | None, typer.Option("--judge", help="Also critique with this model.")
    ] = None,
    rounds: Annotated[
        int, typer.Option("--rounds", min=0, max=5, help="Revision rounds at most.")
    ] = 2,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write <slug>.yaml into.")
    ] = Path("scenarios"),
    level: Annotated[
        str, typer.Option(help="Candidate level: mid, senior, staff, principal.")
    ] = "staff",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Date the content must be current on (default today)."),
    ] = None,
    runs: Annotated[Path, typer.Option("--runs", help="Folder for run artifacts.")] = Path("runs"),
    resume: Annotated[
        Path | None,
        typer.Option("--resume", help="Continue a run folder from its last finished stage."),
    ] = None,
    no_research: Annotated[
        bool, typer.Option("--no-research", help="Skip research: one call, no citations.")
    ] = False,
    index_dir: Annotated[Path | None, typer.Option("--index", help="Index folder.")] = None,
) -> None:
    """Draft a scenario for SEED in stages and print the path of the YAML file written."""
    from crafter.cli.progress import StageDisplay
    from crafter.pipeline import DraftRequest, PipelineConfig, RunFolder, resume_run, run_pipeline
    from crafter.pipeline.draft import draft_inputs_key
    from crafter.pipeline.runs import resolve_run, save_run_scenario
    from crafter.providers import build_provider, resolve_model

    run_model = None
    if resume is not None:
        if seed is not None:
            raise UsageError(
                "give a SEED or --resume RUN, not both",
                hint="a resumed run drafts the seed it was started with",
            )
        resume = resolve_run(resume, runs)
        meta = RunFolder.open(resume).read_meta()
        seed, level = meta["request"]["seed"], meta["request"]["level"]
        as_of = meta["request"]["as_of"]
        run_model = None if model else meta.get("config", {}).get("model")
        research_model = research_model or meta.get("config", {}).get("research_model")
        if not no_research and meta.get("config", {}).get("index") is None:
            no_research = True
    if seed is None:
        raise UsageError(
            "give a SEED (or --resume RUN)",
            hint='e.g. crafter draft "detect card fraud at checkout"',
        )
    if seed == "-":
        seed = sys.stdin.read()
    request = DraftRequest(seed, level, parse_date(as_of, "--as-of")).checked()
    assert request.as_of is not None
    folder = _writable_dir(out)
    choice = resolve_model(model or run_model)
    reason = (
        f"the model run {resume.name} was started with" if resume and run_model else choice.reason
    )
    provider = build_provider(choice.model_id)
    note(f"model: {choice.model_id} ({reason})")
    if choice.model_id.startswith("local:"):
        note("note: the local 135M model only proves the pipeline runs; its content is not usable")
    cheap = build_provider(research_model) if research_model else None
    critic = build_provider(judge) if judge else None
    index = None
    if not no_research:
        from crafter.retrieval.index import CorpusIndex, require_index

        require_index(index_dir)
        index = CorpusIndex(index_dir)
        if not index.exists():
            note(f"building the reference index at {index.dir} (once; progress follows)")
    config = PipelineConfig(
        model=provider, research_model=cheap, judge=critic, rounds=rounds, index=index
    )
    key = draft_inputs_key(request, provider, index, rounds)
    with StageDisplay(err_console()) as display:
        if resume is not None:
            result = resume_run(resume, config, events=display, inputs_hash=key)
        else:
            result = run_pipeline(
                request.seed,
                request.level,
                request.as_of,
                config,
                runs_root=runs,
                events=display,
                inputs_hash=key,
            )
    path, saved = save_run_scenario(result.run, result.scenario, folder)
    if saved == "already saved":
        note(f"this run had finished; its scenario is already at {path} (nothing new written)")
    elif saved == "edited":
        note(f"this run had finished and {path} has been edited since; nothing was written")
    p = result.scenario.provenance
    cost = "unknown cost" if p.cost_usd is None else f"${p.cost_usd:.4f}"
    errors = sum(1 for f in result.findings if f.severity == "error")
    warnings = sum(1 for f in result.findings if f.severity == "warning")
    note(
        f"{p.input_tokens} input + {p.output_tokens} output tokens, {cost}, {result.seconds:.1f}s; "
        f"lint: {errors} error(s), {warnings} warning(s)"
        + (f"; run folder {result.run.path}" if result.run else "")
    )
    if result.dropped_citations:
        note(
            f"dropped citations of documents that were not retrieved: {', '.join(result.dropped_citations)}"
        )
    typer.echo(str(path))


@app.command("runs")
def runs_(
    runs: Annotated[Path, typer.Option("--runs", help="Folder of run artifacts.")] = Path("runs"),
) -> None:
    """List drafting runs, newest first, with their status, tokens and cost."""
    from rich.table import Table

    from crafter.pipeline import list_runs

    found = list_runs(runs)
    if not found:
        note(f"no runs in {runs}")
        return
    table = Table()
    # Run names are what --resume takes: never wrapped, so they can be copied whole.
    table.add_column(
        "run", no_wrap=True, overflow="ignore", min_width=max(len(r.path.name) for r in found)
    )
    table.add_column("status", no_wrap=True)
    for col in ("last stage", "tokens in/out", "cost", "seed / why it stopped"):
        table.add_column(col, overflow="fold")
    for r in found:
        cost = "?" if r.cost_usd is None else f"${r.cost_usd:.4f}"
        table.add_row(
            r.path.name,
            r.status,
            r.last_stage,
            f"{r.input_tokens}/{r.output_tokens}",
            cost,
            r.seed[:60] + (f"\n{r.error}" if r.error and r.status != "done" else ""),
        )
    out_console().print(table)


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Scenario YAML files or folders of them.")],
) -> None:
    """Check scenario files against the schema; exit 2 if any is invalid."""
    from crafter.domain import ScenarioFileError, load_scenario

    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml")))
        elif p.exists():
            files.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    if not files:
        raise UsageError("no .yaml or .yml files found in the given folders")
    console = err_console()
    bad = 0
    for f in files:
        try:
            load_scenario(f)
        except ScenarioFileError as exc:
            bad += 1
            for problem in exc.problems:
                console.print(problem.render(), markup=False)
        else:
            out_console().print(f"ok {f}", markup=False)
    if bad:
        note(f"{bad} of {len(files)} file(s) invalid")
        raise typer.Exit(2)


@app.command()
def models() -> None:
    """List the model providers, whether each is usable here, and which one is the default."""
    from rich.table import Table

    from crafter.providers import provider_statuses, resolve_model

    choice = resolve_model(None)
    table = Table(title=None, show_lines=False)
    for col in ("provider", "example --model", "ready", "why"):
        table.add_column(col, overflow="fold")
    for s in provider_statuses():
        table.add_row(s.name, s.example, "yes" if s.available else "no", s.why)
    console = out_console()
    console.print(table)
    console.print(f"default: {choice.model_id} ({choice.reason})", markup=False)
    console.print(
        "local:smollm2 is a 135M-parameter model: its output only proves the pipeline works offline.",
        markup=False,
    )


def _register() -> None:
    from crafter.cli import retrieval_cmds

    app.command()(retrieval_cmds.index)
    app.command()(retrieval_cmds.search)
    app.add_typer(retrieval_cmds.corpus_app, name="corpus")

    from crafter.cli import library_cmds

    app.command()(library_cmds.new)
    app.command()(library_cmds.review)
    app.command()(library_cmds.regen)
    app.command()(library_cmds.diff)

    from crafter.cli import lint_cmds

    app.command()(lint_cmds.lint)
    app.command("eval")(lint_cmds.eval_)

    from crafter.cli import rehearse_cmd

    app.command()(rehearse_cmd.rehearse)

    from crafter.cli import tui_cmd

    app.command()(tui_cmd.tui)


_register()


# Commands that embed text soon after start (a search; a draft's research): the embedding
# model's session is built in a thread from the first moment, so it overlaps with parsing the
# command line (typer builds a pydantic adapter per option, about 0.1 s) instead of following it.
_EMBEDS_SOON = frozenset({"search", "draft", "new"})


def _warm_up(argv: list[str]) -> None:
    if not argv or argv[0] not in _EMBEDS_SOON:
        return
    if any(a in ("--help", "-h", "--no-research", "--resume") for a in argv):
        return
    from crafter.retrieval.embedding import shared_embedder

    shared_embedder().preload()


def main() -> None:
    """Console-script entry: user mistakes print a message and exit 2, never a traceback.

    The process then ends without tearing the interpreter down: freeing numpy, onnxruntime,
    tokenizers and the loaded index took 0.15-0.2 s after a search had printed everything
    (see ``exit_now``)."""
    try:
        _run()
    except SystemExit as done:
        exit_now(done.code)
    exit_now(0)


def exit_now(code: object) -> None:
    """End the process as ``sys.exit(code)`` would, minus the interpreter's teardown: wait for
    the threads that may still be writing (every non-daemon thread but the model preload, which
    only builds a session and holds no file), run the atexit handlers (logging, the local model
    server's stop), flush stdout and stderr, then ``os._exit``."""
    import atexit
    import contextlib
    import os
    import threading

    from crafter.retrieval.embedding import PRELOAD_THREAD

    if sys.getprofile() is not None or sys.gettrace() is not None:
        raise SystemExit(code)  # a profiler or coverage tool writes its report at normal exit
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message") prints it and means failure
        with contextlib.suppress(Exception):
            sys.stderr.write(f"{code}\n")
        status = 1
    current = threading.current_thread()
    try:
        for thread in threading.enumerate():
            if thread is current or thread.daemon or thread.name == PRELOAD_THREAD:
                continue
            thread.join()
        atexit._run_exitfuncs()
    except KeyboardInterrupt:  # Ctrl-C while waiting: every write is atomic, so stop now
        status = 130
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status & 0xFF)


def _run() -> None:
    try:
        _warm_up(sys.argv[1:])
        app()
    except CrafterError as exc:
        print_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console().print("interrupted; no partial file was written")
        sys.exit(130)
    except OSError as exc:
        # A disk that filled up or a folder that is read-only: say so, never a traceback.
        from crafter.domain.files import describe_os_error

        message, hint = describe_os_error(exc)
        print_error(UsageError(message, hint=hint))
        sys.exit(2)
