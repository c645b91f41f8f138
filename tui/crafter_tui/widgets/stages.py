"""One row per pipeline stage: status, tokens and cost as they arrive."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from crafter_tui.base import money, tokens

if TYPE_CHECKING:
    from crafter.pipeline import StageEvent

_STATUS = {
    "started": ("running", "bold"),
    "progress": ("running", "bold"),
    "finished": ("done", ""),
    "failed": ("failed", "bold reverse"),
    "skipped": ("skipped", "dim"),
}


@dataclass
class _Row:
    status: str = ""
    tokens: str = ""
    cost: str = ""
    note: str = ""


class StageTable(Static):
    """Rows keyed by stage name (``critique-1`` after a revision gets a row of its own).

    Drawn as a Rich table so the note column takes whatever width the terminal has left.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: dict[str, _Row] = {}
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost: float | None = 0.0

    def reset(self) -> None:
        self.rows = {}
        self.input_tokens = self.output_tokens = 0
        self.cost = 0.0
        self._draw()

    def on_mount(self) -> None:
        self._draw()

    def apply(self, event: StageEvent) -> None:
        """Show ``event``; finished stages add to the totals."""
        if event.stage == "run":
            return  # the whole run's end is reported by the screen
        row = self.rows.setdefault(event.stage, _Row())
        row.status = event.kind
        if event.kind == "progress" and event.total:
            row.note = f"{event.done}/{event.total} {event.message}"
        elif event.message or event.kind != "progress":
            row.note = event.message
        if event.kind == "finished":
            row.tokens = tokens(event.input_tokens, event.output_tokens)
            row.cost = money(event.cost_usd)
            self.input_tokens += event.input_tokens
            self.output_tokens += event.output_tokens
            if self.cost is not None and event.cost_usd is not None:
                self.cost += event.cost_usd
            else:
                self.cost = None
        self._draw()

    def _draw(self) -> None:
        table = Table(box=None, expand=True, pad_edge=False, header_style="bold")
        table.add_column("stage", no_wrap=True, width=11)
        table.add_column("status", no_wrap=True, width=8)
        table.add_column("tokens", no_wrap=True, width=18)
        table.add_column("cost", no_wrap=True, width=9)
        table.add_column("note", no_wrap=True, overflow="ellipsis", ratio=1)
        for stage, row in self.rows.items():
            word, style = _STATUS.get(row.status, (row.status, ""))
            # Plain Text: a model's message may hold square brackets that are not markup.
            table.add_row(
                stage,
                Text(word, style=style),
                row.tokens,
                row.cost,
                Text(" ".join(row.note.split())),
            )
        self.update(table)

    def totals(self) -> str:
        return f"{tokens(self.input_tokens, self.output_tokens)} · {money(self.cost)}"
