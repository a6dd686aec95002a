"""The alert commands (check, alerts, ack, snooze) through Typer's test runner.

The CLI uses the real clock, so the store's demo history ends today (UTC): what the tests
assert does not depend on the day they run.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.domain.clock import parse_stamp

from .stores import file_state, overwrite, settled_copy, store_content

runner = CliRunner()

HOSTILE_NOTE = "[b]known[/b]: CRM migration \x1b[31m"


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def db(today_store: Path) -> str:
    return str(today_store)


def check_json(db: str) -> tuple[int, dict]:
    result = run("check", "--db", db, "--json")
    return result.exit_code, json.loads(result.stdout)


def alerts_json(db: str, *args: str) -> list[dict]:
    result = run("alerts", "--db", db, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["alerts"]


def attention_ids(db: str) -> list[int]:
    _, report = check_json(db)
    return [a["id"] for a in report["open"] if a["needs_attention"]]


# --- check --------------------------------------------------------------------------------


def test_check_exits_1_and_lists_firing_unacknowledged_alerts(db):
    _, report = check_json(db)
    result = run("check", "--db", db)
    assert result.exit_code == 1
    count, attention = len(report["open"]), report["firing_unacknowledged"]
    assert f"Open alerts: {count}, {attention} firing unacknowledged" in result.stdout
    for record in report["open"]:
        assert str(record["id"]) in result.stdout


def test_check_json_reports_open_alerts_and_the_attention_count(db):
    code, report = check_json(db)
    assert code == 1
    assert set(report) == {"open", "firing_unacknowledged"}
    attention = [a for a in report["open"] if a["needs_attention"]]
    assert report["firing_unacknowledged"] == len(attention) > 0
    keys = {(a["kpi_id"], a["system_id"], a["rule"]) for a in report["open"]}
    assert ("win_rate", None, "target") in keys
    assert (None, "social_listening", "stale-source") in keys
    for record in report["open"]:
        assert record["state"] == "firing"
        assert record["subject"]


def test_acknowledging_every_attention_alert_makes_check_pass(db):
    ids = attention_ids(db)
    assert ids
    for alert_id in ids:
        result = run("ack", str(alert_id), "--db", db, "--note", "on it", "--user", "alice")
        assert result.exit_code == 0, result.output
        assert f"Alert {alert_id} acknowledged by alice." in result.stdout
    code, report = check_json(db)
    assert code == 0
    assert report["firing_unacknowledged"] == 0
    assert run("check", "--db", db).exit_code == 0


# --- check's exit status: 0 quiet, 1 firing, 2 the job itself is broken --------------------


def one_error(result, *says: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert result.stdout == ""
    for text in says:
        assert text in lines[0]
    return lines[0]


def test_check_exits_2_for_a_missing_store(tmp_path):
    one_error(run("check", "--db", str(tmp_path / "nowhere.db")), "nowhere.db")
    assert run("check", "--db", str(tmp_path / "nowhere.db")).exit_code == 2


def test_check_exits_2_for_a_foreign_file_and_leaves_it_alone(tmp_path):
    foreign = tmp_path / "notes.db"
    foreign.write_bytes(b"not a database\n" * 100)
    result = run("check", "--db", str(foreign))
    assert result.exit_code == 2
    one_error(result, "notes.db")
    assert foreign.read_bytes() == b"not a database\n" * 100


def test_check_exits_2_for_a_damaged_store(db, tmp_path):
    conn = sqlite3.connect(f"{Path(db).resolve().as_uri()}?mode=ro", uri=True)
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    # The damage goes into a backup-API copy: the store itself is never read as bytes.
    damaged = settled_copy(Path(db), tmp_path / "damaged.db")
    middle = (damaged.stat().st_size // 2) // size * size
    overwrite(damaged, middle, b"\xde\xad\xbe\xef" * size)
    result = run("check", "--db", str(damaged))
    assert result.exit_code == 2
    one_error(result, "damaged")


def test_check_exits_2_for_a_usage_error(db):
    assert run("check", "--db", db, "--agent", "nobody").exit_code == 2
    assert run("check", "--db", db, "--no-such-option").exit_code == 2
    assert run("--theme", "intelligentos-light", "check", "--db", db).exit_code == 2
    assert run("--db", "/elsewhere.db", "check", "--db", db).exit_code == 2
    # The other commands keep status 1 for their errors.
    assert run("alerts", "--db", db, "--agent", "nobody").exit_code == 1


def test_check_on_a_read_only_store_says_nothing_was_evaluated_or_saved(db, monkeypatch):
    import os

    from intelligentos.store import store as store_module

    before = store_content(Path(db)), file_state(Path(db))
    real_access = os.access
    # Permission bits do not stop root: the store is refused writing the way a 0444 file is.
    monkeypatch.setattr(
        store_module.os,
        "access",
        lambda path, mode, **kw: (
            False if Path(path) == Path(db) and mode == os.W_OK else real_access(path, mode, **kw)
        ),
    )
    result = run("check", "--db", db)
    assert result.exit_code == 2
    one_error(result, "read-only", "nothing could be evaluated or saved")
    assert (store_content(Path(db)), file_state(Path(db))) == before


def test_check_exits_2_when_something_unexpected_breaks(db, monkeypatch):
    from intelligentos.services import check as service

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(service, "evaluate_store", broken)
    result = runner.invoke(app, ["check", "--db", db])
    assert result.exit_code == 2
    assert "a bug" in result.stderr


# --- alerts ---------------------------------------------------------------------------------


def test_ack_note_is_stored_verbatim_and_printed_literally(db):
    alert_id = attention_ids(db)[0]
    before = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    result = run("ack", str(alert_id), "--db", db, "--note", HOSTILE_NOTE, "--user", "alice")
    assert result.exit_code == 0, result.output

    [record] = [a for a in alerts_json(db) if a["id"] == alert_id]
    assert record["state"] == "acknowledged"
    assert record["acked_by"] == "alice"
    assert record["ack_note"] == HOSTILE_NOTE
    acked_at = parse_stamp(record["acked_at"])
    assert before <= acked_at <= datetime.now(UTC).replace(tzinfo=None)

    table = run("alerts", "--db", db)
    assert table.exit_code == 0
    assert "\x1b" not in table.output


def test_a_hostile_user_name_is_printed_literally(db):
    alert_id = attention_ids(db)[0]
    user = "[b]eve[/b]\x1b[31m"
    result = run("ack", str(alert_id), "--db", db, "--note", "mine", "--user", user)
    assert result.exit_code == 0, result.output
    assert "[b]eve[/b]\\x1b[31m" in result.stdout
    assert "\x1b" not in result.output
    [record] = [a for a in alerts_json(db) if a["id"] == alert_id]
    assert record["acked_by"] == user


def test_alerts_state_filter(db):
    ids = attention_ids(db)
    assert run("ack", str(ids[0]), "--db", db, "--note", "mine", "--user", "alice").exit_code == 0
    assert run("snooze", str(ids[0]), "--db", db, "--for", "4h", "--user", "alice").exit_code == 0
    assert [a["id"] for a in alerts_json(db, "--state", "snoozed")] == [ids[0]]
    firing = alerts_json(db, "--state", "firing")
    assert firing and all(a["state"] == "firing" for a in firing)
    assert ids[0] not in {a["id"] for a in firing}
    both = alerts_json(db, "--state", "firing", "--state", "snoozed")
    assert len(both) == len(firing) + 1
    assert alerts_json(db, "--state", "resolved") == []


def test_alerts_with_an_unknown_state_exits_1(db):
    result = run("alerts", "--db", db, "--state", "sleeping")
    assert result.exit_code == 1
    assert result.output.startswith("Error: unknown state 'sleeping'")
    assert "firing, acknowledged, snoozed, resolved" in result.output


# --- ack and snooze errors -----------------------------------------------------------------


def test_ack_of_a_missing_alert_exits_1(db):
    check_json(db)
    result = run("ack", "999999", "--db", db, "--note", "x", "--user", "alice")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert "999999" in result.output


def test_ack_of_an_acknowledged_alert_exits_1(db):
    alert_id = attention_ids(db)[0]
    assert run("ack", str(alert_id), "--db", db, "--note", "x", "--user", "alice").exit_code == 0
    again = run("ack", str(alert_id), "--db", db, "--note", "y", "--user", "bob")
    assert again.exit_code == 1
    assert again.output.startswith("Error: ")
    assert "already acknowledged by alice" in again.output
    [record] = [a for a in alerts_json(db) if a["id"] == alert_id]
    assert (record["acked_by"], record["ack_note"]) == ("alice", "x")


def test_snooze_of_a_firing_alert_asks_to_acknowledge_first(db):
    alert_id = attention_ids(db)[0]
    result = run("snooze", str(alert_id), "--db", db, "--for", "4h", "--user", "alice")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert "acknowledge it before snoozing" in result.output
    [record] = [a for a in alerts_json(db) if a["id"] == alert_id]
    assert record["state"] == "firing"


def test_snooze_with_a_bad_duration_exits_1(db):
    alert_id = attention_ids(db)[0]
    assert run("ack", str(alert_id), "--db", db, "--note", "x", "--user", "alice").exit_code == 0
    result = run("snooze", str(alert_id), "--db", db, "--for", "4x", "--user", "alice")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert "'4x' is not a duration" in result.output


def test_snooze_of_an_acknowledged_alert_sets_snoozed_until(db):
    alert_id = attention_ids(db)[0]
    assert run("ack", str(alert_id), "--db", db, "--note", "x", "--user", "alice").exit_code == 0
    before = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    result = run("snooze", str(alert_id), "--db", db, "--for", "4h", "--user", "alice")
    after = datetime.now(UTC).replace(tzinfo=None)
    assert result.exit_code == 0, result.output
    [record] = [a for a in alerts_json(db) if a["id"] == alert_id]
    assert record["state"] == "snoozed"
    assert f"snoozed until {record['snoozed_until']}" in result.stdout
    until = parse_stamp(record["snoozed_until"])
    assert before + timedelta(hours=4) <= until <= after + timedelta(hours=4)
    # A snoozed alert no longer counts as firing unacknowledged.
    _, report = check_json(db)
    assert alert_id not in {a["id"] for a in report["open"] if a["needs_attention"]}


@pytest.mark.parametrize("command", ["check", "alerts", "ack", "snooze"])
def test_alert_commands_have_help(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "--db" in result.output
    assert "Usage" in result.output


# --- rows written around the importer -----------------------------------------------------


def write_around_the_importer(db: str) -> None:
    """What sqlite-utils (or any SQLite client) can write: no foreign keys, no validation."""
    conn = sqlite3.connect(db)
    conn.executemany(
        "INSERT INTO observations (kpi_id, period, value) VALUES (?, ?, ?)",
        [
            ("ghost_kpi", "2026-11-20", 1.0),
            ("ghost_kpi", "2026-11-21", 2.0),
            ("win_rate", "07/12/2026", 20.0),
            ("win_rate", "2099-02-30", 20.0),  # sorts last: it would be the latest value
            ("cash_runway", "2026-11-20", -5.0),
        ],
    )
    conn.commit()
    conn.close()


def test_check_reports_rows_for_unknown_kpis_bad_periods_and_implausible_values(db):
    clean = run("check", "--db", db)
    assert "Warning" not in clean.stderr
    assert "stray_rows" not in check_json(db)[1]
    write_around_the_importer(db)
    result = run("check", "--db", db)
    assert result.exit_code == clean.exit_code  # a warning: the exit status stays the alerts'
    warning = " ".join(result.stderr.split())
    assert "2 observation rows for KPIs the catalog does not know: ghost_kpi (2 rows)" in warning
    assert (
        "2 observation rows with a period that is not an ISO-8601 date: "
        "win_rate '07/12/2026', win_rate '2099-02-30'"
    ) in warning
    # Such a row is never read as a value: the commands that show values carry on.
    kpis = run("kpis", "--db", db, "--json")
    assert kpis.exit_code == 0, kpis.output
    [win] = [k for k in json.loads(kpis.stdout) if k["id"] == "win_rate"]
    assert win["period"] != "2099-02-30"
    assert "cash_runway 2026-11-20 = -5 (months)" in warning
    _, report = check_json(db)
    assert len(report["stray_rows"]) == 3 and "ghost_kpi" in report["stray_rows"][0]


# --- a row dated after today ---------------------------------------------------------------


def test_a_row_dated_tomorrow_is_not_the_latest_value_anywhere_and_is_reported(db):
    from intelligentos.domain.clock import utc_today

    kpis_before = {k["id"]: k for k in json.loads(run("kpis", "--db", db, "--json").stdout)}
    before = kpis_before["customer_retention"]
    conn = sqlite3.connect(db)
    [(period, value)] = conn.execute(
        "SELECT period, value FROM observations WHERE kpi_id = 'customer_retention' "
        "ORDER BY period DESC LIMIT 1"
    ).fetchall()
    tomorrow = (utc_today() + timedelta(days=1)).isoformat()
    # Far below its 92 % target: read as the latest value it would be critical.
    conn.execute(
        "INSERT INTO observations (kpi_id, period, value) VALUES ('customer_retention', ?, 1.0)",
        (tomorrow,),
    )
    conn.commit()
    conn.close()

    kpis = {k["id"]: k for k in json.loads(run("kpis", "--db", db, "--json").stdout)}
    shown = kpis["customer_retention"]
    assert (shown["period"], shown["value"]) == (period, value)
    assert shown["status"] == before["status"] == "ok"

    result = run("check", "--db", db)
    warning = " ".join(result.stderr.split())
    assert f"1 observation row dated after today ({utc_today().isoformat()})" in warning
    assert f"customer_retention {tomorrow}" in warning
    _, report = check_json(db)
    assert not [a for a in report["open"] if a["kpi_id"] == "customer_retention"]
    assert any("customer_retention" in s for s in report["stray_rows"])

    brief = run("brief", "--db", db, "--format", "json")
    assert brief.exit_code == 0, brief.output
    [line] = [k for k in json.loads(brief.stdout)["ceo_kpis"] if k["id"] == "customer_retention"]
    assert (line["period"], line["value"]) == (shown["period"], shown["value"])

    lineage = run("lineage", "customer_retention", "--db", db)
    assert lineage.exit_code == 0, lineage.output
    assert "1.0%" not in lineage.stdout and f"{value:.1f}%" in lineage.stdout
