"""Evaluation against a real store: rules → alerts → lifecycle, persisted atomically (SPEC §4).

Every evaluation uses a fixed clock (NOW, naive = UTC) on the demo store ending 2026-11-27.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from intelligentos.domain.alerts import SYSTEM_ACTOR, Alert, State, open_alert
from intelligentos.domain.clock import stamp
from intelligentos.domain.demo import PLANTS, periods
from intelligentos.domain.detection import (
    ANOMALY_WINDOW,
    DRIFT_BASELINE,
    DRIFT_RECENT,
    Finding,
    Rule,
    Severity,
)
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.observations import Observation
from intelligentos.services.check import (
    acknowledge_alert,
    evaluate_store,
    evaluation_window,
    snooze_alert,
)
from intelligentos.store import Store, StoreError

from .stores import copy_store, file_state, store_content

NOW = datetime(2026, 11, 27, 9, 30)
STALE_SYSTEM = "social_listening"


@pytest.fixture
def store(demo_store: Path):
    with Store.open(demo_store) as opened:
        yield opened


@pytest.fixture
def catalog(store: Store):
    return store.read_catalog()


def find(store: Store, kpi_id: str | None, rule: str, system_id: str | None = None) -> Alert:
    """The open alert of a (KPI or system, rule) pair."""
    matches = [a for a in store.open_alerts() if a.key == (kpi_id, system_id, rule)]
    assert len(matches) == 1, (kpi_id, system_id, rule, matches)
    return matches[0]


def set_latest(store: Store, kpi_id: str, value: float) -> None:
    """Overwrite the KPI's latest observation (same period) with ``value``."""
    period, _ = store.history(kpi_id)[-1]
    store.upsert_observations([Observation(kpi_id, period, value)])


def turnover_at(shortfall: float) -> float:
    """Turnover (lower is better, target 12 %) with the given adverse shortfall."""
    return round(12.0 * (1 + shortfall), 4)


def event_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM alert_events").fetchone()[0]


# --- the first evaluation of the demo store ----------------------------------------------

EXPECTED_BY_PLANT = {
    # plant kind → (rule of the alert it must open, severity or None for "any")
    "breach": (Rule.TARGET, Severity.CRITICAL),
    "slump": (Rule.TARGET, Severity.CRITICAL),
    "sag": (Rule.TARGET, Severity.CRITICAL),
    "warning": (Rule.TARGET, Severity.WARNING),
    "spike": (Rule.ANOMALY, Severity.WARNING),
    "drift": (Rule.DRIFT, None),
}


def test_first_evaluation_opens_an_alert_for_every_planted_deviation(store, catalog):
    result = evaluate_store(store, catalog, NOW)
    by_key = {a.key: a for a in result.open_alerts}
    for plant in PLANTS:
        if plant.kind == "stale":
            key = (None, plant.target, Rule.STALE_SOURCE.value)
            assert key in by_key, plant
            continue
        rule, severity = EXPECTED_BY_PLANT[plant.kind]
        alert = by_key.get((plant.target, None, rule.value))
        assert alert is not None, plant
        assert severity is None or alert.severity is severity, (plant, alert.severity)
    # Win rate moves with the sales cycle below it, new ARR with pipeline coverage, and
    # revenue growth with both.
    assert by_key[("win_rate", None, "target")].severity is Severity.CRITICAL
    assert by_key[("revenue_growth", None, "target")].severity is Severity.WARNING
    assert by_key[("gross_margin", None, "target")].severity is Severity.CRITICAL
    assert by_key[("turnover", None, "target")].severity is Severity.WARNING
    assert ("mql_to_sql", None, "target") in by_key
    # The drift plant stays inside the warning band: only the drift rule sees it.
    assert ("activation_rate", None, "target") not in by_key


def test_first_evaluation_records_values_and_an_open_event_per_alert(store, catalog):
    result = evaluate_store(store, catalog, NOW)
    assert result.open_alerts
    assert {a.id for a in result.opened} == {a.id for a in result.open_alerts}
    assert result.transitions == len(result.opened)
    for alert in result.open_alerts:
        assert alert.id is not None
        assert alert.state is State.FIRING
        assert alert.rule in {r.value for r in Rule}
        assert isinstance(alert.severity, Severity)
        assert alert.message
        assert alert.deviation is not None
        assert alert.opened_at == alert.updated_at == stamp(NOW)
        if alert.kpi_id is not None:
            assert alert.value is not None and alert.period is not None
        if alert.rule in ("target", "anomaly", "drift"):
            assert alert.expected is not None
        [event] = store.alert_events(alert.id)
        assert (event.action, event.actor) == ("open", SYSTEM_ACTOR)
        assert (event.from_state, event.to_state) == (None, State.FIRING)
        assert event.at == stamp(NOW)
    target = find(store, "turnover", "target")
    kpi = catalog.kpis["turnover"]
    assert target.expected == kpi.target
    assert target.deviation == pytest.approx((target.value - kpi.target) / kpi.target)


