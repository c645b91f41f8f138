"""One scenario: navigate its sections, edit fields in place or in $EDITOR, watch the findings."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Header

from crafter.domain import (
    Scenario,
    ScenarioFileError,
    atomic_write_text,
    load_scenario,
    parse_scenario_text,
    save_new_scenario,
    save_scenario,
    to_yaml,
)
from crafter.domain.export import to_markdown
from crafter.evals.findings import Finding
from crafter_tui.base import CrafterScreen
from crafter_tui.fields import EditError, Target, apply_edit, current_text, parse_location
from crafter_tui.widgets.editor import ItemEditor
from crafter_tui.widgets.findings import FindingsPanel
from crafter_tui.widgets.footer import KeyFooter
from crafter_tui.widgets.sections import SectionTree

LINT_DELAY = 0.4  # seconds of quiet typing before the checks run again


class ScenarioScreen(CrafterScreen):
    """A scenario being edited. ``path`` is None until it is first saved."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", tooltip="Save the scenario to the library (atomic)"),
        Binding("ctrl+o", "open_editor", "$EDITOR", tooltip="Edit the whole YAML in $EDITOR"),
        Binding(
            "ctrl+t",
            "export('both')",
            "Export",
            tooltip="Write the candidate and interviewer packets as Markdown",
        ),
        Binding(
            "ctrl+r",
            "practice",
            "Practice",
            tooltip="Play the interviewer against a simulated candidate",
        ),
        Binding("ctrl+f", "findings", "Findings", tooltip="Go to the findings list", show=False),
        Binding("escape", "back", "Back", tooltip="Leave this scenario"),
    ]
    PALETTE = (
        (
            "Export candidate packet",
            "The title and premise only, as Markdown",
            "export('candidate')",
        ),
        ("Export interviewer packet", "Everything, as Markdown", "export('interviewer')"),
        ("Check again", "Run the lint checks on the scenario now", "relint"),
    )

    class Linted(Message):
        def __init__(self, scenario: Scenario, findings: list[Finding]) -> None:
            super().__init__()
            self.scenario = scenario
            self.findings = findings

    def __init__(
        self,
        scenario: Scenario,
        *,
        path: Path | None = None,
        findings: Sequence[Finding] | None = None,
    ) -> None:
        super().__init__()
        self.scenario = scenario
        # The scenario as it was on disk, to tell whether a save edits reviewed content.
        self.saved = scenario.model_copy(deep=True)
        self.path = path
        self.dirty = path is None
        self._findings = list(findings) if findings is not None else None
        self._lint_timer: Timer | None = None
        # YAML from $EDITOR that did not validate: reopened as it was, so no typing is lost.
        self._pending_yaml: str | None = None

    @classmethod
    def from_file(cls, path: Path) -> ScenarioScreen:
        return cls(load_scenario(path), path=path)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="scenario-main"):
            yield SectionTree(id="sections")
            yield ItemEditor(id="editor")
        yield FindingsPanel(id="findings")
        yield KeyFooter()

    async def on_mount(self) -> None:
        tree = self.query_one(SectionTree)
        tree.build(self.scenario)
        await self.query_one(ItemEditor).load(self.scenario, Target("premise"))
        self._update_title()
        if self._findings is not None:
            self.query_one(FindingsPanel).show(self._findings)
        else:
            self.action_relint()
        tree.focus()

    def _update_title(self) -> None:
        where = self.path.name if self.path is not None else "not saved yet"
        self.sub_title = f"{self.scenario.title} · {where}" + (" · modified" if self.dirty else "")

    # -- navigation -----------------------------------------------------------------------------
    @on(SectionTree.Picked)
    async def _picked(self, event: SectionTree.Picked) -> None:
        editor = self.query_one(ItemEditor)
        target = parse_location(event.node)
        if editor.target is not None and editor.target.node == target.node:
            return
        await editor.load(self.scenario, target)

    @on(FindingsPanel.Jump)
    async def _jump(self, event: FindingsPanel.Jump) -> None:
        await self.show_target(parse_location(event.location))

    async def show_target(self, target: Target) -> None:
        """Move the tree and the editor to ``target`` and focus its field."""
        self.query_one(SectionTree).select_path(target.node, announce=False)
        editor = self.query_one(ItemEditor)
        if editor.target is None or editor.target.node != target.node:
            await editor.load(self.scenario, target)
        if target.field is not None:
            editor.focus_field(target.field)
        else:
            self.query_one(SectionTree).focus()

    def action_findings(self) -> None:
        self.query_one(FindingsPanel).focus()

    # -- editing in place -----------------------------------------------------------------------
    @on(ItemEditor.FieldEdited)
    def _edited(self, event: ItemEditor.FieldEdited) -> None:
        target = parse_location(event.node)
        editor = self.query_one(ItemEditor)
        if current_text(self.scenario, target, event.field) == event.text:
            editor.show_error(event.field, "")
            return
        try:
            self.scenario = apply_edit(self.scenario, target, event.field, event.text)
        except EditError as exc:
            editor.show_error(event.field, str(exc))
            return
        editor.show_error(event.field, "")
        self.query_one(SectionTree).relabel(target.node, self.scenario)
        self._changed()

    def _changed(self) -> None:
        self.dirty = True
        self._update_title()
        self.query_one(FindingsPanel).checking()
        # Debounced: typing restarts the wait, so the checks run once the user pauses.
        if self._lint_timer is not None:
            self._lint_timer.stop()
        self._lint_timer = self.set_timer(LINT_DELAY, self.action_relint)

    def action_relint(self) -> None:
        self._lint(self.scenario)

    @work(thread=True, exclusive=True, group="lint")
    def _lint(self, scenario: Scenario) -> None:
        from crafter.evals.lint import lint_scenario

        try:
            findings = lint_scenario(scenario, scenario.as_of).findings
        except Exception as exc:  # a broken check must not take the editor (and the edits) down
            findings = [Finding("lint", "error", f"the checks failed: {type(exc).__name__}: {exc}")]
        self.post_message(self.Linted(scenario, findings))

    @on(Linted)
    def _linted(self, event: Linted) -> None:
        if event.scenario is self.scenario:  # an older version's result is stale
            self.query_one(FindingsPanel).show(event.findings)

    # -- the whole YAML in $EDITOR -------------------------------------------------------------
    def _editor_command(self) -> list[str]:
        editor = (
            self.services.editor or os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        )
        return shlex.split(editor)

    @contextlib.contextmanager
    def _terminal_handed_over(self) -> Iterator[None]:
        try:
            with self.app.suspend():
                yield
        except SuspendNotSupported:
            if not self.app.is_headless:
                raise
            yield  # headless (tests): there is no terminal to hand over

    async def action_open_editor(self) -> None:
        text = self._pending_yaml or to_yaml(self.scenario)
        fd, name = tempfile.mkstemp(prefix=f"{self.scenario.id}-", suffix=".yaml")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            try:
                with self._terminal_handed_over():
                    code = subprocess.call([*self._editor_command(), str(tmp)])
            except (OSError, SuspendNotSupported) as exc:
                self.notify(f"Could not run the editor: {exc}", title="$EDITOR", severity="error")
                return
            edited = tmp.read_text(encoding="utf-8")
        finally:
            tmp.unlink(missing_ok=True)
        if code != 0:
            self.notify(
                f"The editor exited with status {code}; nothing changed.",
                title="$EDITOR",
                severity="warning",
            )
            return
        if edited == to_yaml(self.scenario):
            self._pending_yaml = None
            return
        try:
            scenario = parse_scenario_text(edited, self.path.name if self.path else "scenario.yaml")
        except ScenarioFileError as exc:
            self._pending_yaml = edited
            problems = "\n".join(p.render() for p in exc.problems[:6])
            self.notify(
                f"{problems}\nCtrl+O reopens your text to fix it; the scenario is unchanged.",
                title="The YAML is not a valid scenario",
                severity="error",
                timeout=15,
            )
            return
        self._pending_yaml = None
        self.scenario = scenario
        self.query_one(SectionTree).build(scenario)
        editor = self.query_one(ItemEditor)
        await editor.load(scenario, editor.target or Target("premise"))
        self._changed()

    # -- saving and exporting -----------------------------------------------------------------
    def action_save(self) -> bool:
        from crafter.domain.library import review_after_edit

        library = self.services.library
        scenario, reopened = review_after_edit(self.saved, self.scenario)
        try:
            if self.path is None:
                library.mkdir(parents=True, exist_ok=True)
                self.path = save_new_scenario(scenario, library)
            else:
                save_scenario(scenario, self.path)
        except OSError as exc:
            self.notify(f"Not saved: {exc}", title="Save", severity="error", timeout=10)
            return False
        self.scenario = scenario
        self.saved = scenario.model_copy(deep=True)
        self.dirty = False
        self._update_title()
        if reopened is not None:
            self.notify(
                f"Saved {self.path}: {reopened}",
                title="Review reset",
                severity="warning",
                timeout=12,
            )
        else:
            self.notify(f"Saved {self.path}", title="Save")
        return True

    def action_export(self, packet: str) -> None:
        packets = ("candidate", "interviewer") if packet == "both" else (packet,)
        folder = self.path.parent if self.path is not None else self.services.library
        stem = self.path.stem if self.path is not None else self.scenario.id
        written = []
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for name in packets:
                out = folder / f"{stem}.{name}.md"
                atomic_write_text(out, to_markdown(self.scenario, name))  # type: ignore[arg-type]
                written.append(str(out))
        except OSError as exc:
            self.notify(f"Export failed: {exc}", title="Export", severity="error", timeout=10)
            return
        self.notify("Wrote " + ", ".join(written), title="Export")

    def action_practice(self) -> None:
        from crafter_tui.screens.practice import PracticeScreen

        self.app.push_screen(PracticeScreen(self.scenario))

    # -- leaving --------------------------------------------------------------------------------
    def action_back(self) -> None:
        self.dismiss_or_ask(self.dirty, "This scenario has unsaved changes. Leave it anyway?")

    def on_unmount(self) -> None:
        if self._lint_timer is not None:
            self._lint_timer.stop()
