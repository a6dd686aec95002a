"""The alert lifecycle (SPEC.md §4) as a pure state machine."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from intelligentos.domain.alerts import (
    SYSTEM_ACTOR,
    LifecycleError,
    State,
    acknowledge,
    open_alert,
    parse_duration,
    reconcile,
    regroup,
    rejudge,
    snooze,
    state_at,
)
from intelligentos.domain.clock import stamp
from intelligentos.domain.detection import Finding, Rule, Severity

NOW = datetime(2026, 11, 27, 9, 30)
LATER = NOW + timedelta(minutes=10)

WARN = Finding(Rule.TARGET, Severity.WARNING, 94.0, 100.0, 0.06, "6.0% adverse", "2026-11-27")
CRIT = Finding(Rule.TARGET, Severity.CRITICAL, 85.0, 100.0, 0.15, "15.0% adverse", "2026-11-27")


def firing(finding=WARN):
    alert, _ = open_alert(finding, NOW, kpi_id="win_rate")
    return alert


def acked(finding=WARN):
    alert, _ = acknowledge(firing(finding), "ana", "on it", NOW)
    return alert


def snoozed(duration=timedelta(hours=4)):
    alert, _ = snooze(acked(), duration, "ana", None, NOW)
    return alert


# --- open / acknowledge ------------------------------------------------------------------


def test_open_alert_is_firing_with_open_event():
    alert, event = open_alert(WARN, NOW, kpi_id="win_rate")
    assert alert.state is State.FIRING
    assert alert.severity is Severity.WARNING
    assert alert.rule == "target"
    assert alert.key == ("win_rate", None, "target")
    assert alert.opened_at == alert.updated_at == "2026-11-27T09:30:00Z"
    assert (alert.value, alert.expected, alert.deviation) == (94.0, 100.0, 0.06)
    assert alert.needs_attention
    assert event.action == "open"
    assert event.from_state is None
    assert event.to_state is State.FIRING
    assert event.actor == SYSTEM_ACTOR
    assert event.value == 94.0


def test_acknowledge_records_actor_time_and_note():
    alert, event = acknowledge(firing(), "ana", "on it", LATER)
    assert alert.state is State.ACKNOWLEDGED
    assert (alert.acked_by, alert.acked_at, alert.ack_note) == (
        "ana",
        "2026-11-27T09:40:00Z",
        "on it",
    )
    assert alert.updated_at == "2026-11-27T09:40:00Z"
    assert not alert.needs_attention
    assert (event.action, event.actor, event.note) == ("acknowledge", "ana", "on it")
    assert (event.from_state, event.to_state) == (State.FIRING, State.ACKNOWLEDGED)


def test_acknowledge_twice_raises():
    with pytest.raises(LifecycleError, match="already acknowledged by ana"):
        acknowledge(acked(), "bob", "mine", LATER)


def test_acknowledge_resolved_raises():
    resolved, _ = reconcile(firing(), None, True, LATER)
    with pytest.raises(LifecycleError, match="resolved"):
        acknowledge(resolved, "ana", "late", LATER)
    assert issubclass(LifecycleError, ValueError)


# --- snooze ------------------------------------------------------------------------------


def test_snooze_requires_acknowledgement():
    with pytest.raises(LifecycleError, match="acknowledge it before snoozing"):
        snooze(firing(), timedelta(hours=4), "ana", None, NOW)


def test_snooze_sets_until_now_plus_duration():
    alert, event = snooze(acked(), timedelta(hours=4), "ana", "lunch", NOW)
    assert alert.state is State.SNOOZED
    assert alert.snoozed_until == "2026-11-27T13:30:00Z"  # 09:30 + 4 h
    assert (event.action, event.from_state, event.to_state) == (
        "snooze",
        State.ACKNOWLEDGED,
        State.SNOOZED,
    )
    assert event.note == "snoozed until 2026-11-27T13:30:00Z: lunch"


def test_snooze_with_tz_aware_now_is_stored_in_utc():
    cet = timezone(timedelta(hours=1))
    alert, _ = snooze(
        acked(), timedelta(minutes=30), "ana", None, datetime(2026, 11, 27, 10, 30, tzinfo=cet)
    )
    assert alert.snoozed_until == "2026-11-27T10:00:00Z"  # 09:30 UTC + 30 min


def test_snooze_expiry_with_condition_holding_refires():
    at_expiry = NOW + timedelta(hours=4)
    alert, event = reconcile(snoozed(), WARN, False, at_expiry)
    assert alert.state is State.FIRING
    assert alert.snoozed_until is None
    assert event.action == "snooze-expired"
    assert (event.from_state, event.to_state) == (State.SNOOZED, State.FIRING)


def test_snooze_before_expiry_stays_snoozed():
    before = NOW + timedelta(hours=3, minutes=59)
    alert, event = reconcile(snoozed(), WARN, False, before)
    assert alert.state is State.SNOOZED
    assert event is None


# --- reconcile ---------------------------------------------------------------------------


@pytest.mark.parametrize("start", [acked, snoozed])
def test_escalation_refires_acknowledged_or_snoozed_alert(start):
    before = start()
    alert, event = reconcile(before, CRIT, False, LATER)
    assert alert.state is State.FIRING
    assert alert.severity is Severity.CRITICAL
    assert alert.snoozed_until is None
    assert alert.value == 85.0
    assert event.action == "escalate"
    assert (event.from_state, event.to_state) == (before.state, State.FIRING)
    assert "warning" in event.note and "critical" in event.note


def test_severity_is_sticky():
    critical = acked(CRIT)
    alert, event = reconcile(critical, WARN, False, LATER)
    assert alert.severity is Severity.CRITICAL
    assert alert.state is State.ACKNOWLEDGED
    assert alert.value == 94.0  # values still refresh
    assert alert.updated_at == "2026-11-27T09:40:00Z"
    assert event is None


def test_identical_finding_returns_same_object_without_event():
    alert = acked()
    same, event = reconcile(alert, WARN, False, LATER)
    assert same is alert
    assert event is None


def test_resolve_only_when_allowed():
    alert = acked()
    kept, event = reconcile(alert, None, False, LATER)
    assert kept is alert
    assert event is None
    resolved, event = reconcile(alert, None, True, LATER)
    assert resolved.state is State.RESOLVED
    assert resolved.resolved_at == "2026-11-27T09:40:00Z"
    assert not resolved.is_open
    assert event.action == "resolve"
    assert (event.from_state, event.to_state) == (State.ACKNOWLEDGED, State.RESOLVED)


def test_resolving_snoozed_alert_clears_snooze():
    resolved, _ = reconcile(snoozed(), None, True, LATER)
    assert resolved.state is State.RESOLVED
    assert resolved.snoozed_until is None


# --- regroup -----------------------------------------------------------------------------


def test_regroup_attaches_and_detaches_parent_without_state_change():
    alert = firing()
    grouped = regroup(alert, 7, LATER)
    assert grouped.parent_alert_id == 7
    assert grouped.state is State.FIRING
    assert grouped.updated_at == "2026-11-27T09:40:00Z"
    assert not grouped.needs_attention  # grouped under the stale-source alert
    assert regroup(grouped, 7, LATER) is grouped
    detached = regroup(grouped, None, LATER)
    assert detached.parent_alert_id is None
    assert detached.needs_attention


def test_regroup_keeps_acknowledged_state():
    alert = replace(acked(), id=3)
    assert regroup(alert, 9, LATER).state is State.ACKNOWLEDGED


# --- parse_duration / stamp --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("1.5d", timedelta(hours=36)),
        ("2w", timedelta(days=14)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "4x", "0h", "-1h"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_stamp_naive_is_utc_without_microseconds():
    assert stamp(datetime(2026, 11, 27, 9, 30, 15, 123456)) == "2026-11-27T09:30:15Z"


def test_stamp_tz_aware_converts_to_utc():
    cet = timezone(timedelta(hours=1))
    assert stamp(datetime(2026, 11, 27, 10, 30, tzinfo=cet)) == "2026-11-27T09:30:00Z"
    assert stamp(datetime(2026, 11, 27, 9, 30, tzinfo=UTC)) == "2026-11-27T09:30:00Z"


# --- judged again under a new definition --------------------------------------------------


def test_a_new_definition_lowers_the_severity_that_a_hovering_value_keeps():
    """Severity is sticky for a value hovering at a threshold, not for a moved target."""
    alert = acked(CRIT)
    lower = Finding(Rule.TARGET, Severity.WARNING, 85.0, 90.0, 0.0556, "5.6% adverse", "2026-11-27")
    kept, _ = reconcile(alert, lower, False, LATER)
    assert kept.severity is Severity.CRITICAL
    judged, event = rejudge(alert, lower, False, LATER)
    assert judged.severity is Severity.WARNING
    assert (judged.value, judged.expected, judged.deviation) == (85.0, 90.0, 0.0556)
    assert judged.state is State.ACKNOWLEDGED and judged.acked_by == "ana"
    assert event is not None and event.action == "de-escalate"
    assert event.from_state is event.to_state is State.ACKNOWLEDGED
    assert event.note == "de-escalated critical → warning under the new definition"
    # Time travel before the change still sees it critical.
    events = [event]
    assert state_at(judged, events, stamp(NOW)).severity is Severity.CRITICAL
    assert state_at(judged, events, stamp(LATER)).severity is Severity.WARNING


def test_a_new_definition_under_which_the_condition_is_gone_resolves_at_once():
    judged, event = rejudge(acked(WARN), None, True, LATER)
    assert judged.state is State.RESOLVED
    assert event is not None and event.action == "resolve"
    assert event.note == "condition cleared under the new definition"


def test_a_new_definition_that_raises_the_severity_escalates_as_ever():
    judged, event = rejudge(acked(WARN), CRIT, False, LATER)
    assert judged.severity is Severity.CRITICAL and judged.state is State.FIRING
    assert event is not None and event.action == "escalate"
    assert event.note == "escalated warning → critical under the new definition"
