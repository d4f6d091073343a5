"""The repository's files as a tree (from the index's file listing, not a directory walk)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from app.tui.messages import OpenLocation
from app.tui.state import TreeEntry

EXPAND_ALL_UNDER = 200  # files; bigger repositories open with only the top level shown


class FileTree(Tree[str]):
    """Directories first, then files; a secret file is marked, and never opened."""

    def __init__(self, *, id: str | None = None) -> None:
        """An empty tree until `show` is called."""
        super().__init__("files", id=id)
        self.show_root = False
        self.guide_depth = 2
        self._by_path: dict[str, TreeNode[str]] = {}

    def show(self, entries: Sequence[TreeEntry]) -> None:
        """Replace the tree with `entries`."""
        self.clear()
        self._by_path = {}
        expand = len(entries) < EXPAND_ALL_UNDER
        dirs: dict[str, TreeNode[str]] = {"": self.root}
        for entry in sorted(entries, key=lambda e: _sort_key(e.path)):
            parent = ""
            for part in entry.path.split("/")[:-1]:
                here = f"{parent}/{part}" if parent else part
                if here not in dirs:
                    dirs[here] = dirs[parent].add(part + "/", data=None, expand=expand)
                parent = here
            name = entry.path.rsplit("/", 1)[-1]
            label = Text(name)
            if entry.secret:
                label = Text.assemble((name, "dim"), (" secret", "dim italic"))
            self._by_path[entry.path] = dirs[parent].add_leaf(label, data=entry.path)
        self.root.expand()

    def select_path(self, path: str) -> None:
        """Move the tree's cursor to `path`, opening its directories."""
        node = self._by_path.get(path)
        if node is None:
            return
        parent = node.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        self.call_after_refresh(self.move_cursor, node)

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        """Enter or a click on a file opens it."""
        event.stop()
        if event.node.data is not None:
            self.post_message(OpenLocation(event.node.data, 1))


def _sort_key(path: str) -> tuple[tuple[int, str], ...]:
    """Directories before files at every level, then by name."""
    parts = path.split("/")
    return tuple((0, p) for p in parts[:-1]) + ((1, parts[-1]),)
