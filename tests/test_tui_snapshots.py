"""Snapshots of the main screens at 80x24 and 120x40 (pytest-textual-snapshot).

Everything on screen is fixed: the date, the provider list, the search hits, the model outputs, and
the library path (relative, from a tmp working folder). Regenerate after an intended change with
``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the SVGs before committing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from crafter_tui.app import CrafterApp, create_app
from crafter_tui.fields import Target
from crafter_tui.screens.draft import DraftScreen
from crafter_tui.screens.scenario import ScenarioScreen
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from crafter.domain import Scenario, save_new_scenario
from crafter.errors import ProviderError
from crafter.pipeline import PipelineConfig, run_pipeline
from crafter.providers import FakeProvider, ProviderStatus, build_provider
from crafter.retrieval.search import SearchHit
from tests.helpers import SLACK_SEED

DAY = dt.date(2026, 11, 1)
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
Snap = Callable[..., bool]

HITS = [
    SearchHit(
        "slack-2016-personalized-channel-recommendations-slack", "Personalized Channel Recommendations in Slack",
        "Slack", 2016, "https://slack.engineering/personalized-channel-recommendations-in-slack/", 0.9,
        "Slack recommends channels from who talks with whom; thousands of per-team matrices.", "corpus",
    ),
    SearchHit(
        "slack-2021-blocking-slack-invite-spam-machine", "Blocking Slack Invite Spam With Machine Learning",
        "Slack", 2021, "https://slack.engineering/blocking-slack-invite-spam/", 0.8,
        "Invite spam is rare and adversarial; labels come from user reports, days late.", "corpus",
    ),
    SearchHit(
        "stripe-2023-built-stripe-radar", "How we built it: Stripe Radar", "Stripe", 2023,
        "https://stripe.com/blog/how-we-built-it-stripe-radar", 0.7,
        "Decisions in 100 ms at checkout; a false positive blocks a good customer.", "corpus",
    ),
]  # fmt: skip


class FixedIndex:
    """Search results that never change, so the research screen draws the same every time."""

    def ensure_built(self, progress: Any = None) -> None:
        return None

    def search(
        self, query: str, k: int = 5, *, mode: str = "hybrid", exclude: Iterable[str] = ()
    ) -> list[SearchHit]:
        return HITS[:k]


def statuses() -> list[ProviderStatus]:
    return [
        ProviderStatus("anthropic", "anthropic:claude-sonnet-5-5", False, "set ANTHROPIC_API_KEY"),
        ProviderStatus("openai", "openai:gpt-5.4-mini", False, "set OPENAI_API_KEY"),
        ProviderStatus("local", "local:smollm2", True, "embedded llama.cpp server, no key needed"),
        ProviderStatus("scaffold", "scaffold", True, "no model: a worksheet with TODOs"),
    ]


def make_app(**kwargs: Any) -> CrafterApp:
    kwargs.setdefault("statuses", statuses)
    kwargs.setdefault("default_model", "scaffold")
    return create_app(Path("lib"), as_of=DAY, runs_root=Path("runs"), **kwargs)


def scaffold_scenario(seed: str = SLACK_SEED) -> Scenario:
    return run_pipeline(
        seed, "staff", DAY, PipelineConfig(model=build_provider("scaffold"))
    ).scenario


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Relative paths on screen: the tmp folder's name changes every run.
    monkeypatch.chdir(tmp_path)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait for workers, then stop cursors blinking so the frame is always the same."""
    app = pilot.app
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()
    for widget in app.screen.query("TextArea, Input"):
        if isinstance(widget, TextArea | Input):
            widget.cursor_blink = False
    await pilot.pause()


def steps(
    *actions: Callable[[Pilot[Any]], Awaitable[None]],
) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for action in actions:
            await action(pilot)
            await settle(pilot)

    return run


async def type_seed(pilot: Pilot[Any]) -> None:
    # Inserted at once (test_tui.py types key by key): same screen, a fraction of the time.
    pilot.app.screen.query_one("#seed", TextArea).insert(SLACK_SEED)


