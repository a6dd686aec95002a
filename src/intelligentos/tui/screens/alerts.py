"""The alerts screen (key ``a``): every incident by severity and age, each expandable to its
alerts; filtered by state, by the agent it is routed to and by text; sortable by any column.

The table shows what fits the terminal's width (see
:func:`intelligentos.tui.widgets.incident_table.plan_columns`); the lines under it tell
everything about the selected incident or alert, including its whole message, and who was
notified of the incident and why or why not."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from intelligentos.domain.agents import Route
from intelligentos.domain.alert_actions import to_follow_up, to_unacknowledge
from intelligentos.domain.alerts import (
    Alert,
    number_text,
    snooze_refusal,
)
from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.clock import utc_naive
from intelligentos.domain.formatting import literal
from intelligentos.domain.incidents import Incident, IncidentState, to_acknowledge
from intelligentos.domain.routing_policy import decisions_for
from intelligentos.domain.silences import Silence, silenced_alerts
from intelligentos.store import Store
from intelligentos.tui.base import CockpitScreen
from intelligentos.tui.keys import bound_labels
from intelligentos.tui.messages import EventsLoaded, IncidentsLoaded, SilenceAdded
from intelligentos.tui.screens.alert_actions import (
    NOTE,
    RESOLVE,
    UNACKNOWLEDGE,
    AlertActions,
)
from intelligentos.tui.screens.alerts_rows import IncidentRows
from intelligentos.tui.screens.dialogs import EventsDialog
from intelligentos.tui.screens.incident_dialogs import ask_silence, notified_text
from intelligentos.tui.widgets.footer import CockpitFooter
from intelligentos.tui.widgets.header import CockpitHeader
from intelligentos.tui.widgets.incident_table import (
    BY_KEY,
    SCROLLBAR,
    IncidentTable,
    Line,
    Sort,
    header_labels,
    incident_key,
    plan_columns,
)

# "open" is every state but resolved; "all" is every state.
STATE_FILTERS = ("open", *(state.value for state in IncidentState), "all")


@dataclass
class DriverLoaded(Message):
    """What drove the move that fired an alert (``text`` None: nothing to name), or why it
    could not be said (``problem``)."""

    alert_id: int
    period: str | None
    text: str | None
    problem: str | None = None


def in_state(incident: Incident, state_filter: str) -> bool:
    if state_filter == "all":
        return True
    if state_filter == "open":
        return incident.state is not IncidentState.RESOLVED
    return incident.state.value == state_filter


class AlertsScreen(CockpitScreen):
    """Incidents by severity and age, each expandable to its alerts; filterable by state, by
    the agent they are routed to and by text; sortable; acknowledge, snooze, silence, drill,
    history."""

    BINDINGS = [
        # Escape clears the text filter first, then goes back.
        Binding("escape", "back", "Back", id="alerts-back"),
        # Shift+A as on the dashboard: plain `a` opens this screen, so `a a Enter` from the
        # dashboard must not acknowledge anything.
        Binding(
            "A",
            "acknowledge",
            "Ack",  # as on the dashboard; short, so that the footer fits 120 columns
            id="alerts-acknowledge",
            tooltip="Acknowledge the selected incident's firing alerts (or one alert), with a note",
        ),
        Binding(
            "s",
            "snooze",
            "Snooze",
            id="alerts-snooze",
            tooltip="Snooze an acknowledged incident or alert, for up to 30 days",
        ),
        Binding("enter", "lineage", "Lineage", id="alerts-lineage"),
        Binding("e", "events", "History", id="alerts-history"),
        Binding("f", "cycle_filter", "State filter", id="alerts-filter"),
        # The footer must fit 120 columns: the keys below are named on the title line.
        Binding(
            "g",
            "cycle_agent",
            "Agent filter",
            id="alerts-agent",
            show=False,
            tooltip="Only the incidents routed to one agent: the next agent, then all",
        ),
        Binding(
            "slash",
            "find",
            "Filter",
            id="alerts-find",
            show=False,
            tooltip="Only the incidents whose subject, rule, owner, state or assignee holds a text",
        ),
        Binding(
            "o",
            "sort",
            "Sort",
            id="alerts-sort",
            show=False,
            tooltip="Sort by the next column, or the other way (a click on a header too)",
        ),
        Binding(
            "x",
            "silence",
            "Silence",
            id="alerts-silence",
            show=False,
            tooltip="Silence the selected incident's KPI (or source) for a while, with a note",
        ),
        Binding(
            "asterisk",
            "expand_all",
            "Expand all",
            id="alerts-expand-all",
            show=False,
            tooltip="Show every incident's alerts, or hide them all",
        ),
        # Who did what: each on the incident's alerts it concerns, or on one alert's row.
        Binding(
            "u",
            "unacknowledge",
            "Take back",
            id="alerts-unacknowledge",
            show=False,
            tooltip="Take an acknowledgement back (it fires again), with a note",
        ),
        Binding("n", "note", "Note", id="alerts-note", show=False, tooltip="Add a follow-up note"),
        Binding(
            "w", "assign", "Assign", id="alerts-assign", show=False, tooltip="Assign to an agent"
        ),
        Binding(
            "r",
            "resolve",
            "Resolve",
            id="alerts-resolve",
            show=False,
            tooltip="Resolve by hand (fixed, or a false alarm), with a note",
        ),
        Binding("down,j", "cursor_down", "Next alert", show=False, id="alerts-down"),
        Binding("up,k", "cursor_up", "Previous alert", show=False, id="alerts-up"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.state_filter = "open"
        self.agent_filter: str | None = None  # only the incidents routed to this agent
        self.text_filter = ""
        self.sort = Sort()
        self.expanded: set[str] = set()  # row keys of the incidents shown with their alerts
        self.incidents: list[Incident] = []  # in the state and agent filters
        self.routes: dict[int, list[Route]] = {}
        self.silenced: dict[int, Silence] = {}  # the silence holding each silenced alert
        self.lines: dict[str, Line] = {}  # the table's rows, by key
        self.shown: dict[int, Alert] = {}  # the alerts of the incidents shown
        self.rows = IncidentRows(None, {}, {}, set(), "open", Sort())
        self.laid_out_width = 0
        # What drove each alert's move, by alert and period: (text or None, problem or None).
        self.drivers: dict[tuple[int, str | None], tuple[str | None, str | None]] = {}
        self.drivers_asked: set[tuple[int, str | None]] = set()

    @property
    def actions(self) -> AlertActions:
        return AlertActions(self.cockpit)

    def compose(self) -> ComposeResult:
        yield CockpitHeader(id="header")
        yield Static(id="alerts-title")
        yield Input(placeholder="Filter: subject, rule, owner, state, assignee", id="alerts-find")
        yield IncidentTable(id="alerts-table", cursor_type="row")
        yield Static(id="alerts-detail")
        yield Static(id="alerts-notified")
        yield CockpitFooter()

    def on_mount(self) -> None:
        self.query_one("#alerts-find", Input).display = False
        self.reload()
        self.query_one(IncidentTable).focus()

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self.laid_out_width:
            self._show()

    def action_cursor_down(self) -> None:
        self.query_one(IncidentTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(IncidentTable).action_cursor_up()

    def data_changed(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.load_incidents(self.state_filter, self.agent_filter)

    @work(thread=True, exclusive=True, group="alerts", exit_on_error=False)
    def load_incidents(self, state_filter: str, agent_filter: str | None) -> None:
        services = self.cockpit.services
        past = services.fixed_as_of
        found = [i for i in services.incidents(past) if in_state(i, state_filter)]
        routes = services.alert_routes(a.id for i in found for a in i.alerts if a.id is not None)

        def agents(alert: Alert) -> list[str]:
            return [r.agent_id for r in routes.get(alert.id or 0, ())]

        if agent_filter is not None:
            found = [i for i in found if any(agent_filter in agents(a) for a in i.alerts)]
        # Silenced as of the moment shown: now, or the end of the past day.
        now = (
            datetime.combine(past + timedelta(days=1), time()) - timedelta(seconds=1)
            if past is not None
            else utc_naive(self.cockpit.clock())
        )
        silences = services.silences(past)
        data = self.data
        silenced = (
            {}
            if data is None
            else silenced_alerts(
                [a for i in found for a in i.alerts], silences, now, data.catalog, data.graph
            )
        )
        self.post_message(
            IncidentsLoaded(state_filter, found, past, routes, agent_filter, silenced)
        )

    @on(IncidentsLoaded)
    def _incidents_loaded(self, message: IncidentsLoaded) -> None:
        # Not for a filter, or an as-of date, no longer shown.
        if (message.state_filter, message.agent_filter, message.past) == (
            self.state_filter,
            self.agent_filter,
            self.cockpit.services.fixed_as_of,
        ):
            self.routes = message.routes
            self.silenced = message.silenced
            # Agent focus: only the incidents with an alert routed to the focused agent.
            every = [a for i in message.incidents for a in i.alerts]
            focused = {a.id for a in self.cockpit.focused_alerts(every)}
            self.incidents = [
                i for i in message.incidents if any(a.id in focused for a in i.alerts)
            ]
            self._show()

    # --- the table and what it says --------------------------------------------------------

    def _show(self) -> None:
        table = self.query_one(IncidentTable)
        selected = self._cursor_key()
        self.rows = IncidentRows(
            self.data, self.routes, self.silenced, self.expanded, self.state_filter, self.sort
        )
        needle = self.text_filter.strip().casefold()
        visible = [i for i in self.incidents if needle in self.rows.haystack(i)]
        self.shown = {a.id: a for i in visible for a in i.alerts if a.id is not None}
        self.rows.began = self.rows.breach_starts([a for i in visible for a in i.alerts])
        now = utc_naive(self.cockpit.clock())
        lines = self.rows.lines(visible, now)
        self.lines = {line.key: line for line in lines}
        width = self.size.width or self.app.size.width
        self.laid_out_width = width
        labels = header_labels(self.sort)
        plan = plan_columns([line.cells for line in lines], width - SCROLLBAR, labels)
        table.fill(lines, plan, self.sort, self.app.current_theme)
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected), animate=False)
        self._show_title(visible)
        self._show_detail()

    def _show_title(self, visible: list[Incident]) -> None:
        keys = bound_labels([*self.BINDINGS, *IncidentTable.BINDINGS], self.cockpit.settings.keymap)
        agent = None if self.agent_filter is None else self.rows.agent_name(self.agent_filter)
        self.query_one("#alerts-title", Static).update(
            self.rows.title(visible, len(self.incidents), agent, self.text_filter.strip(), keys)
        )

    def _show_detail(self) -> None:
        """Everything about the selected incident or alert, whatever the table has room for;
        who was notified of the incident, and why or why not."""
        detail = self.query_one("#alerts-detail", Static)
        notified = self.query_one("#alerts-notified", Static)
        line = self._selected_line()
        if line is None:
            hint = "f shows other states" + (", g other agents" if self.agent_filter else "")
            if self.text_filter.strip():
                hint += ", Esc clears the filter"
            detail.update(Text(f"No incidents here: {hint}.", style="dim"))
            notified.update("")
            return
        now = utc_naive(self.cockpit.clock())
        detail.update(self.rows.detail(line, now, self._append_driver))
        notified.update(self._notified(line.incident))

    def _notified(self, incident: Incident) -> Text:
        """Who the incident notifies, as the catalog routes it now (pure: on the loop)."""
        data = self.data
        if data is None:
            return Text()
        wants = self.cockpit.settings.routing.agents
        decisions = decisions_for(incident.face, incident.severity, data.catalog, data.graph, wants)
        return notified_text(decisions, self.rows.agent_name, self.rows.incident_silence(incident))

    def _append_driver(self, text: Text, alert: Alert) -> None:
        """What drove the alert's move, once a worker has worked it out (started here)."""
        if alert.id is None or alert.kpi_id is None:
            return  # a source system's alert: no move drove it
        key = (alert.id, alert.period)
        known = self.drivers.get(key)
        if known is None:
            store, data = self.cockpit.services.store, self.data
            if store is not None and data is not None and key not in self.drivers_asked:
                self.drivers_asked.add(key)
                self.load_driver(store, alert, data.catalog)
            return
        driven, problem = known
        if driven is not None:
            text.append(f" · {literal(driven)}")
        elif problem is not None:
            text.append(f" · what drove it cannot be said: {literal(problem)}", style="dim")

    @work(thread=True, group="alerts-driver", exit_on_error=False)
    def load_driver(self, store: Store, alert: Alert, catalog: Catalog) -> None:
        from intelligentos.services.why import alert_driver  # explain's modules: when needed

        assert alert.id is not None
        try:
            found = alert_driver(store, alert, catalog)
        except Exception as error:  # shown in the detail: the alert reads as before
            self.post_message(DriverLoaded(alert.id, alert.period, None, str(error)))
            return
        self.post_message(
            DriverLoaded(alert.id, alert.period, None if found is None else found.text)
        )

    @on(DriverLoaded)
    def _driver_loaded(self, message: DriverLoaded) -> None:
        key = (message.alert_id, message.period)
        if key in self.drivers:
            return
        self.drivers[key] = (message.text, message.problem)
        selected = self.selected()
        if selected is not None and (selected.id, selected.period) == key:
            self._show_detail()

    @on(DataTable.RowHighlighted, "#alerts-table")
    def _on_row_highlighted(self) -> None:
        self._show_detail()

    # --- the selection -------------------------------------------------------------------

    def _cursor_key(self) -> str | None:
        table = self.query_one(IncidentTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def _selected_line(self) -> Line | None:
        key = self._cursor_key()
        return self.lines.get(key) if key is not None else None

    def selected(self) -> Alert | None:
        """The selected alert: the one on the cursor's row, or the incident's face."""
        line = self._selected_line()
        return line.alert if line else None

    def selected_incident(self) -> Incident | None:
        line = self._selected_line()
        return line.incident if line else None

    # --- folding, filtering, sorting ---------------------------------------------------------

    def _fold(self, expand: bool | None) -> None:
        """Expand (True), collapse (False) or toggle (None) the selected incident; on one of
        its alerts, the cursor goes back to the incident when it folds."""
        line = self._selected_line()
        if line is None:
            return
        key = incident_key(line.incident)
        if expand is None:
            expand = key not in self.expanded
        if expand:
            self.expanded.add(key)
        else:
            self.expanded.discard(key)
        table = self.query_one(IncidentTable)
        self._show()
        if key in table.rows:
            table.move_cursor(row=table.get_row_index(key), animate=False)

    def action_toggle_incident(self) -> None:
        self._fold(None)

    def action_expand_incident(self) -> None:
        self._fold(True)

    def action_collapse_incident(self) -> None:
        self._fold(False)

    def action_expand_all(self) -> None:
        keys = {incident_key(i) for i in self.incidents}
        self.expanded = set() if keys <= self.expanded else keys
        self._show()

    def action_find(self) -> None:
        box = self.query_one("#alerts-find", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#alerts-find")
    def _find_changed(self, event: Input.Changed) -> None:
        self.text_filter = event.value
        self._show()

    @on(Input.Submitted, "#alerts-find")
    def _find_submitted(self) -> None:
        self.query_one(IncidentTable).focus()

    def action_back(self) -> None:
        box = self.query_one("#alerts-find", Input)
        if box.display or self.text_filter:
            box.value = ""
            box.display = False
            self.text_filter = ""
            self.query_one(IncidentTable).focus()
            self._show()
            return
        self.app.pop_screen()

    def action_sort(self) -> None:
        self.sort = self.sort.following()
        self._show()

    @on(DataTable.HeaderSelected, "#alerts-table")
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key in BY_KEY:
            self.sort = self.sort.clicked(key)
            self._show()

    def action_cycle_filter(self) -> None:
        index = STATE_FILTERS.index(self.state_filter)
        self.state_filter = STATE_FILTERS[(index + 1) % len(STATE_FILTERS)]
        self.reload()

    def action_cycle_agent(self) -> None:
        """Only the incidents routed to the next agent of the catalog; after the last, all."""
        agents = list(self.data.catalog.agents) if self.data else []
        if self.agent_filter is None:
            self.agent_filter = agents[0] if agents else None
        elif self.agent_filter in agents:
            index = agents.index(self.agent_filter) + 1
            self.agent_filter = agents[index] if index < len(agents) else None
        else:  # gone from a re-synced catalog
            self.agent_filter = None
        self.reload()

    # --- actions -------------------------------------------------------------------------

    def action_acknowledge(self) -> None:
        """On an incident, its firing alerts with one note; on an alert row, that alert."""
        line = self._selected_line()
        if line is None:
            return
        if line.is_incident:
            self.cockpit.acknowledge(list(to_acknowledge(line.incident)) or [line.alert])
        else:
            self.cockpit.acknowledge([line.alert])

    def action_snooze(self) -> None:
        """On an incident, its acknowledged (or snoozed) alerts; on an alert row, that one."""
        line = self._selected_line()
        if line is None:
            return
        if line.is_incident:
            owned = [a for a in line.incident.open_alerts if snooze_refusal(a) is None]
            self.cockpit.snooze(*(owned or [line.alert]))
        else:
            self.cockpit.snooze(line.alert)

    def _targets(self, pick: Callable[[Incident], Sequence[Alert]]) -> tuple[list[Alert], str]:
        """The alerts an action on the selected row concerns (``pick`` chooses an incident's)
        and what the dialog names."""
        line = self._selected_line()
        if line is None:
            return [], ""
        alerts = list(pick(line.incident)) if line.is_incident else [line.alert]
        rules = ", ".join(dict.fromkeys(a.rule for a in alerts or [line.alert]))
        return alerts, f"{self.rows.subject(line.alert)} · {rules}"

    def action_unacknowledge(self) -> None:
        if self._selected_line() is not None:
            self.actions.with_note(UNACKNOWLEDGE, *self._targets(to_unacknowledge))

    def action_note(self) -> None:
        if self._selected_line() is not None:
            self.actions.with_note(NOTE, *self._targets(to_follow_up))

    def action_resolve(self) -> None:
        if self._selected_line() is not None:
            self.actions.with_note(RESOLVE, *self._targets(lambda i: i.open_alerts))

    def action_assign(self) -> None:
        if self._selected_line() is not None:
            self.actions.assign(*self._targets(lambda i: i.open_alerts))

    def action_silence(self) -> None:
        incident = self.selected_incident()
        if incident is not None:
            ask_silence(self.cockpit, incident, self.rows.subject(incident.face), self)

    @on(SilenceAdded)
    def _silence_added(self, message: SilenceAdded) -> None:
        if message.silence is None:
            self.app.notify(
                literal(message.problem or ""), title="Not silenced", severity="error", markup=False
            )
            return
        silence = message.silence
        self.app.notify(
            literal(f"{silence.describe()} is silenced until {silence.until}."),
            title="Silenced",
            markup=False,
            timeout=4,
        )
        self.cockpit.request_refresh()
        self.reload()

    @on(DataTable.RowSelected, "#alerts-table")
    def _on_row_selected(self) -> None:
        self.action_lineage()

    def action_lineage(self) -> None:
        alert = self.selected()
        if alert is None:
            return
        navigator = self.cockpit.navigator
        if alert.kpi_id:
            navigator.open_lineage(alert.kpi_id)
        elif alert.system_id:
            navigator.jump_to("system", alert.system_id)

    def action_events(self) -> None:
        alert = self.selected()
        if alert is not None and alert.id is not None and self.data is not None:
            title = f"Alert {alert.id}: {self.data.subject_name(alert)} · {alert.rule}"
            self.load_events(alert, title)

    @work(thread=True, exclusive=True, group="events", exit_on_error=False)
    def load_events(self, alert: Alert, title: str) -> None:
        assert alert.id is not None
        services = self.cockpit.services
        past = services.fixed_as_of
        self.post_message(EventsLoaded(alert, title, services.events(alert.id, past), past))

    @on(EventsLoaded)
    def _events_loaded(self, message: EventsLoaded) -> None:
        if self.is_current and message.past == self.cockpit.services.fixed_as_of:
            kpi = self.rows.kpi(message.alert)
            self.app.push_screen(
                EventsDialog(
                    message.title, message.events, value_text=lambda v: number_text(v, kpi)
                )
            )
