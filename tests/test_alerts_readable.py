"""The alerts screen reads like a sentence (values by unit, deviations per rule, owners, age
since the breach began), and acknowledging or snoozing cannot happen by accident.

Pilot tests press real keys against a copy of the seeded demo store, with the clock fixed at
2026-11-27 09:30 (the demo's planted deviations are hand-checked below); unit tests cover the
pure helpers in :mod:`intelligentos.domain.alerts`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable, Static

from intelligentos.config.paths import builtin_catalog_dir
from intelligentos.domain import alerts as lifecycle
from intelligentos.domain.alerts import Alert, LifecycleError, State, open_alert
from intelligentos.domain.detection import Finding, Rule, Severity
from intelligentos.services.catalog import load_catalog
from intelligentos.services.check import acknowledge_alert
from intelligentos.store import Store
from intelligentos.tui.screens.alerts import AlertsScreen
from intelligentos.tui.screens.dialogs import EventsDialog, PromptDialog
from intelligentos.tui.widgets.incident_table import CHILD, incident_key

from .tui_helpers import FIXED_NOW, make_app, open_alerts, select_alert, settle

IMPORTANT = {"severity", "id", "subject", "rule", "state", "value", "age"}


def find(app, kpi_id: str | None, rule: str, system_id: str | None = None) -> Alert:
    return next(
        a
        for a in app.screen.shown.values()
        if (a.kpi_id, a.system_id, a.rule) == (kpi_id, system_id, rule)
    )


def cell(app, alert: Alert, column: str) -> str:
    value = app.screen.query_one(DataTable).get_cell(str(alert.id), column)
    assert isinstance(value, Text), "a str cell would be parsed as markup"
    return value.plain


def shown_lines(widget) -> list[str]:
    """What the widget paints right now, line by line (not what it holds)."""
    region = widget.region  # padding and border included: ``size`` is the content only
    strips: list[Strip] = widget.render_lines(Region(0, 0, region.width, region.height))
    return [strip.text for strip in strips]


def recorded_notices(app) -> list[str]:
    notices: list[str] = []
    notify = app.notify

    def recording(message, *args, **kwargs):
        notices.append(str(message) + " " + str(kwargs.get("title", "")))
        return notify(message, *args, **kwargs)

    app.notify = recording
    return notices


async def select(pilot, alert: Alert) -> None:
    await select_alert(pilot, alert.id)


def stored(path, alert_id: int) -> Alert:
    with Store.open(path) as store:
        found = store.alert(alert_id)
    assert found is not None
    return found


# --- the table reads as values, deviations, owners and ages ----------------------------


async def test_alerts_table_formats_values_by_unit_and_labels_each_deviation(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    # Wide enough for the longest owners cell beside the longest messages.
    async with app.run_test(size=(200, 40)) as pilot:
        await open_alerts(pilot)
        await pilot.press("asterisk")  # every incident's alerts
        await settle(pilot)
        margin = find(app, "gross_margin", "target")
        assert cell(app, margin, "id") == str(margin.id)
        assert cell(app, margin, "value") == "63.8%"
        assert cell(app, margin, "expected") == "72.0%"
        assert cell(app, margin, "deviation") == "11.4 % below target"
        assert cell(app, margin, "owner").startswith("CFO Agent")
        assert cell(app, margin, "message").startswith("11.4% adverse to target")
        # Lower is better: the shortfall lies above the target.
        turnover = find(app, "turnover", "target")
        assert (cell(app, turnover, "value"), cell(app, turnover, "expected")) == ("14.1%", "12.0%")
        assert cell(app, turnover, "deviation") == "17.5 % above target"
        assert cell(app, find(app, "win_rate", "drift"), "deviation") == "29.2 σ below centre"
        assert cell(app, find(app, "win_rate", "drift"), "expected") == "27.2%"
        anomaly = find(app, "mql_to_sql", "anomaly")
        assert cell(app, anomaly, "deviation") == "11.5 σ below median"
        assert cell(app, anomaly, "expected") == "29.7%"
        assert cell(app, find(app, "pipeline_coverage", "anomaly"), "value") == "2.37×"
        # Its last value covers August; September and October are due, November still runs.
        assert cell(app, find(app, "brand_health", "stale"), "deviation") == "2 periods late"
        source = find(app, None, "stale-source", "social_listening")
        assert cell(app, source, "deviation") == "4 KPIs stale"
        assert cell(app, source, "value") == "—"
        # The agents of the fed KPIs own a stale source.
        assert "CMO Agent" in cell(app, source, "owner") and "CEO Agent" in cell(
            app, source, "owner"
        )
        for alert in app.screen.shown.values():
            assert cell(app, alert, "owner").strip(), alert
            assert cell(app, alert, "deviation").strip(), alert


async def test_age_counts_from_when_the_breach_began(demo_store, tmp_path):
    """Every demo alert opened at 09:30 today; their breaches are older than that."""
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(160, 40)) as pilot:
        await open_alerts(pilot)
        await pilot.press("asterisk")  # every incident's alerts
        await settle(pilot)
        # The monthly observation of 2026-11-01 breached: 26 days ago.
        assert cell(app, find(app, "gross_margin", "target"), "age") == "26 d"
        # Stale since August's end (08-31) plus its limit of 60 d: 10-30, 28 d before 11-27.
        assert cell(app, find(app, "brand_health", "stale"), "age") == "28 d"
        # Weekly, last seen Monday 11-02: its week ended Sunday 11-08, overdue 14 days
        # later, since 11-22.
        assert cell(app, find(app, "earned_media_mentions", "stale"), "age") == "5 d"
        # Today's daily observation breached: as old as the period (midnight).
        assert cell(app, find(app, "mql_to_sql", "target"), "age") == "10 h"
        # A source is stale since the last of its KPIs went stale (earned media mentions).
        assert cell(app, find(app, None, "stale-source", "social_listening"), "age") == "5 d"


async def test_a_stale_source_and_the_stale_kpis_under_it_are_one_incident(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_alerts(pilot)
        table = screen.query_one(DataTable)
        source = find(app, None, "stale-source", "social_listening")
        incident = next(i for i in screen.incidents if i.group == "system:social_listening")
        # The source's alert and the 4 stale KPIs it feeds: 5 alerts, shown collapsed.
        assert {a.id for a in incident.alerts} == {
            source.id,
            *(a.id for a in screen.shown.values() if a.parent_alert_id == source.id),
        }
        assert len(incident.alerts) == 5
        key = incident_key(incident)
        assert table.get_cell(key, "subject").plain == "▸ Brandwatch (5 alerts)"
        assert str(source.id) not in table.rows
        table.move_cursor(row=table.get_row_index(key), animate=False)
        await pilot.press("space")
        await settle(pilot)
        index = table.get_row_index(key)
        assert table.get_cell(key, "subject").plain.startswith("▾ ")
        following = [
            str(table.coordinate_to_cell_key((index + 1 + n, 0)).row_key.value) for n in range(5)
        ]
        assert set(following) == {str(a.id) for a in incident.alerts}
        for alert in incident.alerts:
            assert cell(app, alert, "subject").startswith(CHILD)
        # Space again (or ←): folded, the cursor back on the incident.
        await pilot.press("left")
        await settle(pilot)
        assert str(source.id) not in table.rows
        assert screen.selected_incident() == incident


async def test_80_columns_keep_the_important_columns_and_cut_text(demo_store, tmp_path):
    # Another tool's alert: a rule name the cockpit does not know, a long message.
    conn = sqlite3.connect(demo_store)
    conn.execute(
        "INSERT INTO alerts (kpi_id, rule, severity, state, opened_at, updated_at, message, "
        "value, deviation) VALUES ('budget_variance', 'a-rule-another-tool-wrote', 'critical', "
        "'firing', '2026-11-27T09:00:00Z', '2026-11-27T09:00:00Z', ?, 1.5, 2)",
        ("[b]long[/b] " * 20,),
    )
    conn.commit()
    conn.close()
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_alerts(pilot)
        table = screen.query_one(DataTable)
        keys = {str(key.value) for key in table.columns}
        assert keys >= IMPORTANT
        # Nothing hides off-screen to the right.
        assert table.virtual_size.width <= table.scrollable_content_region.width
        long = next(a for a in screen.shown.values() if a.rule.startswith("a-rule"))
        # The selected alert's whole message is under the table.
        await select(pilot, long)
        subject = cell(app, long, "subject")
        assert subject.startswith(CHILD + "Budget Variance") and subject.endswith("…")
        assert cell(app, long, "rule").endswith("…")
        detail = screen.query_one("#alerts-detail", Static)
        text = "".join(shown_lines(detail)).replace(" ", "")
        assert ("[b]long[/b]" * 20) in text
        assert str(long.id) in text
        margin = find(app, "gross_margin", "target")
        await select(pilot, margin)
        detail_text = " ".join(" ".join(shown_lines(detail)).split())
        assert "11.4 % below target" in detail_text and "CFO Agent" in detail_text


# --- keys: a opens alerts, A acknowledges --------------------------------------------------


async def test_a_a_enter_on_the_dashboard_acknowledges_nothing(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_alerts(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AlertsScreen)  # `a` still means the alerts screen
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, PromptDialog)
    with Store.open(demo_store) as store:
        assert all(a.state is State.FIRING for a in store.open_alerts())


async def test_shift_a_acknowledges_and_the_dialog_names_the_rule(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_alerts(pilot)
        margin = find(app, "gross_margin", "target")
        await select(pilot, margin)
        await pilot.press("A")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, PromptDialog)
        title = " ".join(shown_lines(dialog.query(Static).first()))
        assert "Acknowledge Gross Margin % · target" in title
        await pilot.press(*"known: price change", "enter")
        await settle(pilot)
        assert screen.is_current
        await select(pilot, margin)
        assert cell(app, margin, "state") == "acknowledged"
        assert cell(app, margin, "ack").startswith("tester: known")
        detail = " ".join(" ".join(shown_lines(screen.query_one("#alerts-detail"))).split())
        assert "acknowledged by tester: known: price change" in detail
    assert stored(demo_store, margin.id).ack_note == "known: price change"


@pytest.mark.parametrize("note", ["", "   ", "\t"])
async def test_a_blank_note_is_refused_and_the_dialog_stays(demo_store, tmp_path, note):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_alerts(pilot)
        first = screen.selected()
        await pilot.press("A")
        await pilot.pause()
        app.screen.query_one("#answer").value = note
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PromptDialog)
        error = " ".join(shown_lines(app.screen.query_one("#error", Static)))
        assert "note" in error
        await pilot.press("escape")
        await settle(pilot)
    assert stored(demo_store, first.id).state is State.FIRING


async def test_snoozing_a_firing_alert_is_refused_before_asking_how_long(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    notices = recorded_notices(app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_alerts(pilot)
        first = screen.selected()
        assert first.state is State.FIRING
        await pilot.press("s")
        await pilot.pause()
        assert not isinstance(app.screen, PromptDialog)
        assert any("acknowledge it" in n for n in notices), notices
    assert stored(demo_store, first.id).state is State.FIRING


async def test_a_snooze_longer_than_30_days_is_refused_in_the_dialog(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_alerts(pilot)
        first = screen.selected()
        await pilot.press("A", *"mine", "enter")
        await settle(pilot)
        await select(pilot, first)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        app.screen.query_one("#answer").value = "31d"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PromptDialog)
        assert "30 days" in " ".join(shown_lines(app.screen.query_one("#error", Static)))
        app.screen.query_one("#answer").value = "30d"
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, PromptDialog)
    assert stored(demo_store, first.id).state is State.SNOOZED


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_history_dialog_shows_a_long_note_whole(demo_store, tmp_path, size):
    words = [f"w{i:03d}" for i in range(40)]
    note = " ".join(words)  # 199 characters
    assert len(note) >= 199
    with Store.open(demo_store) as store:
        catalog = store.read_catalog()
        from intelligentos.services.check import evaluate_store

        evaluate_store(store, catalog, FIXED_NOW)
        target = next(
            a for a in store.open_alerts() if a.kpi_id == "gross_margin" and a.rule == "target"
        )
        acknowledge_alert(store, target.id, "ana", note, FIXED_NOW)
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=size) as pilot:
        await open_alerts(pilot)
        await select(pilot, find(app, "gross_margin", "target"))
        await pilot.press("e")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, EventsDialog)
        table = dialog.query_one(DataTable)
        # Rows grow taller instead of running off to the right; on a small terminal the
        # table scrolls down to the rest.
        assert table.virtual_size.width <= table.scrollable_content_region.width
        painted = []
        for y in range(0, table.virtual_size.height + 1, max(table.size.height - 2, 1)):
            table.scroll_to(y=y, animate=False)
            await pilot.pause()
            painted += shown_lines(table)
        text = " ".join(painted)
        missing = [w for w in words if w not in text]
        assert not missing, text
        assert "63.8%" in text  # values by the KPI's unit
        assert "ana" in text


# --- the pure helpers ----------------------------------------------------------------------

NOW = datetime(2026, 11, 27, 9, 30)
CATALOG = load_catalog(builtin_catalog_dir())


def alert_of(rule: Rule, kpi_id: str | None, value, expected, deviation, period, **kw) -> Alert:
    finding = Finding(rule, Severity.WARNING, value, expected, deviation, "m", period)
    alert, _ = open_alert(finding, NOW, kpi_id=kpi_id, **kw)
    return replace(alert, id=7)


@pytest.mark.parametrize(
    ("rule", "kpi_id", "value", "expected", "deviation", "text"),
    [
        (Rule.TARGET, "gross_margin", 63.79, 72.0, 0.114, "11.4 % below target"),
        (Rule.TARGET, "turnover", 14.1, 12.0, 0.175, "17.5 % above target"),
        (Rule.ANOMALY, "win_rate", 18.4, 28.8, -16.52, "16.5 σ below median"),
        (Rule.ANOMALY, "turnover", 19.0, 12.0, None, "∞ σ above median"),
        (Rule.DRIFT, "gross_margin", 63.79, 68.73, 7.61, "7.6 σ below centre"),
        (Rule.STALE, "brand_health", 63.9, None, 118.0, "3 periods late"),
        (Rule.STALE, "earned_media_mentions", 12.0, None, 8.0, "1 period late"),
        (Rule.STALE, "mql_to_sql", 16.5, None, 12.0, "12 d without data"),
        (Rule.STALE_SOURCE, None, None, None, 1.0, "1 KPI stale"),
        (Rule.FORECAST, "revenue_growth", 35.0, 40.0, 0.125, "projected 12.5 % below target"),
    ],
)
def test_deviation_text_per_rule(rule, kpi_id, value, expected, deviation, text):
    kw = {} if kpi_id else {"system_id": "crm"}
    alert = alert_of(rule, kpi_id, value, expected, deviation, "2026-11-01", **kw)
    kpi = CATALOG.kpis.get(kpi_id or "")
    assert lifecycle.deviation_text(alert, kpi) == text


def test_deviation_text_without_a_catalog_still_says_what_it_is():
    alert = alert_of(Rule.TARGET, "gone", 5.0, 10.0, 0.5, "2026-11-01")
    assert lifecycle.deviation_text(alert, None) == "50.0 % below target"
    assert lifecycle.value_text(alert, None) == "5"
    odd = replace(alert, rule="[b]custom", deviation=1.23456)
    assert lifecycle.deviation_text(odd, None) == "1.23"
    assert lifecycle.deviation_text(replace(alert, deviation=None), None) == "—"


def test_owner_is_never_blank():
    win = alert_of(Rule.TARGET, "win_rate", 18.0, 28.0, 0.3, "2026-11-23")
    assert lifecycle.owner_name(win, CATALOG) == CATALOG.agents["cro"].name
    source = alert_of(Rule.STALE_SOURCE, None, None, None, 2.0, None, system_id="crm")
    owners = lifecycle.owner_name(source, CATALOG, ["win_rate", "brand_health", "win_rate"])
    assert owners == f"{CATALOG.agents['cro'].name}, {CATALOG.agents['ceo'].name}"
    assert lifecycle.owner_name(source, CATALOG, []) == "unassigned"
    assert lifecycle.owner_name(replace(win, kpi_id="gone"), CATALOG) == "unassigned"


def test_breach_start_is_the_triggering_period_unless_opened_earlier():
    monthly = alert_of(Rule.TARGET, "gross_margin", 63.0, 72.0, 0.12, "2026-11-01")
    assert lifecycle.breach_start(monthly, CATALOG.kpis["gross_margin"]) == datetime(2026, 11, 1)
    later = replace(monthly, period="2026-12-01")
    assert lifecycle.breach_start(later, CATALOG.kpis["gross_margin"]) == NOW
    zoned = replace(monthly, period="2026-11-27T08:00:00+02:00")
    assert lifecycle.breach_start(zoned, None) == datetime(2026, 11, 27, 6, 0)
    stale = alert_of(Rule.STALE, "brand_health", 63.9, None, 118.0, "2026-08-01")
    # Overdue from the end of the month it covers (08-31) plus its limit of 60 d.
    assert lifecycle.breach_start(stale, CATALOG.kpis["brand_health"]) == datetime(2026, 10, 30)
    source = alert_of(Rule.STALE_SOURCE, None, None, None, 2.0, None, system_id="crm")
    assert lifecycle.breach_start(source, None) == NOW
    grouped = [datetime(2026, 9, 30), None, datetime(2026, 11, 16)]
    assert lifecycle.breach_start(source, None, grouped) == datetime(2026, 11, 16)
    garbage = replace(monthly, period="last tuesday")
    assert lifecycle.breach_start(garbage, None) == NOW
    assert lifecycle.breach_start(replace(garbage, opened_at="soon"), None) is None


@pytest.mark.parametrize("note", ["", "  ", "\t\n", "\u200b"])
def test_acknowledge_refuses_a_blank_note(note):
    alert = alert_of(Rule.TARGET, "win_rate", 18.0, 28.0, 0.3, "2026-11-23")
    with pytest.raises(LifecycleError, match="note"):
        lifecycle.acknowledge(alert, "ana", note, NOW)
    with pytest.raises(ValueError, match="note"):
        lifecycle.check_note(note)
    assert lifecycle.check_note(" known ") == " known "


@pytest.mark.parametrize("text", ["31d", "5w", "745h", "44641m"])
def test_a_snooze_lasts_at_most_30_days(text):
    with pytest.raises(ValueError, match="at most 30 days"):
        lifecycle.parse_duration(text)


def test_30_days_is_the_longest_snooze_and_the_transition_checks_it_too():
    assert lifecycle.parse_duration("30d") == timedelta(days=30)
    firing = alert_of(Rule.TARGET, "win_rate", 18.0, 28.0, 0.3, "2026-11-23")
    acked, _ = lifecycle.acknowledge(firing, "ana", "on it", NOW)
    with pytest.raises(LifecycleError, match="at most 30 days"):
        lifecycle.snooze(acked, timedelta(days=31), "ana", None, NOW)
    assert lifecycle.snooze_refusal(acked) is None
    assert "acknowledge it" in (lifecycle.snooze_refusal(firing) or "")
