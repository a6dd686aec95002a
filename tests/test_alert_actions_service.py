"""AlertService's other actions (take back, note, assign, resolve) on a real store, one
alert at a time and on an incident's alerts: each an event in the log, each refusal a
sentence with nothing written."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from intelligentos.domain.alerts import State
from intelligentos.domain.incidents import IncidentState
from intelligentos.services.alerts import AlertService
from intelligentos.services.check import evaluate_store
from intelligentos.store import Store

from .stores import store_content

NOW = datetime(2026, 11, 27, 9, 30)
LATER = NOW + timedelta(minutes=5)


@pytest.fixture
def store(demo_store: Path):
    with Store.open(demo_store) as opened:
        evaluate_store(opened, opened.read_catalog(), NOW)
        yield opened


def incident_with(store: Store, size: int):
    """An open incident with at least ``size`` alerts, all firing."""
    return next(
        i
        for i in store.incidents(open_only=True)
        if len(i.alerts) >= size and all(a.state is State.FIRING for a in i.alerts)
    )


def test_take_back_note_assign_and_resolve_one_alert_each_leave_an_event(store):
    alert_id = incident_with(store, 1).alerts[0].id
    service = AlertService(store)
    assert service.acknowledge([alert_id], "ana", "on it", NOW) == []
    assert service.unacknowledge([alert_id], "bob", "ana is away", LATER) == []
    assert service.add_note([alert_id], "bob", "CRM export late again", LATER) == []
    assert service.assign([alert_id], "cro", "bob", LATER) == []
    assert store.alert(alert_id).assignee == "cro"  # read back from the store
    assert service.resolve([alert_id], "bob", "export re-run", LATER) == []
    alert = store.alert(alert_id)
    assert alert.state is State.RESOLVED and alert.acked_by is None
    logged = [(e.action, e.actor, e.note) for e in store.alert_events(alert_id)]
    assert logged[-5:] == [
        ("acknowledge", "ana", "on it"),
        ("unacknowledge", "bob", "ana is away"),
        ("note", "bob", "CRM export late again"),
        ("assign", "bob", "assigned to cro"),
        ("resolve", "bob", "export re-run"),
    ]


def test_refusals_are_sentences_and_write_nothing(store, demo_store):
    alert_id = incident_with(store, 1).alerts[0].id
    service = AlertService(store)
    before = store_content(demo_store)
    assert service.unacknowledge([alert_id], "bob", "why", LATER) == [
        f"alert {alert_id} is firing; nobody has acknowledged it"
    ]
    assert service.assign([alert_id], "nobody", "bob", LATER)[0].startswith(
        "there is no agent 'nobody'"
    )
    assert service.add_note([alert_id], "bob", "  ", LATER)[0].startswith(
        "a note is required to add a note"
    )
    assert service.resolve([999_999], "bob", "done", LATER) == ["there is no alert 999999"]
    assert service.resolve_incident(999_999, "bob", "done", LATER) == [
        "there is no incident 999999"
    ]
    assert store_content(demo_store) == before


def test_acknowledging_an_incident_acknowledges_its_firing_alerts(store):
    incident = incident_with(store, 2)
    service = AlertService(store)
    assert service.acknowledge_incident(incident.id, "ana", "on it", NOW) == []
    after = next(i for i in store.incidents() if i.id == incident.id)
    assert after.state is IncidentState.ACKNOWLEDGED
    assert {(a.state, a.acked_by) for a in after.alerts} == {(State.ACKNOWLEDGED, "ana")}
    # Nothing firing is left to acknowledge: one sentence.
    assert service.acknowledge_incident(incident.id, "ana", "again", NOW) == [
        f"incident {incident.id} has no firing alert to acknowledge"
    ]
    assert service.unacknowledge_incident(incident.id, "bob", "handing back", LATER) == []
    again = next(i for i in store.incidents() if i.id == incident.id)
    assert again.state is IncidentState.FIRING
    assert {a.acked_by for a in again.alerts} == {None}


def test_note_assign_and_resolve_an_incident_apply_to_its_open_alerts(store):
    incident = incident_with(store, 2)
    ids = [a.id for a in incident.alerts]
    service = AlertService(store)
    assert service.add_note_incident(incident.id, "bob", "looking", LATER) == []
    first = ids[0]
    assert service.assign([first], "cro", "bob", LATER) == []
    # The incident's other open alerts are assigned; the one already assigned is left alone.
    assert service.assign_incident(incident.id, "cro", "bob", LATER) == []
    assert [e.action for e in store.alert_events(first)].count("assign") == 1
    assert service.assign_incident(incident.id, "cro", "bob", LATER) == [
        f"incident {incident.id} has no open alert that is not already assigned to cro"
    ]
    assert service.resolve_incident(incident.id, "bob", "fixed at the source", LATER) == []
    for alert_id in ids:
        assert store.alert(alert_id).state is State.RESOLVED
        assert store.alert(alert_id).assignee == "cro"
        actions = [e.action for e in store.alert_events(alert_id)]
        assert actions[-1] == "resolve" and "note" in actions and "assign" in actions
    assert service.resolve_incident(incident.id, "bob", "again", LATER) == [
        f"incident {incident.id} has no open alert to resolve: it is already resolved"
    ]


def test_an_incident_resolved_whole_is_one_transaction_and_one_notice(store):
    # The MQL→SQL incident: a critical target, a critical drift and a warning anomaly. One
    # alert at a time, resolving the two critical ones first would ease it to warning on the
    # way (a "de-escalate" notice); resolved whole, the only notice is "resolve".
    incident = next(i for i in store.incidents(open_only=True) if i.group == "kpi:mql_to_sql")
    assert sorted(a.severity.value for a in incident.alerts) == ["critical", "critical", "warning"]
    logged = [n.id for n in store.notices()]
    assert AlertService(store).resolve_incident(incident.id, "ana", "fixed the form", LATER) == []
    new = [n for n in store.notices() if n.id not in logged]
    assert [(n.incident_id, n.kind, n.actor, n.note) for n in new] == [
        (incident.id, "resolve", "ana", "fixed the form")
    ]
    assert {store.alert(a.id).state for a in incident.alerts} == {State.RESOLVED}
