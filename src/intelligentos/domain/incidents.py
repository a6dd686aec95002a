"""Incidents: the alerts about one problem, notified and acknowledged as one.

**The grouping rule** (Alertmanager's ``group_by``): an alert's *group* is its KPI
(``kpi:<id>``), or, for a stale-source alert, its source system (``system:<id>``); a KPI's
stale alert raised under a stale source belongs to the source's group (its
``parent_alert_id``), since the source is the problem. An open alert joins the open incident
of its group; with none open, it opens a new one. An incident stays open while one of its
alerts is open, and is resolved with the last of them: an alert about the same KPI after that
opens a new incident.

**Its face** is its most severe open alert (the earliest opened among equals; a resolved
incident keeps the face it had). **Its state**: firing while one of its open alerts fires;
acknowledged when every open alert is acknowledged or snoozed and one is acknowledged;
snoozed when all are snoozed; resolved when none is open.

**What is notified** (:func:`notice`): one notification when the incident opens, one when its
face's severity rises or falls, one when it is acknowledged, one when it resolves; an alert
joining or leaving an incident without changing those is recorded, not notified.

Pure Python: no SQL, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from intelligentos.domain.alerts import Alert, State
from intelligentos.domain.detection import Severity


class IncidentState(StrEnum):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class Notice(StrEnum):
    """A change of an incident that is notified."""

    OPENED = "open"
    ESCALATED = "escalate"
    DE_ESCALATED = "de-escalate"
    ACKNOWLEDGED = "acknowledge"
    # Acknowledged or snoozed, then firing again without a new alert: the acknowledgement was
    # taken back or a snooze ran out, so nobody is on it any more.
    REFIRED = "refire"
    RESOLVED = "resolve"


def group_of(alert: Alert, parents: dict[int, Alert] | None = None) -> str:
    """The group an alert belongs to: its KPI, or its source system for a stale source (and
    for a KPI's stale alert grouped under one: ``parents`` holds the stale-source alerts by
    id)."""
    if alert.parent_alert_id is not None and parents is not None:
        parent = parents.get(alert.parent_alert_id)
        if parent is not None:
            return group_of(parent)
    if alert.kpi_id is not None:
        return f"kpi:{alert.kpi_id}"
    return f"system:{alert.system_id}"


@dataclass(frozen=True)
class Incident:
    """An incident's alerts (every one it ever had, oldest first) and what follows from them."""

    id: int | None
    group: str
    alerts: tuple[Alert, ...]

    @property
    def open_alerts(self) -> list[Alert]:
        return [a for a in self.alerts if a.is_open]

    @property
    def face(self) -> Alert:
        """The most severe open alert, the earliest opened among equals; once resolved, the
        most severe it had."""
        pool = self.open_alerts or list(self.alerts)
        return min(pool, key=lambda a: (-a.severity.rank, a.opened_at, a.id or 0))

    @property
    def severity(self) -> Severity:
        return self.face.severity

    @property
    def state(self) -> IncidentState:
        live = self.open_alerts
        if not live:
            return IncidentState.RESOLVED
        states = {a.state for a in live}
        if State.FIRING in states:
            return IncidentState.FIRING
        if State.ACKNOWLEDGED in states:
            return IncidentState.ACKNOWLEDGED
        return IncidentState.SNOOZED

    @property
    def opened_at(self) -> str:
        return min(a.opened_at for a in self.alerts)


def incident_for(open_incidents: Iterable[Incident], group: str) -> Incident | None:
    """The open incident of ``group``, if there is one (at most one is open per group)."""
    return next(
        (i for i in open_incidents if i.group == group and i.state is not IncidentState.RESOLVED),
        None,
    )


def open_at(incident: Incident, moment: str) -> bool:
    """Whether the incident was open at ``moment``: opened by then, and one of its alerts
    not resolved by then."""
    return incident.opened_at <= moment and any(
        a.resolved_at is None or a.resolved_at > moment for a in incident.alerts
    )


def build(alerts: Iterable[Alert]) -> list[Incident]:
    """The incidents a history of alerts makes, in the order they opened, numbered from 1:
    each alert, in the order it opened, joins the incident of its group open at that moment,
    or opens the next one (what upgrading a store without incidents does). Stale KPI alerts
    grouped under a stale-source alert join the source's group."""
    ordered = sorted(alerts, key=lambda a: (a.opened_at, a.id or 0))
    parents = {a.id: a for a in ordered if a.id is not None and a.kpi_id is None}
    found: list[Incident] = []
    latest: dict[str, int] = {}  # group -> index in found of its latest incident
    for alert in ordered:
        group = group_of(alert, parents)
        index = latest.get(group)
        if index is not None and open_at(found[index], alert.opened_at):
            held = found[index]
            found[index] = Incident(held.id, group, (*held.alerts, alert))
            continue
        found.append(Incident(len(found) + 1, group, (alert,)))
        latest[group] = len(found) - 1
    return found


def notice(before: Incident | None, after: Incident) -> Notice | None:
    """What changed about an incident that a person is told: it opened, its severity rose or
    fell, it was acknowledged, it fires again (nobody is on it any more), it resolved. None:
    nothing worth a message (an alert joined at the same or a lower severity, one of several
    alerts resolved)."""
    if before is None or before.state is IncidentState.RESOLVED:
        return None if after.state is IncidentState.RESOLVED else Notice.OPENED
    if after.state is IncidentState.RESOLVED:
        return Notice.RESOLVED
    if after.severity.rank > before.severity.rank:
        return Notice.ESCALATED
    if after.severity.rank < before.severity.rank:
        return Notice.DE_ESCALATED
    if after.state is IncidentState.ACKNOWLEDGED and before.state is IncidentState.FIRING:
        return Notice.ACKNOWLEDGED
    if (
        after.state is IncidentState.FIRING
        and before.state in (IncidentState.ACKNOWLEDGED, IncidentState.SNOOZED)
        and {a.id for a in after.alerts if a.state is State.FIRING} <= {a.id for a in before.alerts}
    ):
        return Notice.REFIRED
    return None


def to_acknowledge(incident: Incident) -> Sequence[Alert]:
    """The alerts acknowledging the incident acknowledges: its firing ones."""
    return [a for a in incident.alerts if a.state is State.FIRING]


def gathered(alerts: Iterable[Alert], groups: Mapping[int, str]) -> list[Incident]:
    """The incidents ``alerts`` make as filed (by their ``incident_id``; ``groups``: each
    incident's group), oldest first: what a screen lists, for today's alerts or for the
    alerts as they stood on a past day. An alert not filed yet (written by another tool since
    the last check) joins an incident of its group without an id, as the next check would
    file it."""
    ordered = sorted(alerts, key=lambda a: (a.opened_at, a.id or 0))
    parents = {a.id: a for a in ordered if a.id is not None and a.kpi_id is None}
    filed: dict[int, list[Alert]] = {}
    loose: dict[str, list[Alert]] = {}
    for alert in ordered:
        if alert.incident_id is not None:
            filed.setdefault(alert.incident_id, []).append(alert)
        else:
            loose.setdefault(group_of(alert, parents), []).append(alert)
    found = [
        Incident(
            incident_id, groups.get(incident_id) or group_of(members[0], parents), tuple(members)
        )
        for incident_id, members in filed.items()
    ]
    found += [Incident(None, group, tuple(members)) for group, members in loose.items()]
    return sorted(found, key=lambda i: (i.opened_at, i.id or 0))
