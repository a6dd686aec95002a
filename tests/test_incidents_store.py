"""Incidents and silences in the store: saved and read back, and an older store's alerts
grouped into incidents when it is upgraded."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.domain.incidents import build
from intelligentos.domain.silences import Matcher, Silence
from intelligentos.services.bootstrap import init_store, open_store
from intelligentos.store import SCHEMA_VERSION

from .conftest import DEMO_END


def test_a_demo_store_upgraded_from_version_6_has_its_alerts_in_incidents(
    demo_store: Path,
) -> None:
    assert CliRunner().invoke(app, ["check", "--db", str(demo_store)]).exit_code == 1  # firing
    with open_store(demo_store) as store:
        alerts = store.alerts()
    assert len(alerts) > 3
    # Version 6 as it was: no incidents, no silences, no incident_id, no assignee.
    conn = sqlite3.connect(demo_store)
    conn.executescript(
        "DROP INDEX alerts_by_incident; ALTER TABLE alerts DROP COLUMN incident_id;"
        "ALTER TABLE alerts DROP COLUMN assignee;"
        "DROP TABLE incidents; DROP TABLE silences; PRAGMA user_version = 6;"
    )
    conn.close()
    with open_store(demo_store) as store:
        assert store.query("PRAGMA user_version")[0]["user_version"] == SCHEMA_VERSION == 7
        incidents = store.incidents()
        # One incident per group of alerts open together, as the domain builds them.
        expected = build(alerts)
        assert [(i.group, [a.id for a in i.alerts]) for i in incidents] == [
            (i.group, [a.id for a in i.alerts]) for i in expected
        ]
        assert all(a.incident_id is not None for a in store.alerts())
        open_groups = [i.group for i in store.incidents(open_only=True)]
        assert len(open_groups) == len(set(open_groups))  # one open incident per group


def test_silences_are_saved_listed_and_expired(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    init_store(path, end=DEMO_END, demo=False)
    with open_store(path) as store:
        with store.transaction():
            held = store.add_silence(
                Silence(
                    Matcher.KPI,
                    "win_rate",
                    "2026-12-07T10:00:00Z",
                    "2026-12-07T12:00:00Z",
                    "ana",
                    "CRM migration",
                )
            )
        assert held.id is not None
        assert store.silences() == [held]
        with store.transaction():
            assert store.expire_silence(held.id, "bo", "2026-12-07T11:00:00Z")
            assert not store.expire_silence(held.id, "bo", "2026-12-07T11:05:00Z")  # once
        [gone] = store.silences()
        assert gone.until == "2026-12-07T11:00:00Z"
        assert store.silences(include_ended_before="2026-12-07T11:30:00Z") == []
        assert not gone.active(datetime(2026, 12, 7, 11, 30))


def test_check_files_the_alerts_about_one_kpi_into_one_incident(demo_store: Path) -> None:
    from intelligentos.domain.incidents import Notice, notice
    from intelligentos.services.check import evaluate_store

    with open_store(demo_store) as store:
        result = evaluate_store(store, store.read_catalog(), datetime(2026, 11, 27, 23))
        alerts = store.open_alerts()
        incidents = store.incidents(open_only=True)
    # Every open alert is in exactly one open incident, one per group.
    assert sorted(a.id for i in incidents for a in i.alerts) == sorted(a.id for a in alerts)
    groups = [i.group for i in incidents]
    assert len(groups) == len(set(groups)) < len(alerts)  # some KPI raised several alerts
    by_kpi: dict[str, set[str]] = {}
    for alert in alerts:
        if alert.kpi_id and alert.parent_alert_id is None:
            by_kpi.setdefault(alert.kpi_id, set()).add(alert.rule)
    several = next(k for k, rules in by_kpi.items() if len(rules) > 1)
    [incident] = [i for i in incidents if i.group == f"kpi:{several}"]
    assert {a.rule for a in incident.alerts} == by_kpi[several]
    # Each was new: one opening notice per incident, not per alert.
    assert [notice(before, after) for before, after in result.incidents] == [Notice.OPENED] * len(
        incidents
    )
    # Evaluated again with nothing new: nothing is filed or notified again.
    with open_store(demo_store) as store:
        again = evaluate_store(store, store.read_catalog(), datetime(2026, 11, 27, 23))
        assert again.incidents == []  # nothing changed: nothing written, nothing to tell
        assert [i.id for i in store.incidents()] == [i.id for i in incidents]
