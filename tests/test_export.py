"""Markdown packets: the candidate sees the premise only; the interviewer sees everything."""

from __future__ import annotations

import datetime as dt

import pytest

from crafter.domain import Provenance, Reference, Scenario
from crafter.domain.export import to_markdown
from tests.helpers import content_dict


def make_scenario() -> Scenario:
    data = content_dict()
    data["premise"] = "Engineers ask 400 questions a week in #ask-eng.\n\nMany wait over a day."
    data["questions"][0]["answer"] = "About 14 months of history, 2.1M messages."
    data["hooks"][0]["refs"] = ["slack-2016-channel-recs"]
    data["traps"][0]["generic_answer"] = "Just fine-tune an LLM on <document> everything."
    return Scenario.model_validate(
        {
            **data,
            "id": "slack-routing",
            "seed": "Route Slack questions to people who can answer them.",
            "as_of": "2026-11-01",
            "references": [
                Reference(
                    id="slack-2016-channel-recs",
                    title="Personalized channel recommendations",
                    org="Slack",
                    year=2016,
                    url="https://slack.engineering/channel-recs",
                    why_relevant="How Slack modelled who reads what.",
                ).model_dump()
            ],
            "provenance": Provenance(
                generator="test", model="fake:test", prompt_version="draft@1",
                corpus_version="none", created_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            ).model_dump(),
        }
    )  # fmt: skip


def test_the_candidate_packet_is_the_title_and_premise_only() -> None:
    s = make_scenario()
    md = to_markdown(s, "candidate")
    assert md.startswith(f"# {s.title}\n\n")
    assert "Engineers ask 400 questions a week" in md and "Many wait over a day." in md
    # Nothing the interviewer holds leaks: no hooks, answers, rubric, traps or references.
    for secret in (
        s.hooks[0].detail,
        s.questions[0].answer,
        s.rubric[0].strong_hire,
        s.traps[0].follow_up,
        "slack.engineering",
        "## ",
    ):
        assert secret not in md, secret


def test_the_interviewer_packet_has_every_section_readably() -> None:
    s = make_scenario()
    md = to_markdown(s, "interviewer")
    for heading in (
        "## Premise",
        "## Facts you hold",
        "## Data",
        "## Constraints",
        "## Hooks",
        "## Questions a strong candidate asks",
        "## Design decisions",
        "## Rubric",
        "## Smooth-talker traps",
        "## References",
        "## Provenance",
    ):
        assert heading in md, heading
    assert "- **Your answer:** About 14 months of history, 2.1M messages." in md
    assert f"### {s.hooks[0].id} ({s.hooks[0].category})" in md
    assert "- **Sources:** slack-2016-channel-recs" in md
    assert "<https://slack.engineering/channel-recs>" in md
    assert all(r.signal.capitalize() in md for r in s.rubric)
    assert "TODO(interviewer) placeholders" in md  # the scaffold's gaps are called out
    # Multi-line text stays inside its bullet; tag-like text is escaped, not swallowed as HTML.
    assert "\\<document>" in md and "<document>" not in md.replace("\\<document>", "")
    assert md.endswith("\n") and "\n\n\n" not in md


def test_export_is_deterministic_and_rejects_unknown_packets() -> None:
    s = make_scenario()
    assert to_markdown(s, "interviewer") == to_markdown(s.model_copy(deep=True), "interviewer")
    with pytest.raises(ValueError, match="unknown packet"):
        to_markdown(s, "everyone")  # type: ignore[arg-type]
