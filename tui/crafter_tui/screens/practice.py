"""Interviewer practice: the person plays the interviewer against a simulated candidate persona.

The scenario's hooks, questions and rubric sit beside the chat. Each turn the person types goes
to the candidate model (the configured one) in a worker; "end" (or Ctrl+G) asks the core which
hooks were never raised and which signals never probed, and saves the transcript to a run folder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Header, Input, Label, Select, Static

from crafter_tui.base import CrafterScreen
from crafter_tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from crafter.domain import Scenario
    from crafter.pipeline.practice import PracticeReport, PracticeSession
    from crafter.pipeline.rehearsal import CandidateTurn, Persona, Turn
    from crafter.providers import Generation, Provider

State = Literal["blocked", "ready", "waiting", "failed", "scoring", "ended"]
NAMES = {"interviewer": "You", "candidate": "Candidate"}


def brief_text(s: Scenario, report: PracticeReport | None = None) -> str:
    """What the interviewer holds; after the end, each hook and signal marked raised or not."""
    raised = {c.id: c.raised for c in report.hooks} if report else {}
    probed = {c.id: c.raised for c in report.signals} if report else {}

    def mark(table: dict[str, bool], key: str) -> str:
        if key not in table:
            return ""
        return "✓ " if table[key] else "✗ "

    lines = ["HOOKS"]
    for h in s.hooks:
        lines += [f"{mark(raised, h.id)}{h.id}: {h.detail}", f"    forces: {h.decision_forced}"]
    lines += ["", "QUESTIONS"]
    for q in s.questions:
        lines += [f"{q.id}: {q.question}", f"    answer: {q.answer}"]
    lines += ["", "RUBRIC"]
    for r in s.rubric:
        lines += [
            f"{mark(probed, r.signal)}{r.signal}",
            f"    lean hire: {r.lean_hire}",
            f"    hire: {r.hire}",
            f"    strong hire: {r.strong_hire}",
        ]
    return "\n".join(lines)


class PracticeScreen(CrafterScreen):
    """One practice interview of ``scenario``; ``dirty`` until its transcript is saved."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+g", "end", "End", tooltip="End the practice: coverage, then save"),
        Binding("ctrl+r", "retry", "Ask again", tooltip="Ask the candidate again after a failure"),
        Binding("escape", "back", "Back", tooltip="Leave the practice"),
    ]

    class Replied(Message):
        def __init__(self, gen: Generation[CandidateTurn]) -> None:
            super().__init__()
            self.gen = gen

    class Failed(Message):
        def __init__(self, message: str, hint: str | None = None) -> None:
            super().__init__()
            self.message = message
            self.hint = hint

    class Scored(Message):
        def __init__(self, report: PracticeReport | None, saved: str, error: str = "") -> None:
            super().__init__()
            self.report = report
            self.saved = saved
            self.error = error

    def __init__(self, scenario: Scenario) -> None:
        super().__init__()
        self.scenario = scenario
        self.state: State = "blocked"
        self.dirty = False
        self.report: PracticeReport | None = None
        self.saved_to: str | None = None
        self.model_id = ""
        self.session: PracticeSession | None = None
        from crafter.pipeline.rehearsal import load_personas

        self._personas: dict[str, Persona] = {p.id: p for p in load_personas()}
        self._provider: Provider | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="practice-main"):
            with VerticalScroll(id="practice-brief"):
                yield Static(brief_text(self.scenario), markup=False, id="brief")
            with Vertical(id="practice-chat"):
                with Horizontal(id="practice-top"):
                    yield Label("Candidate", classes="field-label")
                    yield Select[str](
                        [(p.name, p.id) for p in self._personas.values()],
                        allow_blank=False,
                        id="persona",
                        compact=True,
                    )
                yield Static(markup=False, id="practice-model")
                yield VerticalScroll(id="transcript")
                yield Static(markup=False, id="practice-status")
                yield Input(placeholder="Your turn as the interviewer (end to finish)", id="say")
        yield KeyFooter()

    def on_mount(self) -> None:
        from crafter.pipeline.practice import practice_model_problem

        self.sub_title = f"Practice · {self.scenario.title}"
        self.model_id, _reason = self.services.default_model()
        problem = practice_model_problem(self.model_id)
        line = self.query_one("#practice-model", Static)
        if problem is not None:
            line.update(problem)
            line.add_class("inline-error")
            self.query_one("#say", Input).disabled = True
            self._set_state("blocked", "Nothing to practise against until a model is configured.")
            return
        line.update(f"played by {self.model_id}")
        self._restart()
        self.query_one("#say", Input).focus()

    # -- the conversation -------------------------------------------------------------------
    def _restart(self) -> None:
        """A new session with the chosen persona (only before the person has said anything)."""
        from crafter.pipeline.practice import PracticeSession

        value = self.query_one("#persona", Select).value
        persona = self._personas[str(value)]
        self.session = PracticeSession.start(self.scenario, persona, self.model_id)
        log = self.query_one("#transcript", VerticalScroll)
        log.remove_children()
        self._show(self.session.turns[0])
        self._set_state(
            "ready",
            "The premise was read out. Type your first turn, or press Enter to let the "
            "candidate start.",
        )

    @on(Select.Changed, "#persona")
    def _persona_changed(self, _: Select.Changed) -> None:
        if self.state == "ready" and self.session is not None and len(self.session.turns) == 1:
            self._restart()

    def _show(self, turn: Turn) -> None:
        box = Static(f"{NAMES[turn.speaker]}: {turn.text}", markup=False, classes="turn")
        box.add_class(f"turn-{turn.speaker}")
        log = self.query_one("#transcript", VerticalScroll)
        log.mount(box)
        log.scroll_end(animate=False)

    def _set_state(self, state: State, message: str, *, error: bool = False) -> None:
        self.state = state
        status = self.query_one("#practice-status", Static)
        status.update(message)
        status.set_class(error, "inline-error")
        self.query_one("#persona", Select).disabled = not (
            state == "ready" and self.session is not None and len(self.session.turns) == 1
        )
        self.refresh_bindings()

    @on(Input.Submitted, "#say")
    def _submitted(self, event: Input.Submitted) -> None:
        from crafter.errors import UsageError
        from crafter.pipeline.practice import is_end

        text = event.value
        if is_end(text):
            event.input.clear()
            self.action_end()
            return
        session = self.session
        if session is None or self.state not in ("ready", "failed"):
            if self.state == "waiting":
                self.notify("The candidate is still answering.", title="Practice")
            return
        if not text.strip():
            if len(session.turns) == 1:  # the candidate opens after the premise
                self.dirty = True
                self._ask()
            return
        try:
            turn = session.say(text)
        except UsageError as exc:
            self._set_state(self.state, exc.message, error=True)
            return
        event.input.clear()
        self.dirty = True
        self._show(turn)
        self._ask()

    def _ask(self) -> None:
        assert self.session is not None
        self._set_state("waiting", "The candidate is answering…")
        self._reply(self.session.candidate_prompt())

    @work(thread=True, exclusive=True, group="practice")
    def _reply(self, messages: list[Any]) -> None:
        from crafter.errors import CrafterError
        from crafter.pipeline.practice import ask_candidate

        try:
            if self._provider is None:
                self._provider = self.services.provider_factory(self.model_id)
            gen = ask_candidate(self._provider, messages)
        except CrafterError as exc:
            self.post_message(self.Failed(exc.message, exc.hint))
        except Exception as exc:  # a bug or an unexpected library error: show it, keep the app
            self.post_message(self.Failed(f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.Replied(gen))

    @on(Replied)
    def _replied(self, message: Replied) -> None:
        if self.state != "waiting" or self.session is None:
            return  # ended meanwhile: the answer is not part of the practice
        self._show(self.session.add_reply(message.gen))
        self._set_state("ready", "Your turn. Type end (or Ctrl+G) when you are done.")

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        if self.state != "waiting":
            return
        text = f"The candidate did not answer: {message.message}"
        if message.hint:
            text += f"\nhint: {message.hint}"
        text += "\nYour turn is kept: Ctrl+R asks again."
        self._set_state("failed", text, error=True)

    def action_retry(self) -> None:
        if self.state == "failed":
            self._ask()

    # -- the end ----------------------------------------------------------------------------
    def action_end(self) -> None:
        if self.session is None or self.state in ("scoring", "ended", "blocked"):
            return
        self.query_one("#say", Input).disabled = True
        self._set_state("scoring", "Checking which hooks and signals you covered…")
        self._score(self.session)

    @work(thread=True, exclusive=True, group="practice-score")
    def _score(self, session: PracticeSession) -> None:
        from crafter.pipeline.practice import coverage, save_practice

        try:
            report = coverage(session.scenario, session.asked)
        except Exception as exc:
            self.post_message(self.Scored(None, "", f"{type(exc).__name__}: {exc}"))
            return
        root = self.services.runs_root
        if root is None:
            self.post_message(self.Scored(report, ""))
            return
        try:
            folder = save_practice(session, report, root)
        except OSError as exc:
            self.post_message(self.Scored(report, "", f"the transcript was not saved: {exc}"))
            return
        self.post_message(self.Scored(report, str(folder.path)))

    @on(Scored)
    def _scored(self, message: Scored) -> None:
        self.report = message.report
        if message.report is not None:
            self.query_one("#brief", Static).update(brief_text(self.scenario, message.report))
            box = Static("\n".join(message.report.lines()), markup=False, id="practice-report")
            log = self.query_one("#transcript", VerticalScroll)
            log.mount(box)
            log.scroll_end(animate=False)
        if message.error:
            self._set_state("ended", f"The practice ended, but {message.error}", error=True)
            return
        self.dirty = False
        self.saved_to = message.saved or None
        where = f"Transcript saved to {message.saved}." if message.saved else "Not saved."
        self._set_state("ended", f"{where} Escape goes back to the scenario.")

    # -- leaving ----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry":
            return self.state == "failed"
        if action == "end":
            return self.state in ("ready", "waiting", "failed")
        return True

    def action_back(self) -> None:
        self.dismiss_or_ask(
            self.dirty, "This practice is not saved (type end to save it). Leave it anyway?"
        )
