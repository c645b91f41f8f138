"""Textual's key footer, with its keys in the first frame and rebuilt only when they change."""

from __future__ import annotations

from collections.abc import Hashable

from textual.app import ComposeResult
from textual.widgets import Footer


class KeyFooter(Footer):
    """The footer of every crafter screen.

    Textual's footer shows no keys until the screen first reports its bindings, which it does
    after the first frame, so that frame had an empty footer and the keys cost another layout.
    Then it rebuilds all its keys each time the screen reports, and an opening screen reports
    several times (the first focus alone twice), mostly with the same keys: two or three rebuilds
    of 15-30 ms each on the first screen. This footer composes the keys at once and skips a
    rebuild that would show what is already shown.
    """

    # What the last (re)build showed (None: nothing yet).
    _shown: Hashable | None = None

    def _keys_to_show(self) -> Hashable:
        """All that ``Footer.compose`` reads: the bindings it shows (a focused text area brings
        dozens it does not), the palette's and the footer's options."""
        active = self.screen.active_bindings
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        return (
            tuple((b.binding, b.enabled, b.tooltip) for b in active.values() if b.binding.show),
            None if palette is None else (palette.binding, palette.enabled),
            self.compact,
            self.show_command_palette,
            self.combine_groups,
            self.app.ENABLE_COMMAND_PALETTE,
        )

    def compose(self) -> ComposeResult:
        # The screen's bindings are known once it is mounted; waiting for its first report only
        # delays them (the footer's own flag for that report, set here without a refresh).
        self.set_reactive(Footer._bindings_ready, True)
        self._shown = self._keys_to_show()
        yield from super().compose()

    async def recompose(self) -> None:
        if not self.is_attached or self._keys_to_show() == self._shown:
            return
        await super().recompose()