def test_stale_source_groups_the_stale_alerts_of_the_kpis_it_feeds(store, catalog):
    evaluate_store(store, catalog, NOW)
    source = find(store, None, "stale-source", system_id=STALE_SYSTEM)
    assert source.kpi_id is None and source.system_id == STALE_SYSTEM
    assert source.severity is Severity.WARNING
    assert source.needs_attention
    fed = LineageGraph(catalog).kpis_by_system[STALE_SYSTEM]
    assert fed
    assert source.deviation == len(fed)
    for kpi_id in fed:
        stale = find(store, kpi_id, "stale")
        assert stale.parent_alert_id == source.id
        assert stale.state is State.FIRING
        assert not stale.needs_attention
    # Alerts of healthy sources are not grouped.
    assert find(store, "win_rate", "target").parent_alert_id is None


def test_evaluation_window_covers_anomaly_and_drift(catalog):
    window = evaluation_window(catalog)
    assert window >= ANOMALY_WINDOW + 1
    assert window >= DRIFT_BASELINE + DRIFT_RECENT


# --- idempotence and uniqueness -----------------------------------------------------------


def test_second_evaluation_without_new_data_writes_nothing(store, catalog, demo_store):
    evaluate_store(store, catalog, NOW)
    before = store.alerts()
    events = event_count(demo_store)
    watcher = sqlite3.connect(demo_store)
    try:
        version = watcher.execute("PRAGMA data_version").fetchone()[0]
        again = evaluate_store(store, catalog, NOW + timedelta(minutes=5))
        assert again.transitions == 0
        assert again.opened == []
        assert store.alerts() == before
        assert event_count(demo_store) == events
        assert watcher.execute("PRAGMA data_version").fetchone()[0] == version
        # The probe is sensitive: a real write from this connection is seen by the watcher.
        acknowledge_alert(store, before[0].id, "alice", "mine", NOW)
        assert watcher.execute("PRAGMA data_version").fetchone()[0] != version
    finally:
        watcher.close()


@pytest.mark.parametrize(
    ("kpi_id", "system_id", "rule"),
    [("turnover", None, "target"), (None, STALE_SYSTEM, "stale-source")],
)
def test_at_most_one_open_alert_per_subject_and_rule(store, catalog, kpi_id, system_id, rule):
    evaluate_store(store, catalog, NOW)
    existing = find(store, kpi_id, rule, system_id=system_id)
    with pytest.raises(StoreError, match="UNIQUE constraint") as raised, store.transaction():
        store.save_alert(replace(existing, id=None))
    assert isinstance(raised.value.__cause__, sqlite3.IntegrityError)
    # A resolved copy is allowed: the unique index is partial (open alerts only).
    resolved = replace(existing, id=None, state=State.RESOLVED, resolved_at=stamp(NOW))
    with store.transaction():
        store.save_alert(resolved)
    assert len([a for a in store.alerts() if a.key == existing.key]) == 2


def test_two_connections_evaluating_in_turn_never_duplicate(demo_store):
    with Store.open(demo_store) as first, Store.open(demo_store) as second:
        catalog = first.read_catalog()
        opened = evaluate_store(first, catalog, NOW).opened
        assert evaluate_store(second, catalog, NOW).transitions == 0
        assert evaluate_store(first, catalog, NOW + timedelta(minutes=1)).transitions == 0
        keys = [a.key for a in second.alerts()]
    assert opened
    assert len(keys) == len(set(keys)) == len(opened)


# --- human transitions ---------------------------------------------------------------------


