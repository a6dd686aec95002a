"""`ack` refuses a blank note, `snooze` a snooze longer than 30 days, and `alerts` reads like
the cockpit's alerts screen (values by unit, deviations per rule, owners)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def db(today_store: Path) -> str:
    return str(today_store)


def records(db: str) -> list[dict]:
    result = run("check", "--db", db, "--json")
    return json.loads(result.stdout)["open"]


def firing_id(db: str) -> int:
    return next(r["id"] for r in records(db) if r["needs_attention"])


def state_of(db: str, alert_id: int) -> str:
    result = run("alerts", "--db", db, "--json")
    return next(r["state"] for r in json.loads(result.stdout)["alerts"] if r["id"] == alert_id)


def one_error_sentence(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: ")
    return lines[0]


@pytest.mark.parametrize("note", ["", "  ", "\t \n"])
def test_ack_with_a_blank_note_exits_1_and_changes_nothing(db, note):
    alert_id = firing_id(db)
    result = run("ack", str(alert_id), "--db", db, "--note", note, "--user", "alice")
    assert result.exit_code == 1
    assert "note" in one_error_sentence(result.output)
    assert state_of(db, alert_id) == "firing"


@pytest.mark.parametrize("duration", ["31d", "5w", "1000h"])
def test_snooze_longer_than_30_days_exits_1(db, duration):
    alert_id = firing_id(db)
    assert run("ack", str(alert_id), "--db", db, "--note", "mine", "--user", "a").exit_code == 0
    result = run("snooze", str(alert_id), "--db", db, "--for", duration, "--user", "a")
    assert result.exit_code == 1
    assert "at most 30 days" in one_error_sentence(result.output)
    assert state_of(db, alert_id) == "acknowledged"


def test_snooze_of_30_days_is_allowed(db):
    alert_id = firing_id(db)
    assert run("ack", str(alert_id), "--db", db, "--note", "mine", "--user", "a").exit_code == 0
    result = run("snooze", str(alert_id), "--db", db, "--for", "30d", "--user", "a")
    assert result.exit_code == 0, result.output
    assert state_of(db, alert_id) == "snoozed"


def test_alert_records_read_by_unit_rule_and_owner(db):
    shown = records(db)
    assert shown
    by_key = {(r["kpi_id"], r["system_id"], r["rule"]): r for r in shown}
    margin = by_key[("gross_margin", None, "target")]
    assert margin["value_text"].endswith("%") and margin["expected_text"] == "72.0%"
    assert re.fullmatch(r"\d+\.\d % below target", margin["deviation_text"])
    assert margin["owner"].startswith("CFO Agent")
    source = by_key[(None, "social_listening", "stale-source")]
    assert re.fullmatch(r"\d+ KPIs? stale", source["deviation_text"])
    assert all(r["owner"].strip() and r["deviation_text"].strip() for r in shown)


def test_alerts_table_shows_values_by_unit_and_readable_deviations(db):
    run("check", "--db", db)
    margin = next(r for r in records(db) if (r["kpi_id"], r["rule"]) == ("gross_margin", "target"))
    result = run("alerts", "--db", db)
    assert result.exit_code == 0
    assert margin["value_text"] in result.stdout  # e.g. 63.8%, not 63.79
    assert f"{margin['value']:.4g}" not in result.stdout
    assert margin["deviation_text"].split(" below")[0] in result.stdout  # e.g. "11.4 %"
    assert "below" in result.stdout and "periods" in result.stdout
