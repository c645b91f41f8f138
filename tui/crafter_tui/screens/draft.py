"""Draft: the staged pipeline in a worker, each stage's status, tokens and cost as it goes."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Header, Static

from crafter_tui.base import CrafterScreen
from crafter_tui.jobs import DraftJob
from crafter_tui.widgets.footer import KeyFooter
from crafter_tui.widgets.stages import StageTable

if TYPE_CHECKING:
    from crafter.pipeline import PipelineResult, StageEvent

State = Literal["running", "cancelling", "cancelled", "failed", "done"]


class DraftScreen(CrafterScreen):
    """Runs one draft. Escape cancels it between steps; a failure leaves everything as it was."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "stop",
            "Cancel / back",
            tooltip="Cancel the draft, or go back once it stopped",
        ),
        Binding("ctrl+r", "retry", "Retry", tooltip="Run the failed draft again"),
    ]

    class StageUpdate(Message):
        """A pipeline event, carried from the worker thread to the screen."""

        def __init__(self, event: StageEvent) -> None:
            super().__init__()
            self.event = event

    class Finished(Message):
        def __init__(self, result: PipelineResult) -> None:
            super().__init__()
            self.result = result

    class Failed(Message):
        def __init__(self, message: str, hint: str | None = None) -> None:
            super().__init__()
            self.message = message
            self.hint = hint

    class Stopped(Message):
        """The pipeline honoured the cancel request."""

    def __init__(self, job: DraftJob) -> None:
        super().__init__()
        self.job = job
        self.state: State = "running"
        self._cancel = threading.Event()
        self._result: PipelineResult | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="draft"):
            yield Static(markup=False, id="draft-head")
            yield StageTable(id="stages")
            yield Static(markup=False, id="draft-totals")
            yield Static(markup=False, id="draft-message")
            with Horizontal(classes="actions"):
                yield Button("Retry", id="retry", variant="primary", compact=True)
                yield Button("Back", id="back", compact=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        job = self.job
        if job.research:
            research = "with research" + (f", {len(job.exclude)} excluded" if job.exclude else "")
        else:
            research = "without research"
        self.query_one("#draft-head", Static).update(
            f"Drafting with {job.model_id} · {job.level} · as of {job.as_of.isoformat()} · {research}"
        )
        self._start()

    def _start(self) -> None:
        self.query_one(StageTable).reset()
        self.query_one("#draft-totals", Static).update("")
        self._cancel = threading.Event()
        self._set_state("running", "Escape cancels after the current step.")
        self._run(self._cancel)

    def _set_state(self, state: State, message: str, *, error: bool = False) -> None:
        self.state = state
        box = self.query_one("#draft-message", Static)
        box.update(message)
        box.set_class(error, "inline-error")
        self.query_one("#retry").display = state == "failed"
        self.query_one("#back").display = state in ("failed", "cancelling")
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="draft")
    def _run(self, cancel: threading.Event) -> None:
        from crafter.errors import CrafterError
        from crafter.pipeline import (
            Cancelled,
            DraftRequest,
            PipelineConfig,
            draft_inputs_key,
            run_pipeline,
        )

        def sink(event: StageEvent) -> None:
            # Called on this worker thread; post_message hands the event to the UI thread.
            self.post_message(self.StageUpdate(event))

        job = self.job
        try:
            provider = self.services.provider_factory(job.model_id)
            index = self.services.index() if job.research else None
            config = PipelineConfig(model=provider, index=index, exclude_docs=job.exclude)
            key = draft_inputs_key(
                DraftRequest(job.seed, job.level, job.as_of), provider, index, config.rounds
            )
            result = run_pipeline(
                job.seed,
                job.level,
                job.as_of,
                config,
                runs_root=self.services.runs_root,
                events=sink,
                cancel=cancel,
                inputs_hash=key,
            )
        except Cancelled:
            self.post_message(self.Stopped())
        except CrafterError as exc:
            self.post_message(self.Failed(exc.message, exc.hint))
        except Exception as exc:  # a bug or an unexpected library error: show it, keep the app
            self.post_message(self.Failed(f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.Finished(result))

    # -- events from the worker -----------------------------------------------------------------
    @on(StageUpdate)
    def _stage(self, message: StageUpdate) -> None:
        table = self.query_one(StageTable)
        table.apply(message.event)
        self.query_one("#draft-totals", Static).update(f"Total: {table.totals()}")

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        text = f"The draft failed: {message.message}"
        if message.hint:
            text += f"\nhint: {message.hint}"
        text += "\nNothing was lost: Ctrl+R retries, Escape goes back to change the seed or model."
        self._set_state("failed", text, error=True)

    @on(Stopped)
    def _stopped(self, _: Stopped) -> None:
        self._set_state("cancelled", "Cancelled.")
        self.notify("Draft cancelled; finished stages are kept in the run folder.", title="Draft")
        if self.app.screen is self:
            self.dismiss()

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self._result = message.result
        self._set_state("done", "Done.")
        if self.app.screen is self:
            self._show_result()

    def on_screen_resume(self) -> None:
        # The draft ended while another mode was showing: act on it now.
        if self.state == "done" and self._result is not None:
            self._show_result()
        elif self.state == "cancelled":
            self.dismiss()

    def _show_result(self) -> None:
        from crafter_tui.screens.scenario import ScenarioScreen

        result = self._result
        assert result is not None
        self._result = None
        note = f"{result.seconds:.1f}s, {self.query_one(StageTable).totals()}"
        if result.dropped_citations:
            note += f"; dropped citations of documents not retrieved: {', '.join(result.dropped_citations)}"
        self.app.switch_screen(ScenarioScreen(result.scenario, findings=result.findings))
        self.notify(f"Drafted in {note}. Ctrl+S saves it to the library.", title="Draft")

    def on_unmount(self) -> None:
        # Leaving (or quitting) stops the pipeline at its next step instead of running on unseen.
        self._cancel.set()

    # -- actions --------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry":
            return self.state == "failed"
        return True

    def action_stop(self) -> None:
        if self.state == "running":
            self._cancel.set()
            self._set_state(
                "cancelling",
                "Cancelling after the current step… Escape again leaves now (the run stops on its own).",
            )
        elif self.app.screen is self:
            self.dismiss()

    def action_retry(self) -> None:
        if self.state == "failed":
            self._start()

    @on(Button.Pressed, "#retry")
    def _retry_pressed(self, _: Any) -> None:
        self.action_retry()

    @on(Button.Pressed, "#back")
    def _back_pressed(self, _: Any) -> None:
        self.action_stop()
