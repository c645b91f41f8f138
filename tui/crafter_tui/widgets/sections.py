"""The scenario's sections and items as a tree; moving the cursor picks what the editor shows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from crafter_tui.base import first_line
from crafter_tui.fields import SECTIONS, label

if TYPE_CHECKING:
    from crafter.domain import Scenario


class SectionTree(Tree[str]):
    """Node data is the node's path: ``premise``, ``hooks`` or ``hooks[2]``."""

    class Picked(Message):
        def __init__(self, tree: SectionTree, node: str) -> None:
            super().__init__()
            self.tree = tree
            self.node = node

        @property
        def control(self) -> SectionTree:
            return self.tree

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("scenario", id=id)
        self.show_root = False
        self.guide_depth = 2
        self._paths: dict[str, TreeNode[str]] = {}

    def build(self, scenario: Scenario) -> None:
        """(Re)build every node, keeping the cursor on the same path when it still exists."""
        current = self.cursor_node.data if self.cursor_node is not None else None
        expanded = {path for path, node in self._paths.items() if node.is_expanded}
        self.clear()
        self._paths = {}
        for name, title in SECTIONS:
            if name == "premise":
                self._paths[name] = self.root.add_leaf(title, data=name)
                continue
            items = getattr(scenario, name)
            section = self.root.add(f"{title} ({len(items)})", data=name, expand=name in expanded)
            self._paths[name] = section
            for i, item in enumerate(items):
                path = f"{name}[{i}]"
                self._paths[path] = section.add_leaf(first_line(label(name, item), 60), data=path)
        self.select_path(current or "premise", announce=False)

    def relabel(self, path: str, scenario: Scenario) -> None:
        node = self._paths.get(path)
        if node is None or "[" not in path:
            return
        name, index = path.split("[")
        node.set_label(first_line(label(name, getattr(scenario, name)[int(index[:-1])]), 60))

    def select_path(self, path: str, *, announce: bool = True) -> None:
        node = self._paths.get(path) or self._paths.get(path.split("[")[0])
        if node is None:
            return
        if node.parent is not None and not node.parent.is_root:
            node.parent.expand()
        # After the refresh: a node under a section just expanded has no line to move to yet.
        self.call_after_refresh(self.move_cursor, node)
        if announce:
            self.post_message(self.Picked(self, node.data or "premise"))

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(self.Picked(self, event.node.data))

    @on(Tree.NodeSelected)
    def _selected(self, event: Tree.NodeSelected[str]) -> None:
        event.stop()
