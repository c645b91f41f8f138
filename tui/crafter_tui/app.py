"""The crafter TUI application and the factory the CLI, the tests and the snapshots share."""

from __future__ import annotations

import gc

# Importing Textual makes tens of thousands of objects that live as long as the process, and the
# cyclic collector ran over them again and again while they were made: 30-50 ms of the start.
# It is held for these imports only (and again from the app's start to its first frame).
_collecting = gc.isenabled()
gc.disable()
try:
    import datetime as dt
    import time
    from collections.abc import Callable, Iterable
    from pathlib import Path
    from typing import TYPE_CHECKING, Any, ClassVar

    from textual.app import App, SystemCommand
    from textual.binding import Binding, BindingType
    from textual.notifications import SeverityLevel
    from textual.screen import Screen

    from crafter_tui import css_cache
    from crafter_tui.base import CrafterScreen
    from crafter_tui.screens.new import NewScenarioScreen
    from crafter_tui.services import SearchIndex, Services
finally:
    if _collecting:
        gc.enable()

if TYPE_CHECKING:
    from crafter.providers import Provider, ProviderStatus

DEFAULT_LIBRARY = Path("scenarios")

# Whether start-up's objects were frozen already: once a process, or a later app's start (as in the
# tests) would keep an earlier app's garbage for good.
_startup_frozen = False


def _library_screen() -> Screen[Any]:
    # Imported on first use: the first screen paints without the library's imports.
    from crafter_tui.screens.library import LibraryScreen

    return LibraryScreen()


