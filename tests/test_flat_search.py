"""The memory-mapped flat copy of the vectors ranks exactly as Chroma does, and is kept in step."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crafter.resources import data_dir
from crafter.retrieval.flat import IDS, VECTORS
from crafter.retrieval.index import CorpusIndex
from crafter.retrieval.kinds import VECTORS_STEM, kind_texts
from crafter.retrieval.shipped_vectors import load_shipped

pytestmark = pytest.mark.integration

QUERIES = [
    "route questions asked in our Slack channel to the people who can answer them",
    "block stolen card payments while the customer waits",
    "forecast how many grocery orders each store gets per hour",
    "rank homes for a traveller searching a city",
    "extract fields from scanned invoices",
    "publish shared vector representations of users, posts and photos that any team can plug in",
    "when a customer phones in, guess why from what they just did in the app",
    "zzz qqq",
]


def _hits(idx: CorpusIndex, query: str) -> list[tuple[str, str, bool]]:
    return [(h.id, h.snippet, h.relevant) for h in idx.search(query, 10)]


def _scores(idx: CorpusIndex, query: str) -> list[float]:
    # BLAS sums may differ in the last bits with the alignment of a buffer: equal to 1e-6.
    return [x for h in idx.search(query, 10) for x in (h.score, h.relevance or 0.0)]


def test_the_flat_copy_and_chroma_give_the_same_results(full_index: CorpusIndex) -> None:
    flat = CorpusIndex(full_index.dir)
    assert flat._flat_dense() is not None and len(flat._flat_dense()) > 7000
    chroma = CorpusIndex(full_index.dir)
    chroma._flat = False  # force the Chroma path
    for query in QUERIES:
        assert _hits(flat, query) == _hits(chroma, query), query
        assert _scores(flat, query) == pytest.approx(_scores(chroma, query), abs=1e-6)
        assert _hits(flat, query) == _hits(CorpusIndex(full_index.dir), query)  # deterministic
    keys = [h.id for h in flat.search(QUERIES[0], 3)]
    docs = [k for k in flat.documents() if k.split(":", 1)[1] in keys]
    a, b = flat.chunk_vectors(docs), chroma.chunk_vectors(docs)
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


def test_sync_keeps_the_flat_copy_in_step_and_a_bad_copy_is_ignored(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc in ("stripe-2023-built-stripe-radar", "netflix-2023-building-video-search"):
        shutil.copy(data_dir("reference_corpus") / f"{doc}.md", corpus)
    idx = CorpusIndex(tmp_path / "index", corpus_dir=corpus)
    idx.sync()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "robots.md").write_text("# Robots\n\nOur warehouse robots misread damaged barcodes.\n")
    idx.add_source(mine, "ops")
    idx.sync()
    fresh = CorpusIndex(tmp_path / "index", corpus_dir=corpus)
    flat = fresh._flat_dense()
    assert flat is not None and set(flat.ids) == set(fresh._load_chunks())
    assert fresh.search("robots misreading barcodes", 1)[0].source == "ops"
    # A copy that does not match the chunks is not trusted: Chroma answers instead.
    (fresh.data_dir / IDS).write_text('{"format": 1, "ids": ["x"]}')
    again = CorpusIndex(tmp_path / "index", corpus_dir=corpus)
    assert again._flat_dense() is None
    assert again.search("robots misreading barcodes", 1)[0].source == "ops"
    # An index from before the flat copy gets one at its next sync, even with nothing to do.
    (fresh.data_dir / VECTORS).unlink()
    CorpusIndex(tmp_path / "index", corpus_dir=corpus).sync()
    assert CorpusIndex(tmp_path / "index", corpus_dir=corpus)._flat_dense() is not None


def test_every_kind_text_has_a_shipped_vector() -> None:
    """Fails when a kind file changed and tools/build_kind_vectors.py was not run."""
    shipped, problem = load_shipped(stem=VECTORS_STEM)
    assert problem is None and shipped is not None
    missing = [t for t in kind_texts() if shipped.get(t) is None]
    assert missing == [], f"{len(missing)} kind texts lack vectors: run tools/build_kind_vectors.py"
