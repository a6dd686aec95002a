"""Pilot tests of alerts in the cockpit: flashing, acknowledging, snoozing, live refresh."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from textual.widgets import DataTable

from intelligentos.domain.alerts import State
from intelligentos.store import Store
from intelligentos.tui.screens import dashboard
from intelligentos.tui.screens.alerts import AlertsScreen
from intelligentos.tui.screens.dialogs import EventsDialog, PromptDialog
from intelligentos.tui.screens.lineage import LineageScreen
from intelligentos.tui.widgets.header import CockpitHeader
from intelligentos.tui.widgets.kpi_table import KpiTable

from .tui_helpers import (
    FIXED_NOW,
    insert_from_another_process,
    make_app,
    open_alerts,
    select_alert,
    settle,
)

SIZE = (120, 40)


class MovableClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def stored_alerts(path: Path, kpi_id: str):
    with Store.open(path) as store:
        return [a for a in store.alerts() if a.kpi_id == kpi_id]


async def select_row(pilot, engine: str, kpi_id: str) -> KpiTable:
    table = pilot.app.screen.query_one(f"#table-{engine}", KpiTable)
    table.focus()
    await pilot.pause()
    while table.selected_kpi_id() != kpi_id:
        await pilot.press("down")
    return table


async def test_firing_alerts_flash_rows_panels_and_header(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert {"win_rate", "gross_margin", "mql_to_sql", "turnover"} <= app.flashing_kpis
        # Grouped under the stale social-listening source: shown there, not flashing.
        assert "share_of_voice" not in app.flashing_kpis
        growth = app.screen.query_one("#panel-growth")
        assert growth.has_class("-alerting")
        assert not app.screen.query_one("#panel-brand").has_class("-alerting")
        name = app.screen.query_one("#table-growth", KpiTable).get_row("win_rate")[1]
        assert any("reverse" in str(span.style) for span in name.spans)  # steady highlight
        header = app.screen.query_one(CockpitHeader).render().plain
        assert f"⚑ {len(app.data.attention)} unacknowledged" in header
        assert app.screen.query_one("#ceo-gross_margin").has_class("-alerting")


async def test_new_alerts_pulse_then_settle_on_a_steady_highlight(
    demo_store, tmp_path, monkeypatch
):
    monkeypatch.setattr(dashboard, "PULSE_SECONDS", 0.05)  # beats come quickly
    app = make_app(demo_store, tmp_path / "config")
    app.animation_level = "full"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        growth = app.screen.query_one("#panel-growth")
        table = app.screen.query_one("#table-growth", KpiTable)

        # A row in view: the beat redraws only those (one out of view keeps the phase it
        # was drawn in until it is redrawn).
        assert table.selected_kpi_id() == "mql_to_sql" and "mql_to_sql" in app.flashing_kpis

        def beat() -> tuple[bool, bool]:
            name = table.get_row("mql_to_sql")[1]
            return (
                "reverse" in growth.border_title,  # the title reads back as markup
                any("reverse" in str(span.style) for span in name.spans),
            )

        async def beats_until(done) -> set[tuple[bool, bool]]:
            seen = {beat()}
            for _ in range(400):  # ample for a loaded machine that skips beats
                if done(seen):
                    break
                await pilot.pause(0.02)
                seen.add(beat())
            return seen

        assert len(await beats_until(lambda seen: len(seen) == 2)) == 2  # it pulsed
        assert "mql_to_sql" in app.pulsing_kpis()
        announcer = app.alerts.announcer
        now = announcer.clock()
        announcer.clock = lambda: now + announcer.flash_seconds  # the pulse is over
        assert app.pulsing_kpis() == set()
        await beats_until(lambda seen: beat() == (True, True))
        # Settled, highlighted: the next beats change nothing.
        steady = set()
        for _ in range(3):
            await pilot.pause(0.1)  # two beats
            steady.add(beat())
        assert steady == {(True, True)}
        assert app.pulsing_kpis() == set() and "mql_to_sql" in app.flashing_kpis


async def test_acknowledge_from_a_dashboard_row_stops_the_flash_and_persists(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_row(pilot, "growth", "win_rate")
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        await pilot.press(*"known: CRM migration", "enter")
        await settle(pilot)
        assert "win_rate" not in app.flashing_kpis
    alerts = stored_alerts(demo_store, "win_rate")
    assert alerts and all(a.state is State.ACKNOWLEDGED for a in alerts)
    assert {(a.acked_by, a.ack_note) for a in alerts} == {("tester", "known: CRM migration")}


async def test_acknowledge_from_the_alerts_screen_with_a_markup_note(demo_store, tmp_path):
    note = "[b]known[/b] \x1b[31m"
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        first = screen.selected()
        assert first.needs_attention
        await pilot.press("A")
        await pilot.pause()
        app.screen.query_one("#answer").value = note
        await pilot.press("enter")
        await settle(pilot)
        assert screen.selected().id == first.id
        assert "[b]known[/b] \\x1b[31m" in str(screen.query_one("#alerts-detail").render())
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, EventsDialog)
        events = app.screen.query_one(DataTable)
        assert [str(events.get_row_at(i)[2]) for i in range(events.row_count)] == [
            "open",
            "acknowledge",
        ]
        await pilot.press("escape")
    with Store.open(demo_store) as store:
        stored = store.alert(first.id)
    assert stored.state is State.ACKNOWLEDGED and stored.ack_note == note


async def test_snooze_expiry_refires(demo_store, tmp_path):
    clock = MovableClock(FIXED_NOW)
    app = make_app(demo_store, tmp_path / "config")
    app.clock = clock
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_row(pilot, "people", "turnover")
        await pilot.press("A")
        await pilot.pause()
        await pilot.press(*"on it", "enter")
        screen = await open_alerts(pilot)
        turnover = next(a for a in screen.shown.values() if a.kpi_id == "turnover")
        await select_alert(pilot, turnover.id)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        app.screen.query_one("#answer").value = "1h"
        await pilot.press("enter")
        await settle(pilot)
        assert stored_alerts(demo_store, "turnover")[0].state is State.SNOOZED
        assert "turnover" not in app.flashing_kpis
        clock.now = FIXED_NOW + timedelta(hours=2)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert stored_alerts(demo_store, "turnover")[0].state is State.FIRING
        assert "turnover" in app.flashing_kpis


async def test_alerts_screen_filters_states_and_opens_lineage(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        screen = app.screen
        assert screen.state_filter == "open" and screen.shown
        await pilot.press("f")
        await settle(pilot)
        assert screen.state_filter == "firing"
        assert all(a.state is State.FIRING for a in screen.shown.values())
        await pilot.press("f")
        await settle(pilot)
        assert screen.state_filter == "acknowledged" and not screen.shown
        while screen.state_filter != "open":
            await pilot.press("f")
            await settle(pilot)
        kpi_alert = screen.selected()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LineageScreen)
        assert app.screen.kpi_id == kpi_alert.kpi_id


CSAT_BREACH = [("csat", "2026-11-27T12:00:00", 55.0)]


async def test_insert_by_another_process_raises_the_alert_without_restart(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "csat" not in app.flashing_kpis
        insert_from_another_process(demo_store, CSAT_BREACH)
        for _ in range(40):
            await pilot.pause(0.1)
            if "csat" in app.flashing_kpis:
                break
        assert "csat" in app.flashing_kpis
        assert app.data.snaps["csat"].latest == 55.0
        await settle(pilot)  # the panel is repainted on the next refresh
        assert app.screen.query_one("#panel-retention").has_class("-alerting")


async def test_pause_holds_live_refresh_until_resumed(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("p")
        assert app.paused
        assert "paused" in app.screen.query_one(CockpitHeader).render().plain
        insert_from_another_process(demo_store, CSAT_BREACH)
        await pilot.pause(1.0)
        await settle(pilot)
        assert "csat" not in app.flashing_kpis
        await pilot.press("p")
        await settle(pilot)
        assert "csat" in app.flashing_kpis


async def test_an_open_lineage_follows_a_change_by_another_process(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.navigator.open_lineage("csat")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LineageScreen)
        tree = screen.query_one("#lineage-tree")
        tree.root.children[0].collapse()  # the user's fold survives the refresh
        await pilot.pause()
        insert_from_another_process(demo_store, CSAT_BREACH)
        for _ in range(50):
            await pilot.pause(0.1)
            if screen.history and screen.history[-1] == ("2026-11-27T12:00:00", 55.0):
                break
        assert screen.history[-1] == ("2026-11-27T12:00:00", 55.0)
        assert "55.0%" in str(screen.query_one("#details-text").render())
        assert "■" in tree.root.label.plain  # critical now, in the tree as well
        assert not tree.root.children[0].is_expanded


async def test_alert_rows_written_by_other_tools_are_shown_literally(demo_store, tmp_path):
    """The alerts and event tables are public: markup in them is text, never styling."""
    import sqlite3

    conn = sqlite3.connect(demo_store)
    cursor = conn.execute(
        "INSERT INTO alerts (kpi_id, rule, severity, state, opened_at, updated_at, message) "
        "VALUES ('csat', '[/bold]', 'warning', 'firing', '2026-11-27T09:00:00Z', "
        "'2026-11-27T09:00:00Z', '[link=x]m[/link]')"
    )
    conn.execute(
        "INSERT INTO alert_events (alert_id, at, actor, action, to_state, note) "
        "VALUES (?, '2026-11-27T09:00:00Z', '[b]bot', '[/i]open', 'firing', '[red]n')",
        (cursor.lastrowid,),
    )
    conn.commit()
    conn.close()
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        table = screen.query_one(DataTable)
        row = next(r for r in screen.shown.values() if r.rule == "[/bold]")
        await select_alert(pilot, row.id)
        assert table.get_cell(str(row.id), "rule").plain == "[/bold]"
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, EventsDialog)
        events = app.screen.query_one(DataTable)
        cells = [c.plain for c in events.get_row_at(0)]
        assert cells[1:3] == ["[b]bot", "[/i]open"] and cells[-1] == "[red]n"


async def test_every_screen_shows_the_same_header_counts_after_an_acknowledgement(
    demo_store, tmp_path
):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = len(app.data.attention)
        await select_row(pilot, "people", "turnover")
        await pilot.press("A")
        await pilot.pause()
        await pilot.press(*"on it", "enter")
        await settle(pilot)
        expected = f"⚑ {before - 1} unacknowledged"
        assert len(app.data.attention) == before - 1
        assert expected in app.screen.query_one(CockpitHeader).render().plain
        await pilot.press("a")
        await settle(pilot)
        assert expected in app.screen.query_one(CockpitHeader).render().plain
        await pilot.press("escape", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LineageScreen)
        assert expected in app.screen.query_one(CockpitHeader).render().plain
        await pilot.press("p")
        assert "paused" in app.screen.query_one(CockpitHeader).render().plain


CSAT_FROM_THE_FUTURE = [("csat", "2026-11-29", 91.0)]


async def test_an_observation_dated_after_the_as_of_date_is_flagged(demo_store, tmp_path):
    insert_from_another_process(demo_store, CSAT_FROM_THE_FUTURE)
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # Not the latest value (that is the week of the 23rd), but never silent.
        snap = app.data.snaps["csat"]
        assert snap.period == "2026-11-23" and snap.latest != 91.0
        assert snap.freshness_text == (
            "updated today · a row dated 2 d after the as-of date is not counted"
        )
        await select_row(pilot, "retention", "csat")
        card = " ".join(str(app.screen.query_one("#selection").render()).split())
        assert "a row dated 2 d after the as-of date is not counted" in card
