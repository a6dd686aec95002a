"""Time travel: alert states replayed from the event log, and ``--as-of`` on the listing
commands (kpis, alerts, lineage, whatif) and the cockpit's launch."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.domain.alerts import (
    Alert,
    State,
    acknowledge,
    open_alert,
    reconcile,
    snooze,
    state_at,
)
from intelligentos.domain.clock import period_upper_bound, utc_today
from intelligentos.domain.detection import Finding, Rule, Severity
from intelligentos.services.check import acknowledge_alert, evaluate_store
from intelligentos.store import Store

runner = CliRunner()

WARN = Finding(Rule.TARGET, Severity.WARNING, 94.0, 100.0, 0.06, "6.0% adverse", "2026-11-20")
CRIT = Finding(Rule.TARGET, Severity.CRITICAL, 85.0, 100.0, 0.15, "15.0% adverse", "2026-11-21")
OPENED = datetime(2026, 11, 20, 9, 0)
ACKED = datetime(2026, 11, 21, 10, 0)
ESCALATED = datetime(2026, 11, 22, 11, 0)
SNOOZED = datetime(2026, 11, 23, 12, 0)
RESOLVED = datetime(2026, 11, 24, 13, 0)


def day_end(day: str) -> str:
    moment = period_upper_bound(day)
    assert moment is not None
    return moment


def lifecycle() -> tuple[Alert, list]:
    """Opened (warning), acknowledged, escalated to critical, acknowledged again, snoozed
    for 4 h, resolved: the stored alert (its latest state) and its event log."""
    alert, opened = open_alert(WARN, OPENED, kpi_id="win_rate")
    alert = Alert(**{**alert.__dict__, "id": 7})
    alert, acked = acknowledge(alert, "ana", "known: CRM migration", ACKED)
    alert, escalated = reconcile(alert, CRIT, False, ESCALATED)
    assert escalated is not None
    alert, again = acknowledge(alert, "bo", "on it", ESCALATED + timedelta(hours=1))
    alert, snoozed = snooze(alert, timedelta(hours=4), "bo", "waiting", SNOOZED)
    alert, resolved = reconcile(alert, None, True, RESOLVED)
    assert resolved is not None and alert.state is State.RESOLVED
    return alert, [opened, acked, escalated, again, snoozed, resolved]


# --- the replay (pure) ------------------------------------------------------------------


def test_an_alert_opened_later_did_not_exist_yet():
    alert, events = lifecycle()
    assert state_at(alert, events, day_end("2026-11-19")) is None
    assert state_at(alert, events, "2026-11-20T08:59:59Z") is None


def test_opened_the_alert_is_firing_with_its_first_severity_and_no_owner():
    alert, events = lifecycle()
    then = state_at(alert, events, day_end("2026-11-20"))
    assert then is not None
    assert then.state is State.FIRING
    assert then.severity is Severity.WARNING  # escalated only on the 22nd
    assert then.acked_by is None and then.acked_at is None and then.ack_note is None
    assert then.resolved_at is None and then.snoozed_until is None
    assert then.updated_at == "2026-11-20T09:00:00Z"
    assert then.value == 94.0
    assert then.needs_attention


def test_between_acknowledgement_and_resolution_the_alert_is_owned_and_open():
    alert, events = lifecycle()
    then = state_at(alert, events, day_end("2026-11-21"))
    assert then is not None
    assert then.state is State.ACKNOWLEDGED
    assert (then.acked_by, then.ack_note) == ("ana", "known: CRM migration")
    assert then.acked_at == "2026-11-21T10:00:00Z"
    assert then.severity is Severity.WARNING
    assert then.is_open and not then.needs_attention


def test_the_escalation_raises_the_severity_and_fires_again():
    alert, events = lifecycle()
    then = state_at(alert, events, "2026-11-22T11:30:00Z")
    assert then is not None
    assert then.state is State.FIRING
    assert then.severity is Severity.CRITICAL
    assert then.value == 85.0
    later = state_at(alert, events, day_end("2026-11-22"))
    assert later is not None
    assert (later.state, later.acked_by, later.ack_note) == (State.ACKNOWLEDGED, "bo", "on it")


def test_a_snooze_carries_its_end():
    alert, events = lifecycle()
    then = state_at(alert, events, day_end("2026-11-23"))
    assert then is not None
    assert then.state is State.SNOOZED
    assert then.snoozed_until == "2026-11-23T16:00:00Z"


def test_after_the_resolution_the_alert_is_resolved():
    alert, events = lifecycle()
    then = state_at(alert, events, day_end("2026-11-24"))
    assert then == alert  # as stored: nothing happened since
    assert then is not None and then.resolved_at == "2026-11-24T13:00:00Z"


def test_an_alert_without_events_is_firing_until_acknowledged_then_resolved():
    alert, _ = lifecycle()
    assert state_at(alert, [], day_end("2026-11-21")) == Alert(
        **{
            **alert.__dict__,
            "state": State.FIRING,
            "resolved_at": None,
            "acked_by": None,
            "acked_at": None,
            "ack_note": None,
            "snoozed_until": None,
            "updated_at": day_end("2026-11-21"),
        }
    )
    owned = state_at(alert, [], day_end("2026-11-23"))
    assert owned is not None
    assert (owned.state, owned.acked_by, owned.resolved_at) == (State.ACKNOWLEDGED, "bo", None)
    then = state_at(alert, [], day_end("2026-11-25"))
    assert then is not None and then.state is State.RESOLVED


# --- the store ----------------------------------------------------------------------------


def test_store_replays_every_alert_as_of_a_moment(demo_store: Path):
    with Store.open(demo_store) as store:
        catalog = store.read_catalog()
        assert store.first_period() == "2024-11-28"
        evaluate_store(store, catalog, datetime(2026, 11, 26, 9, 0))
        opened = store.open_alerts()
        assert opened
        first = opened[0]
        assert first.id is not None
        acknowledge_alert(store, first.id, "ana", "known", datetime(2026, 11, 27, 8, 0))
        assert store.alerts_as_of(day_end("2026-11-25")) == []
        before = store.alerts_as_of(day_end("2026-11-26"))
        assert [a.id for a in before] == [a.id for a in opened]
        assert all(a.state is State.FIRING and a.acked_by is None for a in before)
        now = {a.id: a for a in store.alerts_as_of(day_end("2026-11-27"))}
        assert now[first.id].state is State.ACKNOWLEDGED
        assert now[first.id].acked_by == "ana"
        assert now == {a.id: a for a in store.alerts()}


# --- the CLI ------------------------------------------------------------------------------


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def kpis_json(db: Path, *args: str) -> dict[str, dict]:
    result = run("kpis", "--db", str(db), "--json", *args)
    assert result.exit_code == 0, result.output
    return {r["id"]: r for r in json.loads(result.stdout)}


def test_kpis_as_of_shows_the_values_and_statuses_of_that_day(demo_store: Path):
    now = kpis_json(demo_store, "--as-of", "2026-11-27")
    then = kpis_json(demo_store, "--as-of", "2026-11-20")
    # The MQL→SQL collapse planted on the last day is not there yet on the 20th.
    assert (now["mql_to_sql"]["period"], now["mql_to_sql"]["status"]) == (
        "2026-11-27",
        "critical",
    )
    assert then["mql_to_sql"]["period"] == "2026-11-20"
    assert then["mql_to_sql"]["status"] == "ok"
    assert then["mql_to_sql"]["value"] != now["mql_to_sql"]["value"]
    # Weekly: the latest week up to the 20th.
    assert then["win_rate"]["period"] == "2026-11-16"
    assert all(r["period"] is None or r["period"] <= "2026-11-20T99" for r in then.values())
    table = run("kpis", "--db", str(demo_store), "--as-of", "2026-11-20")
    assert table.exit_code == 0
    assert "as of 2026-11-20" in table.stdout


def test_kpis_as_of_a_day_judges_staleness_against_that_day(demo_store: Path):
    """Two years back, every KPI had fresh data then: nothing is stale."""
    then = kpis_json(demo_store, "--as-of", "2025-01-15")
    assert "stale" not in {r["status"] for r in then.values()}
    assert "stale" in {r["status"] for r in kpis_json(demo_store, "--as-of", "2026-11-27").values()}


def test_alerts_as_of_a_day_before_they_were_opened_lists_none(demo_store: Path):
    with Store.open(demo_store) as store:
        evaluate_store(store, store.read_catalog(), datetime(2026, 11, 26, 9, 0))
        first = store.open_alerts()[0]
        assert first.id is not None
        acknowledge_alert(store, first.id, "ana", "known", datetime(2026, 11, 27, 8, 0))
        count = len(store.alerts())
    result = run("alerts", "--db", str(demo_store), "--json", "--as-of", "2026-11-25")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"incidents": [], "alerts": []}
    before = json.loads(
        run("alerts", "--db", str(demo_store), "--json", "--as-of", "2026-11-26").stdout
    )["alerts"]
    assert len(before) == count
    assert {r["state"] for r in before} == {"firing"}
    acked = run(
        "alerts",
        "--db",
        str(demo_store),
        "--json",
        "--as-of",
        "2026-11-27",
        "--state",
        "acknowledged",
    )
    assert [r["id"] for r in json.loads(acked.stdout)["alerts"]] == [first.id]
    # Before the command's name, as --db may be.
    table = run("--as-of", "2026-11-25", "alerts", "--db", str(demo_store))
    assert table.exit_code == 0, table.output
    assert "Alerts: 0 in 0 incidents as of 2026-11-25" in table.stdout


def test_lineage_as_of_shows_each_kpis_value_and_status_then(demo_store: Path):
    wide = {"COLUMNS": "200"}
    then = runner.invoke(
        app, ["lineage", "mql_to_sql", "--db", str(demo_store), "--as-of", "2026-11-20"], env=wide
    )
    assert then.exit_code == 0, then.output
    assert "as of 2026-11-20" in then.stdout
    now = runner.invoke(
        app, ["lineage", "mql_to_sql", "--db", str(demo_store), "--as-of", "2026-11-27"], env=wide
    )
    # A derived KPI's lineage opens with its expression and its inputs, then the KPI itself.
    lines_then, lines_now = then.stdout.splitlines(), now.stdout.splitlines()
    assert lines_then[1] == lines_now[1] == "MQL→SQL Conversion = 100 * sqls / mqls"
    [kpi_then] = [line for line in lines_then if "(mql_to_sql, functional)" in line]
    [kpi_now] = [line for line in lines_now if "(mql_to_sql, functional)" in line]
    # 100 × 178 / 599 = 29.7 % on the 20th; 100 × 131 / 610 = 21.5 % on the 27th.
    assert kpi_then.endswith("29.7% ● ok")
    assert kpi_now.endswith("21.5% ■ critical")
    assert lines_then[2].endswith("(sqls)  178 ● ok") and lines_then[3].endswith("599 ● ok")
    assert lines_now[2].endswith("(sqls)  131 ■ critical") and lines_now[3].endswith("610 ● ok")


@pytest.mark.parametrize(
    "command", [["kpis"], ["alerts"], ["lineage", "win_rate"], ["whatif", "win_rate+=1"]]
)
@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("27/11/2026", "--as-of must be a date like 2026-11-27, not '27/11/2026'."),
        ("2024-11-27", "--as-of 2024-11-27 is before the first observation (2024-11-28)."),
        ("tomorrow", "--as-of must be a date like"),
    ],
)
def test_bad_as_of_dates_are_one_error_line(demo_store: Path, command, as_of, message):
    result = run(*command, "--db", str(demo_store), "--as-of", as_of)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: " + message)


@pytest.mark.parametrize("command", [["kpis"], ["alerts"], ["lineage", "win_rate"], []])
def test_an_as_of_date_in_the_future_is_refused(demo_store: Path, command):
    future = (utc_today() + timedelta(days=1)).isoformat()
    result = run(*command, "--db", str(demo_store), "--as-of", future)
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: --as-of {future} is in the future (today is {utc_today().isoformat()})."
    )


def test_as_of_before_a_command_without_it_is_refused(demo_store: Path):
    result = run("--as-of", "2026-11-20", "check", "--db", str(demo_store))
    assert result.exit_code == 2  # a usage error: check keeps 1 for "alerts firing"
    assert result.output.strip() == "Error: --as-of applies to the cockpit, not to `check`."


def test_the_cockpit_launch_passes_a_checked_as_of(demo_store: Path, monkeypatch):
    started: list[date | None] = []

    class FakeCockpit:
        return_code = 0

        def __init__(self, path, **kwargs):
            started.append(kwargs["as_of"])

        def run(self):
            pass

    monkeypatch.setattr("intelligentos.tui.app.CockpitApp", FakeCockpit)
    result = run("--db", str(demo_store), "--as-of", "2026-11-20")
    assert result.exit_code == 0, result.output
    assert started == [date(2026, 11, 20)]
    bad = run("--db", str(demo_store), "--as-of", "2020-01-01")
    assert bad.exit_code == 1
    assert started == [date(2026, 11, 20)]
