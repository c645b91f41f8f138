"""The golden suite: each check's precision and recall on labelled cases, and good cases stay clean."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crafter.evals.findings import CHECK_IDS
from crafter.evals.golden import run_golden
from crafter.evals.knowledge import knowledge
from crafter.resources import data_dir

CASES = data_dir("evals") / "cases"
# Written by someone who had not read the checks; scored blind first (see the session notes),
# then the checks were fixed where they missed. Part of the suite since.
HOLDOUT = data_dir("evals") / "holdout"
HOLDOUT2 = (
    data_dir("evals") / "holdout2"
)  # a second blind set, written after the first round of fixes


@pytest.mark.parametrize("folder", [CASES, HOLDOUT, HOLDOUT2], ids=["cases", "holdout", "holdout2"])
def test_the_suite_is_big_enough_and_well_formed(folder: Path) -> None:
    labels = yaml.safe_load((folder / "labels.yaml").read_text())
    assert len(labels["cases"]) >= (60 if folder == CASES else 30)
    files = {c["file"] for c in labels["cases"]}
    assert len(files) == len(labels["cases"])
    for case in labels["cases"]:
        assert (folder / case["file"]).is_file(), case["file"]
        assert set(case.get("must", [])) <= set(CHECK_IDS)
        assert set(case.get("must_not", [])) <= set(CHECK_IDS)
        assert not set(case.get("must", [])) & set(case.get("must_not", []))
    # Every check has positive cases to be measured on.
    positives = {c for case in labels["cases"] for c in case.get("must", [])}
    if folder == CASES:
        assert positives == set(CHECK_IDS)


@pytest.fixture(scope="module")
def report() -> object:
    return run_golden(CASES, HOLDOUT, HOLDOUT2)


@pytest.mark.parametrize("check", CHECK_IDS)
def test_precision_and_recall_floors(report: object, check: str) -> None:
    score = report.scores[check]  # type: ignore[attr-defined]
    assert score.precision >= 0.9, (check, score.false_positives)
    assert score.recall >= 0.85, (check, score.false_negatives)


def test_good_cases_raise_no_error(report: object) -> None:
    assert report.good_with_errors == []  # type: ignore[attr-defined]


def test_knowledge_lives_in_yaml_and_compiles() -> None:
    k = knowledge()
    assert {e.id for e in k.eras} >= {"chunk-and-stuff-rag", "averaged-word-vectors", "rnn-seq2seq-chatbot",
                                      "phrase-based-smt", "crf-handcrafted-ner"}  # fmt: skip
    assert {a.name for a in k.algorithms} >= {
        "MinHash / LSH",
        "Bloom filter",
        "HyperLogLog",
        "consistent hashing",
    }
    assert len(k.generic) >= 10 and len(k.systems) >= 10
