"""`unack`, `note`, `assign`, `resolve` and `ack --incident` on the command line, each an
event in the alert's log (`alerts --history`), each refusal one sentence, exit status 1 and
nothing written; and `alerts` listing incidents with their alerts."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.services.check import evaluate_store
from intelligentos.store import Store

from .stores import store_content

NOW = datetime(2026, 11, 27, 9, 30)
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def db(demo_store: Path) -> Path:
    with Store.open(demo_store) as store:
        evaluate_store(store, store.read_catalog(), NOW)
    return demo_store


def listing(db: Path, *args: str) -> dict:
    result = run("alerts", "--db", str(db), "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def alert(db: Path, alert_id: int) -> dict:
    return next(a for a in listing(db)["alerts"] if a["id"] == alert_id)


def history(db: Path, alert_id: int) -> list[tuple[str, str, str | None]]:
    result = run("alerts", "--db", str(db), "--history", str(alert_id), "--json")
    assert result.exit_code == 0, result.output
    return [(e["action"], e["actor"], e["note"]) for e in json.loads(result.stdout)]


def an_incident(db: Path, size: int) -> dict:
    """An incident with ``size`` alerts, all firing."""
    shown = listing(db)
    states = {a["id"]: a["state"] for a in shown["alerts"]}
    return next(
        i
        for i in shown["incidents"]
        if i["alert_count"] == size and {states[a] for a in i["alert_ids"]} == {"firing"}
    )


def firing(db: Path) -> int:
    return an_incident(db, 1)["alert_ids"][0]


def refused(db: Path, *args: str) -> str:
    """The one Error: sentence of a refused command, which wrote nothing."""
    before = store_content(db)
    result = run(*args, "--db", str(db), "--user", "bob")
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert store_content(db) == before
    return lines[0].removeprefix("Error: ")


def done(db: Path, *args: str) -> str:
    result = run(*args, "--db", str(db), "--user", "bob")
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_unack_takes_an_acknowledgement_back_with_a_note(db):
    alert_id = firing(db)
    done(db, "ack", str(alert_id), "--note", "mine")
    said = done(db, "unack", str(alert_id), "--note", "ana is away")
    assert said == f"Alert {alert_id} fires again: acknowledgement taken back by bob."
    shown = alert(db, alert_id)
    assert (shown["state"], shown["acked_by"], shown["needs_attention"]) == ("firing", None, True)
    assert history(db, alert_id)[-2:] == [
        ("acknowledge", "bob", "mine"),
        ("unacknowledge", "bob", "ana is away"),
    ]
    log = run("alerts", "--db", str(db), "--history", str(alert_id)).stdout
    assert "acknowledged → firing" in log and "ana is away" in log


def test_unack_refusals(db):
    alert_id = firing(db)
    assert refused(db, "unack", str(alert_id), "--note", "why") == (
        f"alert {alert_id} is firing; nobody has acknowledged it"
    )
    done(db, "ack", str(alert_id), "--note", "mine")
    assert refused(db, "unack", str(alert_id), "--note", " ").startswith(
        "a note is required to take an acknowledgement back"
    )
    assert (
        refused(db, "unack", "--note", "why") == "give an alert id or --incident N (one of them)."
    )


def test_note_as_text_or_option_keeps_the_state(db):
    alert_id = firing(db)
    assert done(db, "note", str(alert_id), "CRM export late") == (
        f"Note added to alert {alert_id} by bob."
    )
    done(db, "note", str(alert_id), "--note", "re-run at 10:00")
    assert alert(db, alert_id)["state"] == "firing"
    assert history(db, alert_id)[-2:] == [
        ("note", "bob", "CRM export late"),
        ("note", "bob", "re-run at 10:00"),
    ]


def test_note_refusals(db):
    alert_id = firing(db)
    assert refused(db, "note", str(alert_id), "a", "--note", "b") == (
        "give the note once: as TEXT or with --note."
    )
    assert (
        refused(db, "note", str(alert_id)) == "a note is required: give it as TEXT or with --note."
    )
    assert refused(db, "note", str(alert_id), "\t").startswith("a note is required to add a note")
    assert refused(db, "note", "999999", "hello") == "there is no alert 999999"
    assert refused(db, "note", "first", "hello") == (
        "'first' is not an alert id; give the alert id, then the note."
    )


def test_assign_to_an_agent_of_the_catalog(db):
    alert_id = firing(db)
    assert done(db, "assign", str(alert_id), "cro") == f"Alert {alert_id} assigned to cro by bob."
    assert alert(db, alert_id)["assignee"] == "cro"
    assert history(db, alert_id)[-1] == ("assign", "bob", "assigned to cro")
    table = run("alerts", "--db", str(db)).stdout  # piped: every column
    assert "assigned to cro" in table


def test_assign_refusals(db):
    alert_id = firing(db)
    assert refused(db, "assign", str(alert_id), "cto") == (
        "there is no agent 'cto'; the catalog's agents: cco, cdo, ceo, cfo, chro, cio, cmo, cpo, "
        "cro"
    )
    assert refused(db, "assign", str(alert_id)) == (
        "name the agent to assign it to (an agent id of the catalog)."
    )


def test_resolve_by_hand_and_not_twice(db):
    alert_id = firing(db)
    assert done(db, "resolve", str(alert_id), "--note", "fixed at the source") == (
        f"Alert {alert_id} resolved by bob."
    )
    assert alert(db, alert_id)["state"] == "resolved"
    assert history(db, alert_id)[-1] == ("resolve", "bob", "fixed at the source")
    assert refused(db, "resolve", str(alert_id), "--note", "again") == (
        f"alert {alert_id} is already resolved"
    )
    other = firing(db)
    assert refused(db, "resolve", str(other), "--note", "").startswith(
        "a note is required to resolve"
    )


def test_acknowledging_an_incident_acknowledges_its_firing_alerts(db):
    incident = an_incident(db, 3)
    said = done(db, "ack", "--incident", str(incident["id"]), "--note", "on it")
    assert said == f"Incident {incident['id']} acknowledged by bob."
    after = listing(db)
    states = {a["id"]: (a["state"], a["acked_by"]) for a in after["alerts"]}
    assert [states[a] for a in incident["alert_ids"]] == [("acknowledged", "bob")] * 3
    again = next(i for i in after["incidents"] if i["id"] == incident["id"])
    assert again["state"] == "acknowledged"
    assert refused(db, "ack", "--incident", str(incident["id"]), "--note", "again") == (
        f"incident {incident['id']} has no firing alert to acknowledge."
    )
    assert refused(db, "ack", "--incident", "999999", "--note", "x") == (
        "there is no incident 999999."
    )
    assert refused(db, "ack", "1", "--incident", "1", "--note", "x") == (
        "give an alert id or --incident N (one of them)."
    )


def test_the_incident_forms_of_unack_note_assign_and_resolve(db):
    incident = an_incident(db, 3)
    number = str(incident["id"])
    done(db, "ack", "--incident", number, "--note", "on it")
    done(db, "unack", "--incident", number, "--note", "handing back")
    assert done(db, "note", "--incident", number, "looked at the CRM") == (
        f"Note added to incident {number} by bob."
    )
    done(db, "assign", "--incident", number, "cmo")
    done(db, "resolve", "--incident", number, "--note", "export fixed")
    for alert_id in incident["alert_ids"]:
        assert [a for a, _, _ in history(db, alert_id)][-5:] == [
            "acknowledge",
            "unacknowledge",
            "note",
            "assign",
            "resolve",
        ]
        assert alert(db, alert_id)["assignee"] == "cmo"
    assert refused(db, "assign", "--incident", number, "cro") == (
        f"incident {number} has no open alert that is not already assigned to cro."
    )
    assert refused(db, "note", "--incident", number, "a", "b") == (
        "with --incident, give only the note (no alert id)."
    )


def test_alerts_json_lists_incidents_with_their_alert_ids(db):
    shown = listing(db)
    by_id = {a["id"]: a for a in shown["alerts"]}
    listed = [a for i in shown["incidents"] for a in i["alert_ids"]]
    # Every alert is listed under exactly one incident, the one its incident_id names.
    assert sorted(listed) == sorted(by_id)
    for incident in shown["incidents"]:
        assert {by_id[a]["incident_id"] for a in incident["alert_ids"]} == {incident["id"]}
        assert incident["face_id"] in incident["alert_ids"]
        assert incident["alert_count"] == len(incident["alert_ids"])  # nothing filtered out
    # Most severe first: a critical incident never follows a warning one.
    ranks = {"critical": 0, "warning": 1, "info": 2}
    order = [ranks[i["severity"]] for i in shown["incidents"]]
    assert order == sorted(order)
    # A filter keeps an incident's count and lists only the alerts it keeps.
    incident = an_incident(db, 3)
    first = incident["alert_ids"][0]
    done(db, "ack", str(first), "--note", "mine")
    acked = listing(db, "--state", "acknowledged")
    kept = next(i for i in acked["incidents"] if i["id"] == incident["id"])
    assert (kept["alert_ids"], kept["alert_count"], kept["state"]) == ([first], 3, "firing")


def test_alerts_text_shows_each_incident_then_its_alerts_indented(db):
    incident = an_incident(db, 3)
    lines = run("alerts", "--db", str(db)).stdout.splitlines()
    top = next(n for n, line in enumerate(lines) if line.startswith(f"│ #{incident['id']} "))
    assert "3 alerts" in lines[top] and "opened 2026-11-27 09:30 UTC" in lines[top]
    below = [line.split("│")[1].strip() for line in lines[top + 1 : top + 4]]
    assert below == [str(a) for a in incident["alert_ids"]]
    assert all(line.startswith("│   ") for line in lines[top + 1 : top + 4])  # indented


def test_history_of_an_unknown_alert_is_one_sentence(db):
    result = run("alerts", "--db", str(db), "--history", "999999")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: there is no alert 999999."
