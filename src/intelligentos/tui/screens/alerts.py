"""The alerts screen (key ``a``): every alert by severity and age, filtered by state and by
the agent it is routed to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from intelligentos.domain.agents import Route
from intelligentos.domain.alerts import (
    OPEN_STATES,
    Alert,
    State,
    acknowledgement_text,
    breach_start,
    deviation_text,
    expected_text,
    number_text,
    owner_name,
    subject_name,
    value_text,
)
from intelligentos.domain.catalog.models import Catalog, Kpi
from intelligentos.domain.clock import utc_naive
from intelligentos.domain.detection import Severity
from intelligentos.domain.formatting import format_age, literal
from intelligentos.store import Store
from intelligentos.tui.base import CockpitScreen
from intelligentos.tui.keys import key_label
from intelligentos.tui.messages import AlertsLoaded, EventsLoaded
from intelligentos.tui.screens.dialogs import EventsDialog
from intelligentos.tui.widgets.fit import fit
from intelligentos.tui.widgets.header import CockpitHeader

# "open" is every state but resolved; "all" is every state.
STATE_FILTERS = ("open", *(state.value for state in State), "all")
SEVERITY_GLYPH = {Severity.CRITICAL: "■", Severity.WARNING: "▲", Severity.INFO: "●"}


@dataclass
class DriverLoaded(Message):
    """What drove the move that fired an alert (``text`` None: nothing to name), or why it
    could not be said (``problem``)."""

    alert_id: int
    period: str | None
    text: str | None
    problem: str | None = None


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    cap: int | None = None  # never wider: longer text is cut with "…"
    # A growing column starts at ``minimum`` and takes what the others leave, up to ``cap``.
    grows: bool = False
    minimum: int = 0


COLUMNS = (
    Column("severity", "", cap=1),
    Column("id", "#", cap=8),
    Column("subject", "subject", cap=40, grows=True, minimum=12),
    Column("rule", "rule", cap=16),
    Column("state", "state", cap=12),
    Column("value", "value", cap=12),
    Column("expected", "expected", cap=12),
    Column("deviation", "deviation", cap=24),
    Column("age", "age", cap=6),
    Column("owner", "owner", cap=36, grows=True, minimum=12),
    Column("routed", "routed to", cap=40, grows=True, minimum=10),
    Column("ack", "acknowledged", cap=44, grows=True, minimum=16),
    Column("message", "message", grows=True, minimum=30),
)
BY_KEY = {column.key: column for column in COLUMNS}
# Kept at any width (text is cut instead): what the alert is and how bad.
REQUIRED = ("severity", "id", "subject", "rule", "state", "value", "age")
# Added while they fit, in this order; the detail line under the table shows them anyway.
# Who acknowledged (only shown when someone did) goes before the catalog owner: it says
# who is on it now.
# The agents it is routed to (by id) come last, and only while the owner keeps
# OWNER_COMFORT cells: the owner is who answers for it.
OPTIONAL = ("deviation", "expected", "ack", "owner", "message", "routed")
# The subject keeps this much before optional columns may take the room.
SUBJECT_COMFORT = 18
OWNER_COMFORT = 24
PADDING = 2  # DataTable's cell padding: one cell on each side
SCROLLBAR = 2  # room for the vertical scrollbar, so that no column hides under it


def plan_columns(rows: Sequence[Mapping[str, str]], width: int) -> dict[str, int]:
    """Which columns to show at ``width`` cells, and how wide, in display order. The
    required columns always stay; optional ones join by priority while they fit; what is
    left widens the growing columns (subject first; the message, last, takes the rest)."""

    def natural(key: str) -> int:
        column = BY_KEY[key]
        widest = max([cell_len(column.label), *(cell_len(row[key]) for row in rows)])
        return min(widest, column.cap or widest)

    def start(key: str) -> int:
        column = BY_KEY[key]
        return min(natural(key), column.minimum) if column.grows else natural(key)

    widths = {key: start(key) for key in REQUIRED}
    budget = width - sum(w + PADDING for w in widths.values())
    subject_reserve = max(min(natural("subject"), SUBJECT_COMFORT) - widths["subject"], 0)
    for key in OPTIONAL:
        if not any(row[key] for row in rows):
            continue  # a column with nothing in it (no one acknowledged yet)
        need = start(key) + PADDING
        reserve = subject_reserve
        if key == "routed" and "owner" in widths:
            reserve += max(min(natural("owner"), OWNER_COMFORT) - widths["owner"], 0)
        if need <= budget - reserve:
            widths[key] = start(key)
            budget -= need
    for key in ("subject", "owner", "ack", "routed", "message"):
        if key in widths and budget > 0:
            grow = max(min(budget, natural(key) - widths[key]), 0)
            widths[key] += grow
            budget -= grow
    if budget < 0:  # narrower than the required columns: the subject gives way
        widths["subject"] = max(widths["subject"] + budget, 1)
    return {column.key: widths[column.key] for column in COLUMNS if column.key in widths}


class AlertsScreen(CockpitScreen):
    """Alerts by severity and age, filterable by state and by the agent they are routed to;
    acknowledge, snooze, drill, history.

    The table shows what fits the terminal's width (see :func:`plan_columns`); the line
    under it tells everything about the selected alert, including its whole message."""

    DEFAULT_CSS = """
    AlertsScreen #alerts-detail {
        height: auto;
        max-height: 8;
        padding: 0 1;
        background: $surface;
    }
    """

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="alerts-back"),
        # Shift+A as on the dashboard: plain `a` opens this screen, so `a a Enter` from the
        # dashboard must not acknowledge anything.
        Binding(
            "A",
            "acknowledge",
            "Ack",  # as on the dashboard; short, so that the footer fits 120 columns
            id="alerts-acknowledge",
            tooltip="Acknowledge the selected alert, with a note",
        ),
        Binding(
            "s",
            "snooze",
            "Snooze",
            id="alerts-snooze",
            tooltip="Snooze an acknowledged alert, for up to 30 days",
        ),
        Binding("enter", "lineage", "Lineage", id="alerts-lineage"),
        Binding("e", "events", "History", id="alerts-history"),
        Binding("f", "cycle_filter", "State filter", id="alerts-filter"),
        Binding(
            "g",
            "cycle_agent",
            "Agent filter",
            id="alerts-agent",
            show=False,  # the footer must fit 120 columns; the title line names the key
            tooltip="Only the alerts routed to one agent: the next agent, then all",
        ),
        Binding("down,j", "cursor_down", "Next alert", show=False, id="alerts-down"),
        Binding("up,k", "cursor_up", "Previous alert", show=False, id="alerts-up"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.state_filter = "open"
        self.agent_filter: str | None = None  # only the alerts routed to this agent
        self.routes: dict[int, list[Route]] = {}
        self.shown: dict[int, Alert] = {}
        self.alerts: list[Alert] = []
        self.began: dict[int | None, datetime | None] = {}
        self.laid_out_width = 0
        # What drove each alert's move, by alert and period: (text or None, problem or None).
        self.drivers: dict[tuple[int, str | None], tuple[str | None, str | None]] = {}
        self.drivers_asked: set[tuple[int, str | None]] = set()

    def compose(self) -> ComposeResult:
        yield CockpitHeader(id="header")
        yield Static(id="alerts-title")
        yield DataTable(id="alerts-table", cursor_type="row")
        yield Static(id="alerts-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self.query_one(DataTable).focus()

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self.laid_out_width:
            self._show(self.alerts)

    def action_cursor_down(self) -> None:
        self.query_one(DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(DataTable).action_cursor_up()

    def data_changed(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.load_alerts(self.state_filter, self.agent_filter)

    @work(thread=True, exclusive=True, group="alerts", exit_on_error=False)
    def load_alerts(self, state_filter: str, agent_filter: str | None) -> None:
        states: tuple[str, ...] | None = None
        if state_filter == "open":
            states = OPEN_STATES
        elif state_filter != "all":
            states = (state_filter,)
        services = self.cockpit.services
        past = services.fixed_as_of
        found = services.alerts(states, past)
        routes = services.alert_routes(a.id for a in found if a.id is not None)
        if agent_filter is not None:
            found = [
                a
                for a in found
                if any(r.agent_id == agent_filter for r in routes.get(a.id or 0, ()))
            ]
        self.post_message(AlertsLoaded(state_filter, found, past, routes, agent_filter))

    @on(AlertsLoaded)
    def _alerts_loaded(self, message: AlertsLoaded) -> None:
        # Not for a filter, or an as-of date, no longer shown.
        if (message.state_filter, message.agent_filter, message.past) == (
            self.state_filter,
            self.agent_filter,
            self.cockpit.services.fixed_as_of,
        ):
            self.routes = message.routes
            # Agent focus: only the alerts routed to the focused agent.
            self._show(self.cockpit.focused_alerts(message.alerts))

    # --- what each alert reads as ----------------------------------------------------------

    def _kpi(self, alert: Alert) -> Kpi | None:
        data = self.data
        return data.catalog.kpis.get(alert.kpi_id or "") if data else None

    def _breach_starts(self, alerts: list[Alert]) -> dict[int | None, datetime | None]:
        """When each alert's breach began; a stale source's follows the alerts under it."""
        starts = {a.id: breach_start(a, self._kpi(a)) for a in alerts}
        grouped: dict[int, list[datetime | None]] = {}
        for alert in alerts:
            if alert.parent_alert_id is not None:
                grouped.setdefault(alert.parent_alert_id, []).append(starts[alert.id])
        for alert in alerts:
            if alert.id in grouped:
                starts[alert.id] = breach_start(alert, self._kpi(alert), grouped[alert.id])
        return starts

    def _began(self, alert: Alert) -> datetime | None:
        return self.began.get(alert.id)

    def _owner(self, alert: Alert) -> str:
        data = self.data
        if data is None:
            return owner_name(alert, None)
        fed = data.graph.kpis_by_system.get(alert.system_id or "", []) if alert.system_id else []
        return owner_name(alert, data.catalog, fed)

    def _routes(self, alert: Alert) -> list[Route]:
        return self.routes.get(alert.id or 0, [])

    def _agent_name(self, agent_id: str) -> str:
        agent = self.data.catalog.agents.get(agent_id) if self.data else None
        return agent.name if agent else agent_id

    def _subject(self, alert: Alert) -> str:
        return subject_name(alert, self.data.catalog if self.data else None)

    def _cells(self, alert: Alert, grouped: bool, now: datetime) -> dict[str, str]:
        """Every column's text for one alert, made literal (user text is never markup)."""
        kpi = self._kpi(alert)
        began = self._began(alert)
        return {
            "severity": SEVERITY_GLYPH.get(alert.severity, "●"),
            "id": str(alert.id),
            "subject": ("  └ " if grouped else "") + literal(self._subject(alert)),
            "rule": literal(alert.rule),
            "state": alert.state.value,
            "value": value_text(alert, kpi),
            "expected": expected_text(alert, kpi),
            "deviation": literal(deviation_text(alert, kpi)),
            "age": "—" if began is None else format_age((now - began).total_seconds()),
            "owner": literal(self._owner(alert)),
            "routed": literal(" ".join(r.agent_id for r in self._routes(alert))),
            "ack": literal(acknowledgement_text(alert)),
            "message": literal(" ".join(alert.message.split())),
        }

    def _ordered(self, alerts: list[Alert]) -> list[tuple[Alert, bool]]:
        """Most severe first, then the oldest breach; each alert grouped under a stale
        source follows it."""

        def rank(alert: Alert) -> tuple[int, datetime, int]:
            began = self._began(alert) or datetime.max
            return (-alert.severity.rank, began, alert.id or 0)

        ids = {a.id for a in alerts}
        ranked = sorted(alerts, key=rank)
        children: dict[int | None, list[Alert]] = {}
        for alert in ranked:
            if alert.parent_alert_id in ids:
                children.setdefault(alert.parent_alert_id, []).append(alert)
        rows = []
        for alert in ranked:
            if alert.parent_alert_id in ids:
                continue
            rows.append((alert, False))
            rows += [(child, True) for child in children.get(alert.id, [])]
        return rows

    def _show(self, alerts: list[Alert]) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        selected = self.selected()
        self.alerts = alerts
        self.began = self._breach_starts(alerts)
        self.shown = {a.id: a for a in alerts if a.id is not None}
        now = utc_naive(self.cockpit.clock())
        rows = [
            (alert, self._cells(alert, grouped, now)) for alert, grouped in self._ordered(alerts)
        ]
        width = self.size.width or self.app.size.width
        self.laid_out_width = width
        plan = plan_columns([cells for _, cells in rows], width - SCROLLBAR)
        table.clear(columns=True)
        for key, column_width in plan.items():
            table.add_column(BY_KEY[key].label, width=column_width, key=key)
        theme = self.app.current_theme
        colour = {
            Severity.CRITICAL: theme.error,
            Severity.WARNING: theme.warning,
            Severity.INFO: theme.foreground,
        }
        for alert, cells in rows:
            styles = {
                "severity": f"bold {colour.get(alert.severity, theme.foreground)}",
                "subject": "bold" if alert.needs_attention else "",
                "state": "bold" if alert.needs_attention else "dim",
                "id": "dim",
            }
            # Text, never a plain str cell: that would be parsed as markup, and the alerts
            # table is public (other tools may write it). The cells are already literal.
            row = []
            for key, column_width in plan.items():
                text = cells[key]
                if cell_len(text) > column_width:
                    text = fit(text, column_width)
                row.append(Text(text, style=styles.get(key, ""), no_wrap=True))
            table.add_row(*row, key=str(alert.id))
        if selected is not None and str(selected.id) in table.rows:
            table.move_cursor(row=table.get_row_index(str(selected.id)), animate=False)
        self._show_title(len(alerts))
        self._show_detail()

    def _show_title(self, count: int) -> None:
        keymap = self.cockpit.settings.keymap
        keys = {
            binding.id: key_label(keymap.get(binding.id, binding.key))
            for binding in self.BINDINGS
            if isinstance(binding, Binding) and binding.id
        }
        title = Text(f" Alerts: {count} ({self.state_filter}", style="bold")
        if self.agent_filter is not None:
            title.append(" · routed to ")
            title.append(literal(self._agent_name(self.agent_filter)))
        title.append(")")
        title.append(
            f"   {keys['alerts-filter']}: state filter · {keys['alerts-agent']}: agent filter · "
            f"{keys['alerts-acknowledge']}: "
            f"acknowledge · {keys['alerts-snooze']}: snooze · {keys['alerts-lineage']}: "
            f"lineage · {keys['alerts-history']}: history",
            style="dim",
        )
        self.query_one("#alerts-title", Static).update(title)

    def _show_detail(self) -> None:
        """Everything about the selected alert, whatever the table has room for."""
        detail = self.query_one("#alerts-detail", Static)
        alert = self.selected()
        if alert is None:
            hint = "f shows other states" + (", g other agents" if self.agent_filter else "")
            detail.update(Text(f"No alerts here: {hint}.", style="dim"))
            return
        kpi = self._kpi(alert)
        began = self._began(alert)
        text = Text(f"#{alert.id} ", style="bold")
        text.append(literal(self._subject(alert)), style="bold")
        text.append(f" · {literal(alert.rule)} · {alert.severity.value} · {alert.state.value}")
        text.append(f"  {value_text(alert, kpi)}")
        if alert.expected is not None:
            text.append(f" (expected {expected_text(alert, kpi)})")
        text.append(f": {literal(deviation_text(alert, kpi))}")
        self._append_driver(text, alert)
        if began is not None:
            now = utc_naive(self.cockpit.clock())
            since = f"{began:%Y-%m-%d %H:%M}".removesuffix(" 00:00")
            text.append(f" · since {since} ({format_age((now - began).total_seconds())})")
        text.append(f" · owner {literal(self._owner(alert))}")
        routes = self._routes(alert)
        if routes:
            # Agent names and reasons are user text (the catalog's): appended, never markup.
            text.append("\nrouted to ", style="dim")
            for index, route in enumerate(routes):
                if index:
                    text.append(" · ", style="dim")
                text.append(literal(self._agent_name(route.agent_id)))
                text.append(f" ({literal(route.reason)})", style="dim")
        acknowledged = acknowledgement_text(alert)
        if acknowledged:
            text.append("\nacknowledged by ", style="dim")
            text.append(literal(acknowledged))
        if alert.message:
            text.append("\n")
            text.append(literal(alert.message))
        detail.update(text)

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

    def selected(self) -> Alert | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.shown.get(int(key)) if key else None

    def action_cycle_filter(self) -> None:
        index = STATE_FILTERS.index(self.state_filter)
        self.state_filter = STATE_FILTERS[(index + 1) % len(STATE_FILTERS)]
        self.reload()

    def action_cycle_agent(self) -> None:
        """Only the alerts routed to the next agent of the catalog; after the last, all."""
        agents = list(self.data.catalog.agents) if self.data else []
        if self.agent_filter is None:
            self.agent_filter = agents[0] if agents else None
        elif self.agent_filter in agents:
            index = agents.index(self.agent_filter) + 1
            self.agent_filter = agents[index] if index < len(agents) else None
        else:  # gone from a re-synced catalog
            self.agent_filter = None
        self.reload()

    def action_acknowledge(self) -> None:
        alert = self.selected()
        if alert is not None:
            self.cockpit.acknowledge([alert])

    def action_snooze(self) -> None:
        alert = self.selected()
        if alert is not None:
            self.cockpit.snooze(alert)

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
            kpi = self._kpi(message.alert)
            self.app.push_screen(
                EventsDialog(
                    message.title, message.events, value_text=lambda v: number_text(v, kpi)
                )
            )
