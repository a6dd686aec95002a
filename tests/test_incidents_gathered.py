"""The incidents a screen lists from alerts as filed (domain.incidents.gathered)."""

from __future__ import annotations

from intelligentos.domain.alerts import Alert, State
from intelligentos.domain.detection import Severity
from intelligentos.domain.incidents import gathered


def alert(alert_id: int, rule: str, opened: str, **more) -> Alert:
    return Alert(
        id=alert_id,
        rule=rule,
        severity=Severity(more.pop("severity", "warning")),
        state=more.pop("state", State.FIRING),
        opened_at=opened,
        updated_at=opened,
        **more,
    )


def test_alerts_are_gathered_by_their_incident_and_loose_ones_by_their_group():
    alerts = [
        # Incident 4: two alerts of gross margin, filed.
        alert(2, "anomaly", "2026-12-07T09:00:00Z", kpi_id="gross_margin", incident_id=4),
        alert(1, "target", "2026-12-07T08:00:00Z", kpi_id="gross_margin", incident_id=4),
        # Incident 9: its group is what the store says, not what the alert would make.
        alert(3, "drift", "2026-12-07T07:00:00Z", kpi_id="win_rate", incident_id=9),
        # Not filed yet: a stale source and a KPI's stale alert under it, one group.
        alert(5, "stale-source", "2026-12-07T10:00:00Z", system_id="crm"),
        alert(6, "stale", "2026-12-07T10:00:00Z", kpi_id="win_rate", parent_alert_id=5),
    ]
    found = gathered(alerts, {4: "kpi:gross_margin", 9: "kpi:win_rate"})
    # Oldest first: incident 9 opened 07:00, 4 at 08:00 (its earliest alert), the loose one
    # at 10:00.
    assert [(i.id, i.group) for i in found] == [
        (9, "kpi:win_rate"),
        (4, "kpi:gross_margin"),
        (None, "system:crm"),
    ]
    assert [a.id for a in found[1].alerts] == [1, 2]  # oldest first within it
    assert [a.id for a in found[2].alerts] == [5, 6]


def test_an_incident_the_store_does_not_name_takes_its_alerts_group():
    found = gathered([alert(7, "target", "2026-12-07T09:00:00Z", kpi_id="csat", incident_id=2)], {})
    assert [(i.id, i.group) for i in found] == [(2, "kpi:csat")]
