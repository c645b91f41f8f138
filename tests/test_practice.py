"""Interviewer practice in the core: who may play the candidate, the session, what counts as
raising a hook or probing a signal (the real MiniLM embedder), and the run folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crafter.domain import Scenario, load_scenario
from crafter.errors import UsageError
from crafter.pipeline.practice import (
    PracticeSession,
    coverage,
    is_end,
    practice_knowledge,
    practice_model_problem,
    save_practice,
)
from crafter.pipeline.rehearsal import load_personas
from crafter.providers import FakeProvider
from crafter.resources import data_dir

GOOD = data_dir("evals") / "cases" / "scenario-good-grocery-availability.yaml"

# Hand-written interviewer turns: each raises exactly one hook (the thresholds are fitted on them).
RAISES = {
    "h1": "Customers hate refunds more than substitutions; how does that change what the app shows?",
    "h2": "Most store-item pairs were never observed recently. How do you get labels for those?",
    "h3": "Hiding an item that is in stock costs us about a dollar, showing a missing one four. "
    "Where do you set the threshold?",
    "h4": "Search needs scores for hundreds of items in 15 ms. How do you serve that?",
    "h5": "If an item is hidden, nobody orders it. How would you ever learn it is back?",
}
PROBES = {
    "evaluation": "How would you evaluate this offline and then online?",
    "data": "What data would you train on and where do labels come from?",
    "deployment and monitoring": "How would you monitor it in production?",
}
SMALL_TALK = ["Tell me about yourself.", "What was the last book you read?", "Good. Go on."]


def good() -> Scenario:
    return load_scenario(GOOD)


def test_the_thresholds_and_probes_are_data() -> None:
    k = practice_knowledge()
    assert 0 < k.hook.cosine <= 1 and k.signal.min_terms >= 1
    assert set(k.probes) == {r.signal for r in good().rubric}


@pytest.mark.parametrize("hook", sorted(RAISES))
def test_a_turn_raises_its_hook_and_no_other(hook: str) -> None:
    report = coverage(good(), [RAISES[hook]])
    assert [c.id for c in report.hooks if c.raised] == [hook]
    assert next(c for c in report.hooks if c.id == hook).turn == 1


@pytest.mark.parametrize("signal", sorted(PROBES))
def test_a_turn_probes_its_signal(signal: str) -> None:
    report = coverage(good(), [PROBES[signal]])
    assert [c.id for c in report.signals if c.raised] == [signal]


def test_small_talk_raises_nothing_and_no_turn_leaves_everything_open() -> None:
    s = good()
    for asked in (SMALL_TALK, []):
        report = coverage(s, asked)
        assert len(report.unraised_hooks) == len(s.hooks)
        assert len(report.unprobed_signals) == len(s.rubric)
    lines = coverage(s, [RAISES["h2"], PROBES["evaluation"]]).lines()
    assert lines[0] == "Hooks raised: 1/5" and "- h1: " + s.hooks[0].detail in lines
    assert "Signals probed: 1/6" in lines and "- evaluation" not in lines


def test_the_scaffold_and_the_local_model_cannot_play() -> None:
    assert "scaffold" in (practice_model_problem("scaffold") or "")
    local = practice_model_problem("local:smollm2") or ""
    assert "135M" in local and "cannot play a candidate" in local and "CRAFTER_MODEL" in local
    assert practice_model_problem("anthropic:claude-sonnet-5-5") is None


def test_a_session_uses_the_rehearsal_candidate_prompt_and_saves(tmp_path: Path) -> None:
    s = good()
    persona = load_personas()[1]
    fake = FakeProvider(outputs=[{"message": "I would train a neural network."}])
    session = PracticeSession.start(s, persona, fake.model_id)
    assert session.turns[0].text.startswith(s.premise) and session.asked == []
    with pytest.raises(UsageError):
        session.say("   ")
    session.say(RAISES["h1"])
    assert session.awaiting_candidate
    turn = session.reply(fake)
    assert turn.speaker == "candidate" and not session.awaiting_candidate
    system, user = fake.calls[0].messages[0].content, fake.calls[0].messages[-1].content
    assert f"Persona: {persona.id}" in system and f"Interviewer: {RAISES['h1']}" in user
    assert session.asked == [RAISES["h1"]] and session.usage.input_tokens == 100
    assert is_end(" End ") and not is_end("end it")
    folder = save_practice(session, coverage(s, session.asked), tmp_path / "runs")
    data = json.loads((folder.path / "transcript.json").read_text())
    assert data["coverage"]["hooks"][0]["raised"] is True and data["usage"]["input_tokens"] == 100
    meta = json.loads((folder.path / "run.json").read_text())
    assert meta["kind"] == "practice" and meta["turns"] == 1 and meta["scenario"] == s.id
    assert "Hooks never raised:" in (folder.path / "transcript.md").read_text()
