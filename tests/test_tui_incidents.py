"""Pilot tests of the alerts screen's incidents: expanding, the `/` filter, sorting,
acknowledging and snoozing an incident, silencing one, and who was notified of it and why.

Against a copy of the seeded demo store, evaluated at 2026-11-27 09:30 (tests/tui_helpers):
13 open incidents, all firing, of 27 alerts. By hand, from the demo's planted breaches:

=====  ==========================  ========  =======  ====================================
 id    subject                     severity  alerts   rules
=====  ==========================  ========  =======  ====================================
  1    Brandwatch (stale source)   warning   5        stale-source + 4 KPIs' stale under it
  2    Revenue Growth Rate         warning   1        target
  3    Gross Margin %              critical  1        target
  4    Employee Turnover           warning   1        target
  5    Time to Hire                warning   1        drift
  6    IT Ticket Backlog           warning   1        drift
  7    MQL→SQL Conversion          critical  3        target, anomaly, drift
  8    Sales-Qualified Leads       critical  3        target, anomaly, drift
  9    Activation Rate             critical  1        drift
 10    New ARR                     warning   1        target
 11    Win Rate                    critical  3        target, anomaly, drift
 12    Pipeline Coverage           critical  3        target, anomaly, drift
 13    Sales Cycle Length          critical  3        target, anomaly, drift
=====  ==========================  ========  =======  ====================================

Unacknowledged: the 27 firing alerts but the 4 stale KPIs grouped under the stale source
(they flash with it): 27 − 4 = 23.
"""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import DataTable, Input, Static

from intelligentos.domain.alerts import State
from intelligentos.domain.clock import stamp
from intelligentos.domain.incidents import Incident
from intelligentos.domain.silences import Matcher
from intelligentos.store import Store
from intelligentos.tui.screens.dialogs import PromptDialog
from intelligentos.tui.screens.incident_dialogs import SilenceDialog
from intelligentos.tui.widgets.incident_table import incident_key

from .tui_helpers import FIXED_NOW, header_text, make_app, open_alerts, settle, wait_until

SIZE = (160, 48)
ALL = 13
UNACKNOWLEDGED = 23


def title(screen) -> str:
    return str(screen.query_one("#alerts-title", Static).render())


def incident_of(screen, group: str) -> Incident:
    return next(i for i in screen.incidents if i.group == group)


async def select_incident(pilot, group: str) -> Incident:
    screen = pilot.app.screen
    incident = incident_of(screen, group)
    table = screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(incident_key(incident)), animate=False)
    await pilot.pause()
    return incident


def incident_rows(screen) -> list[str]:
    """The subjects of the incident rows, top to bottom."""
    table = screen.query_one(DataTable)
    keys = [str(row.key.value) for row in table.ordered_rows]
    return [table.get_cell(k, "subject").plain[2:] for k in keys if k.startswith("incident-")]


def cells(screen, column: str) -> list[str]:
    table = screen.query_one(DataTable)
    return [
        table.get_cell(row.key, column).plain
        for row in table.ordered_rows
        if str(row.key.value).startswith("incident-")
    ]


def stored_of(path, kpi_id: str):
    with Store.open(path) as store:
        return [a for a in store.alerts() if a.kpi_id == kpi_id]


# --- incidents, expanded -----------------------------------------------------------------


