"""The lineage drill-down: a KPI's context above it, its lineage below it, and details."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.detection import Status
from intelligentos.domain.formatting import format_value, literal
from intelligentos.domain.lineage import LineageNode
from intelligentos.domain.snapshots import NodeStatus, dependents
from intelligentos.services.snapshots import CockpitData
from intelligentos.tui.base import BREAKPOINTS, CockpitScreen
from intelligentos.tui.messages import CalibrationLoaded, HistoryLoaded
from intelligentos.tui.widgets.footer import CockpitFooter
from intelligentos.tui.widgets.header import CockpitHeader
from intelligentos.tui.widgets.rollup_details import (
    children_text,
    derived_text,
    weighted_children,
)
from intelligentos.tui.widgets.status import glyph

if TYPE_CHECKING:
    from intelligentos.domain.calibrate import Calibration
    from intelligentos.store.forecast import StoredForecast
    from intelligentos.tui.widgets.forecast_chart import ForecastPanel
    from intelligentos.tui.widgets.why_pane import WhyPane

ZOOMS = (30, 90, 365, 0)  # 0: the whole history
EAGER_NODES = 60  # nodes built when a lineage opens (a screenful); the rest on demand
WIDE_BRANCH = 60  # a branch with more children than this opens on demand
TROUBLE = (Status.WARNING, Status.CRITICAL, Status.STALE)


class LineageTree(Tree[LineageNode]):
    def render_label(self, node: TreeNode[LineageNode], base_style: Style, style: Style) -> Text:
        """A label cut to the room its line has, with "…" where it was cut: Textual would
        cut it at the edge without a mark (``billing · mrr_movements · moveme``)."""
        label = super().render_label(node, base_style, style)
        depth = 0
        parent = node.parent
        while parent is not None:
            depth += 1
            parent = parent.parent
        room = self.scrollable_content_region.width - depth * self.guide_depth
        if room > 1 and label.cell_len > room:
            label.truncate(room, overflow="ellipsis")
        return label

    BINDINGS = [
        Binding("down,j", "cursor_down", "Next node", show=False, id="tree-down"),
        Binding("up,k", "cursor_up", "Previous node", show=False, id="tree-up"),
        Binding(
            "enter",
            "select_cursor",
            "Drill into a KPI node, or fold a branch",
            show=False,
            id="tree-open",
        ),
    ]


class LineageScreen(CockpitScreen):
    """One screen for every drill-down: :meth:`start` points it at a KPI."""

    HORIZONTAL_BREAKPOINTS = BREAKPOINTS
    BINDINGS = [
        Binding("escape", "back", "Back", id="lineage-back"),
        # History keys and d are in help (and the breadcrumbs), not the footer: it must fit
        # 120 columns.
        Binding(
            "left_square_bracket", "history(-1)", "History ←", show=False, id="lineage-history-back"
        ),
        Binding(
            "right_square_bracket",
            "history(1)",
            "History →",
            show=False,
            id="lineage-history-forward",
        ),
        Binding("r", "follow_red", "Follow the red", id="lineage-follow-red"),
        Binding("f", "first_field", "Data field", id="lineage-first-field"),
        Binding("z", "zoom", "Zoom chart", id="lineage-zoom"),
        # In help and the palette, not the footer: it must fit 120 columns while paused.
        Binding(
            "s",
            "scenario",
            "What-if",
            show=False,
            id="lineage-what-if",
            tooltip="Scenario: move the KPI shown, see its CEO KPIs move",
        ),
        Binding("d", "dashboard", "Dashboard", show=False, id="lineage-dashboard"),
        # In help and the palette, not the footer (as s): the pane names its own keys.
        Binding(
            "w",
            "why",
            "Why",
            show=False,
            id="lineage-why",
            tooltip="Why the KPI shown moved, its root causes and what to do",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.trail: list[str] = []
        self.position = 0
        self.pending_select: str | None = None
        self.zoom = ZOOMS[1]
        self.history: list[tuple[str, float | None]] = []
        self.history_kpi: str | None = None
        self.forecast: StoredForecast | None = None  # the history KPI's stored forecast
        self.details_kpi: str | None = None  # the KPI whose details are shown
        # Each KPI's weighted child edges fitted on history, by child id (filled by a worker;
        # emptied by a refresh, whose history may have grown).
        self.calibrations: dict[str, dict[str, Calibration]] = {}
        self.calibrating: set[str] = set()  # KPIs whose edges a worker is fitting
        self.lineage_catalog: Catalog | None = None  # the catalog the tree was built from
        self.orphaned = False

    @property
    def kpi_id(self) -> str:
        return self.trail[self.position]

    def start(self, kpi_id: str, select: str | None = None) -> None:
        """Point the screen at a new drill-down from the dashboard, alerts or find."""
        self.orphaned = False
        self.trail = [kpi_id]
        self.position = 0
        self.pending_select = select
        if self.is_mounted:
            self.rebuild()
            self.query_one(LineageTree).focus()

    def compose(self) -> ComposeResult:
        # textual-plotext is not on the cockpit's launch path: imported here, when the screen
        # is first built (the navigator has usually imported it in a thread by then).
        from intelligentos.tui.widgets.forecast_chart import ForecastPanel
        from intelligentos.tui.widgets.why_pane import WhyPane

        yield CockpitHeader(id="header")
        yield Static(id="breadcrumbs")
        with Horizontal(id="lineage-body"):
            yield LineageTree(Text(""), id="lineage-tree")
            with VerticalScroll(id="details"):
                yield Static(id="details-text")
                yield ForecastPanel(id="chart")
                # After the chart: a KPI may have hundreds of children, and the chart stays
                # in view above them.
                yield Static(id="rollup")
                yield Static(id="observations")
            yield WhyPane(id="why")
        yield CockpitFooter()

    def on_mount(self) -> None:
        if self.trail:
            self.rebuild()
        self.query_one(LineageTree).focus()

    def on_screen_resume(self) -> None:
        if self.orphaned:
            self.app.pop_screen()  # its KPI left the catalog while another screen was on top

    def _data(self) -> CockpitData:
        data = self.data
        assert data is not None, "the lineage opens only once data is shown"
        return data

    def data_changed(self) -> None:
        """A refresh: statuses, values and history as they are now. The tree keeps its
        shape, its open branches and its cursor; only labels and details change."""
        if not self.trail or not self.is_mounted:
            return
        data = self._data()
        if data.catalog is not self.lineage_catalog:
            # The catalog was re-synced: names, links and even the KPIs may have changed.
            trail = [k for k in self.trail if k in data.catalog.kpis]
            if not trail:
                self.orphaned = True  # its KPI left the catalog: back to the dashboard
                if self.is_current:
                    self.app.pop_screen()
                return
            self.trail, self.position = trail, min(self.position, len(trail) - 1)
            self.rebuild()
            return
        self.node_status = self.status
        for tree_node in self.tree_nodes():
            if tree_node.data is not None:
                tree_node.set_label(self._label(tree_node.data, self.node_status))
        if self.has_class("-why"):
            self._why().reload(quietly=True)  # the as-of date or the values moved
        cursor = self.query_one(LineageTree).cursor_node
        self.details_kpi = None  # reload the chart too: the history may have grown
        self.calibrations.clear()
        if cursor is not None and cursor.data is not None:
            self.show_details(cursor.data)

    # --- the tree --------------------------------------------------------------------------

    @property
    def status(self) -> NodeStatus:
        data = self._data()
        return NodeStatus(data.graph, data.snaps)

    def _label(self, node: LineageNode, status: NodeStatus) -> Text:
        text = Text()
        text.append_text(glyph(self, status.of(node)))
        text.append(" ")
        if node.kind == "section":
            text.append(literal(node.label), style="italic")
            return text
        if node.kind not in ("kpi", "field"):
            text.append(f"{node.detail}: ", style="dim")
        text.append(literal(node.label), style="bold" if node.kind == "kpi" else "")
        if node.kind == "kpi":
            text.append(f"  {literal(node.detail)}", style="dim")
        freshness = status.freshness(node)
        if freshness:
            text.append(f"  {freshness}", style="dim italic")
        return text

    def rebuild(self) -> None:
        self.lineage_catalog = self._data().catalog
        graph = self._data().graph
        self.node_status = self.status
        self.lineage_root = graph.lineage_tree(self.kpi_id)
        tree = self.query_one(LineageTree)
        tree.reset(self._label(self.lineage_root, self.node_status), self.lineage_root)
        self._populate(tree.root, self.lineage_root, budget=EAGER_NODES)
        tree.root.expand()
        self._breadcrumbs()
        select = self.pending_select
        self.pending_select = None
        target = self.reveal(lambda n: n.id == select) if select else None
        start = target or tree.root
        # The details at once, so that they are in the same paint as the tree; the cursor
        # moves, and the chart's history is read, once the tree has its lines (after that
        # paint: the read would only slow it down).
        if start.data is not None:
            self.show_details(start.data, history=False)
        self.call_after_refresh(self._move_to, start)

    def _populate(self, parent: TreeNode[LineageNode], node: LineageNode, budget: int) -> int:
        """Add ``node``'s children under ``parent``, depth first. Branches beyond the budget
        (or with very many children) stay collapsed and are filled in when opened, so a
        lineage of thousands of nodes opens as fast as a small one."""
        status = self.node_status
        for child in node.children:
            label = self._label(child, status)
            budget -= 1
            if not child.children:
                parent.add_leaf(label, child)
                continue
            eager = budget > 0 and len(child.children) <= WIDE_BRANCH
            branch = parent.add(label, child, expand=eager)
            if eager:
                budget = self._populate(branch, child, budget)
        return budget

    @on(Tree.NodeExpanded)
    def _on_expanded(self, event: Tree.NodeExpanded[LineageNode]) -> None:
        node = event.node
        if node.data is not None and node.data.children and not node.children:
            self._populate(node, node.data, budget=EAGER_NODES)

    def reveal(self, predicate: Callable[[LineageNode], bool]) -> TreeNode[LineageNode] | None:
        """The tree node for the first lineage node matching ``predicate`` (in tree
        order), filling in and opening collapsed branches on the way."""
        path = _path_to(self.lineage_root, predicate)
        if path is None:
            return None
        current = self.query_one(LineageTree).root
        for step in path[1:]:
            if not current.children and current.data is not None and current.data.children:
                self._populate(current, current.data, budget=EAGER_NODES)
            current.expand()
            current = next(c for c in current.children if c.data is step)
        return current

    def _move_to(self, node: TreeNode[LineageNode]) -> None:
        tree = self.query_one(LineageTree)
        tree.move_cursor(node, animate=False)
        if node.data is not None:
            self.show_details(node.data)

    def tree_nodes(self) -> list[TreeNode[LineageNode]]:
        tree = self.query_one(LineageTree)
        found: list[TreeNode[LineageNode]] = []
        stack = [tree.root]
        while stack:
            node = stack.pop()
            found.append(node)
            stack.extend(reversed(node.children))
        return found

    def _breadcrumbs(self) -> None:
        names = self._data().catalog.kpis
        text = Text("Dashboard", style="dim")
        for index, kpi_id in enumerate(self.trail):
            text.append(" › ", style="dim")
            name = literal(names[kpi_id].name)
            if index == self.position:
                text.append(name, style="bold reverse")
            else:
                text.append(name, style="dim" if index > self.position else "")
        self.query_one("#breadcrumbs", Static).update(text)

    # --- details -----------------------------------------------------------------------------

    @on(Tree.NodeHighlighted)
    def _on_highlighted(self, event: Tree.NodeHighlighted[LineageNode]) -> None:
        if event.node.data is not None:
            self.show_details(event.node.data)

    @on(Tree.NodeSelected)
    def _on_selected(self, event: Tree.NodeSelected[LineageNode]) -> None:
        node = event.node.data
        if node is not None and node.kind == "kpi" and node.id != self.kpi_id:
            self.drill(node.id)

    def show_details(self, node: LineageNode, *, history: bool = True) -> None:
        data = self._data()
        catalog = data.catalog
        text = Text()
        self.query_one("#rollup", Static).update("")
        if node.kind == "kpi" and node.id in catalog.kpis:
            self._kpi_details(node.id, text)
            if history and node.id != self.details_kpi:
                self.details_kpi = node.id
                self.load_history(node.id, self.zoom)
        else:
            self.details_kpi = None
            self._chart().clear()
            self.query_one("#observations", Static).update("")
            text.append(f"{node.detail or node.kind}\n", style="dim")
            text.append(literal(node.label) + "\n\n", style="bold")
            if node.kind == "field":
                system, table, field = node.id.split(".", 2)
                text.append(
                    f"system {literal(system)} · table {literal(table)} · "
                    f"field {literal(field)}\n\n"
                )
            if node.kind == "workflow" and node.id in catalog.workflows:
                workflow = catalog.workflows[node.id]
                owner = catalog.functions.get(workflow.owner_function)
                text.append("Owner ", style="dim")
                text.append(literal(owner.name if owner else workflow.owner_function) + "\n")
                if workflow.description:
                    text.append(literal(workflow.description) + "\n")
                text.append("Steps\n", style="dim")
                for step in workflow.steps:
                    text.append(f"  {literal(step.name)} → {literal(step.system)}\n")
                text.append("\n")
            kpi_ids = dependents(data.graph, node.kind, node.id)
            if kpi_ids:
                text.append(f"KPIs that depend on it ({len(kpi_ids)})\n", style="dim")
                for kpi_id in kpi_ids:
                    snap = data.snaps.get(kpi_id)
                    if snap:
                        text.append_text(glyph(self, snap.status))
                        text.append(f" {literal(catalog.kpis[kpi_id].name)}  ")
                        text.append(f"{snap.value_text}\n", style="dim")
            freshness = self.node_status.freshness(node)
            if freshness:
                text.append(f"\n{freshness}\n", style="dim italic")
        self.query_one("#details-text", Static).update(text)

    def _kpi_details(self, kpi_id: str, text: Text) -> None:
        data = self._data()
        catalog = data.catalog
        kpi = catalog.kpis[kpi_id]
        snap = data.snaps.get(kpi_id)
        text.append(literal(kpi.name), style="bold")
        text.append(f"  {kpi.level.value} KPI · {kpi.engine} engine\n", style="dim")
        if snap:
            text.append_text(glyph(self, snap.status))
            text.append(f" {snap.status.value}  {snap.value_text}", style="bold")
            text.append(f"  {snap.change_vs_previous_text} · {snap.freshness_text}\n")
            text.append(f"{snap.gap_text}\n")
        if kpi.description:
            text.append(literal(kpi.description) + "\n")
        text.append("\nFormula  ", style="dim")
        text.append(literal(kpi.formula) + "\n")
        text.append("Unit     ", style="dim")
        text.append(f"{kpi.unit.value}, {kpi.direction.value} is better, {kpi.frequency.value}\n")
        text.append("Target   ", style="dim")
        if kpi.target is None:
            text.append("none: tracked, alerts on anomalies, drift and stale data only\n")
        else:
            text.append(f"{format_value(kpi.target, kpi.unit)}\n")
            if snap:
                text.append(f"         {snap.thresholds_text}\n")
        text.append_text(derived_text(kpi, catalog, data.snaps, self._glyph))
        children = data.graph.children.get(kpi_id, [])
        fitted = self.calibrations.get(kpi_id)
        self.query_one("#rollup", Static).update(children_text(kpi, children, catalog, fitted))
        wanted = fitted is None and kpi_id not in self.calibrating
        if wanted and weighted_children(children, catalog):
            self.calibrating.add(kpi_id)
            self.load_calibration(kpi_id, catalog)
        function = catalog.functions.get(kpi.owner_function or "")
        agent = catalog.agents.get(kpi.owner_agent or "")
        text.append("Owner    ", style="dim")
        text.append(literal(function.name if function else "—"))
        text.append(" · ")
        text.append(literal(agent.name if agent else "—") + "\n")
        if agent and agent.rules:
            text.append("Agent rules\n", style="dim")
            for rule in agent.rules:
                text.append(f"  • {literal(rule)}\n")

    def _glyph(self, status: Status) -> Text:
        return glyph(self, status)

    # Not exclusive: one worker per KPI shown (never two for one, see ``calibrating``), each
    # reading a few histories; cancelling a thread would not stop it anyway.
    @work(thread=True, group="calibration", exit_on_error=False)
    def load_calibration(self, kpi_id: str, catalog: Catalog) -> None:
        """The KPI's weighted child edges fitted on history, as of the date viewed (SciPy is
        imported here, in the worker)."""
        from intelligentos.services.calibrate import calibrate_store

        services = self.cockpit.services
        store = services.store
        if store is None:
            return
        past = services.fixed_as_of
        found = calibrate_store(store, catalog, services.as_of, kpi_id)
        mine = [c for c in found if c.edge.parent == kpi_id]
        self.post_message(CalibrationLoaded(kpi_id, mine, past))

    @on(CalibrationLoaded)
    def _calibration_loaded(self, message: CalibrationLoaded) -> None:
        self.calibrating.discard(message.kpi_id)
        if message.past != self.cockpit.services.fixed_as_of:
            return  # for an as-of date no longer shown
        self.calibrations[message.kpi_id] = {c.edge.child: c for c in message.calibrations}
        cursor = self.query_one(LineageTree).cursor_node
        node = cursor.data if cursor is not None else None
        if node is not None and node.kind == "kpi" and node.id == message.kpi_id:
            self.show_details(node, history=False)

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def load_history(self, kpi_id: str, zoom: int) -> None:
        """The KPI's history and its stored forecast, read together: a refresh reloads
        both, so a forecast another process wrote shows with the history it follows."""
        services = self.cockpit.services
        past = services.fixed_as_of
        history = services.history(kpi_id, zoom or None, past)
        store = services.store
        # No forecast existed in the past: the chart shows the history up to the date.
        stored = store.forecasts([kpi_id]) if store is not None and past is None else []
        forecast = stored[0] if stored else None
        self.post_message(HistoryLoaded(kpi_id, zoom, history, forecast, past))

    @on(HistoryLoaded)
    def _history_loaded(self, message: HistoryLoaded) -> None:
        shown = (self.details_kpi, self.zoom, self.cockpit.services.fixed_as_of)
        if (message.kpi_id, message.zoom, message.past) != shown:
            return  # for a KPI, zoom or as-of date no longer shown
        self.history, self.history_kpi = message.history, message.kpi_id
        self.forecast = message.forecast
        self._draw_chart()

    def _chart(self) -> ForecastPanel:
        from intelligentos.tui.widgets.forecast_chart import ForecastPanel

        return self.query_one("#chart", ForecastPanel)

    def _draw_chart(self) -> None:
        kpi = self._data().catalog.kpis.get(self.history_kpi or "")
        if kpi is None:
            self._chart().clear()
            return
        stored = self.forecast
        self._chart().show(
            kpi,
            self.history,
            self.zoom,
            stored.forecast if stored else None,
            stored.made_at if stored else None,
        )
        latest = Text("\nLatest observations\n" if self.history else "", style="dim")
        for period, value in reversed(self.history[-6:]):
            latest.append(f"  {period}  {format_value(value, kpi.unit):>10}\n")
        self.query_one("#observations", Static).update(latest)

    # --- navigation ------------------------------------------------------------------------

    def drill(self, kpi_id: str) -> None:
        self.trail = [*self.trail[: self.position + 1], kpi_id]
        self.position += 1
        self.rebuild()

    def _why(self) -> WhyPane:
        from intelligentos.tui.widgets.why_pane import WhyPane

        return self.query_one(WhyPane)

    def action_why(self) -> None:
        """Open the Why pane for the KPI shown, in place of its details; or close it."""
        opening = not self.has_class("-why")
        self.set_class(opening, "-why")
        kpi_id = self.kpi_for_what_if()
        if opening and kpi_id is not None:
            self._why().open(kpi_id)
            self.query_one("#why-causes").focus()
        else:
            self.query_one(LineageTree).focus()

    def on_why_pane_drill(self, message: WhyPane.Drill) -> None:
        self.action_why()  # closes it: the lineage shows the root cause
        if message.kpi_id != self.kpi_id:
            self.drill(message.kpi_id)

    def action_back(self) -> None:
        if self.has_class("-why"):
            self.action_why()
            return
        if self.position == 0:
            self.app.pop_screen()
            return
        self.position -= 1
        self.rebuild()

    def action_history(self, step: int) -> None:
        position = self.position + step
        if 0 <= position < len(self.trail):
            self.position = position
            self.rebuild()

    def action_dashboard(self) -> None:
        self.app.pop_screen()

    def action_scenario(self) -> None:
        self.cockpit.navigator.scenario(self.kpi_for_what_if())

    def kpi_for_what_if(self) -> str | None:
        return self.details_kpi or self.kpi_id

    def action_zoom(self) -> None:
        self.zoom = ZOOMS[(ZOOMS.index(self.zoom) + 1) % len(ZOOMS)]
        if self.details_kpi:
            self.load_history(self.details_kpi, self.zoom)

    def action_first_field(self) -> None:
        """Jump to the first data field of the lineage: the bottom of the drill-down."""
        node = self.reveal(lambda n: n.kind == "field")
        if node is not None:
            self.call_after_refresh(self._move_to, node)

    def action_follow_red(self) -> None:
        """Jump to the next node, in tree order, whose own status is not OK."""
        tree = self.query_one(LineageTree)
        status = self.node_status
        order = list(self.lineage_root.walk())
        current = tree.cursor_node.data if tree.cursor_node is not None else None
        start = next((i + 1 for i, n in enumerate(order) if n is current), 0)
        for node in order[start:] + order[:start]:
            if node.kind != "section" and status.own(node) in TROUBLE:
                target = self.reveal(functools.partial(operator.is_, node))
                if target is not None:
                    self.call_after_refresh(self._move_to, target)
                    return
        self.notify("Nothing off track in this lineage.", timeout=3)


def _path_to(
    root: LineageNode, predicate: Callable[[LineageNode], bool]
) -> list[LineageNode] | None:
    """Root-to-node path of the first node (depth first) matching ``predicate``."""
    stack = [(root, [root])]
    while stack:
        node, path = stack.pop()
        if predicate(node):
            return path
        stack.extend((child, [*path, child]) for child in reversed(node.children))
    return None
