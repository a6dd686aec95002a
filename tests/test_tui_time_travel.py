"""Time travel in the cockpit: `<` steps the as-of date back a week, `>` forward, `{` `}` a
day, `L` returns to live. While viewing the past nothing is written."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

from textual.widgets import Static

from intelligentos.domain.alerts import State
from intelligentos.services.check import evaluate_store
from intelligentos.store import Store
from intelligentos.tui.messages import DataLoaded
from intelligentos.tui.screens.dialogs import PromptDialog
from intelligentos.tui.screens.whatif import ScenarioScreen
from intelligentos.tui.widgets.header import CockpitHeader
from intelligentos.tui.widgets.kpi_table import KpiTable

from .tui_helpers import FIXED_NOW, make_app, settle

SIZE = (120, 40)
WEEK_AGO = date(2026, 11, 20)


def opened_a_week_earlier(path: Path) -> int:
    """Alerts first opened on 2026-11-18 (as a cockpit running then would have): they
    exist as of the 20th. The number of events logged."""
    with Store.open(path) as store:
        evaluate_store(store, store.read_catalog(), datetime(2026, 11, 18, 9, 0))
        return len(store.alert_events())


def header(app) -> str:
    return app.screen.query_one(CockpitHeader).render().plain


async def test_stepping_back_a_week_shows_that_day_and_refuses_writes(demo_store, tmp_path):
    opened_a_week_earlier(demo_store)
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        live = app.data
        assert live is not None and live.past is None
        assert "as of 2026-11-27  ·" in header(app) and "(past)" not in header(app)
        assert live.snaps["mql_to_sql"].period == "2026-11-27"

        await pilot.press("less_than_sign")
        await settle(pilot)
        data = app.data
        assert data is not None and data.past == WEEK_AGO and data.as_of == WEEK_AGO
        assert "as of 2026-11-20 (past)" in header(app)
        # The header shows the date in the theme's warning colour.
        text = app.screen.query_one(CockpitHeader).render()
        start = text.plain.index("as of 2026-11-20")
        styles = [str(s.style) for s in text.spans if s.start <= start < s.end]
        assert any(app.current_theme.warning.lower() in s.lower() for s in styles), styles
        # Values as of the 20th: the collapse planted on the 27th is not there yet.
        snap = data.snaps["mql_to_sql"]
        assert snap.period == "2026-11-20" and snap.status.value == "ok"
        assert snap.latest != live.snaps["mql_to_sql"].latest
        row = app.screen.query_one("#table-growth", KpiTable).get_row("mql_to_sql")
        assert snap.value_text in "".join(str(cell) for cell in row)
        # Alerts as they stood then: the ones opened on the 18th, all firing, none later.
        assert data.open_alerts and all(a.opened_at < "2026-11-19" for a in data.open_alerts)
        assert {a.state for a in data.open_alerts} == {State.FIRING}
        assert app.attention_count == len(data.attention)

        with Store.open(demo_store) as store:
            events_before = len(store.alert_events())
        app.screen.query_one("#table-growth", KpiTable).focus()
        await pilot.pause()
        await pilot.press("A")
        await settle(pilot)
        assert not isinstance(app.screen, PromptDialog)
        messages = [n.message for n in app.notices]
        assert any(m.startswith("Not acknowledged: the cockpit shows 2026-11-20") for m in messages)
        with Store.open(demo_store) as store:
            assert len(store.alert_events()) == events_before
            assert not [a for a in store.alerts() if a.state is State.ACKNOWLEDGED]

        await pilot.press("L")
        await settle(pilot)
        assert app.data is not None and app.data.past is None
        assert "as of 2026-11-27  ·" in header(app) and "(past)" not in header(app)
        assert app.data.snaps["mql_to_sql"].period == "2026-11-27"


async def test_days_and_weeks_step_and_forward_past_today_is_live(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("less_than_sign", "less_than_sign", "right_curly_bracket")
        await settle(pilot)
        assert app.services.fixed_as_of == date(2026, 11, 14)
        assert app.data is not None and app.data.past == date(2026, 11, 14)
        await pilot.press("left_curly_bracket", "greater_than_sign")
        await settle(pilot)
        assert app.services.fixed_as_of == date(2026, 11, 20)
        await pilot.press("greater_than_sign")  # the 27th is today: live
        await settle(pilot)
        assert app.services.fixed_as_of is None
        assert app.data is not None and app.data.past is None


async def test_not_before_the_first_observation(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config", as_of=date(2024, 12, 1))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "as of 2024-12-01 (past)" in header(app)
        await pilot.press("less_than_sign")
        await settle(pilot)
        assert app.services.fixed_as_of == date(2024, 11, 28)  # the first observation
        await pilot.press("less_than_sign")
        await settle(pilot)
        assert app.services.fixed_as_of == date(2024, 11, 28)
        assert any(n.message == "No data before 2024-11-28." for n in app.notices)


async def test_launched_as_of_today_is_live(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config", as_of=FIXED_NOW.date())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.services.fixed_as_of is None and "(past)" not in header(app)


async def test_data_for_another_as_of_arriving_late_is_dropped(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        live = app.data
        assert live is not None
        await pilot.press("less_than_sign")
        await settle(pilot)
        past = app.data
        assert past is not None and past.past == WEEK_AGO
        # A live read that started before the step, arriving after it (even numbered later).
        app.post_message(DataLoaded(replace(live, past=None), app.refresher.requests + 5))
        await settle(pilot)
        assert app.data is past


async def test_the_scenario_screen_does_not_save_in_the_past(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("less_than_sign")
        await settle(pilot)
        app.navigator.scenario("win_rate")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ScenarioScreen)
        # The lever it starts with is simulated a moment later (as after typing); its verdict
        # would replace the one under test.
        for _ in range(200):
            if screen.typing_timer is None:
                break
            await pilot.pause(0.05)
        await settle(pilot)
        screen.action_save()
        await pilot.pause()
        assert not isinstance(app.screen, PromptDialog)
        message = str(screen.query_one("#scenario-message", Static).render())
        assert message.startswith("Not saved: the cockpit shows 2026-11-20")
    with Store.open(demo_store) as store:
        assert store.scenarios() == []


async def test_at_80_and_60_columns_the_past_is_the_last_thing_the_header_drops(
    demo_store, tmp_path
):
    """Launched with --as-of, then stepped back with `<`, at 80×24 and at 60 columns: the
    header gives up the product's name, the clock and the window before the past marker."""
    opened_a_week_earlier(demo_store)
    app = make_app(demo_store, tmp_path / "config", as_of=WEEK_AGO)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = header(app)
        assert "as of 2026-11-20 (past)" in shown, shown
        assert len(shown) <= 80
        assert demo_store.name in shown
        await pilot.press("less_than_sign")
        await settle(pilot)
        assert "as of 2026-11-13 (past)" in header(app), header(app)
        await pilot.resize_terminal(60, 24)
        await settle(pilot)
        shown = header(app)
        assert "as of 2026-11-13 (past)" in shown, shown
        assert len(shown) <= 60
        # Live again, the header is as it was: the live date gives way before the rest.
        await pilot.press("L")
        await settle(pilot)
        assert "(past)" not in header(app)


async def test_a_row_dated_after_today_is_not_the_latest_value_and_is_reported(
    demo_store, tmp_path
):
    # A measured KPI: a derived one's values are computed, not written around the importer.
    conn = sqlite3.connect(demo_store)
    [(period, value)] = conn.execute(
        "SELECT period, value FROM observations WHERE kpi_id = 'mql_quality' "
        "ORDER BY period DESC LIMIT 1"
    ).fetchall()
    assert period == FIXED_NOW.date().isoformat()
    conn.execute(
        "INSERT INTO observations (kpi_id, period, value) "
        "VALUES ('mql_quality', '2026-11-28', 77.7)"
    )
    conn.commit()
    conn.close()
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.data is not None and app.data.evaluated
        snap = app.data.snaps["mql_quality"]
        assert (snap.period, snap.latest) == (period, value)
        row = "".join(
            str(c) for c in app.screen.query_one("#table-growth", KpiTable).get_row("mql_quality")
        )
        assert snap.value_text in row and "77.7" not in row
        found = [n.message for n in app.notices if "dated after today" in n.message]
        assert len(found) == 1 and "mql_quality 2026-11-28" in found[0]
        assert "(2026-11-27)" in found[0]
