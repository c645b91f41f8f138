"""The library: every scenario in the folder with its title, review status and lint summary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Header, Input, Static

from crafter_tui.base import CrafterScreen, plural
from crafter_tui.widgets.footer import KeyFooter

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Entry:
    path: Path
    name: str
    title: str
    status: str
    errors: int = 0
    warnings: int = 0
    problem: str = ""

    @property
    def lint(self) -> Content:
        if self.problem:
            return Content.from_markup("[$error]invalid:[/] $p", p=self.problem)
        if not self.errors and not self.warnings:
            return Content.from_markup("[$success]clean[/]")
        parts = []
        if self.errors:
            parts.append(f"[$error]{plural(self.errors, 'error')}[/]")
        if self.warnings:
            parts.append(f"[$warning]{plural(self.warnings, 'warning')}[/]")
        return Content.from_markup(", ".join(parts))

    def matches(self, needle: str) -> bool:
        return needle in f"{self.name} {self.title} {self.status}".lower()


def scenario_files(root: Path) -> list[Path]:
    """YAML files under ``root``; hidden folders hold machine state, not scenarios."""
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix in SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


class LibraryScreen(CrafterScreen):
    """Open a scenario with Enter; type in the filter to narrow the list."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+o", "open", "Open", tooltip="Open the highlighted scenario"),
        Binding(
            "ctrl+f", "filter", "Filter", tooltip="Filter by title, file name or review status"
        ),
        Binding("ctrl+r", "reload", "Reload", tooltip="Read the library folder again"),
    ]

    class Loaded(Message):
        def __init__(self, entries: list[Entry]) -> None:
            super().__init__()
            self.entries = entries

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[Entry] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="Filter by title, file name or review status", id="filter")
        yield DataTable[Content | str](id="scenarios", cursor_type="row")
        yield Static(markup=False, id="library-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#scenarios", DataTable).focus()

    def on_resize(self) -> None:
        self._fill()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.query_one("#library-status", Static).update(f"Reading {self.services.library}…")
        self._load(self.services.library)

    @work(thread=True, exclusive=True, group="library")
    def _load(self, root: Path) -> None:
        from crafter.domain import ScenarioFileError, load_scenario
        from crafter.evals.lint import lint_scenario

        entries = []
        for path in scenario_files(root):
            name = path.relative_to(root).as_posix()
            try:
                s = load_scenario(path)
                result = lint_scenario(s, s.as_of, str(path))
            except ScenarioFileError as exc:
                entries.append(
                    Entry(path, name, "", "", problem=plural(len(exc.problems), "problem"))
                )
                continue
            except Exception as exc:  # one unreadable file must not hide the rest
                entries.append(Entry(path, name, "", "", problem=type(exc).__name__))
                continue
            entries.append(
                Entry(
                    path,
                    name,
                    s.title,
                    s.review.status,
                    result.count("error"),
                    result.count("warning"),
                )
            )
        self.post_message(self.Loaded(entries))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self.entries = event.entries
        self._fill()

    def _fill(self) -> None:
        table = self.query_one("#scenarios", DataTable)
        needle = self.query_one("#filter", Input).value.strip().lower()
        shown = [e for e in self.entries if e.matches(needle)]
        cursor = table.cursor_row
        table.clear(columns=True)
        # Widths set here rather than measured by the table: the same rows always draw the same.
        # The screen less the table's margins, its cells' padding and a scrollbar.
        room = max(self.size.width, 60) - 2 - 2 * 4 - 2
        name_width = min(max([len(e.name) for e in shown] + [4]), room // 3)
        lint_width = 20
        review_width = 8
        table.add_column("file", key="file", width=name_width)
        table.add_column(
            "title", key="title", width=max(room - name_width - lint_width - review_width, 10)
        )
        table.add_column("review", key="review", width=review_width)
        table.add_column("lint", key="lint", width=lint_width)
        for e in shown:
            table.add_row(e.name, e.title or "—", e.status or "—", e.lint, key=str(e.path))
        if shown:
            table.move_cursor(row=min(cursor, len(shown) - 1))
        library = self.services.library
        if not self.entries:
            text = f"No scenarios in {library} yet: draft one (Ctrl+N) and save it (Ctrl+S)."
        elif needle:
            text = f"{len(shown)} of {plural(len(self.entries), 'scenario')} in {library} match “{needle}”."
        else:
            text = f"{plural(len(self.entries), 'scenario')} in {library}. Enter opens one."
        self.query_one("#library-status", Static).update(text)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, _: Any) -> None:
        self._fill()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, _: Any) -> None:
        self.query_one("#scenarios", DataTable).focus()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    @on(DataTable.RowSelected, "#scenarios")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.open_path(Path(event.row_key.value))

    def action_open(self) -> None:
        table = self.query_one("#scenarios", DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key is not None:
                self.open_path(Path(key))

    def open_path(self, path: Path) -> None:
        from crafter.domain import ScenarioFileError
        from crafter_tui.screens.scenario import ScenarioScreen

        try:
            screen = ScenarioScreen.from_file(path)
        except ScenarioFileError as exc:
            problems = "\n".join(p.render() for p in exc.problems[:6])
            self.notify(
                f"{problems}\nFix it in your editor, or run crafter validate {path}.",
                title="Not a valid scenario",
                severity="error",
                timeout=15,
            )
            return
        self.app.push_screen(screen)
