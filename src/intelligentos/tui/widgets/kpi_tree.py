"""A tree whose KPI nodes drill into their lineage (the strategy map and agents screens), and
the labels those screens draw: status glyph, name, value. User text is never markup."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from intelligentos.domain.detection import Status
from intelligentos.domain.formatting import literal
from intelligentos.domain.views import KpiLine
from intelligentos.tui.messages import OpenLineage
from intelligentos.tui.widgets.status import glyph, status_colour


class KpiTree(Tree[str | None]):
    """Enter on a KPI node (its data is the KPI's id) opens the KPI's lineage; on any other
    node it opens or closes the branch."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Lineage drill-down", id="kpi-tree-open"),
        Binding("down,j", "cursor_down", "Next node", show=False, id="kpi-tree-down"),
        Binding("up,k", "cursor_up", "Previous node", show=False, id="kpi-tree-up"),
    ]

    def __init__(self, *, id: str) -> None:
        super().__init__(Text(""), id=id)
        self.show_root = False
        self.auto_expand = False
        self.guide_depth = 3

    def on_tree_node_selected(self, event: Tree.NodeSelected[str | None]) -> None:
        event.stop()
        kpi_id = event.node.data
        if kpi_id:
            self.post_message(OpenLineage(kpi_id))
        elif event.node.allow_expand:
            event.node.toggle()

    def selected_kpi_id(self) -> str | None:
        node = self.cursor_node
        return node.data if node is not None else None

    def kpi_ids(self) -> list[str]:
        """Every KPI shown, in tree order."""
        found: list[str] = []

        def walk(node: TreeNode[str | None]) -> None:
            for child in node.children:
                if child.data:
                    found.append(child.data)
                walk(child)

        walk(self.root)
        return found

    def select_kpi(self, kpi_id: str) -> bool:
        """Move the cursor to the first node of ``kpi_id`` (False: not shown)."""
        for line in range(self.last_line + 1):
            node = self.get_node_at_line(line)
            if node is not None and node.data == kpi_id:
                self.move_cursor(node, animate=False)
                return True
        return False


def status_label(tree: Tree[str | None], status: Status, name: str, *rest: Text | str) -> Text:
    """ "■ Name  rest…": the glyph in its status colour, the name bold."""
    return Text.assemble(glyph(tree, status), " ", (literal(name), "bold"), *rest)


def kpi_label(tree: Tree[str | None], line: KpiLine, note: str = "") -> Text:
    """A KPI: status glyph, name, value in its status colour, target dimmed."""
    label = Text.assemble(glyph(tree, line.status), " ", literal(line.name))
    label.append(f"  {line.value_text}", style=f"bold {status_colour(tree, line.status)}")
    if line.target_text:
        label.append(f"  target {line.target_text}", style="dim")
    if note:
        label.append(f"  {literal(note)}", style="dim")
    return label
