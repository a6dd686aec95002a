"""A person's other actions on an alert: take an acknowledgement back, a follow-up note,
assign to an agent, resolve by hand; and which of an incident's alerts each applies to."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from intelligentos.domain.alert_actions import (
    add_note,
    assign,
    resolve,
    to_follow_up,
    to_unacknowledge,
    unacknowledge,
)
from intelligentos.domain.alerts import (
    LifecycleError,
    State,
    acknowledge,
    open_alert,
    snooze,
    state_at,
    withdraw,
)
from intelligentos.domain.clock import stamp
from intelligentos.domain.detection import Finding, Rule, Severity
from intelligentos.domain.incidents import Incident

NOW = datetime(2026, 11, 27, 9, 30)
LATER = NOW + timedelta(minutes=10)
AGENTS = {"cro", "cfo_agent"}
WARN = Finding(Rule.TARGET, Severity.WARNING, 94.0, 100.0, 0.06, "6.0% adverse", "2026-11-27")


def firing(alert_id: int = 7):
    alert, _ = open_alert(WARN, NOW, kpi_id="win_rate")
    return replace(alert, id=alert_id)


def acked(alert_id: int = 7):
    return acknowledge(firing(alert_id), "ana", "on it", NOW)[0]


def snoozed(alert_id: int = 7):
    return snooze(acked(alert_id), timedelta(hours=4), "ana", None, NOW)[0]


def resolved():
    return withdraw(firing(), "gone", NOW)[0]


@pytest.mark.parametrize("make", [acked, snoozed], ids=["acknowledged", "snoozed"])
def test_unacknowledge_makes_it_fire_again_with_nobody_owning_it(make):
    before = make()
    alert, event = unacknowledge(before, "bob", "not mine: handing back", LATER)
    assert alert.state is State.FIRING and alert.needs_attention
    assert (alert.acked_by, alert.acked_at, alert.ack_note, alert.snoozed_until) == (None,) * 4
    assert alert.updated_at == stamp(LATER) == "2026-11-27T09:40:00Z"
    assert (event.actor, event.action, event.from_state, event.to_state, event.note) == (
        "bob",
        "unacknowledge",
        before.state,
        State.FIRING,
        "not mine: handing back",
    )


def test_unacknowledge_refuses_a_firing_alert_a_resolved_one_and_a_blank_note():
    with pytest.raises(LifecycleError, match="alert 7 is firing; nobody has acknowledged it"):
        unacknowledge(firing(), "bob", "why", LATER)
    with pytest.raises(LifecycleError, match="alert 7 is resolved"):
        unacknowledge(resolved(), "bob", "why", LATER)
    with pytest.raises(LifecycleError, match="a note is required to take an acknowledgement"):
        unacknowledge(acked(), "bob", " \t", LATER)


def test_replayed_after_unacknowledge_nobody_owns_it():
    first = firing()
    _, opened = open_alert(WARN, NOW, kpi_id="win_rate")
    owned, acked_event = acknowledge(first, "ana", "on it", NOW)
    back, unacked = unacknowledge(owned, "bob", "handing back", LATER)
    past = state_at(back, [opened, acked_event, unacked], stamp(LATER))
    assert past is not None
    assert (past.state, past.acked_by, past.ack_note) == (State.FIRING, None, None)
    # Before it was taken back, ana owned it.
    earlier = state_at(back, [opened, acked_event, unacked], stamp(NOW))
    assert earlier is not None and (earlier.state, earlier.acked_by) == (State.ACKNOWLEDGED, "ana")


@pytest.mark.parametrize("make", [firing, acked, snoozed, resolved])
def test_a_note_keeps_the_state_and_is_logged(make):
    before = make()
    alert, event = add_note(before, "bob", "CRM export fixed at 09:35", LATER)
    assert alert.state is before.state
    assert (alert.acked_by, alert.ack_note) == (before.acked_by, before.ack_note)
    assert (event.action, event.actor, event.note) == ("note", "bob", "CRM export fixed at 09:35")
    assert event.from_state is event.to_state is before.state


def test_a_blank_note_is_refused():
    with pytest.raises(LifecycleError, match="a note is required to add a note"):
        add_note(firing(), "bob", "\u200b ", LATER)  # only a zero-width space and a blank


def test_assign_stores_the_agent_and_logs_who_assigned_it():
    alert, event = assign(acked(), "cro", AGENTS, "bob", LATER)
    assert alert.assignee == "cro"
    assert alert.state is State.ACKNOWLEDGED and alert.acked_by == "ana"  # ownership stays
    assert (event.action, event.actor, event.note) == ("assign", "bob", "assigned to cro")
    again, event = assign(alert, "cfo_agent", AGENTS, "bob", LATER)
    assert again.assignee == "cfo_agent"
    assert event.note == "assigned to cfo_agent (was cro)"


def test_assign_refuses_an_unknown_agent_a_resolved_alert_and_the_same_agent_twice():
    with pytest.raises(LifecycleError, match=r"there is no agent 'cto'; .*: cfo_agent, cro"):
        assign(firing(), "cto", AGENTS, "bob", LATER)
    with pytest.raises(LifecycleError, match="alert 7 is resolved"):
        assign(resolved(), "cro", AGENTS, "bob", LATER)
    once, _ = assign(firing(), "cro", AGENTS, "bob", LATER)
    with pytest.raises(LifecycleError, match="already assigned to cro"):
        assign(once, "cro", AGENTS, "bob", LATER)


@pytest.mark.parametrize("make", [firing, acked, snoozed])
def test_a_person_resolves_an_open_alert_with_a_note(make):
    before = make()
    alert, event = resolve(before, "bob", "fixed the CRM export", LATER)
    assert alert.state is State.RESOLVED and not alert.is_open
    assert alert.resolved_at == "2026-11-27T09:40:00Z" and alert.snoozed_until is None
    assert (event.actor, event.action, event.from_state, event.to_state, event.note) == (
        "bob",
        "resolve",
        before.state,
        State.RESOLVED,
        "fixed the CRM export",
    )


def test_resolve_refuses_a_resolved_alert_and_a_blank_note():
    with pytest.raises(LifecycleError, match="alert 7 is already resolved"):
        resolve(resolved(), "bob", "done", LATER)
    with pytest.raises(LifecycleError, match="a note is required to resolve"):
        resolve(firing(), "bob", "", LATER)


def test_which_of_an_incidents_alerts_each_action_applies_to():
    one, two, three = firing(1), acked(2), snoozed(3)
    gone = withdraw(firing(4), "gone", NOW)[0]
    incident = Incident(5, "kpi:win_rate", (one, two, three, gone))
    assert [a.id for a in to_unacknowledge(incident)] == [2, 3]
    assert [a.id for a in to_follow_up(incident)] == [1, 2, 3]  # the open ones
    over = Incident(6, "kpi:win_rate", (gone,))
    assert [a.id for a in to_follow_up(over)] == [4]  # a resolved incident: all of them
