"""How a library's scenarios are drafted: research on the reference index (plus the folders its
``crafter.toml`` lists under ``corpus``) and revision rounds, as ``crafter draft`` does.

The corpus version enters every scenario's cache key, so a changed corpus document redrafts the
library on the next ``crafter regen``; the index is synced first so the version is current.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crafter.domain.library import Library
from crafter.errors import UsageError
from crafter.pipeline.draft import DraftRequest, draft_inputs_key
from crafter.pipeline.staged import CORPUS_NONE
from crafter.providers import Provider

DEFAULT_ROUNDS = 2

# Brings the index up to date (the CLI passes one that draws a progress bar).
SyncIndex = Callable[[Any], object]


@dataclass(frozen=True)
class Drafting:
    """The drafting settings every scenario of one ``new``/``regen`` run shares."""

    index: Any  # a crafter.retrieval.index.CorpusIndex, or None: no research
    rounds: int
    corpus_version: str = CORPUS_NONE
    sources: tuple[str, ...] = ()  # labels of the library's own corpus folders in the index

    @property
    def research(self) -> bool:
        return self.index is not None

    def key(
        self, request: DraftRequest, provider: Provider, *, corpus_version: str | None = None
    ) -> str:
        """The cache key a draft of ``request`` gets under these settings (``corpus_version``
        replaces the current one, to ask whether only the corpus changed)."""
        return draft_inputs_key(
            request,
            provider,
            self.index,
            self.rounds,
            corpus_version=self.corpus_version if corpus_version is None else corpus_version,
        )

    def describe(self) -> str:
        if self.index is None:
            return f"no research, {self.rounds} revision round(s) at most"
        extra = f" + {len(self.sources)} library folder(s)" if self.sources else ""
        return (
            f"research on the index at {self.index.dir} (corpus {self.corpus_version}{extra}), "
            f"{self.rounds} revision round(s) at most"
        )


def _first(*values: Any) -> Any:
    return next(v for v in values if v is not None)


def library_drafting(
    library: Library,
    *,
    research: bool | None = None,
    rounds: int | None = None,
    index_dir: Path | None = None,
    dry_run: bool = False,
    sync: SyncIndex | None = None,
) -> Drafting:
    """Settle research and rounds (flags, then crafter.toml, then on and 2) and open the index.

    A dry run writes nothing, the index included: it computes the corpus version a sync would
    record instead of syncing.
    """
    cfg = library.config
    rounds = int(_first(rounds, cfg.rounds, DEFAULT_ROUNDS))
    if not 0 <= rounds <= 5:
        raise UsageError(f"--rounds {rounds} is out of range", hint="use 0 to 5")
    if not _first(research, cfg.research, True):
        return Drafting(None, rounds)
    from crafter.retrieval.index import CorpusIndex, require_index, source_label
    from crafter.retrieval.scoped import ScopedIndex

    require_index(index_dir)
    index = CorpusIndex(index_dir)
    labels = []
    known = index.manifest().get("sources", {})
    for entry in cfg.corpus:
        folder = Path(entry).expanduser()
        folder = folder if folder.is_absolute() else library.root / folder
        if not folder.is_dir():
            where = library.config_path or library.root / "crafter.toml"
            raise UsageError(
                f"{where}: corpus folder {entry!r} does not exist ({folder})",
                hint="list folders of .md, .txt or .pdf files, relative to the library",
            )
        label = source_label(folder)
        labels.append(label)
        if known.get(label, {}).get("root") != str(folder.resolve()):
            index.add_source(folder, label, persist=not dry_run)
    # Only the bundled corpus and this library's folders: sources other libraries or
    # `crafter index --add` registered neither ground these drafts nor change their keys.
    scoped = ScopedIndex(index, ("corpus", *labels))
    if dry_run:
        version = scoped.expected_corpus_version()
    else:
        if sync is not None:
            sync(index)
        else:
            index.sync()
        version = scoped.corpus_version
    return Drafting(scoped, rounds, version, tuple(labels))
