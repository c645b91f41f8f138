"""Research: the write-ups the index finds for the seed, to include or exclude before drafting."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Header, Input, ProgressBar, Static

from crafter_tui.base import CrafterScreen, first_line, plural
from crafter_tui.jobs import DraftJob
from crafter_tui.widgets.footer import KeyFooter
from crafter_tui.widgets.references import ReferenceList

if TYPE_CHECKING:
    from crafter.retrieval.search import SearchHit

HITS = 8
QUERY_CHARS = 200


class ResearchScreen(CrafterScreen):
    """Search the corpus, toggle documents, re-search with an edited query, then draft."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+g",
            "draft",
            "Draft",
            tooltip="Draft with research, leaving out excluded documents",
        ),
        Binding("ctrl+r", "search", "Search again", tooltip="Search again with the edited query"),
        Binding("escape", "back", "Back", tooltip="Back to the seed"),
    ]

    class Searching(Message):
        def __init__(self, note: str) -> None:
            super().__init__()
            self.note = note

    class IndexProgress(Message):
        """The first build of the index reports how far it got."""

        def __init__(self, stage: str, done: int, total: int) -> None:
            super().__init__()
            self.stage = stage
            self.done = done
            self.total = total

    class Results(Message):
        def __init__(self, query: str, hits: list[SearchHit]) -> None:
            super().__init__()
            self.query = query
            self.hits = hits

    class SearchFailed(Message):
        def __init__(self, message: str) -> None:
            super().__init__()
            self.message = message

    def __init__(self, job: DraftJob) -> None:
        super().__init__()
        self.job = job
        self.shown_query = ""  # the query whose hits are on screen
        self.searching = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="research"):
            with Horizontal(id="query-row"):
                query = Input(" ".join(self.job.seed.split())[:QUERY_CHARS], id="query")
                query.border_title = "Query"
                yield query
                yield Button("Search", id="search", compact=True)
            yield Static(markup=False, id="search-status")
            yield ProgressBar(id="index-progress", show_eta=False)
            yield ReferenceList(id="references")
            yield Static(markup=False, id="research-note")
            with Horizontal(classes="actions"):
                yield Button("Draft", id="draft", variant="primary", compact=True)
                yield Button("Back", id="back", compact=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#index-progress").display = False
        self.sub_title = f"{self.job.level} · {self.job.model_id}"
        self.action_search()

    # -- searching ----------------------------------------------------------------------------
    def action_search(self) -> None:
        if self.searching:
            self.notify("A search is already running.", title="Search")
            return
        query = self.query_one("#query", Input).value.strip()
        if not query:
            self._status("Type a query to search for.", error=True)
            return
        self._status("Searching…")
        self.searching = True
        self._search(query)

    @work(thread=True, exclusive=True, group="search")
    def _search(self, query: str) -> None:
        from crafter.errors import CrafterError

        def progress(stage: str, done: int, total: int) -> None:
            self.post_message(self.IndexProgress(stage, done, total))

        try:
            index = self.services.index()
            index.ensure_built(progress)
            self.post_message(self.Searching("Searching…"))
            hits = index.search(query, HITS)
        except CrafterError as exc:
            self.post_message(self.SearchFailed(str(exc)))
        except Exception as exc:  # the vector store or the embedder failed: say so, keep going
            self.post_message(self.SearchFailed(f"search failed: {type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.Results(query, hits))

    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#search-status", Static)
        status.update(text)
        status.set_class(error, "inline-error")

    @on(Searching)
    def _searching(self, event: Searching) -> None:
        self.query_one("#index-progress").display = False
        self._status(event.note)

    @on(IndexProgress)
    def _index_progress(self, event: IndexProgress) -> None:
        bar = self.query_one("#index-progress", ProgressBar)
        bar.display = True
        bar.update(total=max(event.total, 1), progress=event.done)
        self._status(f"Building the index (first run only, about a minute): {event.stage}")

    @on(Results)
    def _results(self, event: Results) -> None:
        self.searching = False
        self.query_one("#index-progress").display = False
        refs = self.query_one(ReferenceList)
        refs.show(event.hits)
        self.shown_query = event.query
        close = [h for h in event.hits if h.relevant]
        if event.hits:
            self.query_one("#hits").focus()
            if close:
                self._status(
                    f"{plural(len(close), 'close write-up')} for “{first_line(event.query, 50)}”"
                    + (
                        f" ({len(event.hits) - len(close)} more below the relevance floor)"
                        if len(close) < len(event.hits)
                        else ""
                    )
                )
            else:
                self._status(
                    "No close industry write-up for this need in the corpus; the nearest are "
                    "listed, and a draft cites none of them.",
                    error=True,
                )
        else:
            self._status("Nothing found: edit the query and search again.", error=True)
        self._note(refs.excluded)

    @on(SearchFailed)
    def _failed(self, event: SearchFailed) -> None:
        self.searching = False
        self.query_one("#index-progress").display = False
        self._status(
            event.message + "\nYou can still draft without research (Back, then Draft now).",
            error=True,
        )

    @on(ReferenceList.Toggled)
    def _toggled(self, event: ReferenceList.Toggled) -> None:
        self._note(event.excluded)

    def _note(self, excluded: set[str] | frozenset[str]) -> None:
        text = "Checked write-ups may be cited; drafting runs its own searches and never uses an excluded one."
        if excluded:
            text = f"{plural(len(excluded), 'document')} excluded. " + text
        self.query_one("#research-note", Static).update(text)

    # -- leaving --------------------------------------------------------------------------------
    def action_draft(self) -> None:
        from crafter_tui.screens.draft import DraftScreen

        if self.searching:
            # The draft researches with the same index; one user of it at a time.
            self.notify(
                "The search is still running (the first one builds the index).", title="Draft"
            )
            return
        excluded = frozenset(self.query_one(ReferenceList).excluded)
        job = dataclasses.replace(self.job, research=True, exclude=excluded)
        self.app.push_screen(DraftScreen(job))

    def action_back(self) -> None:
        self.dismiss()

    @on(Input.Submitted, "#query")
    @on(Button.Pressed, "#search")
    def _search_pressed(self, _: Any) -> None:
        self.action_search()

    @on(Button.Pressed, "#draft")
    def _draft_pressed(self, _: Any) -> None:
        self.action_draft()

    @on(Button.Pressed, "#back")
    def _back_pressed(self, _: Any) -> None:
        self.action_back()
