"""Incidents: the grouping rule, the face, the state and what is notified, worked by hand."""

from __future__ import annotations

from dataclasses import replace

from intelligentos.domain.alerts import Alert, State
from intelligentos.domain.detection import Severity
from intelligentos.domain.incidents import (
    Incident,
    IncidentState,
    Notice,
    group_of,
    incident_for,
    notice,
    to_acknowledge,
)


def alert(alert_id: int, rule: str, severity: str, opened: str, **more) -> Alert:
    return Alert(
        id=alert_id,
        rule=rule,
        severity=Severity(severity),
        state=more.pop("state", State.FIRING),
        opened_at=opened,
        updated_at=opened,
        kpi_id=more.pop("kpi_id", "gross_margin"),
        **more,
    )


TARGET = alert(1, "target", "critical", "2026-12-07T09:00:00Z")
ANOMALY = alert(2, "anomaly", "warning", "2026-12-07T09:00:00Z")
DRIFT = alert(3, "drift", "warning", "2026-12-07T08:00:00Z")


def test_alerts_about_one_kpi_share_a_group_and_a_stale_source_groups_its_kpis():
    source = alert(10, "stale", "warning", "2026-12-07T06:00:00Z", kpi_id=None, system_id="crm")
    stale_kpi = alert(11, "stale", "warning", "2026-12-07T06:00:00Z", parent_alert_id=10)
    assert {group_of(a) for a in (TARGET, ANOMALY, DRIFT)} == {"kpi:gross_margin"}
    assert group_of(source) == "system:crm"
    # Under its stale source, the KPI's stale alert is the source's problem.
    assert group_of(stale_kpi, {10: source}) == "system:crm"
    assert group_of(stale_kpi) == "kpi:gross_margin"  # the source alert unknown: its KPI


def test_one_bad_point_makes_one_incident_whose_face_is_the_most_severe():
    incident = Incident(1, "kpi:gross_margin", (DRIFT, ANOMALY, TARGET))
    assert incident.face is TARGET  # critical beats two warnings
    assert incident.severity is Severity.CRITICAL
    assert incident.state is IncidentState.FIRING
    assert incident.opened_at == "2026-12-07T08:00:00Z"  # the drift came first
    # Among equals, the earliest opened: the drift (08:00) before the anomaly (09:00).
    assert Incident(2, "kpi:gross_margin", (ANOMALY, DRIFT)).face is DRIFT


def test_the_state_follows_the_open_alerts():
    acked = replace(TARGET, state=State.ACKNOWLEDGED)
    snoozed = replace(ANOMALY, state=State.SNOOZED)
    resolved = replace(DRIFT, state=State.RESOLVED)
    assert Incident(1, "g", (acked, snoozed, resolved)).state is IncidentState.ACKNOWLEDGED
    assert Incident(1, "g", (snoozed, resolved)).state is IncidentState.SNOOZED
    assert Incident(1, "g", (resolved,)).state is IncidentState.RESOLVED
    # Resolved, it keeps the face it had.
    assert Incident(1, "g", (resolved, replace(TARGET, state=State.RESOLVED))).face.id == 1


def test_a_group_has_at_most_one_open_incident():
    closed = Incident(1, "kpi:gross_margin", (replace(TARGET, state=State.RESOLVED),))
    live = Incident(2, "kpi:gross_margin", (ANOMALY,))
    assert incident_for([closed, live], "kpi:gross_margin") is live
    assert incident_for([closed], "kpi:gross_margin") is None


def test_what_is_notified():
    opened = Incident(1, "g", (DRIFT,))
    joined = Incident(1, "g", (DRIFT, ANOMALY))
    escalated = Incident(1, "g", (DRIFT, ANOMALY, TARGET))
    acknowledged = Incident(
        1, "g", tuple(replace(a, state=State.ACKNOWLEDGED) for a in escalated.alerts)
    )
    resolved = Incident(1, "g", tuple(replace(a, state=State.RESOLVED) for a in escalated.alerts))
    assert notice(None, opened) is Notice.OPENED
    assert notice(opened, joined) is None  # a second warning: recorded, not notified
    assert notice(joined, escalated) is Notice.ESCALATED
    assert notice(escalated, joined) is Notice.DE_ESCALATED
    assert notice(escalated, acknowledged) is Notice.ACKNOWLEDGED
    assert notice(acknowledged, resolved) is Notice.RESOLVED
    assert notice(resolved, resolved) is None


def test_an_incident_nobody_is_on_any_more_fires_again():
    acked = replace(TARGET, state=State.ACKNOWLEDGED)
    before = Incident(1, "g", (acked, replace(ANOMALY, state=State.ACKNOWLEDGED)))
    # The acknowledgement of the target alert is taken back: firing again, notified.
    taken_back = Incident(1, "g", (TARGET, replace(ANOMALY, state=State.ACKNOWLEDGED)))
    assert notice(before, taken_back) is Notice.REFIRED
    snoozed = Incident(1, "g", (replace(TARGET, state=State.SNOOZED),))
    assert notice(snoozed, Incident(1, "g", (TARGET,))) is Notice.REFIRED
    # A new warning joins an acknowledged incident: recorded, not notified (its people are
    # on it; a more severe one would escalate it).
    drift = replace(DRIFT, id=4)
    joined = Incident(1, "g", (acked, replace(ANOMALY, state=State.ACKNOWLEDGED), drift))
    assert notice(before, joined) is None


def test_acknowledging_an_incident_acknowledges_its_firing_alerts():
    incident = Incident(1, "g", (DRIFT, replace(ANOMALY, state=State.SNOOZED), TARGET))
    assert [a.id for a in to_acknowledge(incident)] == [3, 1]


def test_a_history_of_alerts_makes_its_incidents():
    from intelligentos.domain.incidents import build

    first = replace(DRIFT, id=1, state=State.RESOLVED, resolved_at="2026-12-07T10:00:00Z")
    joins = replace(TARGET, id=2, opened_at="2026-12-07T09:30:00Z")  # while the drift is open
    after = replace(ANOMALY, id=3, opened_at="2026-12-07T11:00:00Z")  # everything resolved?
    # The target alert (2) is still open at 11:00: the anomaly joins incident 1 too.
    incidents = build([after, joins, first])
    assert [(i.id, [a.id for a in i.alerts]) for i in incidents] == [(1, [1, 2, 3])]
    # With the target resolved at 10:30, the anomaly at 11:00 opens incident 2.
    closed = replace(joins, state=State.RESOLVED, resolved_at="2026-12-07T10:30:00Z")
    incidents = build([first, closed, after])
    assert [(i.id, [a.id for a in i.alerts]) for i in incidents] == [(1, [1, 2]), (2, [3])]
    # Another KPI is another incident; a stale source takes its stale KPIs.
    other = replace(TARGET, id=4, kpi_id="nrr", opened_at="2026-12-07T09:45:00Z")
    source = Alert(
        id=5,
        rule="stale-source",
        severity=Severity.WARNING,
        state=State.FIRING,
        opened_at="2026-12-07T09:50:00Z",
        updated_at="2026-12-07T09:50:00Z",
        system_id="crm",
    )
    stale = replace(DRIFT, id=6, rule="stale", opened_at="2026-12-07T09:51:00Z", parent_alert_id=5)
    incidents = build([first, closed, other, source, stale])
    assert [(i.group, [a.id for a in i.alerts]) for i in incidents] == [
        ("kpi:gross_margin", [1, 2]),
        ("kpi:nrr", [4]),
        ("system:crm", [5, 6]),
    ]
