"""The alerts screen (key ``a``): every alert by severity and age, filtered by state."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from intelligentos.alerts import OPEN_STATES, Alert, State
from intelligentos.clock import parse_stamp, utc_naive
from intelligentos.detection import Severity
from intelligentos.formatting import literal
from intelligentos.tui.base import CockpitScreen
from intelligentos.tui.dialogs import EventsDialog
from intelligentos.tui.header import CockpitHeader
from intelligentos.tui.messages import AlertsLoaded, EventsLoaded

# "open" is every state but resolved; "all" is every state.
STATE_FILTERS = ("open", *(state.value for state in State), "all")
SEVERITY_GLYPH = {Severity.CRITICAL: "■", Severity.WARNING: "▲", Severity.INFO: "●"}


def age_text(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(int(seconds // 60), 0)} min"
    if seconds < 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


class AlertsScreen(CockpitScreen):
    """Alerts by severity and age, filterable by state; acknowledge, snooze, drill, history."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="alerts-back"),
        Binding("a", "acknowledge", "Acknowledge", id="alerts-acknowledge"),
        Binding("s", "snooze", "Snooze", id="alerts-snooze"),
        Binding("enter", "lineage", "Lineage", id="alerts-lineage"),
        Binding("e", "events", "History", id="alerts-history"),
        Binding("f", "cycle_filter", "State filter", id="alerts-filter"),
        Binding("down,j", "cursor_down", "Next alert", show=False, id="alerts-down"),
        Binding("up,k", "cursor_up", "Previous alert", show=False, id="alerts-up"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.state_filter = "open"
        self.shown: dict[int, Alert] = {}

    def compose(self) -> ComposeResult:
        yield CockpitHeader(id="header")
        yield Static(id="alerts-title")
        yield DataTable(id="alerts-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        for label in (
            "",
            "subject",
            "rule",
            "state",
            "value",
            "expected",
            "deviation",
            "age",
            "owner / note",
        ):
            table.add_column(label, key=label or "severity")
        self.reload()
        table.focus()

    def action_cursor_down(self) -> None:
        self.query_one(DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(DataTable).action_cursor_up()

    def data_changed(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.load_alerts(self.state_filter)

    @work(thread=True, exclusive=True, group="alerts", exit_on_error=False)
    def load_alerts(self, state_filter: str) -> None:
        states: tuple[str, ...] | None = None
        if state_filter == "open":
            states = OPEN_STATES
        elif state_filter != "all":
            states = (state_filter,)
        self.post_message(AlertsLoaded(state_filter, self.cockpit.services.alerts(states)))

    @on(AlertsLoaded)
    def _alerts_loaded(self, message: AlertsLoaded) -> None:
        if message.state_filter == self.state_filter:
            self._show(message.alerts)

    def _ordered(self, alerts: list[Alert]) -> list[tuple[Alert, bool]]:
        """Parents first by severity and age, each followed by the alerts grouped under it."""
        ids = {a.id for a in alerts}
        children: dict[int | None, list[Alert]] = {}
        for alert in alerts:
            if alert.parent_alert_id in ids:
                children.setdefault(alert.parent_alert_id, []).append(alert)
        rows = []
        for alert in alerts:
            if alert.parent_alert_id in ids:
                continue
            rows.append((alert, False))
            rows += [(child, True) for child in children.get(alert.id, [])]
        return rows

    def _show(self, alerts: list[Alert]) -> None:
        table = self.query_one(DataTable)
        selected = self.selected()
        table.clear()
        self.shown = {a.id: a for a in alerts if a.id is not None}
        now = utc_naive(self.cockpit.clock())
        data = self.data
        theme = self.app.current_theme
        colour = {
            Severity.CRITICAL: theme.error,
            Severity.WARNING: theme.warning,
            Severity.INFO: theme.foreground,
        }
        for alert, grouped in self._ordered(alerts):
            subject = Text("  └ " if grouped else "")
            subject.append(
                literal(
                    data.subject_name(alert) if data else alert.kpi_id or alert.system_id or ""
                ),
                style="bold" if alert.needs_attention else "",
            )
            owner = ""
            if alert.acked_by:
                owner = f"{alert.acked_by}: {alert.ack_note or ''}"
            if alert.snoozed_until:
                owner += f" (until {alert.snoozed_until[11:16]} UTC)"
            deviation = alert.deviation
            table.add_row(
                Text(SEVERITY_GLYPH[alert.severity], style=f"bold {colour[alert.severity]}"),
                subject,
                # Text, never a plain str cell: that would be parsed as markup, and the
                # alerts table is public (other tools may write it).
                Text(literal(alert.rule)),
                Text(alert.state.value, style="bold" if alert.needs_attention else "dim"),
                Text("" if alert.value is None else f"{alert.value:.4g}"),
                Text("" if alert.expected is None else f"{alert.expected:.4g}"),
                Text("" if deviation is None else f"{deviation:.3g}"),
                Text(age_text((now - parse_stamp(alert.opened_at)).total_seconds())),
                Text(literal(owner)),
                key=str(alert.id),
            )
        if selected is not None and str(selected.id) in table.rows:
            table.move_cursor(row=table.get_row_index(str(selected.id)), animate=False)
        title = Text(f" Alerts: {len(alerts)} ({self.state_filter})", style="bold")
        title.append(
            "   f: state filter · a: acknowledge · s: snooze · Enter: lineage · e: history",
            style="dim",
        )
        self.query_one("#alerts-title", Static).update(title)

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
        self.post_message(EventsLoaded(alert, title, self.cockpit.services.events(alert.id)))

    @on(EventsLoaded)
    def _events_loaded(self, message: EventsLoaded) -> None:
        if self.is_current:
            self.app.push_screen(EventsDialog(message.title, message.events))
