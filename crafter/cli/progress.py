"""The stage display for `crafter draft`: one line per stage with status, tokens, cost and time."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from rich.markup import escape

from crafter.errors import redact
from crafter.pipeline.events import StageEvent

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status


class StageDisplay:
    """An event sink that prints finished stages and shows the running one as a spinner."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._status: Status | None = None

    def __enter__(self) -> StageDisplay:
        self._status = self.console.status("starting...")
        self._status.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()

    def __call__(self, event: StageEvent) -> None:
        if event.kind == "started" and self._status is not None:
            self._status.update(f"{event.stage}...")
        elif event.kind == "progress" and self._status is not None:
            count = f" {event.done}/{event.total}" if event.total else ""
            self._status.update(escape(f"{event.stage}{count}: {redact(event.message)[:70]}"))
        elif event.kind == "finished":
            cost = "?" if event.cost_usd is None else f"${event.cost_usd:.4f}"
            tokens = (
                f"{event.input_tokens}+{event.output_tokens} tokens, {cost}, "
                if event.input_tokens
                else ""
            )
            extra = f" ({redact(event.message)})" if event.message else ""
            self.console.print(
                f"  [green]done[/] {escape(f'{event.stage:<12} {tokens}{event.seconds:.1f}s{extra}')}",
                highlight=False,
                markup=True,
            )
        elif event.kind == "skipped":
            self.console.print(
                f"  [dim]skip[/] {escape(f'{event.stage:<12} {redact(event.message)}')}",
                highlight=False,
                markup=True,
            )
        elif event.kind == "failed":
            self.console.print(
                f"  [red]fail[/] {escape(f'{event.stage:<12} {redact(event.message)[:300]}')}",
                highlight=False,
                markup=True,
            )