def test_acknowledge_records_actor_time_and_note_and_persists(store, catalog, demo_store):
    evaluate_store(store, catalog, NOW)
    alert = find(store, "turnover", "target")
    at = NOW + timedelta(minutes=3)
    acked = acknowledge_alert(store, alert.id, "alice", "known: CRM migration", at)
    assert acked.state is State.ACKNOWLEDGED
    with Store.open(demo_store) as reopened:
        saved = reopened.alert(alert.id)
        events = reopened.alert_events(alert.id)
    assert saved == acked
    assert (saved.acked_by, saved.acked_at, saved.ack_note) == (
        "alice",
        stamp(at),
        "known: CRM migration",
    )
    assert not saved.needs_attention
    assert [e.action for e in events] == ["open", "acknowledge"]
    ack = events[-1]
    assert (ack.actor, ack.at, ack.note) == ("alice", stamp(at), "known: CRM migration")
    assert (ack.from_state, ack.to_state) == (State.FIRING, State.ACKNOWLEDGED)
    assert ack.value == alert.value


def test_snooze_expires_and_refires_while_the_condition_holds(store, catalog):
    evaluate_store(store, catalog, NOW)
    alert = find(store, "turnover", "target")
    acknowledge_alert(store, alert.id, "alice", "mine", NOW)
    snoozed = snooze_alert(store, alert.id, timedelta(hours=4), "alice", "after lunch", NOW)
    assert snoozed.state is State.SNOOZED
    assert snoozed.snoozed_until == stamp(NOW + timedelta(hours=4))
    assert store.alert_events(alert.id)[-1].action == "snooze"

    evaluate_store(store, catalog, NOW + timedelta(hours=1))
    assert store.alert(alert.id).state is State.SNOOZED

    evaluate_store(store, catalog, NOW + timedelta(hours=5))
    refired = store.alert(alert.id)
    assert refired.state is State.FIRING
    assert refired.snoozed_until is None
    last = store.alert_events(alert.id)[-1]
    assert last.action == "snooze-expired"
    assert (last.from_state, last.to_state) == (State.SNOOZED, State.FIRING)
    assert last.actor == SYSTEM_ACTOR


def test_acknowledged_warning_that_escalates_to_critical_fires_again(store, catalog):
    evaluate_store(store, catalog, NOW)
    alert = find(store, "turnover", "target")
    assert alert.severity is Severity.WARNING
    acknowledge_alert(store, alert.id, "alice", "mine", NOW)
    set_latest(store, "turnover", turnover_at(0.40))  # beyond the 25 % critical threshold

    result = evaluate_store(store, catalog, NOW + timedelta(minutes=5))
    escalated = store.alert(alert.id)
    assert escalated.state is State.FIRING
    assert escalated.severity is Severity.CRITICAL
    assert escalated.value == turnover_at(0.40)
    assert escalated.needs_attention
    assert find(store, "turnover", "target").id == alert.id  # the same alert, not a new one
    last = store.alert_events(alert.id)[-1]
    assert last.action == "escalate"
    assert (last.from_state, last.to_state) == (State.ACKNOWLEDGED, State.FIRING)
    assert last.value == turnover_at(0.40)
    assert result.transitions >= 1


# --- automatic resolution ------------------------------------------------------------------


def test_target_alert_resolves_with_hysteresis_and_never_reopens(store, catalog):
    kpi = catalog.kpis["turnover"]
    assert (kpi.target, kpi.warning) == (12.0, 0.10)
    evaluate_store(store, catalog, NOW)
    alert = find(store, "turnover", "target")

    # Back inside the warning threshold (8 %) but not within half of it (5 %): stays open.
    set_latest(store, "turnover", turnover_at(0.08))
    evaluate_store(store, catalog, NOW + timedelta(minutes=1))
    assert store.alert(alert.id).state is State.FIRING
    assert [e.action for e in store.alert_events(alert.id)] == ["open"]

    # Within half the warning threshold (4 %): resolves.
    later = NOW + timedelta(minutes=2)
    set_latest(store, "turnover", turnover_at(0.04))
    evaluate_store(store, catalog, later)
    resolved = store.alert(alert.id)
    assert resolved.state is State.RESOLVED
    assert resolved.resolved_at == stamp(later)
    last = store.alert_events(alert.id)[-1]
    assert (last.action, last.to_state) == ("resolve", State.RESOLVED)
    assert ("turnover", None, "target") not in {a.key for a in store.open_alerts()}

    # A later breach opens a new alert; the resolved one stays resolved.
    set_latest(store, "turnover", turnover_at(0.15))
    evaluate_store(store, catalog, NOW + timedelta(minutes=3))
    reopened = find(store, "turnover", "target")
    assert reopened.id != alert.id
    assert reopened.state is State.FIRING
    assert store.alert(alert.id).state is State.RESOLVED
    assert [e.action for e in store.alert_events(reopened.id)] == ["open"]


