"""The alert lifecycle as a pure state machine.

States: ``firing`` → ``acknowledged`` → ``resolved``; ``snoozed`` only after
acknowledgement, back to ``firing`` when the snooze expires while the condition holds.
Every transition returns the new alert and the :class:`Event` to append to the log.
An alert is identified by its subject (a KPI, or a source system for ``stale-source``) and
rule; a resolved alert never reopens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from intelligentos.catalog.models import Catalog
from intelligentos.clock import stamp, utc_naive
from intelligentos.detection import Finding, Severity

SYSTEM_ACTOR = "intelligentos"


class State(StrEnum):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


OPEN_STATES = (State.FIRING, State.ACKNOWLEDGED, State.SNOOZED)


class LifecycleError(ValueError):
    """A person asked for a transition the lifecycle does not allow."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)


def parse_duration(text: str) -> timedelta:
    """``30m``, ``4h``, ``1.5d``, ``2w`` → timedelta; anything else raises ValueError."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30m, 4h, 2d or 1w")
    amount, unit = float(match[1]), match[2].lower()
    if amount <= 0:
        raise ValueError("a snooze must last longer than zero")
    minutes = {"m": 1, "min": 1, "h": 60, "d": 1440, "w": 10080}[unit]
    return timedelta(minutes=amount * minutes)


@dataclass(frozen=True)
class Alert:
    rule: str
    severity: Severity
    state: State
    opened_at: str
    updated_at: str
    kpi_id: str | None = None
    system_id: str | None = None
    id: int | None = None
    period: str | None = None
    value: float | None = None
    expected: float | None = None
    deviation: float | None = None
    message: str = ""
    resolved_at: str | None = None
    acked_by: str | None = None
    acked_at: str | None = None
    ack_note: str | None = None
    snoozed_until: str | None = None
    parent_alert_id: int | None = None

    @property
    def key(self) -> tuple[str | None, str | None, str]:
        return (self.kpi_id, self.system_id, self.rule)

    @property
    def is_open(self) -> bool:
        return self.state is not State.RESOLVED

    @property
    def needs_attention(self) -> bool:
        """Firing, unacknowledged and not grouped under a stale-source alert: it flashes."""
        return self.state is State.FIRING and self.parent_alert_id is None


def subject_name(alert: Alert, catalog: Catalog | None) -> str:
    """What an alert is about, by name: its KPI, or the source system of a stale source
    (the id when the catalog does not know it)."""
    if alert.kpi_id:
        kpi = catalog.kpis.get(alert.kpi_id) if catalog else None
        return kpi.name if kpi else alert.kpi_id
    system = catalog.systems.get(alert.system_id or "") if catalog else None
    return system.name if system else (alert.system_id or "")


@dataclass(frozen=True)
class Event:
    at: str
    actor: str
    action: str
    from_state: State | None
    to_state: State
    note: str | None = None
    value: float | None = None
    alert_id: int | None = None


def _with_finding(alert: Alert, finding: Finding, now: str) -> Alert:
    """The alert with the finding's latest values; unchanged (same object) when nothing
    moved, so an evaluation without news writes nothing."""
    updated = replace(
        alert,
        period=finding.period,
        value=finding.value,
        expected=finding.expected,
        deviation=finding.deviation,
        message=finding.message,
    )
    return alert if updated == alert else replace(updated, updated_at=now)


def open_alert(
    finding: Finding,
    now: datetime,
    *,
    kpi_id: str | None = None,
    system_id: str | None = None,
    parent_alert_id: int | None = None,
) -> tuple[Alert, Event]:
    at = stamp(now)
    alert = Alert(
        rule=finding.rule.value,
        severity=finding.severity,
        state=State.FIRING,
        opened_at=at,
        updated_at=at,
        kpi_id=kpi_id,
        system_id=system_id,
        parent_alert_id=parent_alert_id,
        period=finding.period,
        value=finding.value,
        expected=finding.expected,
        deviation=finding.deviation,
        message=finding.message,
    )
    return alert, Event(
        at, SYSTEM_ACTOR, "open", None, State.FIRING, finding.message, finding.value
    )


def reconcile(
    alert: Alert, finding: Finding | None, may_resolve: bool, now: datetime
) -> tuple[Alert, Event | None]:
    """Apply one evaluation to an open alert: resolve, escalate, expire a snooze, or just
    refresh its values. Severity is sticky upwards so that values hovering at the critical
    threshold do not re-fire an acknowledged alert again and again."""
    at = stamp(now)
    expired = (
        alert.state is State.SNOOZED
        and alert.snoozed_until is not None
        and alert.snoozed_until <= at
    )
    if finding is None:
        if expired and not may_resolve:
            # The snooze is over but the value hovers between breach and recovery:
            # ownership stays with the person who acknowledged it.
            back = replace(alert, state=State.ACKNOWLEDGED, snoozed_until=None, updated_at=at)
            return back, Event(
                at,
                SYSTEM_ACTOR,
                "snooze-expired",
                State.SNOOZED,
                State.ACKNOWLEDGED,
                "snooze expired; condition not holding",
                alert.value,
            )
        if not may_resolve:
            return alert, None
        resolved = replace(
            alert, state=State.RESOLVED, resolved_at=at, updated_at=at, snoozed_until=None
        )
        return resolved, Event(
            at,
            SYSTEM_ACTOR,
            "resolve",
            alert.state,
            State.RESOLVED,
            "condition cleared",
            alert.value,
        )
    updated = _with_finding(alert, finding, at)
    if finding.severity.rank > alert.severity.rank:
        escalated = replace(
            updated, severity=finding.severity, state=State.FIRING, snoozed_until=None
        )
        note = f"escalated {alert.severity.value} → {finding.severity.value}"
        return escalated, Event(
            at, SYSTEM_ACTOR, "escalate", alert.state, State.FIRING, note, finding.value
        )
    if expired:
        refired = replace(updated, state=State.FIRING, snoozed_until=None)
        return refired, Event(
            at,
            SYSTEM_ACTOR,
            "snooze-expired",
            State.SNOOZED,
            State.FIRING,
            "snooze expired and the condition still holds",
            finding.value,
        )
    return updated, None


def acknowledge(alert: Alert, actor: str, note: str, now: datetime) -> tuple[Alert, Event]:
    if alert.state is State.RESOLVED:
        raise LifecycleError(f"alert {alert.id} is resolved; there is nothing to acknowledge")
    if alert.state is State.ACKNOWLEDGED:
        raise LifecycleError(f"alert {alert.id} is already acknowledged by {alert.acked_by}")
    at = stamp(now)
    acked = replace(
        alert,
        state=State.ACKNOWLEDGED,
        acked_by=actor,
        acked_at=at,
        ack_note=note,
        snoozed_until=None,
        updated_at=at,
    )
    return acked, Event(
        at, actor, "acknowledge", alert.state, State.ACKNOWLEDGED, note, alert.value
    )


def snooze(
    alert: Alert, duration: timedelta, actor: str, note: str | None, now: datetime
) -> tuple[Alert, Event]:
    if alert.state not in (State.ACKNOWLEDGED, State.SNOOZED):
        raise LifecycleError(
            f"alert {alert.id} is {alert.state.value}; acknowledge it before snoozing"
        )
    at = stamp(now)
    until = stamp(utc_naive(now) + duration)
    snoozed = replace(alert, state=State.SNOOZED, snoozed_until=until, updated_at=at)
    text = f"snoozed until {until}" + (f": {note}" if note else "")
    return snoozed, Event(at, actor, "snooze", alert.state, State.SNOOZED, text, alert.value)


def withdraw(alert: Alert, reason: str, now: datetime) -> tuple[Alert, Event]:
    """Resolve an open alert whose subject is gone (its KPI or system left the catalog):
    the condition can no longer be judged, so nobody should keep owning it."""
    if alert.state is State.RESOLVED:
        raise LifecycleError(f"alert {alert.id} is already resolved")
    at = stamp(now)
    resolved = replace(
        alert, state=State.RESOLVED, resolved_at=at, updated_at=at, snoozed_until=None
    )
    return resolved, Event(
        at, SYSTEM_ACTOR, "resolve", alert.state, State.RESOLVED, reason, alert.value
    )


def regroup(alert: Alert, parent_alert_id: int | None, now: datetime) -> Alert:
    """Attach to (or detach from) a stale-source alert; not a state transition."""
    if alert.parent_alert_id == parent_alert_id:
        return alert
    return replace(alert, parent_alert_id=parent_alert_id, updated_at=stamp(now))
