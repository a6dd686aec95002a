"""The alert lifecycle as a pure state machine.

States: ``firing`` → ``acknowledged`` → ``resolved``; ``snoozed`` only after
acknowledgement, back to ``firing`` when the snooze expires while the condition holds.
Every transition returns the new alert and the :class:`Event` to append to the log.
An alert is identified by its subject (a KPI, or a source system for ``stale-source``) and
rule; a resolved alert never reopens.

Also what an alert says to people (value by unit, deviation per rule, owner, when the breach
began), so the cockpit and the CLI word an alert the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from intelligentos.domain.catalog.models import Catalog, Direction, Kpi
from intelligentos.domain.clock import stamp, utc_naive
from intelligentos.domain.detection import Finding, Rule, Severity, period_end, stale_limit_days
from intelligentos.domain.formatting import format_value

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

# A snooze hides an alert that still holds; a month is as long as that may stay out of
# sight before someone has to look again (acknowledged alerts do not flash anyway).
MAX_SNOOZE = timedelta(days=30)
_TOO_LONG = "a snooze lasts at most 30 days; acknowledging is enough to stop the flashing"


def parse_duration(
    text: str, *, what: str = "a snooze", longest: timedelta = MAX_SNOOZE, why: str = _TOO_LONG
) -> timedelta:
    """``30m``, ``4h``, ``1.5d``, ``2w`` → timedelta, at most ``longest`` (a snooze's
    :data:`MAX_SNOOZE` by default); anything else raises ValueError with a sentence for the
    user (``what`` names what lasts, ``why`` says why it may not last longer)."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30m, 4h, 2d or 1w")
    amount, unit = float(match[1]), match[2].lower()
    if amount <= 0:
        raise ValueError(f"{what} must last longer than zero")
    minutes = {"m": 1, "min": 1, "h": 60, "d": 1440, "w": 10080}[unit]
    duration = timedelta(minutes=amount * minutes)
    if duration > longest:
        raise ValueError(f"{text.strip()!r} is too long: {why}")
    return duration


def check_note(
    note: str,
    to: str = "acknowledge",
    example: str = "say why, or who is on it (e.g. known: CRM migration)",
) -> str:
    """The note, unchanged, if it has something to read; a blank one (only spaces or
    invisible characters) raises :class:`LifecycleError` saying what it is required ``to``
    do: an acknowledgement (or a resolution, ...) without a reason tells the next person
    nothing."""
    if not any(ch.isprintable() and not ch.isspace() for ch in note):
        raise LifecycleError(f"a note is required to {to}: {example}")
    return note


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
    incident_id: int | None = None  # the incident it belongs to (domain.incidents)
    assignee: str | None = None  # the agent it is assigned to (domain.alert_actions)

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


def rejudge(
    alert: Alert, finding: Finding | None, may_resolve: bool, now: datetime
) -> tuple[Alert, Event | None]:
    """Apply one evaluation under a new definition of the alert's KPI (its target or
    thresholds changed). Unlike :func:`reconcile`, the severity follows the new judgment
    down as well as up (stickiness is for values hovering at a threshold, not for moved
    goalposts), and the caller judges ``may_resolve`` without hysteresis: the value did
    not move, the definition did."""
    if finding is not None and finding.severity.rank < alert.severity.rank:
        at = stamp(now)
        lowered = replace(_with_finding(alert, finding, at), severity=finding.severity)
        note = (
            f"de-escalated {alert.severity.value} → {finding.severity.value} under the new "
            "definition"
        )
        return replace(lowered, updated_at=at), Event(
            at, SYSTEM_ACTOR, "de-escalate", alert.state, alert.state, note, finding.value
        )
    new, event = reconcile(alert, finding, may_resolve, now)
    if event is not None and event.action in ("escalate", "resolve"):
        event = replace(event, note=f"{event.note} under the new definition")
    return new, event


def acknowledge(alert: Alert, actor: str, note: str, now: datetime) -> tuple[Alert, Event]:
    check_note(note)
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


def snooze_refusal(alert: Alert) -> str | None:
    """Why ``alert`` cannot be snoozed, or ``None``: known before asking for how long."""
    if alert.state is State.RESOLVED:
        return f"alert {alert.id} is resolved; there is nothing to snooze"
    if alert.state not in (State.ACKNOWLEDGED, State.SNOOZED):
        return f"alert {alert.id} is {alert.state.value}; acknowledge it before snoozing"
    return None


def snooze(
    alert: Alert, duration: timedelta, actor: str, note: str | None, now: datetime
) -> tuple[Alert, Event]:
    refusal = snooze_refusal(alert)
    if refusal:
        raise LifecycleError(refusal)
    if duration > MAX_SNOOZE:
        raise LifecycleError(_TOO_LONG)
    if duration <= timedelta(0):
        raise LifecycleError("a snooze must last longer than zero")
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


# --- what an alert says to people ----------------------------------------------------------

UNASSIGNED = "unassigned"


