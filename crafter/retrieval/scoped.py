"""A view of an index limited to some sources (the bundled corpus and a library's own folders)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from crafter.retrieval.corpus import corpus_version, version_of

if TYPE_CHECKING:
    from crafter.retrieval.index import CorpusIndex
    from crafter.retrieval.search import SearchHit


class ScopedIndex:
    """A view of an index limited to some sources (the bundled corpus and a library's own
    folders): it searches and versions only those, so documents another library or
    ``crafter index --add`` registered neither ground its drafts nor change its cache keys."""

    def __init__(self, index: CorpusIndex, sources: Iterable[str]) -> None:
        self.index = index
        self.scope = frozenset(sources)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.index, name)

    def documents(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.index.documents().items() if v.get("source") in self.scope}

    @property
    def corpus_version(self) -> str:
        if not self.index.corpus_version:
            return ""
        return version_of((v["source"], v["id"], v["hash"]) for v in self.documents().values())

    def expected_corpus_version(self) -> str:
        docs, _ = self.index.load_documents()
        return corpus_version(d for d in docs if d.source in self.scope)

    def _outside(self) -> set[str]:
        return {
            key for key, v in self.index.documents().items() if v.get("source") not in self.scope
        }

    def candidates(
        self, query: str, n: int, *, mode: str = "hybrid", skip: Iterable[str] = ()
    ) -> list[tuple[str, float, str]]:
        return self.index.candidates(query, n, mode=mode, skip={*skip, *self._outside()})

    def search(
        self, query: str, k: int = 5, *, exclude: Iterable[str] = (), **kwargs: Any
    ) -> list[SearchHit]:
        return self.index.search(query, k, exclude={*exclude, *self._outside()}, **kwargs)
