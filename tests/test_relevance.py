"""The relevance model file, seed kinds and facets: pure logic and the model file's guards."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from crafter.errors import UsageError
from crafter.pipeline.facets import seed_constraints
from crafter.pipeline.worksheet import build_worksheet, title_from_seed
from crafter.retrieval import relevance
from crafter.retrieval.kinds import load_kinds


def test_shipped_model_matches_its_pinned_hash() -> None:
    raw = relevance.model_path().read_bytes()
    assert hashlib.sha256(raw).hexdigest() == relevance.MODEL_SHA256
    model = relevance.load_model()
    assert 0 < model.floor < 1 and len(model.related) == len(relevance.FEATURES) + 1


def test_a_changed_or_missing_model_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = json.loads(relevance.model_path().read_text())
    body["floor"] = 0.01
    tampered = tmp_path / "relevance.json"
    tampered.write_text(json.dumps(body))
    monkeypatch.setattr(relevance, "model_path", lambda: tampered)
    relevance.load_model.cache_clear()
    try:
        with pytest.raises(UsageError, match="does not match"):
            relevance.load_model()
        monkeypatch.setattr(relevance, "model_path", lambda: tmp_path / "gone.json")
        with pytest.raises(UsageError, match="missing"):
            relevance.load_model()
    finally:
        relevance.load_model.cache_clear()


def test_malformed_model_is_rejected() -> None:
    with pytest.raises(UsageError, match="malformed"):
        relevance.parse_model(b'{"version": "1", "features": ["x"]}', "here")


def test_score_rises_with_closeness() -> None:
    model = relevance.load_model()
    near = dict.fromkeys(relevance.FEATURES, 0.7)
    far = dict.fromkeys(relevance.FEATURES, 0.1)
    assert model.score(near)[0] > model.score(far)[0]


def test_every_kind_file_loads_and_names_itself() -> None:
    kinds = load_kinds()
    assert {"classification", "matching", "forecasting", "generation", "agent"} <= set(kinds)
    for name, kind in kinds.items():
        assert kind.name == name and len(kind.exemplars) >= 3


@pytest.mark.parametrize(
    ("seed", "expected"),
    [
        (
            "Hard 80 ms budget end to end, chargebacks show up 30-90 days later",
            ["80 ms budget", "30-90 days later"],
        ),
        ("stop hand-sorting 6k tickets a day", ["6k tickets a day"]),
        ("our 5v5 ranked mode must stay GDPR compliant", ["GDPR"]),
    ],
)
def test_seed_constraints_keep_numbers_with_their_units(seed: str, expected: list[str]) -> None:
    assert seed_constraints(seed)[: len(expected)] == expected


def test_titles_are_short_and_never_cut_mid_word() -> None:
    seed = (
        "Every Monday, email each engineering manager a short summary of what their team shipped, "
        "under 200 words, by 9 am."
    )
    title = title_from_seed(seed)
    assert title == "Email each engineering manager a short summary"
    assert "..." not in title_from_seed("x " * 300 + "route questions to experts")


def test_a_digest_worksheet_does_not_ask_for_decisions_per_second() -> None:
    sheet = build_worksheet(
        "Every Monday, email each engineering manager a summary of what shipped",
        "staff",
        "generation",
    )
    text = json.dumps(sheet.model_dump()).lower()
    assert "decisions per second" not in text and "false positive" not in text


def test_seed_numbers_reach_constraints_and_context() -> None:
    sheet = build_worksheet(
        "Route #ask-eng questions to experts within 30 minutes", "staff", "matching"
    )
    assert any(c.value == "within 30 minutes" for c in sheet.constraints)
    assert any("within 30 minutes" in c.text and c.reveal == "upfront" for c in sheet.context)