async def test_incidents_are_listed_collapsed_and_expand_to_their_alerts(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        table = screen.query_one(DataTable)
        assert table.row_count == ALL
        assert f"Incidents: {ALL} of {ALL} (open)" in title(screen)
        mql = await select_incident(pilot, "kpi:mql_to_sql")
        assert table.get_cell(incident_key(mql), "subject").plain == (
            "▸ MQL→SQL Conversion (3 alerts)"
        )
        await pilot.press("right")
        await settle(pilot)
        assert table.row_count == ALL + 3
        index = table.get_row_index(incident_key(mql))
        below = [table.get_row_at(index + n)[3].plain for n in (1, 2, 3)]  # the rule column
        # Most severe first, then the oldest breach: the two critical ones, then the anomaly.
        assert sorted(below[:2]) == ["drift", "target"] and below[2] == "anomaly"
        # On an alert row, ← folds the incident and puts the cursor back on it.
        table.move_cursor(row=index + 2, animate=False)
        await pilot.pause()
        assert screen.selected().kpi_id == "mql_to_sql" and screen.selected() != mql.face
        await pilot.press("left")
        await settle(pilot)
        assert table.row_count == ALL
        assert screen.selected_incident() == mql
        # * shows every incident's alerts (27), then hides them all.
        await pilot.press("asterisk")
        await settle(pilot)
        assert table.row_count == ALL + 27
        await pilot.press("asterisk")
        await settle(pilot)
        assert table.row_count == ALL


# --- the / filter ----------------------------------------------------------------------------


async def test_slash_filters_by_subject_rule_owner_and_state_and_escape_clears(
    demo_store, tmp_path
):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        table = screen.query_one(DataTable)
        await pilot.press("slash")
        await pilot.pause()
        assert isinstance(app.focused, Input)
        await pilot.press(*"MARGIN")  # case does not matter
        await settle(pilot)
        assert incident_rows(screen) == ["Gross Margin %"]
        assert f"Incidents: 1 of {ALL} (open · matching “MARGIN”)" in title(screen)
        box = screen.query_one("#alerts-find", Input)
        box.value = "chro"  # the owner: CHRO Agent owns turnover and time to hire
        await settle(pilot)
        assert sorted(incident_rows(screen)) == ["Employee Turnover", "Time to Hire"]
        box.value = "drift"  # a rule: incidents 5, 6, 7, 8, 9, 11, 12, 13
        await settle(pilot)
        assert table.row_count == 8 and f"8 of {ALL}" in title(screen)
        box.value = "stale"  # the stale source's incident, by its alerts' rules
        await settle(pilot)
        assert incident_rows(screen) == ["Brandwatch (5 alerts)"]
        box.value = "firing"  # a state: every incident
        await settle(pilot)
        assert table.row_count == ALL
        box.value = "nothing like it"
        await settle(pilot)
        assert table.row_count == 0
        assert "Esc clears the filter" in str(screen.query_one("#alerts-detail").render())
        # Esc while typing clears it too, and hides the box.
        await pilot.press("escape")
        await settle(pilot)
        assert table.row_count == ALL and not box.display and box.value == ""
        await pilot.press("slash")
        await pilot.pause()
        assert box.display and app.focused is box
        # Enter keeps the filter and goes back to the table; its keys work again.
        box.value = "margin"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.focused, DataTable) and table.row_count == 1
        await pilot.press("escape")
        await settle(pilot)
        assert table.row_count == ALL and not box.display
        assert "matching" not in title(screen)
        assert screen.is_current  # Escape cleared the filter; the next one goes back
        await pilot.press("escape")
        await settle(pilot)
        assert not screen.is_current


# --- sorting ---------------------------------------------------------------------------------


def age_seconds(text: str) -> int:
    number, unit = text.split()
    return int(number) * {"min": 60, "h": 3600, "d": 86400}[unit]


