"""The fields of every ``--json`` record, in order: scripts read them by name, and the order is
part of the bytes a command prints."""

from __future__ import annotations

import json
import sys

from typer.testing import CliRunner

from intelligentos.cli.main import app

runner = CliRunner()

KPI_FIELDS = [
    "id",
    "name",
    "level",
    "engine",
    "unit",
    "period",
    "value",
    "previous",
    "target",
    "targets",
    "status",
]
# The alert's own fields (as the store keeps it), then the readable texts and its routes.
ALERT_FIELDS = [
    "rule",
    "severity",
    "state",
    "opened_at",
    "updated_at",
    "kpi_id",
    "system_id",
    "id",
    "period",
    "value",
    "expected",
    "deviation",
    "message",
    "resolved_at",
    "acked_by",
    "acked_at",
    "ack_note",
    "snoozed_until",
    "parent_alert_id",
    "incident_id",
    "assignee",
    "subject",
    "needs_attention",
    "value_text",
    "expected_text",
    "deviation_text",
    "owner",
    "acknowledgement",
    "routed_to",
    "routes",
]
DELIVERY_FIELDS = [
    "event_id",
    "alert_id",
    "action",
    "sink",
    "outcome",
    "attempts",
    "detail",
    "at",
    "next_try",
]
FORECAST_FIELDS = [
    "kpi_id",
    "model",
    "reliable",
    "horizon",
    "season",
    "based_on",
    "note",
    "backtest_origins",
    "mase",
    "coverage80",
    "backtest_scores",
    "points",
]
POINT_FIELDS = ["period", "mean", "lo80", "hi80", "lo95", "hi95"]
PROJECTION_FIELDS = [
    "id",
    "name",
    "current",
    "projected",
    "status",
    "projected_status",
    "clamped",
    "lever",
    "moved_by",
    "implausible",
]
GOAL_SEEK_FIELDS = [
    "model",
    "as_of",
    "goal",
    "goal_current",
    "target",
    "lever",
    "current",
    "required",
    "change",
    "reachable",
    "met",
    "reason",
]


def json_of(*args: str) -> object:
    result = runner.invoke(app, list(args))
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_kpis_records(demo_store):
    records = json_of("kpis", "--db", str(demo_store), "--json")
    assert records and all(list(record) == KPI_FIELDS for record in records)


def test_alerts_and_check_records(demo_store):
    report = json_of("check", "--db", str(demo_store), "--agent", "cro", "--json")
    assert list(report) == ["open", "firing_unacknowledged", "agent"]
    records = json_of("alerts", "--db", str(demo_store), "--json")["alerts"]
    assert records and all(list(record) == ALERT_FIELDS for record in records)
    routed = next(record for record in records if record["routes"])
    assert list(routed["routes"][0]) == ["agent_id", "agent", "reason"]
    assert all(list(record) == ALERT_FIELDS for record in report["open"])


def test_delivery_records(demo_store, tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    argv = json.dumps([sys.executable, "-c", "pass"])
    (config / "config.toml").write_text(
        f"[[notify]]\ncommand = {argv}\ndemo = true\n", encoding="utf-8"
    )
    monkeypatch.setenv("INTELLIGENTOS_CONFIG_DIR", str(config))
    json_of("check", "--db", str(demo_store), "--json")
    records = json_of("notify", "list", "--db", str(demo_store), "--json")
    assert records and all(list(record) == DELIVERY_FIELDS for record in records)


def test_forecast_records(demo_store):
    records = json_of("forecast", "--db", str(demo_store), "--kpi", "gross_margin", "--json")
    [record] = records
    assert list(record) == FORECAST_FIELDS
    assert record["points"] and list(record["points"][0]) == POINT_FIELDS


def test_whatif_records(demo_store):
    db = ("--db", str(demo_store), "--as-of", "2026-11-27")
    scenario = json_of("whatif", "gross_margin+=2", *db, "--json")
    assert list(scenario) == ["model", "as_of", "levers", "kpis"]
    assert all(list(kpi) == PROJECTION_FIELDS for kpi in scenario["kpis"])
    seek = json_of(
        "whatif", "--goal", "brand_health", "--lever", "earned_media_mentions", *db, "--json"
    )
    assert list(seek) == GOAL_SEEK_FIELDS
    # Out of reach, there is no value to require of the lever.
    seek = json_of("whatif", "--goal", "revenue_growth", "--lever", "gross_margin", *db, "--json")
    assert list(seek) == [f for f in GOAL_SEEK_FIELDS if f not in ("required", "change")]


EXPORTED_ALERT_FIELDS = [
    "id",
    "kpi_id",
    "system_id",
    "rule",
    "severity",
    "state",
    "period",
    "value",
    "expected",
    "deviation",
    "message",
    "opened_at",
    "updated_at",
    "resolved_at",
    "acked_by",
    "acked_at",
    "ack_note",
    "snoozed_until",
    "parent_alert_id",
    "incident_id",
    "assignee",
]
EVENT_FIELDS = [
    "id",
    "alert_id",
    "at",
    "actor",
    "action",
    "from_state",
    "to_state",
    "note",
    "value",
]


def test_exported_alert_records(demo_store):
    db = ("--db", str(demo_store))
    assert runner.invoke(app, ["check", *db]).exit_code == 1  # alerts fire
    records = json_of("export", "alerts", *db)
    assert records and all(list(r) == [*EXPORTED_ALERT_FIELDS, "events"] for r in records)
    assert all(list(event) == EVENT_FIELDS for r in records for event in r["events"])
    exported = runner.invoke(app, ["export", "alerts", *db, "--format", "csv"])
    header = exported.stdout.splitlines()[0]
    expected = [f"alert_{f}" for f in EXPORTED_ALERT_FIELDS] + [f"event_{f}" for f in EVENT_FIELDS]
    assert header.split(",") == expected
