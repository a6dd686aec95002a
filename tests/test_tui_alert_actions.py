"""Pilot tests of who did what on the alerts screen: take back (u), note (n), assign (w) and
resolve (r), on an incident's alerts or on one alert, each an event in the log with the
acting user ("tester") and the note.

The demo store at 2026-11-27 09:30 (see tests/test_tui_incidents.py): incident 7 is MQL→SQL
Conversion with 3 firing alerts (target, anomaly, drift); Gross Margin % has 1.
"""

from __future__ import annotations

from textual.widgets import DataTable, Input, OptionList, Static

from intelligentos.domain.alerts import State
from intelligentos.store import Store
from intelligentos.tui.screens.alert_actions import AgentPicker
from intelligentos.tui.screens.dialogs import PromptDialog
from intelligentos.tui.widgets.incident_table import incident_key

from .tui_helpers import make_app, open_alerts, settle, wait_until

SIZE = (160, 48)


async def select_incident(pilot, group: str):
    screen = pilot.app.screen
    incident = next(i for i in screen.incidents if i.group == group)
    table = screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(incident_key(incident)), animate=False)
    await pilot.pause()
    return incident


def dialog_title(app) -> str:
    return str(app.screen.query(Static).first().render())


def events_of(path, kpi_id: str) -> dict[str, list[tuple[str, str, str | None]]]:
    """Each alert's log of the KPI, by rule: (action, actor, note)."""
    with Store.open(path) as store:
        return {
            a.rule: [(e.action, e.actor, e.note) for e in store.alert_events(a.id)]
            for a in store.alerts()
            if a.kpi_id == kpi_id
        }


def states_of(path, kpi_id: str) -> dict[str, State]:
    with Store.open(path) as store:
        return {a.rule: a.state for a in store.alerts() if a.kpi_id == kpi_id}


async def test_u_takes_back_an_incidents_acknowledgement_with_a_note(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        mql = await select_incident(pilot, "kpi:mql_to_sql")
        # Nothing acknowledged yet: nothing to take back, no dialog.
        await pilot.press("u")
        await pilot.pause()
        assert app.screen is screen
        assert any("Nothing to be taken back" in n.message for n in app.notices)
        await pilot.press("A", *"mine", "enter")
        await settle(pilot)
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        assert "Take back MQL→SQL Conversion · target, anomaly, drift  (3 alerts)" in (
            dialog_title(app)
        )
        await pilot.press("enter")  # a blank note is refused
        await pilot.pause()
        assert "a note is required to take an acknowledgement back" in str(
            app.screen.query_one("#error", Static).render()
        )
        await pilot.press(*"not mine: handing back", "enter")
        await settle(pilot)
        table = screen.query_one(DataTable)
        await wait_until(
            pilot, lambda: table.get_cell(incident_key(mql), "state").plain == "firing"
        )
    assert states_of(demo_store, "mql_to_sql") == dict.fromkeys(
        ("target", "anomaly", "drift"), State.FIRING
    )
    for log in events_of(demo_store, "mql_to_sql").values():
        assert log[-1] == ("unacknowledge", "tester", "not mine: handing back")


async def test_n_adds_a_note_to_each_open_alert_of_the_incident(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await open_alerts(pilot)
        await select_incident(pilot, "kpi:mql_to_sql")
        await pilot.press("n")
        await pilot.pause()
        assert "Add a note to MQL→SQL Conversion" in dialog_title(app)
        await pilot.press(*"form broke on the 26th", "enter")
        await settle(pilot)
    logs = events_of(demo_store, "mql_to_sql")
    assert sorted(logs) == ["anomaly", "drift", "target"]
    for log in logs.values():
        assert log[-1] == ("note", "tester", "form broke on the 26th")
    # A note changes no state.
    assert set(states_of(demo_store, "mql_to_sql").values()) == {State.FIRING}


async def test_w_assigns_the_incident_to_an_agent_picked_from_the_list(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        await select_incident(pilot, "kpi:gross_margin")
        await pilot.press("w")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, AgentPicker)
        assert "Assign Gross Margin % · target" in dialog_title(app)
        options = picker.query_one(OptionList)
        # The catalog's agents in its order: ceo, cpo, cmo, cro, cco, cdo, ...: cdo is the 6th.
        assert options.get_option_at_index(5).id == "cdo"
        options.highlighted = 5
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        await wait_until(
            pilot,
            lambda: "assigned to CDO Agent" in str(screen.query_one("#alerts-detail").render()),
        )
        # The filter finds it by its assignee.
        await pilot.press("slash", *"cdo")
        await settle(pilot)
        assert screen.query_one(DataTable).row_count == 1
        assert screen.selected().kpi_id == "gross_margin"
    with Store.open(demo_store) as store:
        [margin] = [a for a in store.alerts() if a.kpi_id == "gross_margin"]
    assert margin.assignee == "cdo"


async def test_escape_in_the_agent_list_assigns_nobody(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        await select_incident(pilot, "kpi:gross_margin")
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, AgentPicker)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
    with Store.open(demo_store) as store:
        assert all(a.assignee is None for a in store.alerts())


async def test_r_on_an_expanded_alert_resolves_that_alert_with_a_note(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        mql = await select_incident(pilot, "kpi:mql_to_sql")
        anomaly = next(a for a in mql.alerts if a.rule == "anomaly")
        await pilot.press("space")
        await settle(pilot)
        table = screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(str(anomaly.id)), animate=False)
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        assert "Resolve MQL→SQL Conversion · anomaly" in dialog_title(app)
        app.screen.query_one("#answer", Input).value = "false alarm: a test import"
        await pilot.press("enter")
        await settle(pilot)
        # Gone from the open alerts of its incident, which stays open with the other two (the
        # next evaluation may open a new anomaly alert if the condition still holds: a
        # resolved alert never reopens).
        await wait_until(pilot, lambda: str(anomaly.id) not in table.rows)
        assert incident_key(mql) in table.rows
    with Store.open(demo_store) as store:
        resolved = store.alert(anomaly.id)
        log = [(e.action, e.actor, e.note) for e in store.alert_events(anomaly.id)]
        others = {a.rule: store.alert(a.id).state for a in mql.alerts if a.id != anomaly.id}
    assert resolved.state is State.RESOLVED
    assert log[-1] == ("resolve", "tester", "false alarm: a test import")
    assert others == {
        "target": State.FIRING,
        "drift": State.FIRING,
    }


async def test_r_on_an_incident_resolves_its_open_alerts(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        table = screen.query_one(DataTable)
        mql = await select_incident(pilot, "kpi:mql_to_sql")
        await pilot.press("r")
        # The note is typed into the dialog once it is up (on a loaded machine a key typed
        # before would reach the alerts screen: f, x, o and r are its keys).
        await wait_until(pilot, lambda: isinstance(app.screen, PromptDialog))
        await pilot.press(*"fixed the form", "enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, PromptDialog))
        await settle(pilot)
        # Resolved: no longer among the open incidents (if the data still breach, the next
        # evaluation opens a new one).
        await wait_until(pilot, lambda: incident_key(mql) not in table.rows)
    with Store.open(demo_store) as store:
        states = {store.alert(a.id).state for a in mql.alerts}
    assert states == {State.RESOLVED}
