"""The practice screen through Textual's Pilot: the person plays the interviewer, a fake provider
plays the candidate at the provider seam, and the core decides what was covered."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from crafter_tui.app import CrafterApp, create_app
from crafter_tui.screens.practice import PracticeScreen
from crafter_tui.screens.scenario import ScenarioScreen
from pydantic import BaseModel
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from crafter.domain import Scenario, load_scenario
from crafter.errors import ProviderError
from crafter.pipeline.rehearsal import CandidateTurn
from crafter.providers import FakeProvider, Message, ProviderStatus
from crafter.resources import data_dir
from tests.rehearsal_fakes import candidate_says

pytestmark = pytest.mark.anyio

DAY = dt.date(2026, 11, 1)
GOOD = data_dir("evals") / "cases" / "scenario-good-grocery-availability.yaml"
ASK_H1 = "Customers hate refunds more than substitutions; how does that change what the app shows?"
ASK_EVAL = "How would you evaluate this offline and then online?"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def good() -> Scenario:
    return load_scenario(GOOD)


def candidate(s: Scenario) -> FakeProvider:
    """The rehearsal's persona-faithful candidate, answering by turn number."""

    def answer(messages: Sequence[Message], schema: type[BaseModel]) -> Any:
        assert schema is CandidateTurn
        persona = messages[0].content.split("Persona: ", 1)[1].split(" ", 1)[0]
        turn = messages[-1].content.count("\n\nYou: ")
        return {"message": candidate_says(s, persona, turn)}

    return FakeProvider(default=answer)


def make_app(tmp_path: Path, provider: FakeProvider | None, model: str = "fake:test") -> CrafterApp:
    return create_app(
        tmp_path / "lib",
        as_of=DAY,
        runs_root=tmp_path / "runs",
        statuses=lambda: [ProviderStatus("scaffold", "scaffold", True, "no model")],
        default_model=model,
        provider_factory=(lambda _m: provider) if provider is not None else None,
    )


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out; the screen is {pilot.app.screen!r}")
        await pilot.pause(0.05)


async def open_practice(pilot: Pilot[Any], s: Scenario) -> PracticeScreen:
    await pilot.app.push_screen(ScenarioScreen(s, path=GOOD))
    await pilot.app.workers.wait_for_complete()
    await pilot.press("ctrl+r")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, PracticeScreen)
    return screen


async def say(pilot: Pilot[Any], screen: PracticeScreen, text: str) -> None:
    screen.query_one("#say", Input).value = text
    screen.query_one("#say", Input).focus()
    await pilot.press("enter")
    if text.strip().lower() != "end":
        await wait_for(pilot, lambda: screen.state in ("ready", "failed"))


def transcript(screen: PracticeScreen) -> str:
    return "\n".join(str(w.render()) for w in screen.query("#transcript Static"))


async def test_practice_a_persona_then_end_lists_what_was_missed_and_saves(tmp_path: Path) -> None:
    s = good()
    provider = candidate(s)
    app = make_app(tmp_path, provider)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_practice(pilot, s)
        brief = str(screen.query_one("#brief", Static).render())
        assert s.hooks[0].detail[:40] in brief and s.questions[0].question[:40] in brief
        assert s.rubric[0].signal in brief and "RUBRIC" in brief
        # Pick the smooth talker before the first turn.
        screen.query_one("#persona", Select).value = "smooth-talker"
        await pilot.pause()
        assert screen.session is not None and screen.session.persona.id == "smooth-talker"
        assert not screen.dirty
        await say(pilot, screen, ASK_H1)
        assert screen.dirty and screen.query_one("#persona", Select).disabled
        await say(pilot, screen, ASK_EVAL)
        shown = transcript(screen)
        assert shown.startswith("You: " + s.premise[:30])
        assert "softmax and cross-entropy" in shown and f"You: {ASK_EVAL}" in shown
        # The candidate saw the conversation through the rehearsal's candidate prompt.
        assert len(provider.calls) == 2
        assert "Persona: smooth-talker" in provider.calls[1].messages[0].content
        assert ASK_H1 in provider.calls[1].messages[-1].content
        await say(pilot, screen, "end")
        await wait_for(pilot, lambda: screen.state == "ended")
        report = screen.report
        assert report is not None and not screen.dirty
        assert "h1" not in {c.id for c in report.unraised_hooks}
        assert {c.id for c in report.unraised_hooks} == {h.id for h in s.hooks} - {"h1"}
        assert "evaluation" not in {c.id for c in report.unprobed_signals}
        assert "data" in {c.id for c in report.unprobed_signals}
        shown = transcript(screen)
        assert "Hooks never raised:" in shown and "Signals never probed:" in shown
        assert "✓ h1" in str(screen.query_one("#brief", Static).render())
        assert screen.saved_to is not None
        folder = Path(screen.saved_to)
        data = json.loads((folder / "transcript.json").read_text())
        assert data["persona"].startswith("smooth-talker@") and data["model"] == "fake:test"
        assert [t["speaker"] for t in data["transcript"]] == ["interviewer", "interviewer",
                                                              "candidate", "interviewer",
                                                              "candidate"]  # fmt: skip
        assert "Hooks never raised" in (folder / "transcript.md").read_text()
        assert json.loads((folder / "run.json").read_text())["kind"] == "practice"
        await pilot.press("escape")  # saved: leaves without asking
        assert isinstance(app.screen, ScenarioScreen)


async def test_the_scaffold_cannot_play_and_says_so(tmp_path: Path) -> None:
    for model, words in (("scaffold", "scaffold"), ("local:smollm2", "135M")):
        app = make_app(tmp_path, None, model=model)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_practice(pilot, good())
            line = str(screen.query_one("#practice-model", Static).render())
            assert words in line and "cannot play a candidate" in line and "CRAFTER_MODEL" in line
            assert screen.query_one("#say", Input).disabled and screen.state == "blocked"
            await pilot.press("ctrl+g")
            assert screen.report is None


async def test_an_error_is_plain_text_and_ctrl_r_asks_again(tmp_path: Path) -> None:
    s = good()
    provider = candidate(s)
    provider.queue(ProviderError("openai: [bold]overloaded[/bold] (529)", hint="retry [later]"))
    app = make_app(tmp_path, provider)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_practice(pilot, s)
        await say(pilot, screen, ASK_H1)
        assert screen.state == "failed"
        status = str(screen.query_one("#practice-status", Static).render())
        assert "[bold]overloaded[/bold]" in status and "retry [later]" in status
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.state == "ready")
        assert "Candidate: " in transcript(screen) and len(provider.calls) == 2


async def test_leaving_an_unsaved_practice_asks_first(tmp_path: Path) -> None:
    s = good()
    app = make_app(tmp_path, candidate(s))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_practice(pilot, s)
        await say(pilot, screen, ASK_H1)
        await pilot.press("escape")
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("n")
        assert app.screen is screen
        await pilot.press("ctrl+q")
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("n")
        assert app.screen is screen and app.is_running
        await pilot.press("escape")
        await pilot.press("y")
        assert isinstance(app.screen, ScenarioScreen)
        assert not (tmp_path / "runs").exists()


async def test_the_palette_offers_practice_on_the_scenario_screen(tmp_path: Path) -> None:
    app = make_app(tmp_path, candidate(good()))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(ScenarioScreen(good(), path=GOOD))
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Practice" in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Practice")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PracticeScreen))
