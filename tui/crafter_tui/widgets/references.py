"""Retrieved write-ups with include/exclude toggles, and the snippet of the highlighted one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

if TYPE_CHECKING:
    from crafter.retrieval.search import SearchHit


class ReferenceList(Vertical):
    """Checked documents may be used by the draft; unchecked ones are excluded.

    Exclusions outlive a re-search: a document excluded once stays excluded when it comes back.
    """

    class Toggled(Message):
        """The set of excluded document ids changed."""

        def __init__(self, references: ReferenceList, excluded: frozenset[str]) -> None:
            super().__init__()
            self.references = references
            self.excluded = excluded

        @property
        def control(self) -> ReferenceList:
            return self.references

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hits: dict[str, SearchHit] = {}
        self.excluded: set[str] = set()

    def compose(self) -> ComposeResult:
        yield SelectionList[str](id="hits")
        yield Static(markup=False, id="snippet")

    def show(self, hits: Sequence[SearchHit]) -> None:
        self._hits = {h.id: h for h in hits}
        selections = self.query_one("#hits", SelectionList)
        with self.prevent(SelectionList.SelectedChanged):
            selections.clear_options()
            selections.add_options(
                [
                    Selection(
                        Content.from_markup(
                            "$title [dim]· $org $year$mark[/]",
                            title=h.title,
                            org=h.org,
                            year=str(h.year),
                            mark="" if h.relevant else " · not close, never cited",
                        ),
                        h.id,
                        h.relevant and h.id not in self.excluded,
                    )
                    for h in hits
                ]
            )
        self._preview(hits[0].id if hits else None)

    def _preview(self, doc_id: str | None) -> None:
        hit = self._hits.get(doc_id or "")
        box = self.query_one("#snippet", Static)
        if hit is None:
            box.update("")
            return
        box.update(
            Content.from_markup(
                "[b]$title[/b]\n[dim]$org, $year · $url[/]\n$snippet",
                title=hit.title,
                org=hit.org,
                year=str(hit.year),
                url=hit.url,
                snippet=" ".join(hit.snippet.split()),
            )
        )

    @on(SelectionList.SelectionHighlighted, "#hits")
    def _highlighted(self, event: SelectionList.SelectionHighlighted[str]) -> None:
        event.stop()
        self._preview(event.selection.value)

    @on(SelectionList.SelectedChanged, "#hits")
    def _changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        event.stop()
        chosen = set(event.selection_list.selected)
        # Documents below the relevance floor are never cited, checked or not: only unchecking a
        # close one excludes anything.
        close = {doc for doc, hit in self._hits.items() if hit.relevant}
        self.excluded = (self.excluded - chosen) | (close - chosen)
        self.post_message(self.Toggled(self, frozenset(self.excluded)))