async def test_o_cycles_the_sort_and_the_header_shows_it(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        table = screen.query_one(DataTable)

        def labels() -> list[str]:
            return [str(c.label) for c in table.columns.values()]

        # By default: most severe first (the 7 critical incidents), the header says so.
        assert labels()[0] == "▼" and "sorted by severity ▼" in title(screen)
        assert cells(screen, "severity") == ["■"] * 7 + ["▲"] * 6
        await pilot.press("o")
        await settle(pilot)
        assert labels()[0] == "▲" and "sorted by severity ▲" in title(screen)
        assert cells(screen, "severity") == ["▲"] * 6 + ["■"] * 7
        await pilot.press("o")
        await settle(pilot)
        assert "age ▼" in labels()
        ages = [age_seconds(a) for a in cells(screen, "age")]
        assert ages == sorted(ages, reverse=True)
        # The oldest: brand health's staleness under Brandwatch, since 10-30 (28 d).
        assert incident_rows(screen)[0] == "Brandwatch (5 alerts)" and ages[0] == 28 * 86400
        await pilot.press("o")
        await settle(pilot)
        assert "age ▲" in labels()
        await pilot.press("o")
        await settle(pilot)
        assert "subject ▲" in labels()
        subjects = [s.removesuffix(" (3 alerts)") for s in incident_rows(screen)]
        assert subjects[:3] == ["Activation Rate", "Brandwatch (5 alerts)", "Employee Turnover"]
        assert subjects == sorted(subjects, key=str.casefold)


async def test_clicking_a_header_sorts_by_it_and_again_the_other_way(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        table = screen.query_one(DataTable)
        columns = list(table.columns.values())
        # The subject header: after the severity and id columns, each with a cell of
        # padding on either side.
        x = sum(c.width + 2 for c in columns[:2]) + 2
        await pilot.click(table, offset=(x, 0))
        await settle(pilot)
        assert "sorted by subject ▲" in title(screen)
        assert str(list(table.columns.values())[2].label) == "subject ▲"
        first = incident_rows(screen)[0]
        await pilot.click(table, offset=(x, 0))
        await settle(pilot)
        assert "sorted by subject ▼" in title(screen)
        assert incident_rows(screen)[0] == "Win Rate (3 alerts)" and first == "Activation Rate"


# --- acknowledging and snoozing an incident --------------------------------------------------


async def test_shift_a_on_an_incident_acknowledges_its_firing_alerts_with_one_note(
    demo_store, tmp_path
):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        assert f"⚑ {UNACKNOWLEDGED} unacknowledged" in title(screen)
        mql = await select_incident(pilot, "kpi:mql_to_sql")
        await pilot.press("A")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, PromptDialog)
        assert "MQL→SQL Conversion · target, anomaly, drift  (3 alerts)" in str(
            dialog.query(Static).first().render()
        )
        await pilot.press(*"known: form change", "enter")
        await settle(pilot)
        table = screen.query_one(DataTable)
        assert table.get_cell(incident_key(mql), "state").plain == "acknowledged"
        # 23 − the incident's 3 alerts = 20.
        assert "⚑ 20 unacknowledged" in title(screen)
        alerts = stored_of(demo_store, "mql_to_sql")
        assert len(alerts) == 3 and all(a.state is State.ACKNOWLEDGED for a in alerts)
        assert {(a.acked_by, a.ack_note) for a in alerts} == {("tester", "known: form change")}
        # Snoozing the incident snoozes its 3 acknowledged alerts together, for 1 h.
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, PromptDialog)
        app.screen.query_one("#answer", Input).value = "1h"
        await pilot.press("enter")
        await settle(pilot)
        assert table.get_cell(incident_key(mql), "state").plain == "snoozed"
    until = stamp(FIXED_NOW + timedelta(hours=1))
    alerts = stored_of(demo_store, "mql_to_sql")
    assert {(a.state, a.snoozed_until) for a in alerts} == {(State.SNOOZED, until)}


async def test_shift_a_on_an_expanded_alert_acknowledges_that_alert_only(demo_store, tmp_path):
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
        await pilot.press("A", *"just the anomaly", "enter")
        await settle(pilot)
        # Two of its alerts still fire: so does the incident.
        assert table.get_cell(incident_key(mql), "state").plain == "firing"
        assert f"⚑ {UNACKNOWLEDGED - 1} unacknowledged" in title(screen)
    states = {a.rule: a.state for a in stored_of(demo_store, "mql_to_sql")}
    assert states == {
        "target": State.FIRING,
        "anomaly": State.ACKNOWLEDGED,
        "drift": State.FIRING,
    }


# --- silencing -------------------------------------------------------------------------------


