"""What every crafter screen shares: its actions in the command palette, and small formatters."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

if TYPE_CHECKING:
    from crafter_tui.app import CrafterApp
    from crafter_tui.services import Services


class CrafterScreen(Screen[None]):
    """A screen whose key bindings are also command palette entries."""

    # Extra palette entries with no key of their own: (title, help, action).
    PALETTE: Iterable[tuple[str, str, str]] = ()

    @property
    def crafter(self) -> CrafterApp:
        return cast("CrafterApp", self.app)

    @property
    def services(self) -> Services:
        return self.crafter.services

    def palette_commands(self) -> Iterator[SystemCommand]:
        """One entry per binding with a description (when the action is available now)."""
        seen: set[str] = set()
        entries: list[tuple[str, str, str]] = []
        for b in self.BINDINGS:
            if isinstance(b, Binding) and b.description and b.action not in seen:
                seen.add(b.action)
                entries.append((b.description, b.tooltip or b.description, b.action))
        entries += [e for e in self.PALETTE if e[2] not in seen]
        for title, help_text, action in entries:
            if self.check_action(action.split("(")[0], ()) is False:
                continue
            yield SystemCommand(title, help_text, partial(self.run_action, action))

    def dismiss_or_ask(self, dirty: bool, question: str) -> None:
        """Close the screen; with unsaved work, only after the person confirms ``question``."""
        if not dirty:
            self.dismiss()
            return
        from crafter_tui.screens.confirm import ConfirmScreen

        def answered(leave: bool | None) -> None:
            if leave:
                self.dismiss()

        self.app.push_screen(ConfirmScreen(question, yes="Leave", no="Stay"), answered)


def money(cost: float | None) -> str:
    return "cost unknown" if cost is None else f"${cost:.4f}"


def tokens(input_tokens: int, output_tokens: int) -> str:
    return f"{input_tokens:,} in / {output_tokens:,} out"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def first_line(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
