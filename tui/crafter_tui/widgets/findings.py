"""Lint findings for the scenario on screen; Enter on one jumps to where it points."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual import on
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from crafter_tui.base import plural

if TYPE_CHECKING:
    from crafter.evals.findings import Finding

_BADGE = {
    "error": "[$error]✗ error[/]",
    "warning": "[$warning]! warn[/] ",
    "info": "[dim]· info[/] ",
}
_ORDER = {"error": 0, "warning": 1, "info": 2}


class FindingsPanel(OptionList):
    """Errors first; the border title sums them up."""

    class Jump(Message):
        """Show the place ``location`` (a field path such as ``hooks[2].detail``)."""

        def __init__(self, panel: FindingsPanel, location: str) -> None:
            super().__init__()
            self.panel = panel
            self.location = location

        @property
        def control(self) -> FindingsPanel:
            return self.panel

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.findings: list[Finding] = []
        self.border_title = "Findings"
        self.border_subtitle = "Enter jumps to it"

    def show(self, findings: Sequence[Finding], *, checking: bool = False) -> None:
        self.findings = sorted(findings, key=lambda f: _ORDER.get(f.severity, 3))
        highlighted = self.highlighted
        self.clear_options()
        if not self.findings:
            self.add_option(Option(Content("No findings: the checks pass."), disabled=True))
        for i, f in enumerate(self.findings):
            self.add_option(
                Option(
                    Content.from_markup(
                        f"{_BADGE.get(f.severity, f.severity)} [b]$loc[/b] $message [dim]($check)[/]",
                        loc=f.location or "scenario",
                        message=f.message,
                        check=f.check,
                    ),
                    id=str(i),
                )
            )
        if highlighted is not None and self.findings:
            self.highlighted = min(highlighted, len(self.findings) - 1)
        errors = sum(f.severity == "error" for f in self.findings)
        warnings = sum(f.severity == "warning" for f in self.findings)
        self.border_title = f"Findings: {plural(errors, 'error')}, {plural(warnings, 'warning')}"
        if checking:
            self.border_title += " (checking…)"

    def checking(self) -> None:
        if not self.border_title or "checking" not in str(self.border_title):
            self.border_title = f"{self.border_title} (checking…)"

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            finding = self.findings[int(event.option.id)]
            self.post_message(self.Jump(self, finding.location))
