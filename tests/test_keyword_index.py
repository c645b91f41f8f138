"""The numpy BM25 scorer (keyword.py) gives the scores bm25s gives on the same saved index, and an
index built before query.json existed is still searched (by bm25s)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from crafter.retrieval.index import CorpusIndex
from crafter.retrieval.keyword import QUERY_FILE, load_keyword_index
from crafter.retrieval.search import IndexError_

pytestmark = pytest.mark.integration

QUERIES = [
    "route questions asked in our Slack channel to the people who can answer them",
    "block stolen card payments while the customer waits",
    "forecast forecast forecast grocery orders per store per hour",
    "THE and of a an",  # stopwords only
    "zzqxj flurb",  # no known term
    "ETA prediction for food delivery, p99 under 200 ms; 1,000,000 orders/day",
    "détection de fraude à la carte bancaire",
    "",
]


def _bm25s_scores(idx: CorpusIndex, query: str, n: int) -> tuple[list[tuple[str, float]], int]:
    import bm25s

    idx._load_bm25()
    tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
    if not tokens.vocab:
        return [], 0
    words = bm25s.tokenization.convert_tokenized_to_string_list(tokens)[0]
    if not words:
        return [], len(tokens.vocab)
    scores = idx._bm25.get_scores(words)
    ranked = sorted(
        ((idx._bm25_ids[i], float(s)) for i, s in enumerate(scores) if s > 0),
        key=lambda p: (-round(p[1], 5), p[0]),
    )
    return ranked[:n], len(tokens.vocab)


@pytest.fixture(scope="module")
def keyword_idx(full_index: CorpusIndex) -> CorpusIndex:
    idx = CorpusIndex(full_index.dir)
    assert idx._keyword_index() is not None, "a fresh build saves query.json"
    return idx


@pytest.mark.parametrize("query", QUERIES)
def test_numpy_scores_equal_bm25s(keyword_idx: CorpusIndex, query: str) -> None:
    ours, terms = keyword_idx._keyword_index().scores(query, 60)
    theirs, their_terms = _bm25s_scores(keyword_idx, query, 60)
    assert terms == their_terms
    assert [c for c, _ in ours] == [c for c, _ in theirs]
    assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-6)


def test_random_text_scores_like_bm25s(keyword_idx: CorpusIndex) -> None:
    rng = random.Random(7)
    words = [*list(keyword_idx._keyword_index().vocab)[:3000], "the", "AND", "x", "é", "12ms"]
    alphabet = "abcé ,.-_'ÀЖ\t\n0123456789"
    for _ in range(60):
        parts = [rng.choice(words) for _ in range(rng.randint(0, 12))]
        parts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))]
        rng.shuffle(parts)
        query = " ".join(parts)
        ours, terms = keyword_idx._keyword_index().scores(query, 20)
        theirs, their_terms = _bm25s_scores(keyword_idx, query, 20)
        assert terms == their_terms, query
        assert [c for c, _ in ours] == [c for c, _ in theirs], query


def test_an_index_without_query_settings_is_read_by_bm25s(
    full_index: CorpusIndex, tmp_path: Path
) -> None:
    copy = tmp_path / "index"
    shutil.copytree(full_index.dir, copy, ignore=shutil.ignore_patterns(".lock"))
    old = CorpusIndex(copy)
    (old.data_dir / "bm25" / QUERY_FILE).unlink()
    assert old._keyword_index() is None
    query = "block stolen card payments while the customer waits"
    fresh = CorpusIndex(full_index.dir)
    assert old.keyword_scores(query) == fresh.keyword_scores(query)
    assert [h.id for h in old.search(query, 5)] == [h.id for h in fresh.search(query, 5)]


def test_a_corrupt_keyword_index_is_a_clear_error(full_index: CorpusIndex, tmp_path: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(full_index.dir, copy, ignore=shutil.ignore_patterns(".lock"))
    idx = CorpusIndex(copy)
    (idx.data_dir / "bm25" / "vocab.index.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexError_, match=r"keyword index .* is unreadable"):
        idx.keyword_scores("fraud")


def test_load_keyword_index_checks_shapes(full_index: CorpusIndex, tmp_path: Path) -> None:
    folder = tmp_path / "bm25"
    shutil.copytree(full_index.data_dir / "bm25", folder)
    assert load_keyword_index(folder) is not None
    (folder / "ids.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError, match="id list"):
        load_keyword_index(folder)


def test_the_chunk_table_gives_what_parsing_the_chunks_file_gives(full_index: CorpusIndex) -> None:
    from crafter.retrieval.chunk_table import ChunkTable

    idx = CorpusIndex(full_index.dir)
    table = idx._load_chunks()
    assert isinstance(table, ChunkTable)
    parsed = idx._parse_chunks()
    assert list(table) == list(parsed)
    for cid in list(parsed)[::97]:
        assert table[cid] == parsed[cid]
        assert table.doc_of(cid) == parsed[cid].doc_key
        assert table.section_of(cid) == parsed[cid].section


def test_a_stale_chunk_table_is_ignored(full_index: CorpusIndex, tmp_path: Path) -> None:
    from crafter.retrieval.chunk_table import ChunkTable, read_table

    copy = tmp_path / "index"
    shutil.copytree(full_index.dir, copy, ignore=shutil.ignore_patterns(".lock"))
    idx = CorpusIndex(copy)
    chunks = idx.data_dir / "chunks.jsonl"
    data = chunks.read_bytes()
    # Same size, one byte changed (a later write the table does not describe).
    at = data.index(b'"text": "') + 9
    chunks.write_bytes(data[:at] + (b"X" if data[at : at + 1] != b"X" else b"Y") + data[at + 1 :])
    assert read_table(idx.data_dir) is None
    loaded = CorpusIndex(copy)._load_chunks()
    assert not isinstance(loaded, ChunkTable) and len(loaded) == len(list(data.splitlines()))
    query = "block stolen card payments while the customer waits"
    assert [h.id for h in CorpusIndex(copy).search(query, 5)] == [
        h.id for h in CorpusIndex(full_index.dir).search(query, 5)
    ]
