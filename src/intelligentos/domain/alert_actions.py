"""What else a person does to an alert, beside acknowledging and snoozing it
(:mod:`intelligentos.domain.alerts`): take an acknowledgement back, add a follow-up note,
assign it to an agent, resolve it by hand. Each returns the new alert and the
:class:`~intelligentos.domain.alerts.Event` that logs who did it and why.

Each also has an incident-level form: the alerts of an incident it applies to
(:func:`to_unacknowledge`, :func:`to_follow_up`); acknowledging an incident acknowledges its
firing alerts (:func:`intelligentos.domain.incidents.to_acknowledge`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from intelligentos.domain.alerts import Alert, Event, LifecycleError, State, check_note
from intelligentos.domain.clock import stamp
from intelligentos.domain.incidents import Incident

OWNED = (State.ACKNOWLEDGED, State.SNOOZED)


def unacknowledge(alert: Alert, actor: str, note: str, now: datetime) -> tuple[Alert, Event]:
    """Take back an acknowledgement (or a snooze): nobody owns the alert any more, it fires
    (and flashes) again. The note says why (handing it back, acknowledged by mistake)."""
    check_note(note, "take an acknowledgement back", "say why (e.g. not mine: handing back)")
    if alert.state is State.RESOLVED:
        raise LifecycleError(f"alert {alert.id} is resolved; there is nothing to take back")
    if alert.state not in OWNED:
        raise LifecycleError(f"alert {alert.id} is firing; nobody has acknowledged it")
    at = stamp(now)
    firing = replace(
        alert,
        state=State.FIRING,
        acked_by=None,
        acked_at=None,
        ack_note=None,
        snoozed_until=None,
        updated_at=at,
    )
    return firing, Event(at, actor, "unacknowledge", alert.state, State.FIRING, note, alert.value)


def add_note(alert: Alert, actor: str, note: str, now: datetime) -> tuple[Alert, Event]:
    """A follow-up note in the alert's log; its state does not change. A resolved alert
    takes notes too: what was found afterwards belongs with it."""
    check_note(note, "add a note", "write what was found or done")
    at = stamp(now)
    return replace(alert, updated_at=at), Event(
        at, actor, "note", alert.state, alert.state, note, alert.value
    )


def assign(
    alert: Alert, agent_id: str, agents: Collection[str], actor: str, now: datetime
) -> tuple[Alert, Event]:
    """Assign an open alert to one of ``agents`` (the catalog's agent ids); its state does
    not change (whoever acknowledges it still owns the acknowledgement)."""
    if agent_id not in agents:
        known = ", ".join(sorted(agents)) or "none"
        raise LifecycleError(f"there is no agent {agent_id!r}; the catalog's agents: {known}")
    if alert.state is State.RESOLVED:
        raise LifecycleError(f"alert {alert.id} is resolved; there is nothing to assign")
    if alert.assignee == agent_id:
        raise LifecycleError(f"alert {alert.id} is already assigned to {agent_id}")
    at = stamp(now)
    before = f" (was {alert.assignee})" if alert.assignee else ""
    return replace(alert, assignee=agent_id, updated_at=at), Event(
        at,
        actor,
        "assign",
        alert.state,
        alert.state,
        f"assigned to {agent_id}{before}",
        alert.value,
    )


def resolve(alert: Alert, actor: str, note: str, now: datetime) -> tuple[Alert, Event]:
    """A person resolves an open alert (fixed at the source, a false alarm). A resolved alert
    never reopens: if the condition still holds at the next evaluation, a new alert opens."""
    check_note(note, "resolve", "say what fixed it, or why it was a false alarm")
    if alert.state is State.RESOLVED:
        raise LifecycleError(f"alert {alert.id} is already resolved")
    at = stamp(now)
    resolved = replace(
        alert, state=State.RESOLVED, resolved_at=at, snoozed_until=None, updated_at=at
    )
    return resolved, Event(at, actor, "resolve", alert.state, State.RESOLVED, note, alert.value)


def to_unacknowledge(incident: Incident) -> Sequence[Alert]:
    """The alerts taking an incident's acknowledgement back applies to: its acknowledged and
    snoozed ones."""
    return [a for a in incident.alerts if a.state in OWNED]


def to_follow_up(incident: Incident) -> Sequence[Alert]:
    """The alerts a note, an assignment or a resolution of an incident applies to: its open
    ones; a note on a resolved incident goes to all of its alerts."""
    return incident.open_alerts or list(incident.alerts)
