"""The strategy map (key ``M``): themes → objectives → CEO KPIs → functional KPIs, each with
its status glyph and value, like the architecture's traceability table. Enter on a KPI opens
its lineage."""

from __future__ import annotations

from collections.abc import Iterator

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from intelligentos.domain.views import ThemeBranch, strategy_map
from intelligentos.tui.base import Cockpit, CockpitScreen
from intelligentos.tui.keys import key_label
from intelligentos.tui.widgets.footer import CockpitFooter
from intelligentos.tui.widgets.header import CockpitHeader
from intelligentos.tui.widgets.kpi_tree import KpiTree, kpi_label, status_label


class StrategyScreen(CockpitScreen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="strategy-back")]

    def __init__(self) -> None:
        super().__init__()
        self.branches: list[ThemeBranch] = []
        self.shown: tuple[list[ThemeBranch], str] | None = None  # and the theme drawn in

    def compose(self) -> ComposeResult:
        yield CockpitHeader(id="header")
        yield Static(id="strategy-title", classes="view-title")
        yield KpiTree(id="strategy-tree")
        yield CockpitFooter()

    def on_mount(self) -> None:
        self.query_one(KpiTree).focus()
        self.data_changed()

    def data_changed(self) -> None:
        data = self.data
        if data is None:
            return
        branches = strategy_map(data.catalog, data.graph, data.snaps)
        if (branches, self.app.theme) == self.shown:
            return
        self.shown = (branches, self.app.theme)
        self.branches = branches
        self._show_title()
        self._build(branches)

    def _show_title(self) -> None:
        keymap = self.cockpit.settings.keymap
        opened = key_label(keymap.get("kpi-tree-open", "enter"))
        back = key_label(keymap.get("strategy-back", "escape"))
        objectives = sum(len(t.objectives) for t in self.branches)
        title = Text(" Strategy map", style="bold")
        title.append(f": {len(self.branches)} themes, {objectives} objectives")
        title.append(f"   {opened}: lineage of a KPI · {back}: back", style="dim")
        self.query_one("#strategy-title", Static).update(title)

    def _build(self, branches: list[ThemeBranch]) -> None:
        tree = self.query_one(KpiTree)
        selected = tree.selected_kpi_id()
        line = tree.cursor_line
        tree.clear()
        for theme in branches:
            theme_node = tree.root.add(status_label(tree, theme.status, theme.name), expand=True)
            for objective in theme.objectives:
                objective_node = theme_node.add(
                    status_label(tree, objective.status, objective.name), expand=True
                )
                for branch in objective.ceo:
                    ceo_node = objective_node.add(
                        kpi_label(tree, branch.kpi, "CEO KPI"), data=branch.kpi.kpi_id, expand=True
                    )
                    for functional in branch.functional:
                        ceo_node.add_leaf(kpi_label(tree, functional), data=functional.kpi_id)
        # Keep the cursor where it was across a refresh: on the same KPI, else the same line.
        if not (selected and tree.select_kpi(selected)):
            tree.cursor_line = max(line, 0)

    def selected_kpi_id(self) -> str | None:
        return self.query_one(KpiTree).selected_kpi_id()


def palette_commands(cockpit: Cockpit, screen: Screen[object]) -> Iterator[SystemCommand]:
    yield SystemCommand(
        "Strategy map",
        "Themes → objectives → CEO KPIs → functional KPIs, with status and values",
        cockpit.navigator.strategy_map,
    )
