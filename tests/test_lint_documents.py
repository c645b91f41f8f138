"""The document model: the second semantic judge that reads a whole question at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from crafter.errors import UsageError
from crafter.evals.document import from_text
from crafter.evals.lint import lint_text
from crafter.evals.semantic import documents

DAY = dt.date(2026, 11, 1)

# An ambush spread over the prompt, the technique never named: the rules see a dedup design.
SPREAD_AMBUSH = (
    "# Crawl dedup\n\n"
    "Our crawler stores 40M pages a day and many are near copies of each other. On the "
    "whiteboard, work out from first principles a scheme that finds the near copies without "
    "comparing every pair. Then show, step by step, how often it wrongly pairs two different pages "
    "as the bands and rows change. We expect the full derivation before any system discussion.\n"
)


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    documents.reset()
    yield
    documents.reset()


def test_the_shipped_model_is_fitted_on_the_current_cases_and_exemplars() -> None:
    # Fails when a labelled case, an exemplar or the features changed without a refit:
    # .venv/bin/python tools/fit_documents.py
    trained_on, fitted = documents.from_json(
        documents.shipped_path().read_bytes(), documents.shipped_path()
    )
    assert trained_on == documents.training_digest()
    assert set(fitted) == set(documents.load_config().checks)


def test_a_finding_says_what_the_document_resembled_and_quotes_its_line() -> None:
    result = lint_text(SPREAD_AMBUSH, DAY, "q.md")
    found = [f for f in result.findings if f.check == "rederive"]
    assert found and found[0].severity == "warning"
    assert found[0].evidence and found[0].evidence in " ".join(SPREAD_AMBUSH.split())
    assert found[0].suggestion
    p = documents.models()["rederive"].probability(
        documents.features(from_text("q.md", SPREAD_AMBUSH))
    )
    assert 0.0 <= p <= 1.0


def test_the_model_only_adds_what_the_rules_did_not_raise() -> None:
    doc = from_text("q.md", SPREAD_AMBUSH)
    assert documents.judge(doc, raised={"rederive", "staleness", "ml-clothing", "buzzword"}) == []


def test_a_plain_design_question_gets_no_document_finding() -> None:
    text = (
        "# Refund fraud\n\nShoppers at our 900 stores can return items without a receipt; about "
        "2% of 1.2M monthly returns are fraudulent and each costs $60 on average. Store staff "
        "have 20 seconds per return. Design the system that decides which returns to accept, "
        "hold for a manager or refuse, and say how you would know it works.\n"
    )
    assert documents.judge(from_text("q.md", text), raised=set()) == []


def test_a_corrupt_model_file_is_a_usage_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "document_model.json"
    broken.write_text('{"format": 1, "features": "x", "checks": {}}')
    monkeypatch.setattr(documents, "shipped_path", lambda: broken)
    with pytest.raises(UsageError) as err:
        documents.models()
    assert str(broken) in err.value.message
    broken.unlink()
    with pytest.raises(UsageError) as err:
        documents.models()
    assert "missing" in err.value.message and str(broken) in err.value.message


def test_a_stale_model_is_refitted_from_the_labelled_cases_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if a labelled case had been added since the model shipped: it is refitted on first
    # use (no code, no tool run) and the refit is kept in the cache folder.
    monkeypatch.setenv("CRAFTER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(documents, "training_digest", lambda: "a-newer-digest")
    first = documents.models()
    assert list((tmp_path / "cache" / "lint").glob("documents-a-newer-digest.json"))
    documents.reset()
    monkeypatch.setattr(documents, "fit_all", lambda cfg: pytest.fail("refitted twice"))
    again = documents.models()
    assert set(again) == set(first)


def test_malformed_settings_are_a_usage_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "documents.yaml").write_text("version: 1\nchecks:\n  rederive: {threshold: 7}\n")
    monkeypatch.setenv("CRAFTER_SEMANTIC_DIR", str(tmp_path))
    with pytest.raises(UsageError) as err:
        documents.load_config()
    assert "documents.yaml" in err.value.message and "threshold" in err.value.message
