"""The alerts screen (key ``a``) and the acknowledge / snooze / event-history modals."""

from __future__ import annotations

from datetime import timedelta

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Input, Static

from intelligentos.alerts import Alert, parse_duration
from intelligentos.clock import parse_stamp, utc_naive
from intelligentos.detection import Severity
from intelligentos.evaluation import snooze_alert
from intelligentos.formatting import literal
from intelligentos.tui.widgets import CockpitHeader

STATE_FILTERS = ("open", "firing", "acknowledged", "snoozed", "resolved", "all")
OPEN_STATES = ("firing", "acknowledged", "snoozed")
SEVERITY_GLYPH = {Severity.CRITICAL: "■", Severity.WARNING: "▲", Severity.INFO: "●"}


def age_text(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(int(seconds // 60), 0)} min"
    if seconds < 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


class AckScreen(ModalScreen[str | None]):
    """Ask for the acknowledgement note. The note is plain text, never markup."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, subject: str, user: str, count: int = 1) -> None:
        super().__init__()
        self.subject = subject
        self.user = user
        self.count = count

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            title = Text("Acknowledge ", style="bold")
            title.append(literal(self.subject))
            if self.count > 1:
                title.append(f"  ({self.count} alerts)", style="dim")
            yield Static(title)
            yield Static(
                Text(f"as {literal(self.user)}; the note is kept in the store", style="dim")
            )
            yield Input(placeholder="Note, e.g. known: CRM migration", id="note")
            with Horizontal(classes="buttons"):
                yield Button("Acknowledge", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.dismiss(self.query_one("#note", Input).value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class SnoozeScreen(ModalScreen[timedelta | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, subject: str) -> None:
        super().__init__()
        self.subject = subject

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            title = Text("Snooze ", style="bold")
            title.append(literal(self.subject))
            yield Static(title)
            yield Static(Text("for how long? 30m, 4h, 2d, 1w", style="dim"))
            yield Input(value="4h", id="duration")
            yield Static(id="error")
            with Horizontal(classes="buttons"):
                yield Button("Snooze", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        try:
            self.dismiss(parse_duration(self.query_one("#duration", Input).value))
        except ValueError as error:
            self.query_one("#error", Static).update(Text(literal(str(error)), style="bold red"))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class EventsScreen(ModalScreen):
    BINDINGS = [Binding("escape,e,q", "dismiss", "Close")]

    def __init__(self, title: str, events) -> None:
        super().__init__()
        self.title_text = title
        self.events = events

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(Text(literal(self.title_text), style="bold"))
            table = DataTable(id="events", cursor_type="row")
            table.add_columns("at", "who", "action", "from → to", "value", "note")
            for event in self.events:
                table.add_row(
                    event.at,
                    Text(literal(event.actor)),
                    event.action,
                    f"{event.from_state.value if event.from_state else '—'} → "
                    f"{event.to_state.value}",
                    "" if event.value is None else f"{event.value:.4g}",
                    Text(literal(event.note or "")),
                )
            yield table


class AlertsScreen(Screen):
    """Alerts by severity and age, filterable by state; acknowledge, snooze, drill, history."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("a", "acknowledge", "Acknowledge"),
        Binding("s", "snooze", "Snooze"),
        Binding("enter", "lineage", "Lineage"),
        Binding("e", "events", "History"),
        Binding("f", "cycle_filter", "State filter"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.state_filter = "open"
        self.shown: dict[int, Alert] = {}

    def compose(self) -> ComposeResult:
        yield CockpitHeader(self.app.clock, id="header")
        yield Static(id="alerts-title")
        yield DataTable(id="alerts-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        header = self.query_one(CockpitHeader)
        header.store_name = self.app.store_path.name
        header.as_of = self.app.as_of.isoformat()
        header.alerts = len(self.app.attention)
        table = self.query_one(DataTable)
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

    @work(thread=True, exclusive=True, group="alerts")
    def reload(self) -> None:
        states = None
        if self.state_filter == "open":
            states = OPEN_STATES
        elif self.state_filter != "all":
            states = (self.state_filter,)
        alerts = self.app.store.alerts(states)
        self.app.call_from_thread(self._show, alerts)

    def _ordered(self, alerts: list[Alert]) -> list[tuple[Alert, bool]]:
        """Parents first by severity and age, each followed by the alerts grouped under it."""
        ids = {a.id for a in alerts}
        children: dict[int, list[Alert]] = {}
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
        self.shown = {a.id: a for a in alerts}
        now = utc_naive(self.app.clock())
        theme = self.app.current_theme
        colour = {
            Severity.CRITICAL: theme.error,
            Severity.WARNING: theme.warning,
            Severity.INFO: theme.foreground,
        }
        for alert, grouped in self._ordered(alerts):
            subject = Text("  └ " if grouped else "")
            subject.append(
                literal(self.app.subject_name(alert)), style="bold" if alert.needs_attention else ""
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
                alert.rule,
                Text(alert.state.value, style="bold" if alert.needs_attention else "dim"),
                "" if alert.value is None else f"{alert.value:.4g}",
                "" if alert.expected is None else f"{alert.expected:.4g}",
                "" if deviation is None else f"{deviation:.3g}",
                age_text((now - parse_stamp(alert.opened_at)).total_seconds()),
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
        self.query_one(CockpitHeader).alerts = len(self.app.attention)

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
            self.app.acknowledge([alert])

    def action_snooze(self) -> None:
        alert = self.selected()
        if alert is None:
            return

        def chosen(duration: timedelta | None) -> None:
            if duration is not None:
                self.app.run_lifecycle(snooze_alert, [alert.id], duration, self.app.user, None)

        self.app.push_screen(SnoozeScreen(self.app.subject_name(alert)), chosen)

    @on(DataTable.RowSelected, "#alerts-table")
    def _on_row_selected(self) -> None:
        self.action_lineage()

    def action_lineage(self) -> None:
        alert = self.selected()
        if alert is None:
            return
        if alert.kpi_id:
            self.app.open_lineage(alert.kpi_id)
        elif alert.system_id:
            self.app.jump_to("system", alert.system_id)

    @work(thread=True, exclusive=True, group="events")
    def action_events(self) -> None:
        alert = self.selected()
        if alert is None:
            return
        events = self.app.store.alert_events(alert.id)
        title = f"Alert {alert.id}: {self.app.subject_name(alert)} · {alert.rule}"
        self.app.call_from_thread(self.app.push_screen, EventsScreen(title, events))