async def test_silence_a_kpi_from_the_alerts_screen_and_its_alerts_stop_counting(
    demo_store, tmp_path
):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        mql = await select_incident(pilot, "kpi:mql_to_sql")
        notified = str(screen.query_one("#alerts-notified").render())
        assert "✓ CMO Agent (Chief Marketing Officer): owner" in notified
        await pilot.press("x")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SilenceDialog)
        assert "MQL→SQL Conversion (kpi mql_to_sql)" in str(dialog.query(Static).first().render())
        # The span is offered (2h); the note is required.
        await pilot.press("enter")  # from the span to the note
        await pilot.press("enter")
        await pilot.pause()
        assert "note" in str(dialog.query_one("#error", Static).render())
        dialog.query_one("#span", Input).value = "91d"
        await pilot.press(*"form migration", "enter")
        await pilot.pause()
        assert "90 days" in str(dialog.query_one("#error", Static).render())
        assert app.screen is dialog
        dialog.query_one("#span", Input).value = "2h"
        dialog.query_one("#note", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        await wait_until(pilot, lambda: "⚑ 20" in title(screen))
        # Its 3 alerts no longer count: 23 − 3 = 20, in the screen's title and the header;
        # they stop flashing; the incident is marked.
        assert "⚑ 20 unacknowledged" in title(screen)
        await wait_until(pilot, lambda: "⚑ 20 unacknowledged" in header_text(app))
        assert "mql_to_sql" not in app.flashing_kpis
        table = screen.query_one(DataTable)
        assert table.get_cell(incident_key(mql), "state").plain == "⊘ firing"
        notified = str(screen.query_one("#alerts-notified").render())
        assert "⊘ no one: silenced (kpi mql_to_sql) until 2026-11-27T11:30:00Z by tester" in (
            notified.replace("\n", " ")
        )
        assert "✗ CMO Agent" in notified
        await pilot.press("space")
        await settle(pilot)
        for alert in mql.alerts:
            assert table.get_cell(str(alert.id), "state").plain == "⊘ firing"
        # Silencing it again while it holds is refused, in one sentence.
        await pilot.press("x")
        await pilot.pause()
        app.screen.query_one("#note", Input).value = "again"
        app.screen.query_one("#note", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        await wait_until(pilot, lambda: any(n.title == "Not silenced" for n in app.notices))
        refused = next(n for n in app.notices if n.title == "Not silenced")
        assert "already silenced until 2026-11-27T11:30:00Z" in refused.message
    with Store.open(demo_store) as store:
        [silence] = store.silences()
    # 09:30 + 2 h = 11:30, by the acting user, with the note.
    assert (silence.matcher, silence.value, silence.who, silence.note) == (
        Matcher.KPI,
        "mql_to_sql",
        "tester",
        "form migration",
    )
    assert (silence.starts_at, silence.ends_at) == (
        "2026-11-27T09:30:00Z",
        "2026-11-27T11:30:00Z",
    )
    # Silenced alerts still open and are recorded.
    assert all(a.state is State.FIRING for a in stored_of(demo_store, "mql_to_sql"))


async def test_silencing_a_stale_source_silences_its_system(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        await select_incident(pilot, "system:social_listening")
        await pilot.press("x")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SilenceDialog)
        dialog.query_one("#span", Input).value = "1d"
        dialog.query_one("#note", Input).value = "vendor outage"
        dialog.query_one("#note", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        # The source's alert is the one of its 5 that counts (the 4 under it flash with it):
        # 23 − 1 = 22.
        await wait_until(pilot, lambda: "⚑ 22 unacknowledged" in title(screen))
    with Store.open(demo_store) as store:
        [silence] = store.silences()
    assert (silence.matcher, silence.value) == (Matcher.SYSTEM, "social_listening")


async def test_the_silence_key_follows_the_keymap_and_escape_cancels(demo_store, tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text('[keymap]\nalerts-silence = "z"\n', encoding="utf-8")
    app = make_app(demo_store, config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        assert "z: silence" in title(screen)
        await pilot.press("z")
        await pilot.pause()
        assert isinstance(app.screen, SilenceDialog)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
    with Store.open(demo_store) as store:
        assert store.silences() == []


# --- who was notified, and why ---------------------------------------------------------------


async def test_the_pane_says_who_was_notified_and_why_not(demo_store, tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    # The CIO agent wants only critical incidents: the IT ticket backlog's drift is a warning.
    (config / "config.toml").write_text(
        '[routing.agents.cio]\nmin_severity = "critical"\n', encoding="utf-8"
    )
    app = make_app(demo_store, config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        await select_incident(pilot, "kpi:turnover")
        lines = str(screen.query_one("#alerts-notified").render()).splitlines()
        # The owner is told of everything on its KPIs; the CEO agent, routed because
        # turnover supports eNPS, only of critical incidents and those on CEO KPIs.
        assert lines == [
            "Notified of this incident",
            "✓ CHRO Agent (Chief Human Resources Officer): owner",
            "✗ CEO Agent: supports Employee NPS (eNPS); not the owner, and warning on a "
            "non-CEO KPI",
        ]
        await select_incident(pilot, "kpi:ticket_backlog")
        text = str(screen.query_one("#alerts-notified").render())
        assert (
            "✗ CIO Agent (Chief Information Officer): wants critical or worse, this is warning"
            in (text)
        )
        await select_incident(pilot, "kpi:gross_margin")
        text = str(screen.query_one("#alerts-notified").render())
        assert "✓ CIO Agent (Chief Information Officer): supports Gross Margin %; wants " in text
        # Agents told for the same reason share a line.
        assert "✓ CEO Agent, CDO Agent (Chief Delivery Officer): supports Gross Margin %; " in text


# --- as of a past day ------------------------------------------------------------------------


async def test_a_past_day_lists_the_incidents_as_they_stood_and_refuses_a_silence(
    demo_store, tmp_path
):
    from datetime import datetime

    from intelligentos.services.check import evaluate_store

    # A cockpit running on the 18th filed incidents then; the 27th's check files more.
    with Store.open(demo_store) as store:
        evaluate_store(store, store.read_catalog(), datetime(2026, 11, 18, 9, 0))
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        live = {i.id: len(i.alerts) for i in screen.incidents}
        await pilot.press("less_than_sign")  # as of the 20th
        await settle(pilot)
        await wait_until(pilot, lambda: app.services.fixed_as_of is not None)
        await settle(pilot)
        past = screen.incidents
        # Only what had opened by then (the 18th's), under the ids the store gave them.
        # The 18th's check filed incidents 1 to 13; the 27th's filed 14 and later, which
        # did not exist yet; 8 and 9, resolved since, were open then.
        assert [i.id for i in past] == list(range(1, 14))
        assert min(live) == 1 and max(live) > 13 and not {8, 9} & set(live)
        assert all(a.opened_at < "2026-11-19" for i in past for a in i.alerts)
        with Store.open(demo_store) as store:
            filed = {i.id for i in store.incidents()}
        assert {i.id for i in past} <= filed
        assert f"Incidents: {len(past)} of {len(past)} (open)" in title(screen)
        await select_incident(pilot, past[0].group)
        await pilot.press("x")
        await settle(pilot)
        assert not isinstance(app.screen, SilenceDialog)
        assert any(n.message.startswith("Not silenced: the cockpit shows") for n in app.notices)
    with Store.open(demo_store) as store:
        assert store.silences() == []


async def test_an_agent_silence_marks_every_incident_routed_to_the_agent(demo_store, tmp_path):
    from intelligentos.services.silences import SilenceRequest, add_silence

    with Store.open(demo_store) as store:
        request = SilenceRequest({Matcher.AGENT: "chro"}, "offsite", "ana", FIXED_NOW, "1d")
        add_silence(store, request)
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        table = screen.query_one(DataTable)
        marked = {
            i.group
            for i in screen.incidents
            if table.get_cell(incident_key(i), "state").plain == "⊘ firing"
        }
        # Routed to the CHRO agent: turnover and time to hire (its own), the IT ticket
        # backlog (routed to it: it supports EBITDA Margin %): 23 − 3 = 20.
        assert marked == {"kpi:turnover", "kpi:time_to_hire", "kpi:ticket_backlog"}
        assert "⚑ 20 unacknowledged" in title(screen)
