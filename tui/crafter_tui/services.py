"""What the TUI needs from the core, behind one seam the tests and snapshots replace.

Nothing here imports the core at module level: the first screen must paint before pydantic, the
SDKs or the vector store are loaded. Each default imports what it needs when it is first called,
which happens in a worker.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from crafter.providers import Provider, ProviderStatus
    from crafter.retrieval.search import SearchHit

Progress = Callable[[str, int, int], None]


class SearchIndex(Protocol):
    """The part of ``crafter.retrieval.index.CorpusIndex`` the research screen uses."""

    def ensure_built(self, progress: Progress | None = None) -> Any: ...

    def search(
        self, query: str, k: int = 5, *, mode: str = "hybrid", exclude: Iterable[str] = ()
    ) -> list[SearchHit]: ...


def _statuses() -> list[ProviderStatus]:
    from crafter.providers import provider_statuses

    return provider_statuses()


def _default_model() -> tuple[str, str]:
    from crafter.providers import resolve_model

    choice = resolve_model(None)
    return choice.model_id, choice.reason


def _build_provider(model_id: str) -> Provider:
    from crafter.providers import build_provider

    return build_provider(model_id)


def _default_index() -> SearchIndex:
    from crafter.retrieval.index import CorpusIndex

    return CorpusIndex()


@dataclass
class Services:
    """The library folder and the core entry points the screens call."""

    library: Path
    provider_factory: Callable[[str], Provider] = _build_provider
    statuses: Callable[[], list[ProviderStatus]] = _statuses
    default_model: Callable[[], tuple[str, str]] = _default_model
    index_factory: Callable[[], SearchIndex] = _default_index
    # None means today, decided when a draft starts; tests pin it so output is reproducible.
    as_of: dt.date | None = None
    runs_root: Path | None = Path("runs")
    editor: str | None = None
    _index: SearchIndex | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def index(self) -> SearchIndex:
        """The research index, created once on first use (by a worker: its imports are heavy)."""
        with self._lock:
            if self._index is None:
                self._index = self.index_factory()
            return self._index

    def draft_date(self) -> dt.date:
        return self.as_of or dt.date.today()

    def library_defaults(self) -> tuple[str | None, str | None]:
        """The library's crafter.toml level and model (None when unset or there is no file);
        a malformed file raises its CrafterError, which the first screen shows."""
        from crafter.domain.library import CONFIG_NAME, parse_library_config

        path = self.library / CONFIG_NAME
        if not path.is_file():
            return None, None
        config = parse_library_config(path.read_text(encoding="utf-8"), str(path))
        return config.level, config.model
