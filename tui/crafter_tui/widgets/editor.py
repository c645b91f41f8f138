"""Edit the fields of one scenario item in place; every change is reported as a message."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import on
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static, TextArea

from crafter_tui.base import plural
from crafter_tui.fields import SECTIONS, FieldSpec, Target, fields_of, item_at

if TYPE_CHECKING:
    from crafter.domain import Scenario

_TITLES = dict(SECTIONS)


class ItemEditor(VerticalScroll):
    """Shows the node picked in the tree: a form for an item, a summary for a section."""

    class FieldEdited(Message):
        """The user changed ``field`` of the item at ``node`` to ``text``."""

        def __init__(self, editor: ItemEditor, node: str, field: str, text: str) -> None:
            super().__init__()
            self.editor = editor
            self.node = node
            self.field = field
            self.text = text

        @property
        def control(self) -> ItemEditor:
            return self.editor

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.target: Target | None = None
        # Loads replace every child; two at once would interleave removals and mounts.
        self._loading = asyncio.Lock()

    async def load(self, scenario: Scenario, target: Target) -> None:
        """Replace the form with the fields of ``target`` (a section shows a summary)."""
        self.target = Target(target.section, target.index)
        async with self._loading:
            await self._replace(scenario, target)

    async def _replace(self, scenario: Scenario, target: Target) -> None:
        await self.remove_children()
        title = _TITLES.get(target.section, target.section)
        item = item_at(scenario, target)
        widgets: list[Widget] = []
        if target.section == "premise":
            self.border_title = "Premise"
            widgets.append(
                Static(
                    Content.from_markup(
                        "[dim]id[/] $id  [dim]as of[/] $as_of  [dim]review[/] $review\n[dim]seed[/] $seed",
                        id=scenario.id,
                        as_of=scenario.as_of.isoformat(),
                        review=scenario.review.status,
                        seed=" ".join(scenario.seed.split()),
                    ),
                    classes="item-meta",
                )
            )
        elif item is None:
            self.border_title = title
            count = len(getattr(scenario, target.section))
            widgets.append(
                Static(
                    f"{plural(count, 'item')}. Pick one in the tree to edit it; add or remove items "
                    "in the YAML (Ctrl+O).",
                    classes="item-meta",
                )
            )
        else:
            self.border_title = f"{title} {target.index + 1 if target.index is not None else ''}"
        if item is not None:
            for spec in fields_of(target, item):
                widgets += self._field(spec)
        await self.mount_all(widgets)
        self.scroll_home(animate=False)

    def _field(self, spec: FieldSpec) -> list[Widget]:
        name = spec.name.replace("_", " ") + (" (one per line)" if spec.kind == "lines" else "")
        editor: Widget
        if spec.kind == "choice":
            editor = Select[str](
                [(c, c) for c in spec.choices], value=spec.value, allow_blank=False, compact=True
            )
        elif spec.kind == "int":
            editor = Input(spec.value, type="integer", compact=True)
        else:
            editor = TextArea(spec.value, soft_wrap=True, compact=True)
        editor.id = f"field-{spec.name}"
        editor.add_class("field-editor")
        return [
            Label(name, classes="field-label"),
            editor,
            Static(markup=False, id=f"error-{spec.name}", classes="inline-error field-error"),
        ]

    def focus_field(self, field: str | None) -> None:
        if field is None:
            return
        for widget in self.query(f"#field-{field}"):
            widget.focus()
            self.scroll_to_widget(widget, animate=False)

    def show_error(self, field: str, message: str) -> None:
        for box in self.query(f"#error-{field}").results(Static):
            box.update(message)
            box.display = bool(message)

    def _report(self, widget: Widget, text: str) -> None:
        if self.target is None or not widget.id or not widget.id.startswith("field-"):
            return
        self.post_message(self.FieldEdited(self, self.target.node, widget.id[6:], text))

    @on(TextArea.Changed, ".field-editor")
    def _text_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._report(event.text_area, event.text_area.text)

    @on(Input.Changed, ".field-editor")
    def _input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._report(event.input, event.value)

    @on(Select.Changed, ".field-editor")
    def _select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str):
            self._report(event.select, event.value)