def number_text(value: float | None, kpi: Kpi | None) -> str:
    """A value of ``kpi`` formatted by its unit (``63.8%``, ``$2.4M``); ``—`` for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    # Values written by other tools may belong to a KPI the catalog no longer knows.
    return format_value(value, kpi.unit) if kpi else f"{value:.4g}"


def value_text(alert: Alert, kpi: Kpi | None) -> str:
    """The value that triggered the alert, formatted by the KPI's unit (``63.8%``)."""
    return number_text(alert.value, kpi)


def expected_text(alert: Alert, kpi: Kpi | None) -> str:
    """What the rule expected (target, median, control-chart centre), by unit; ``—`` for
    rules without an expected value (stale data, stale source)."""
    return number_text(alert.expected, kpi)


def _side(alert: Alert) -> str:
    if alert.value is None or alert.expected is None:
        return "off"
    return "below" if alert.value < alert.expected else "above"


def deviation_text(alert: Alert, kpi: Kpi | None) -> str:
    """The deviation in the rule's own terms. ``deviation`` holds the adverse shortfall as a
    fraction of the target (target; forecast, of the projected value), the robust z-score
    (anomaly), the latest point's distance from the centre line in σ (drift), days since
    the last observation (stale) or the number of stale KPIs fed (stale-source):
    a bare number would mix all of these."""
    deviation = alert.deviation
    if alert.rule == Rule.ANOMALY and deviation is None and alert.value is not None:
        # An infinite z (a constant history) is stored as no deviation.
        return f"∞ σ {_side(alert)} median"
    if deviation is None or math.isnan(deviation):
        return "—"
    if alert.rule in (Rule.TARGET, Rule.FORECAST):
        if kpi is not None and kpi.direction is Direction.HIGHER:
            side = "below"
        elif kpi is not None and kpi.direction is Direction.LOWER:
            side = "above"
        else:
            side = _side(alert)
        shortfall = f"{deviation * 100:.1f} % {side} target"
        # A forecast alert's value is the projection at the horizon, not a measurement.
        return f"projected {shortfall}" if alert.rule == Rule.FORECAST else shortfall
    if alert.rule == Rule.ANOMALY:
        return f"{abs(deviation):.1f} σ {'below' if deviation < 0 else 'above'} median"
    if alert.rule == Rule.DRIFT:
        return f"{abs(deviation):.1f} σ {_side(alert)} centre"
    if alert.rule == Rule.STALE:
        days = kpi.frequency.days if kpi else 1
        if days == 1:
            return f"{deviation:.0f} d without data"
        periods = int(deviation // days)
        return f"{periods} period{'' if periods == 1 else 's'} late"
    if alert.rule == Rule.STALE_SOURCE:
        count = int(deviation)
        return f"{count} KPI{'' if count == 1 else 's'} stale"
    return f"{deviation:.3g}"


def _kpi_owner(kpi: Kpi, catalog: Catalog) -> str:
    agent = catalog.agents.get(kpi.owner_agent or "")
    function = catalog.functions.get(kpi.owner_function or "")
    if agent is None and function is not None:
        agent = catalog.agents.get(function.agent)
    if agent is not None:
        return agent.name
    return function.name if function else UNASSIGNED


def fed_kpis(system_id: str, catalog: Catalog) -> list[str]:
    """The KPIs whose lineage reads a field of ``system_id``, in catalog order."""
    return [
        kpi.id
        for kpi in catalog.kpis.values()
        if any(f.split(".", 1)[0] == system_id for link in kpi.lineage for f in link.fields)
    ]


def owner_name(alert: Alert, catalog: Catalog | None, fed: Iterable[str] | None = None) -> str:
    """Who owns the condition, never blank: the KPI's owner agent (else its function), or
    for a stale source the owners of the KPIs it feeds (``fed``, by id; found through the
    catalog's lineage when not given)."""
    if catalog is None:
        return UNASSIGNED
    if alert.kpi_id:
        kpi = catalog.kpis.get(alert.kpi_id)
        return _kpi_owner(kpi, catalog) if kpi else UNASSIGNED
    if fed is None:
        fed = fed_kpis(alert.system_id or "", catalog)
    kpis = (catalog.kpis.get(kpi_id) for kpi_id in fed)
    owners = dict.fromkeys(_kpi_owner(kpi, catalog) for kpi in kpis if kpi is not None)
    owners.pop(UNASSIGNED, None)
    return ", ".join(owners) or UNASSIGNED


def acknowledgement_text(alert: Alert) -> str:
    """Who acknowledged it, their note, and until when it is snoozed; empty if nobody."""
    text = f"{alert.acked_by}: {alert.ack_note or ''}" if alert.acked_by else ""
    if alert.snoozed_until:
        until = alert.snoozed_until.removesuffix("Z").replace("T", " ")[:16]
        text += f"{' · ' if text else ''}snoozed until {until} UTC"
    return text


def _moment(text: str | None) -> datetime | None:
    try:
        return utc_naive(datetime.fromisoformat(text)) if text else None
    except ValueError:
        return None  # the alerts table is public: another tool may have written anything


def breach_start(
    alert: Alert, kpi: Kpi | None, grouped: Iterable[datetime | None] = ()
) -> datetime | None:
    """When the breach began (naive UTC), as well as the alert knows it.

    ``period`` is the observation that triggered the alert (later refreshed to the latest
    breaching one), so the breach began at the earlier of that period and ``opened_at``:
    an alert opened today on last month's figure is a month old. For stale data the breach
    began when the next observation became overdue: the end of the last period plus the
    KPI's stale limit. A stale source has no period of its own: it began when the last of
    the KPIs it feeds went stale, the latest of ``grouped`` (the breach starts of the alerts
    grouped under it), else at ``opened_at``. ``None`` when not even ``opened_at`` can be read.
    """
    opened = _moment(alert.opened_at)
    if alert.rule == Rule.STALE_SOURCE:
        starts = [start for start in grouped if start is not None]
        began = max(starts) if starts else None
    else:
        began = _moment(alert.period)
    if began is not None and alert.rule == Rule.STALE and kpi is not None:
        covered = period_end(began.date(), kpi.frequency) - began.date()
        began += covered + timedelta(days=stale_limit_days(kpi))
    if began is None or opened is None:
        return began or opened
    return min(began, opened)


# --- an alert as it stood at a past moment (time travel) ----------------------------------

_SNOOZED_UNTIL = re.compile(r"^snoozed until (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")
_ESCALATED = re.compile(r"^(?:de-)?escalated (\w+) → (\w+)")


def _escalated_from(event: Event) -> Severity | None:
    """The severity an ``escalate`` (or ``de-escalate``) event changed the alert from (its
    note says so)."""
    changed = event.action in ("escalate", "de-escalate")
    match = _ESCALATED.match(event.note or "") if changed else None
    try:
        return Severity(match[1]) if match else None
    except ValueError:
        return None


def state_at(alert: Alert, events: Iterable[Event], moment: str) -> Alert | None:
    """``alert`` as it stood at ``moment`` (a store timestamp, or a day's upper bound from
    :func:`intelligentos.domain.clock.period_upper_bound`), replayed from its event log; ``None``
    when it was opened after ``moment`` (it did not exist yet).

    The state, when it last changed, who acknowledged it (and their note), until when it
    was snoozed, when it was resolved, its severity before a later escalation and the value
    its last event saw come from the events at or before ``moment``. The log does not keep
    the rest (the period, the detector's message, the deviation): those are the alert's
    latest. An alert without events (written by another tool) counts as firing from
    ``opened_at``, acknowledged from ``acked_at``, resolved from ``resolved_at``."""
    if alert.opened_at > moment:
        return None
    ordered = list(events)
    past = [e for e in ordered if e.at <= moment]
    later = [e for e in ordered if e.at > moment]
    if alert.updated_at <= moment and not later:
        return alert  # nothing has changed since: the stored alert is exact
    severity = alert.severity
    for event in later:
        before = _escalated_from(event)
        if before is not None:
            severity = before  # the first escalation after the moment
            break
    if not past:
        resolved = alert.resolved_at is not None and alert.resolved_at <= moment
        acked = alert.acked_at is not None and alert.acked_at <= moment
        # When a snooze began is not known: an owned alert counts as acknowledged.
        state = State.RESOLVED if resolved else State.ACKNOWLEDGED if acked else State.FIRING
        return replace(
            alert,
            severity=severity,
            state=state,
            updated_at=min(alert.updated_at, moment),
            resolved_at=alert.resolved_at if resolved else None,
            acked_by=alert.acked_by if acked else None,
            acked_at=alert.acked_at if acked else None,
            ack_note=alert.ack_note if acked else None,
            snoozed_until=None,
        )
    last = past[-1]
    owned = [e for e in past if e.action in ("acknowledge", "unacknowledge")]
    ack = owned[-1] if owned and owned[-1].action == "acknowledge" else None
    snoozed_until = None
    if last.to_state is State.SNOOZED:
        match = _SNOOZED_UNTIL.match(last.note or "")
        snoozed_until = match[1] if match else None
    values = [e.value for e in past if e.value is not None]
    return replace(
        alert,
        severity=severity,
        state=last.to_state,
        updated_at=last.at,
        value=values[-1] if values else alert.value,
        resolved_at=last.at if last.to_state is State.RESOLVED else None,
        acked_by=ack.actor if ack else None,
        acked_at=ack.at if ack else None,
        ack_note=ack.note if ack else None,
        snoozed_until=snoozed_until,
    )


def by_severity(alerts: Iterable[Alert]) -> list[Alert]:
    """Most severe first, then oldest first (the order the store lists alerts in)."""
    return sorted(alerts, key=lambda a: (-a.severity.rank, a.opened_at, a.id or 0))
