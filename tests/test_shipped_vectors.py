"""Precomputed vectors for the bundled corpus: complete, verified on load, never trusted blindly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crafter.resources import data_dir
from crafter.retrieval.chunks import chunk_doc
from crafter.retrieval.corpus import load_corpus
from crafter.retrieval.index import CorpusIndex
from crafter.retrieval.shipped_vectors import (
    META_NAME,
    VECTORS_NAME,
    default_location,
    load_shipped,
    text_key,
)

DOCS = ["stripe-2023-built-stripe-radar", "uber-2022-deepeta-uber-predicts-arrival-times"]


def test_every_bundled_chunk_has_a_shipped_vector() -> None:
    """Fails when the corpus changed and tools/build_vectors.py was not run."""
    shipped, problem = load_shipped()
    assert problem is None and shipped is not None
    docs = load_corpus(data_dir("reference_corpus")).docs
    missing = [
        c.chunk_id for d in docs for c in chunk_doc(d) if text_key(c.embed_text) not in shipped.rows
    ]
    assert missing == [], f"{len(missing)} chunks lack vectors: run tools/build_vectors.py"


def _small_corpus(root: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir()
    for doc in DOCS:
        shutil.copy(data_dir("reference_corpus") / f"{doc}.md", corpus)
    return corpus


def test_a_fresh_index_reuses_them_and_searches_as_if_embedded(tmp_path: Path) -> None:
    corpus = _small_corpus(tmp_path)
    reused = CorpusIndex(tmp_path / "a", corpus_dir=corpus)
    report = reused.sync()
    assert report.chunks_embedded == 0 and report.chunks_reused > 0 and not report.notes
    (tmp_path / "none").mkdir()
    embedded = CorpusIndex(tmp_path / "b", corpus_dir=corpus, vectors_dir=tmp_path / "none")
    report_b = embedded.sync()
    assert report_b.chunks_reused == 0 and report_b.chunks_embedded == report.chunks_reused
    query = "predict arrival times for rides"
    assert [h.id for h in reused.search(query, 2)] == [h.id for h in embedded.search(query, 2)]


@pytest.mark.parametrize("damage", ["byte", "embedder", "truncate", "json"])
def test_a_vector_file_that_does_not_verify_is_ignored_with_a_message(
    tmp_path: Path, damage: str
) -> None:
    folder = tmp_path / "vectors"
    folder.mkdir()
    shutil.copy(default_location() / VECTORS_NAME, folder)
    shutil.copy(default_location() / META_NAME, folder)
    vec, meta = folder / VECTORS_NAME, folder / META_NAME
    if damage == "byte":
        data = bytearray(vec.read_bytes())
        data[100] ^= 0xFF
        vec.write_bytes(bytes(data))
    elif damage == "embedder":
        m = json.loads(meta.read_text())
        m["embedder_sha256"] = "0" * 64
        meta.write_text(json.dumps(m))
    elif damage == "truncate":
        vec.write_bytes(vec.read_bytes()[:-10])
    else:
        meta.write_text("{not json")
    shipped, problem = load_shipped(folder)
    assert shipped is None and problem and "embedding instead" in problem

    corpus = _small_corpus(tmp_path)
    index = CorpusIndex(tmp_path / "idx", corpus_dir=corpus, vectors_dir=folder)
    report = index.sync()
    assert report.chunks_reused == 0 and report.chunks_embedded > 0
    assert any("ignored" in n for n in report.notes)
    assert index.search("card fraud", 1)[0].id == "stripe-2023-built-stripe-radar"