class CrafterApp(App[None]):
    """Draft, research, edit, lint and save interview scenarios."""

    TITLE = "crafter"
    CSS_PATH = "crafter.tcss"
    # Two modes, "new" (the seed screen) and "library". "new" starts as Textual's default screen
    # and joins the modes once the app is mounted: a screen opened from MODES first makes Textual
    # parse the whole stylesheet again and drop its parse cache (~13 ms before the first frame).
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {"library": _library_screen}
    DEFAULT_MODE = "new"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "new_scenario", "New", tooltip="Go to the new-scenario screen"),
        Binding("ctrl+l", "library", "Library", tooltip="List the scenarios in the library"),
    ]

    def __init__(self, services: Services, *, open_path: Path | None = None) -> None:
        super().__init__()
        self.services = services
        self._open_path = open_path
        # Wall-clock time of the first frame (benchmarks/bench_tui.py reads it).
        self.painted_at: float | None = None
        self.painted_cpu: float | None = None  # process CPU seconds by then (all threads)
        self._after_paint: list[Callable[[], object]] = []
        self._collections_held = False
        # The stylesheet rules parsed on an earlier start, if the CSS is unchanged (css_cache).
        self._css_loaded = css_cache.load(self.stylesheet)

    async def run_async(self, **options: Any) -> None:
        """Run the app (``run`` comes here too), the cyclic garbage collector held until the first
        frame is drawn.

        Start-up makes tens of thousands of objects that live as long as the app (Textual's classes
        and CSS rules, the first screen's widgets), and each collection before the first frame
        scanned them all again: 40-60 ms of the start. At the first frame they are frozen (left out
        of later collections) and collecting resumes; it resumes as well if the app ends before."""
        self._collections_held = gc.isenabled()
        gc.disable()
        try:
            return await super().run_async(**options)
        finally:
            self._resume_collections(freeze=False)

    def _resume_collections(self, *, freeze: bool) -> None:
        global _startup_frozen
        if not self._collections_held:
            return
        self._collections_held = False
        if freeze and not _startup_frozen:
            _startup_frozen = True
            gc.freeze()
        gc.enable()

    def get_default_screen(self) -> Screen[Any]:
        return NewScenarioScreen()

    def on_mount(self) -> None:
        self.add_mode("new", NewScenarioScreen)
        self.sub_title = str(self.services.library)
        if self._open_path is not None:
            self.call_after_refresh(self.open_scenario_file, self._open_path)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications show text from files, models and errors: plain text unless asked."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def on_ready(self) -> None:
        self.painted_at = time.time()
        self.painted_cpu = time.process_time()
        # Only now the first screen may start loading the core (in a worker): before the first
        # frame it would compete with it for the interpreter.
        waiting, self._after_paint = self._after_paint, []
        for callback in waiting:
            callback()
        self._resume_collections(freeze=True)
        self.call_after_refresh(css_cache.save, self.stylesheet, self._css_loaded)

    def after_first_paint(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once the first frame is drawn (at once if it already is): work that
        would compete with the first frame for the interpreter waits for it."""
        if self.painted_at is None:
            self._after_paint.append(callback)
        else:
            self.call_after_refresh(callback)

    async def open_scenario_file(self, path: Path) -> None:
        """Show the scenario in ``path`` on top of the library."""
        from crafter.domain import ScenarioFileError
        from crafter_tui.screens.scenario import ScenarioScreen

        await self.switch_mode("library")
        try:
            screen = ScenarioScreen.from_file(path)
        except ScenarioFileError as exc:
            problems = "\n".join(p.render() for p in exc.problems[:6])
            self.notify(problems, title="Not a valid scenario", severity="error", timeout=15)
            return
        await self.push_screen(screen)

    async def _switch_to_base(self, mode: str) -> None:
        """Switch to ``mode`` showing its first screen: what was left open on top of it and holds
        nothing unsaved is closed (it would show first, stale); an unsaved one stays, and is said."""
        await self.switch_mode(mode)
        while len(self.screen_stack) > 1 and not getattr(self.screen, "dirty", False):
            await self.pop_screen()
        if len(self.screen_stack) > 1:
            where = "the seed screen" if mode == "new" else "the library"
            again = "Ctrl+N" if mode == "new" else "Escape"
            self.notify(
                f"A scenario with unsaved changes is open over {where}; {again} closes it.",
                title="Unsaved changes",
            )

    async def action_new_scenario(self) -> None:
        """Show the seed screen; pressed again there, close what is open on top of it."""
        if self.current_mode != "new":
            await self._switch_to_base("new")
            return
        if len(self.screen_stack) <= 1:
            return
        if not any(getattr(screen, "dirty", False) for screen in self.screen_stack):
            await self._back_to_seed()
            return
        from crafter_tui.screens.confirm import ConfirmScreen

        async def answered(leave: bool | None) -> None:
            if leave:
                await self._back_to_seed()

        await self.push_screen(
            ConfirmScreen(
                "A drafted scenario has unsaved changes. Close it anyway?", yes="Close", no="Stay"
            ),
            answered,
        )

    def _unsaved(self) -> bool:
        """Whether any open screen, in any mode, holds changes not yet saved."""
        stacks = getattr(self, "_screen_stacks", {}) or {"": self.screen_stack}
        return any(getattr(screen, "dirty", False) for stack in stacks.values() for screen in stack)

    async def action_quit(self) -> None:
        """Quit; with unsaved changes anywhere, ask first (Ctrl+Q and the palette both come here)."""
        if not self._unsaved():
            self.exit()
            return
        from crafter_tui.screens.confirm import ConfirmScreen

        def answered(leave: bool | None) -> None:
            if leave:
                self.exit()

        await self.push_screen(
            ConfirmScreen(
                "A scenario has unsaved changes. Quit and lose them?", yes="Quit", no="Stay"
            ),
            answered,
        )

    async def _back_to_seed(self) -> None:
        while len(self.screen_stack) > 1:
            await self.pop_screen()

    async def action_library(self) -> None:
        await self._switch_to_base("library")

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "New scenario", "Type a seed and draft a scenario", self.action_new_scenario
        )
        yield SystemCommand("Library", "The scenarios in the library folder", self.action_library)
        if isinstance(screen, CrafterScreen):
            yield from screen.palette_commands()


def create_app(
    library: Path | None = None,
    *,
    index: SearchIndex | None = None,
    provider_factory: Callable[[str], Provider] | None = None,
    as_of: dt.date | None = None,
    runs_root: Path | None = Path("runs"),
    statuses: Callable[[], list[ProviderStatus]] | None = None,
    default_model: str | None = None,
    editor: str | None = None,
) -> CrafterApp:
    """The app for ``library`` (a folder, or a scenario file to open; default ``scenarios/``).

    Tests pass a small ``index``, a ``provider_factory`` returning fakes, a fixed ``as_of`` and
    fixed provider ``statuses`` so what is drawn does not depend on the machine or the day.
    """
    open_path = None
    folder = Path(library) if library is not None else DEFAULT_LIBRARY
    if folder.suffix in (".yaml", ".yml") and folder.is_file():
        open_path, folder = folder, folder.parent
    services = Services(library=folder, as_of=as_of, runs_root=runs_root, editor=editor)
    if provider_factory is not None:
        services.provider_factory = provider_factory
    if statuses is not None:
        services.statuses = statuses
    if default_model is not None:
        services.default_model = lambda: (default_model, "chosen by the caller")
    if index is not None:
        services.index_factory = lambda: index
    return CrafterApp(services, open_path=open_path)
