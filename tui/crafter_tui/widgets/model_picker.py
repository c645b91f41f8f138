"""Pick the model to draft with, seeing which providers are ready here and why."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Label, Select, Static

if TYPE_CHECKING:
    from crafter.providers import ProviderStatus


class ModelPicker(Vertical):
    """A select of the ready models and one status line per provider."""

    def compose(self) -> ComposeResult:
        yield Label("Model", classes="field-label")
        yield Select[str]([], prompt="checking providers…", id="model")
        yield Static(markup=False, id="providers")

    @property
    def model_id(self) -> str | None:
        value = self.query_one("#model", Select).value
        return value if isinstance(value, str) else None

    def show(
        self,
        statuses: Sequence[ProviderStatus],
        default: str,
        reason: str,
    ) -> None:
        """Fill in the ready models (default first) and the status of every provider."""
        ids = [default] + [s.example for s in statuses if s.available and s.example != default]
        select = self.query_one("#model", Select)
        with self.prevent(Select.Changed):
            select.set_options([(i, i) for i in ids])
            select.value = default
        lines = [Content.from_markup("default [b]$d[/b]: $r", d=default, r=reason)]
        for s in statuses:
            mark = "[$success]✓[/]" if s.available else "[$error]✗[/]"
            lines.append(Content.from_markup(f"{mark} $n $w", n=f"{s.name:<17}", w=s.why))
        self.query_one("#providers", Static).update(Content("\n").join(lines))
