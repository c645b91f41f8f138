"""``crafter index``, ``crafter search`` and ``crafter corpus check``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crafter.cli.options import IndexOpt
from crafter.cli.output import err_console, note, out_console
from crafter.errors import UsageError

if TYPE_CHECKING:
    from crafter.retrieval.index import CorpusIndex, SyncReport

corpus_app = typer.Typer(help="Work with the reference corpus.", no_args_is_help=True)

ChromaOpt = Annotated[
    str | None,
    typer.Option("--chroma-url", help="Use a shared Chroma server, e.g. http://10.0.0.5:8000."),
]


def open_index(index: Path | None, chroma_url: str | None) -> CorpusIndex:
    from crafter.retrieval.index import CorpusIndex

    return CorpusIndex(index, chroma_url=chroma_url)


def sync_with_progress(idx: CorpusIndex, *, rebuild: bool = False) -> SyncReport:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console(),
        transient=True,
    ) as bar:
        task = bar.add_task("reading corpus", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        report = idx.sync(rebuild=rebuild, progress=progress)
    for problem in report.problems:
        err_console().print(f"skipped {problem.render()}", markup=False)
    return report


def index(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop the index and build it again.")
    ] = False,
    add: Annotated[
        Path | None, typer.Option("--add", help="Add a folder of .md/.txt/.pdf files.")
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="Source label for --add.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the indexed sources.")] = False,
    remove: Annotated[
        str | None, typer.Option("--remove", help="Remove a user corpus by label.")
    ] = None,
    index_dir: IndexOpt = None,
    chroma_url: ChromaOpt = None,
) -> None:
    """Build or update the search index (only changed documents are re-embedded)."""
    idx = open_index(index_dir, chroma_url)
    if list_:
        docs = idx.documents()
        counts: dict[str, int] = {}
        for meta in docs.values():
            counts[meta["source"]] = counts.get(meta["source"], 0) + 1
        console = out_console()
        console.print(
            f"index: {idx.dir} (corpus version {idx.corpus_version or 'not built'})", markup=False
        )
        for source in idx.sources():
            console.print(
                f"  {source.label:<16} {counts.get(source.label, 0):>5} documents  {source.root}",
                markup=False,
            )
        return
    if remove:
        idx.remove_source(remove)
        note(f"removed user corpus '{remove}'")
    if add is not None:
        if not label:
            raise UsageError(
                "--add needs --label",
                hint="e.g. crafter index --add ./our-postmortems --label postmortems",
            )
        idx.add_source(add, label)
        note(f"added user corpus '{label}' from {add}")
    report = sync_with_progress(idx, rebuild=rebuild)
    for line in report.notes:
        note(line)
    reused = f" ({report.chunks_reused} from precomputed vectors)" if report.chunks_reused else ""
    note(
        f"index {idx.dir}: {report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged; {report.chunks_embedded} chunks embedded{reused} in "
        f"{report.seconds:.1f}s; corpus version {report.corpus_version}"
    )


def search(
    query: Annotated[str, typer.Argument(help="The need, in your own words.")],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="How many documents.")] = 5,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (a stable contract).")
    ] = False,
    index_dir: IndexOpt = None,
    chroma_url: ChromaOpt = None,
) -> None:
    """Find industry write-ups for a need (hybrid dense + keyword search)."""
    if not query.strip():
        raise UsageError(
            "the search query is empty", hint='e.g. crafter search "route questions to experts"'
        )
    from crafter.retrieval.index import require_index

    require_index(index_dir)
    idx = open_index(index_dir, chroma_url)
    if not idx.exists():
        note("no index yet: building it once (later searches are instant)")
        sync_with_progress(idx)
    hits = idx.search(query, k)
    from crafter.retrieval.relevance import load_model

    floor = load_model().floor
    close = [h for h in hits if h.relevant]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "query": query,
                    "floor": floor,
                    "close_found": bool(close),
                    "message": "" if close else NOTHING_CLOSE,
                    "results": [h.as_json() for h in hits],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    from rich.markup import escape

    console = out_console()
    if not close:
        console.print(
            f"[yellow]{escape(NOTHING_CLOSE)}[/] the nearest are:", markup=True, highlight=False
        )
    for n, h in enumerate(hits, 1):
        mark = "" if h.relevant else " [dim]below the relevance floor[/]"
        rel = "" if h.relevance is None else f"relevance {h.relevance:.2f}; "
        console.print(
            f"[bold]{n}. {escape(h.title)}[/] [dim]({escape(f'{h.org}, {h.year}; {rel}{h.id}; {h.source}')})[/]{mark}",
            highlight=False,
            markup=True,
        )
        console.print(f"   {h.url}", markup=False, highlight=False)
        console.print(f"   {h.snippet}", markup=False, highlight=False)


NOTHING_CLOSE = "No close industry write-up for this need in the corpus;"


@corpus_app.command("check")
def corpus_check(
    folder: Annotated[
        Path | None, typer.Argument(help="Corpus folder (default: the built-in corpus).")
    ] = None,
) -> None:
    """Validate front matter, sections, unique ids and URLs; report problems as file:line."""
    from crafter.retrieval.corpus import load_corpus
    from crafter.retrieval.index import builtin_corpus_dir

    root = folder or builtin_corpus_dir()
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder")
    from crafter.retrieval.user_corpus import is_plain_folder, load_user_corpus

    if folder is not None and is_plain_folder(root):
        # A folder of plain documents: check it the way `crafter index --add` reads it.
        note(
            f"{root} holds plain documents (no front matter): checking them as "
            "`crafter index --add` reads them; the reference-corpus format is in "
            "docs/corpus-format.md"
        )
        result = load_user_corpus(root, "check")
    else:
        result = load_corpus(root)
    for problem in result.problems:
        err_console().print(problem.render(), markup=False, highlight=False)
    out_console().print(
        f"{len(result.docs)} documents ok, {len(result.problems)} problem(s) in {root}",
        markup=False,
    )
    if result.problems:
        raise typer.Exit(1)