def test_fresh_data_resolves_the_stale_source_and_its_kpis(store, catalog):
    evaluate_store(store, catalog, NOW)
    source = find(store, None, "stale-source", system_id=STALE_SYSTEM)
    fed = LineageGraph(catalog).kpis_by_system[STALE_SYSTEM]
    stale_ids = {kpi_id: find(store, kpi_id, "stale").id for kpi_id in fed}

    fresh = []
    for kpi_id in fed:
        latest_period = periods(catalog.kpis[kpi_id].frequency, NOW.date())[-1]
        last_value = store.history(kpi_id)[-1][1]
        fresh.append(Observation(kpi_id, latest_period.isoformat(), last_value, STALE_SYSTEM))
    store.upsert_observations(fresh)

    later = NOW + timedelta(minutes=10)
    evaluate_store(store, catalog, later)
    assert store.alert(source.id).state is State.RESOLVED
    assert store.alert(source.id).resolved_at == stamp(later)
    assert store.alert_events(source.id)[-1].action == "resolve"
    for kpi_id, alert_id in stale_ids.items():
        assert store.alert(alert_id).state is State.RESOLVED, kpi_id
        assert store.alert_events(alert_id)[-1].action == "resolve"
    open_keys = {a.key for a in store.open_alerts()}
    assert (None, STALE_SYSTEM, "stale-source") not in open_keys
    assert not any(key[2] == "stale" and key[0] in fed for key in open_keys)


# --- read-only stores and transactions -------------------------------------------------------

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def read_only_copy(store: Store, catalog, source: Path, target: Path) -> list[Alert]:
    """Evaluate the store, copy it to ``target`` made read-only on disk; its open alerts."""
    open_alerts = evaluate_store(store, catalog, NOW).open_alerts
    store.close()
    copy_store(source, target)
    target.chmod(0o444)
    return open_alerts


@pytest.mark.skipif(IS_ROOT, reason="root may write to a 0o444 file")
def test_a_file_without_write_permission_opens_read_only(store, catalog, demo_store, tmp_path):
    path = tmp_path / "ro.db"
    read_only_copy(store, catalog, demo_store, path)
    with Store.open(path) as opened:
        assert opened.readonly


def test_read_only_store_is_evaluated_without_writing(store, catalog, demo_store, tmp_path):
    path = tmp_path / "ro.db"
    expected = read_only_copy(store, catalog, demo_store, path)
    before = file_state(path), store_content(path)
    # As root the permission bits do not stop writes, so ask for read-only explicitly there.
    with Store.open(path, readonly=IS_ROOT) as ro:
        assert ro.readonly
        # A month later everything would go stale, yet nothing is written.
        result = evaluate_store(ro, catalog, NOW + timedelta(days=30))
        assert result.transitions == 0
        assert result.opened == []
        assert result.open_alerts == expected
        with pytest.raises(StoreError, match="read-only"):
            acknowledge_alert(ro, expected[0].id, "alice", "mine", NOW)
        with pytest.raises(StoreError, match="read-only"):
            snooze_alert(ro, expected[0].id, timedelta(hours=4), "alice", None, NOW)
        assert ro.alert(expected[0].id).state is State.FIRING
    assert (file_state(path), store_content(path)) == before


def test_an_exception_inside_a_transaction_persists_nothing(store, demo_store):
    finding = Finding(Rule.TARGET, Severity.WARNING, 20.0, 28.0, 0.29, "test", "2026-11-23")
    alert, event = open_alert(finding, NOW, kpi_id="win_rate")
    with pytest.raises(RuntimeError), store.transaction():
        saved = store.save_alert(alert)
        store.append_event(saved.id, event)
        assert store.alert(saved.id) is not None
        raise RuntimeError("boom")
    assert store.alerts() == []
    with sqlite3.connect(demo_store) as conn:
        assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM alert_events").fetchone()[0] == 0


# --- performance ---------------------------------------------------------------------------


@pytest.mark.slow  # a wall-clock bound: it means something on a quiet machine only
def test_evaluating_the_demo_store_takes_well_under_a_second(store, catalog):
    started = time.perf_counter()
    result = evaluate_store(store, catalog, NOW)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0
    assert 0 < result.seconds <= elapsed
