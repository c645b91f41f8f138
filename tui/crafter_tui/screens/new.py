"""The first screen: type the seed, pick the level and the model, then research or draft.

This module is on the path to the first paint, so it imports only Textual; the core is loaded by
a worker once the screen is up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Header, Label, Select, Static, TextArea

from crafter_tui.base import CrafterScreen
from crafter_tui.jobs import DraftJob
from crafter_tui.widgets.footer import KeyFooter
from crafter_tui.widgets.model_picker import ModelPicker

if TYPE_CHECKING:
    from crafter.providers import ProviderStatus

PLACEHOLDER = (
    "The user need in a few sentences, e.g. route questions asked in our #ask-eng Slack channel "
    "to the people who can answer them."
)


class NewScenarioScreen(CrafterScreen):
    """Seed, level and model; the starting point when no scenario is open."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "research", "Research", tooltip="Find industry write-ups for the seed"),
        Binding("ctrl+g", "draft", "Draft now", tooltip="Draft without research (no citations)"),
    ]

    class CoreLoaded(Message):
        """The worker loaded the core: levels, provider statuses and the default model."""

        def __init__(
            self,
            levels: tuple[str, ...],
            statuses: list[ProviderStatus],
            default: str,
            reason: str,
            problem: str = "",
            level: str | None = None,
        ) -> None:
            super().__init__()
            self.levels = levels
            self.level = level
            self.statuses = statuses
            self.default = default
            self.reason = reason
            self.problem = problem

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="new"):
            seed = TextArea(id="seed", placeholder=PLACEHOLDER, soft_wrap=True)
            seed.border_title = "Seed"
            yield seed
            yield Static(markup=False, id="seed-error", classes="inline-error")
            with Horizontal(id="choices"):
                with Vertical(id="level-box"):
                    yield Label("Level", classes="field-label")
                    # The full list arrives with the core (crafter.domain.LEVELS); staff is the default.
                    yield Select[str](
                        [("staff", "staff")], value="staff", allow_blank=False, id="level"
                    )
                yield ModelPicker(id="model-picker")
            with Horizontal(id="new-actions", classes="actions"):
                yield Button("Research", id="research", variant="primary", compact=True)
                yield Button("Draft now", id="draft", compact=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#seed", TextArea).focus()
        # After the first frame: the imports must not delay it.
        later = getattr(self.app, "after_first_paint", None)
        if callable(later):
            later(self._load_core)
        else:
            self.call_after_refresh(self._load_core)

    @work(thread=True, exclusive=True, group="core")
    def _load_core(self) -> None:
        from crafter.domain import LEVELS
        from crafter.errors import CrafterError

        services = self.services
        problem = ""
        level: str | None = None
        try:
            statuses = services.statuses()
            default, reason = services.default_model()
            level, library_model = services.library_defaults()
            if library_model and not reason.startswith("CRAFTER_MODEL"):
                default, reason = library_model, f"set in {services.library / 'crafter.toml'}"
        except CrafterError as exc:  # e.g. an unreadable config file
            statuses, default, reason = [], "scaffold", "the config is unreadable"
            problem = str(exc)
        except Exception as exc:  # never let a status probe take the app down
            statuses, default, reason = [], "scaffold", "the providers could not be checked"
            problem = f"{type(exc).__name__}: {exc}"
        self.post_message(self.CoreLoaded(LEVELS, statuses, default, reason, problem, level))

    @on(CoreLoaded)
    def _core_loaded(self, event: CoreLoaded) -> None:
        level = self.query_one("#level", Select)
        current = level.value
        with self.prevent(Select.Changed):
            level.set_options([(name, name) for name in event.levels])
            # The library's crafter.toml level, unless the person already picked one.
            preferred = (
                event.level if event.level in event.levels and current == "staff" else current
            )
            level.value = preferred if preferred in event.levels else "staff"
        self.query_one(ModelPicker).show(event.statuses, event.default, event.reason)
        if event.problem:
            self.notify(event.problem, title="Configuration", severity="error", timeout=10)

    # -- actions ------------------------------------------------------------------------------
    def _job(self, *, research: bool) -> DraftJob | None:
        """The checked request, or None after showing why it cannot run."""
        from crafter.errors import CrafterError
        from crafter.pipeline import DraftRequest

        error = self.query_one("#seed-error", Static)
        seed = self.query_one("#seed", TextArea).text
        level = self.query_one("#level", Select).value
        try:
            request = DraftRequest(seed, str(level), self.services.draft_date()).checked()
            # Before the worker has filled the picker in, the default is what `crafter draft` uses.
            model_id = self.query_one(ModelPicker).model_id or self.services.default_model()[0]
        except CrafterError as exc:
            error.update(exc.message + (f"\n{exc.hint}" if exc.hint else ""))
            error.display = True
            self.query_one("#seed", TextArea).focus()
            return None
        error.update("")
        error.display = False
        assert request.as_of is not None
        return DraftJob(request.seed, request.level, request.as_of, model_id, research=research)

    def action_research(self) -> None:
        job = self._job(research=True)
        if job is not None:
            from crafter_tui.screens.research import ResearchScreen

            self.app.push_screen(ResearchScreen(job))

    def action_draft(self) -> None:
        job = self._job(research=False)
        if job is not None:
            from crafter_tui.screens.draft import DraftScreen

            self.app.push_screen(DraftScreen(job))

    @on(Button.Pressed, "#research")
    def _research_pressed(self, _: Any) -> None:
        self.action_research()

    @on(Button.Pressed, "#draft")
    def _draft_pressed(self, _: Any) -> None:
        self.action_draft()

    @on(TextArea.Changed, "#seed")
    def _seed_changed(self, _: Any) -> None:
        error = self.query_one("#seed-error", Static)
        if error.display:
            error.display = False