@pytest.mark.parametrize("size", SIZES)
def test_new_scenario_screen(snap_compare: Snap, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=steps(type_seed))


@pytest.mark.parametrize("size", SIZES)
def test_research_screen(snap_compare: Snap, size: tuple[int, int]) -> None:
    async def research(pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.press("down", "space")  # exclude the second write-up

    app = make_app(index=FixedIndex())
    assert snap_compare(app, terminal_size=size, run_before=steps(type_seed, research))


@pytest.mark.parametrize("size", SIZES)
def test_draft_screen_after_a_stage_failure(snap_compare: Snap, size: tuple[int, int]) -> None:
    provider = FakeProvider(
        outputs=[
            ProviderError("anthropic: overloaded (529) after 4 attempts", hint="retry in a minute")
        ]
    )

    async def draft(pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert isinstance(pilot.app.screen, DraftScreen) and pilot.app.screen.state == "failed"

    app = make_app(provider_factory=lambda _model: provider, default_model="fake:test")
    assert snap_compare(app, terminal_size=size, run_before=steps(type_seed, draft))


@pytest.mark.parametrize("size", SIZES)
def test_scenario_screen_editing_a_hook(snap_compare: Snap, size: tuple[int, int]) -> None:
    scenario = scaffold_scenario()

    async def open_hook(pilot: Pilot[Any]) -> None:
        screen = ScenarioScreen(scenario)
        await pilot.app.push_screen(screen)
        await settle(pilot)
        await screen.show_target(Target("hooks", 1, "detail"))

    assert snap_compare(make_app(), terminal_size=size, run_before=steps(open_hook))


@pytest.mark.parametrize("size", SIZES)
def test_library_screen(snap_compare: Snap, size: tuple[int, int], tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    save_new_scenario(scaffold_scenario(), lib)
    other = scaffold_scenario("Predict which grocery items will be out of stock at delivery time.")
    review = other.review.model_copy(update={"status": "approved", "reviewer": "Ana"})
    save_new_scenario(other.model_copy(update={"review": review}), lib)
    (lib / "broken.yaml").write_text("schema_version: 1\ntitle: half a scenario\n")

    async def library(pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+l")

    assert snap_compare(make_app(), terminal_size=size, run_before=steps(library))


@pytest.mark.parametrize("size", SIZES)
def test_practice_screen_after_the_end(
    snap_compare: Snap, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from crafter_tui.screens.practice import PracticeScreen

    from crafter.domain import load_scenario
    from crafter.pipeline.runs import RunFolder
    from crafter.resources import data_dir

    def fixed_folder(root: Path, seed: str) -> RunFolder:
        (root / "practice-run").mkdir(parents=True)
        return RunFolder(root / "practice-run")

    # The folder's name holds the time: a fixed one keeps the frame the same.
    monkeypatch.setattr(RunFolder, "create", staticmethod(fixed_folder))

    scenario = load_scenario(
        data_dir("evals") / "cases" / "scenario-good-grocery-availability.yaml"
    )
    answers = [
        "How many store-item pairs do we see each day, and how fresh is the signal?",
        "I would start with a gradient-boosted model on recent picks, then calibrate it.",
    ]
    provider = FakeProvider(outputs=[{"message": a} for a in answers])

    async def practise(pilot: Pilot[Any]) -> None:
        screen = PracticeScreen(scenario)
        await pilot.app.push_screen(screen)
        await settle(pilot)
        for turn in (
            "Hiding an in-stock item loses $0.90, showing a missing one $4.10. Where is the line?",
            "How would you evaluate this offline and then online?",
            "end",
        ):
            screen.query_one("#say", Input).value = turn
            screen.query_one("#say", Input).focus()
            await pilot.press("enter")
            await settle(pilot)

    app = make_app(provider_factory=lambda _model: provider, default_model="fake:test")
    assert snap_compare(app, terminal_size=size, run_before=steps(practise))
