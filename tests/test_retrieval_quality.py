"""The retrieval floor on the whole corpus: hybrid hit@5 >= 0.9 on both needs sets in
evals/retrieval (the second written without reading the documents)."""

from __future__ import annotations

import pytest

from crafter.resources import data_dir
from crafter.retrieval.evaluation import evaluate, load_needs
from crafter.retrieval.index import CorpusIndex

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", ["needs.yaml", "needs_blind.yaml"])
def test_eval_set_is_large_enough_and_ids_exist(name: str) -> None:
    needs = load_needs(data_dir("evals") / "retrieval" / name)
    assert len(needs) >= 40
    for need in needs:
        for doc in need.relevant:
            assert (data_dir("reference_corpus") / f"{doc}.md").is_file(), doc


def test_hybrid_meets_the_floor_and_beats_each_retriever(full_index: CorpusIndex) -> None:
    needs = load_needs(data_dir("evals") / "retrieval" / "needs.yaml")
    hybrid = evaluate(full_index, needs, "hybrid")
    assert hybrid.hit_at_5 >= 0.9, hybrid.misses
    for mode in ("dense", "bm25"):
        assert hybrid.mrr >= evaluate(full_index, needs, mode).mrr


def test_hybrid_meets_the_floor_on_needs_written_without_reading_the_documents(
    full_index: CorpusIndex,
) -> None:
    # Blind needs share less wording with the documents; hybrid must still find them.
    needs = load_needs(data_dir("evals") / "retrieval" / "needs_blind.yaml")
    hybrid = evaluate(full_index, needs, "hybrid")
    assert hybrid.hit_at_5 >= 0.9, hybrid.misses
    assert hybrid.mrr >= evaluate(full_index, needs, "bm25").mrr
