"""The agents (key ``G``): each agent's playbook. Beside the list of agents, the highlighted
one's KPIs (owned and supported, with status and value), its rules, its open routed alerts
with why each reached it, and the recommended actions that fall to it: for each off-target
CEO KPI, the steps of its least-effort plan and the levers that could do it alone, where the
agent owns the lever (worked out by a worker). Enter on a KPI, a KPI's alert or an action
opens that KPI's lineage."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from intelligentos.domain.alerts import State
from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.detection import Status
from intelligentos.domain.explain.recommend import Recommendations
from intelligentos.domain.formatting import literal, name_within
from intelligentos.domain.views import AGENT_NAME_ROOM, AgentView, agent_views
from intelligentos.store import Store, StoreError
from intelligentos.tui.base import Cockpit, CockpitScreen
from intelligentos.tui.keys import key_label
from intelligentos.tui.widgets.footer import CockpitFooter
from intelligentos.tui.widgets.header import CockpitHeader
from intelligentos.tui.widgets.incident_table import SEVERITY_GLYPH
from intelligentos.tui.widgets.kpi_tree import KpiTree, kpi_label, status_label
from intelligentos.tui.widgets.status import SILENCED, glyph


@dataclass
class PlansLoaded(Message):
    """The recommendations of the off-target CEO KPIs as of ``as_of`` (``problem``: why
    they could not be read)."""

    as_of: date
    plans: Mapping[str, Recommendations | str]
    problem: str | None = None


class AgentsScreen(CockpitScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="agents-back"),
        Binding("tab", "switch", "Agents ↔ playbook", show=False, id="agents-switch"),
    ]

    def __init__(self, agent_id: str | None = None) -> None:
        super().__init__()
        self.views: list[AgentView] = []
        self.shown: tuple[list[AgentView], str] | None = None
        self.agent_id = agent_id  # the agent whose playbook is shown
        # The off-target CEO KPIs' recommendations, for the data they were read for.
        self.plans: Mapping[str, Recommendations | str] | None = None
        self.plans_for: object = None  # the cockpit data the plans were (being) read for

    def compose(self) -> ComposeResult:
        yield CockpitHeader(id="header")
        yield Static(id="agents-title", classes="view-title")
        with Horizontal(id="agents-body"):
            yield DataTable(id="agents-table", cursor_type="row")
            yield KpiTree(id="playbook")
        yield CockpitFooter()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#agents-table", DataTable)

    @property
    def playbook(self) -> KpiTree:
        return self.query_one("#playbook", KpiTree)

    def on_mount(self) -> None:
        self.table.add_columns(
            "", "agent", Text("owns", justify="right"), Text("⚑", justify="right")
        )
        self.table.focus()
        self.data_changed()

    def data_changed(self) -> None:
        data = self.data
        if data is None:
            return
        if data is not self.plans_for and self.cockpit.services.store is not None:
            self.plans_for = data
            off_target = [
                k.id
                for k in data.catalog.ceo_kpis()
                if data.snaps[k.id].status in (Status.WARNING, Status.CRITICAL)
            ]
            self.load_plans(self.cockpit.services.store, data.stored, off_target, data.as_of)
        views = agent_views(data.catalog, data.graph, data.snaps, data.open_alerts, data.silenced)
        if (views, self.app.theme) == self.shown:
            return
        self.shown = (views, self.app.theme)
        self.views = views
        if self.agent_id is None or all(v.agent_id != self.agent_id for v in views):
            focus = self.cockpit.agent_focus
            self.agent_id = focus.agent_id if focus else (views[0].agent_id if views else None)
        table = self.table
        table.clear()
        for view in views:
            table.add_row(
                glyph(self, view.status),
                # "CRO Agent (Chief Revenue Officer)": the playbook's border has it whole.
                Text(literal(name_within(view.name, AGENT_NAME_ROOM)), style="bold", no_wrap=True),
                Text(str(len(view.owns)), justify="right"),
                Text(str(view.attention) if view.attention else "", justify="right", style="bold"),
                key=view.agent_id,
            )
        if self.agent_id is not None:
            table.move_cursor(row=table.get_row_index(self.agent_id), animate=False)
        self._show_title()
        self._show_playbook(keep_cursor=True)

    def _show_title(self) -> None:
        keymap = self.cockpit.settings.keymap
        opened = key_label(keymap.get("kpi-tree-open", "enter"))
        switch = key_label(keymap.get("agents-switch", "tab"))
        back = key_label(keymap.get("agents-back", "escape"))
        title = Text(f" Agents: {len(self.views)}", style="bold")
        title.append(
            f"   {switch}: agents ↔ playbook · {opened}: lineage of a KPI · {back}: back",
            style="dim",
        )
        self.query_one("#agents-title", Static).update(title)

    def view(self) -> AgentView | None:
        return next((v for v in self.views if v.agent_id == self.agent_id), None)

    def _show_playbook(self, keep_cursor: bool = False) -> None:
        tree = self.playbook
        selected = tree.selected_kpi_id() if keep_cursor else None
        line = tree.cursor_line if keep_cursor else 0
        tree.clear()
        view = self.view()
        if view is None:
            return
        tree.border_title = Text(literal(view.name))
        if view.function:
            tree.border_subtitle = Text(literal(view.function))
        else:
            tree.border_subtitle = Text("CEO")
        owns = tree.root.add(
            status_label(tree, view.status, f"Owns ({len(view.owns)})"), expand=True
        )
        for line_ in view.owns:
            owns.add_leaf(kpi_label(tree, line_), data=line_.kpi_id)
        supports = tree.root.add(
            Text(f"Supports ({len(view.supports)})", style="bold"), expand=True
        )
        for line_ in view.supports:
            supports.add_leaf(kpi_label(tree, line_), data=line_.kpi_id)
        rules = tree.root.add(Text(f"Rules ({len(view.rules)})", style="bold"), expand=True)
        for rule in view.rules:
            rules.add_leaf(Text(literal(rule)))
        alerts = tree.root.add(
            Text(f"Open routed alerts ({len(view.alerts)})", style="bold"), expand=True
        )
        if not view.alerts:
            alerts.add_leaf(Text("none", style="dim"))
        for routed in view.alerts:
            alert = routed.alert
            hushed = alert.id in view.silenced
            label = Text.assemble(
                (SEVERITY_GLYPH.get(alert.severity, "●"), "bold"),
                f" #{alert.id} ",
                (literal(routed.subject), "bold" if alert.needs_attention and not hushed else ""),
                f" · {literal(alert.rule)} · ",
                (alert.state.value, "" if alert.state is State.FIRING else "dim"),
                (f" {SILENCED} silenced" if hushed else "", "dim"),
                (f"  {literal(routed.reason)}", "dim"),
            )
            alerts.add_leaf(label, data=alert.kpi_id)
        self._show_actions(tree, view.agent_id)
        if not (selected and tree.select_kpi(selected)):
            tree.cursor_line = max(line, 0)

    def _show_actions(self, tree: KpiTree, agent_id: str) -> None:
        from intelligentos.domain.explain.actions import agent_actions

        if self.plans is None:
            branch = tree.root.add(Text("Recommended actions", style="bold"), expand=True)
            branch.add_leaf(Text("reading…", style="dim italic"))
            return
        found = [p for p in self.plans.values() if isinstance(p, Recommendations)]
        actions = agent_actions(found, agent_id)
        branch = tree.root.add(
            Text(f"Recommended actions ({len(actions)})", style="bold"), expand=True
        )
        if not actions:
            branch.add_leaf(Text("none", style="dim"))
        for action in actions:
            label = Text.assemble(
                (literal(action.goal_name), "bold"),
                (" plan" if action.in_plan else " alone", "dim"),
                ": ",
                literal(action.task),
            )
            branch.add_leaf(label, data=action.lever_id)

    @work(thread=True, exclusive=True, group="agents-plans", exit_on_error=False)
    def load_plans(self, store: Store, catalog: Catalog, kpi_ids: list[str], as_of: date) -> None:
        """Off the event loop: each off-target CEO KPI's recommendations and plan."""
        from intelligentos.domain.whatif.propagation import Tree
        from intelligentos.services.why import plans

        try:
            found = plans(store, catalog, Tree(catalog), kpi_ids, as_of)
        except (StoreError, OSError) as error:
            problem = f"The recommended actions could not be read: {error}"
            self.post_message(PlansLoaded(as_of, {}, problem))
            return
        self.post_message(PlansLoaded(as_of, found))

    @on(PlansLoaded)
    def _plans_loaded(self, message: PlansLoaded) -> None:
        data = self.data
        if data is None or message.as_of != data.as_of:
            return  # for a date no longer shown
        if message.problem:
            self.notify(message.problem, severity="error", markup=False)
        self.plans = message.plans
        self._show_playbook(keep_cursor=True)

    @on(DataTable.RowHighlighted, "#agents-table")
    def _agent_highlighted(self, event: DataTable.RowHighlighted) -> None:
        agent_id = event.row_key.value
        if agent_id and agent_id != self.agent_id:
            self.agent_id = agent_id
            self._show_playbook()

    @on(DataTable.RowSelected, "#agents-table")
    def _agent_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.playbook.focus()

    def selected_kpi_id(self) -> str | None:
        return self.playbook.selected_kpi_id() if self.focused is self.playbook else None

    def action_switch(self) -> None:
        target = self.table if self.focused is self.playbook else self.playbook
        target.focus()

    def action_back(self) -> None:
        if self.focused is self.playbook:
            self.table.focus()
        else:
            self.app.pop_screen()


def palette_commands(cockpit: Cockpit, screen: Screen[object]) -> Iterator[SystemCommand]:
    yield SystemCommand(
        "Agents",
        "Each agent's playbook: KPIs owned and supported, rules, open routed alerts, "
        "recommended actions",
        cockpit.navigator.agents,
    )
