"""Feeding the store: import (CSV, JSON array, JSON Lines), export, and catalog re-sync."""

from __future__ import annotations

import csv
import json
import os
import re
import resource
import shutil
import sqlite3
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app

from .conftest import MINI_CATALOG, write_catalog
from .processes import run as run_process
from .stores import store_content

runner = CliRunner()
HEADER = "kpi_id,period,value\n"


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def count(db: Path, where: str = "true", params: tuple = ()) -> int:
    return query(db, f"SELECT count(*) FROM observations WHERE {where}", params)[0][0]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


ROWS = [
    ("new_arr", "2031-01-01", 1_000_000.0, "ledger"),
    ("new_arr", "2031-02-01", 1_100_000.5, None),
    ("win_rate", "2031-01-05", 27.25, "crm"),
]


def as_csv(rows=ROWS) -> str:
    return "kpi_id,period,value,source\n" + "".join(
        f"{k},{p},{v!r},{s or ''}\n" for k, p, v, s in rows
    )


def as_jsonl(rows=ROWS) -> str:
    return "".join(
        json.dumps({"kpi_id": k, "period": p, "value": v, "source": s}) + "\n"
        for k, p, v, s in rows
    )


def as_json(rows=ROWS) -> str:
    return json.dumps([{"kpi_id": k, "period": p, "value": v, "source": s} for k, p, v, s in rows])


SUMMARY = re.compile(
    r"(?P<valid>[\d,]+) valid rows? in (?P<files>\d+) files?: (?P<inserted>[\d,]+) "
    r"(were|would be) inserted, (?P<updated>[\d,]+) updated, (?P<unchanged>[\d,]+) unchanged\."
)


def summary(output: str) -> dict[str, int]:
    match = SUMMARY.search(output)
    assert match, output
    return {k: int(v.replace(",", "")) for k, v in match.groupdict().items()}


@pytest.mark.parametrize(
    ("suffix", "render"), [(".csv", as_csv), (".json", as_json), (".jsonl", as_jsonl)]
)
def test_import_inserts_then_reimport_changes_nothing(demo_store, tmp_path, suffix, render):
    path = write(tmp_path / f"obs{suffix}", render())
    before = count(demo_store)
    first = run("import", str(path), "--db", str(demo_store))
    assert first.exit_code == 0, first.output
    assert summary(first.output) == {
        "valid": 3,
        "files": 1,
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
    }
    assert count(demo_store) == before + 3
    stored = query(
        demo_store,
        "SELECT kpi_id, period, value, source FROM observations WHERE period LIKE '2031-%' "
        "ORDER BY kpi_id, period",
    )
    assert stored == sorted(ROWS, key=lambda r: (r[0], r[1]))
    again = run("import", str(path), "--db", str(demo_store))
    assert again.exit_code == 0, again.output
    assert summary(again.output)["unchanged"] == 3
    assert summary(again.output)["inserted"] == summary(again.output)["updated"] == 0
    assert count(demo_store) == before + 3


def test_a_changed_value_is_counted_as_updated_and_stored(demo_store, tmp_path):
    run("import", str(write(tmp_path / "a.csv", as_csv())), "--db", str(demo_store))
    changed = [ROWS[0], (*ROWS[1][:2], 42.0, None), (*ROWS[2][:3], "other source")]
    result = run("import", str(write(tmp_path / "b.csv", as_csv(changed))), "--db", str(demo_store))
    assert result.exit_code == 0, result.output
    assert summary(result.output) | {"valid": 0} == {
        "valid": 0,
        "files": 1,
        "inserted": 0,
        "updated": 2,
        "unchanged": 1,
    }
    assert query(
        demo_store,
        "SELECT value FROM observations WHERE kpi_id = 'new_arr' AND period = '2031-02-01'",
    ) == [(42.0,)]
    assert query(
        demo_store,
        "SELECT source FROM observations WHERE kpi_id = 'win_rate' AND period = '2031-01-05'",
    ) == [("other source",)]


def test_the_summary_line_text(demo_store, tmp_path):
    result = run("import", str(write(tmp_path / "a.csv", as_csv())), "--db", str(demo_store))
    assert result.output.strip() == (
        "3 valid rows in 1 file: 3 were inserted, 0 updated, 0 unchanged."
    )


def test_dry_run_writes_nothing_but_reports_counts(demo_store, tmp_path):
    path = write(tmp_path / "a.csv", as_csv())
    before = store_content(demo_store)
    result = run("import", str(path), "--dry-run", "--db", str(demo_store))
    assert result.exit_code == 0, result.output
    assert summary(result.output)["inserted"] == 3
    assert "would be inserted" in result.output and "Dry run: nothing was written." in result.output
    assert count(demo_store, "period LIKE '2031-%'") == 0
    assert store_content(demo_store) == before


def test_format_option_overrides_the_extension(demo_store, tmp_path):
    text_file = write(tmp_path / "observations.txt", as_jsonl())
    refused = run("import", str(text_file), "--db", str(demo_store))
    assert refused.exit_code == 1
    assert "cannot tell the format" in refused.output and "--format" in refused.output
    result = run("import", str(text_file), "--format", "jsonl", "--db", str(demo_store))
    assert result.exit_code == 0, result.output
    assert summary(result.output)["inserted"] == 3
    bad = run("import", str(text_file), "--format", "xml", "--db", str(demo_store))
    assert bad.exit_code == 1 and "unknown format 'xml'" in bad.output


def test_source_column_is_optional(demo_store, tmp_path):
    path = write(tmp_path / "a.csv", HEADER + "new_arr,2031-05-01,5\n")
    result = run("import", str(path), "--db", str(demo_store))
    assert result.exit_code == 0, result.output
    assert query(
        demo_store, "SELECT value, source FROM observations WHERE period = '2031-05-01'"
    ) == [(5.0, None)]


def test_several_files_import_together(demo_store, tmp_path):
    a = write(tmp_path / "a.csv", as_csv(ROWS[:2]))
    b = write(tmp_path / "b.jsonl", as_jsonl(ROWS[2:]))
    result = run("import", str(a), str(b), "--db", str(demo_store))
    assert result.exit_code == 0, result.output
    assert summary(result.output) | {} == {
        "valid": 3,
        "files": 2,
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
    }


def test_one_bad_file_means_nothing_from_any_file(demo_store, tmp_path):
    a = write(tmp_path / "a.csv", as_csv(ROWS[:2]))
    b = write(tmp_path / "b.jsonl", as_jsonl(ROWS[2:]))
    bad = write(tmp_path / "c.csv", HEADER + "new_arr,2031-09-01,oops\n")
    before = count(demo_store)
    result = run("import", str(a), str(b), str(bad), "--db", str(demo_store))
    assert result.exit_code == 1
    assert f"{bad}:2:value:" in result.output
    assert "nothing was imported" in result.output
    assert count(demo_store) == before


def test_the_same_row_in_two_files_is_a_duplicate(demo_store, tmp_path):
    a = write(tmp_path / "a.csv", as_csv(ROWS[:1]))
    b = write(tmp_path / "b.csv", as_csv(ROWS[:1]))
    result = run("import", str(a), str(b), "--db", str(demo_store))
    assert result.exit_code == 1
    assert f"{b}:2:kpi_id,period: duplicate of {a}:2" in result.output


def test_no_progress_bar_when_not_a_terminal(demo_store, tmp_path):
    rows = [
        ("new_arr", (date(2040, 1, 1) + timedelta(days=i)).isoformat(), float(i), "x" * 40)
        for i in range(25_000)
    ]  # > 1 MiB, the threshold for a bar on a terminal
    path = write(tmp_path / "big.csv", as_csv(rows))
    assert path.stat().st_size > 1 << 20
    result = run("import", str(path), "--db", str(demo_store))
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [
        "25,000 valid rows in 1 file: 25,000 were inserted, 0 updated, 0 unchanged."
    ]
    assert "importing" not in result.output and "\x1b" not in result.output


# --- export ------------------------------------------------------------------------------


def test_exported_observations_reimport_as_unchanged(demo_store, tmp_path):
    out = tmp_path / "export.csv"
    result = run("export", "observations", "--db", str(demo_store), "--out", str(out))
    assert result.exit_code == 0, result.output
    # Computed values stay out of an export (an import computes them again, and refuses them
    # as values), so the file holds the measured rows, all of them.
    total = count(demo_store, "computed = 0")
    assert total < count(demo_store)
    assert f"Exported {total:,} observations" in result.output
    with out.open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == ["kpi_id", "period", "value", "source"]
    again = run("import", str(out), "--db", str(demo_store))
    assert again.exit_code == 0, again.output
    assert summary(again.output) == {
        "valid": total,
        "files": 1,
        "inserted": 0,
        "updated": 0,
        "unchanged": total,
    }


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_export_filters_by_kpi_and_period(demo_store, tmp_path, fmt):
    out = tmp_path / f"new_arr.{fmt}"
    args = ["--kpi", "new_arr", "--from", "2025-03-01", "--to", "2025-08-01"]
    result = run(
        "export", "observations", *args, "--format", fmt, "--db", str(demo_store), "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    if fmt == "csv":
        records = list(csv.DictReader(text.splitlines()))
    elif fmt == "json":
        records = json.loads(text)
    else:
        records = [json.loads(line) for line in text.splitlines()]
    expected = query(
        demo_store,
        "SELECT period FROM observations WHERE kpi_id = 'new_arr' AND period >= '2025-03-01' "
        "AND period <= '2025-08-01T99' ORDER BY period",
    )
    assert [r["period"] for r in records] == [p for (p,) in expected]
    assert len(records) == 6  # monthly KPI, March to August inclusive
    assert {r["kpi_id"] for r in records} == {"new_arr"}


def test_export_to_stdout(demo_store):
    result = run(
        "export", "observations", "--kpi", "new_arr", "--format", "jsonl", "--db", str(demo_store)
    )
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert len(lines) == count(demo_store, "kpi_id = 'new_arr'")


def test_export_alerts_includes_events(demo_store, tmp_path):
    run("check", "--db", str(demo_store))
    alerts = query(demo_store, "SELECT count(*) FROM alerts")[0][0]
    assert alerts > 0
    out = tmp_path / "alerts.json"
    result = run("export", "alerts", "--db", str(demo_store), "--out", str(out))
    assert result.exit_code == 0, result.output
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert len(exported) == alerts
    assert all(a["events"] and a["events"][0]["action"] for a in exported)
    assert all(e["alert_id"] == a["id"] for a in exported for e in a["events"])
    as_csv_out = tmp_path / "alerts.csv"
    assert (
        run(
            "export", "alerts", "--format", "csv", "--db", str(demo_store), "--out", str(as_csv_out)
        ).exit_code
        == 0
    )
    rows = list(csv.DictReader(as_csv_out.read_text(encoding="utf-8").splitlines()))
    events = query(demo_store, "SELECT count(*) FROM alert_events")[0][0]
    assert len(rows) == events and "event_action" in rows[0] and "alert_rule" in rows[0]


# --- catalog re-sync ---------------------------------------------------------------------


def catalog_with_new_kpi() -> dict[str, str]:
    files = dict(MINI_CATALOG)
    block = files["kpis.toml"].split("[kpi.win_rate]")[1]
    files["kpis.toml"] += "\n[kpi.deal_velocity]" + block.replace(
        "kpi.win_rate.lineage", "kpi.deal_velocity.lineage"
    ).replace('"Win Rate"', '"Deal Velocity"')
    return files


def catalog_without_win_rate() -> dict[str, str]:
    files = dict(MINI_CATALOG)
    files["kpis.toml"] = files["kpis.toml"].split("[kpi.win_rate]")[0]
    files["org.toml"] = (
        files["org.toml"]
        .replace('owns = ["win_rate"]', "owns = []")
        .replace('functional_kpis = ["win_rate"]', "functional_kpis = []")
    )
    return files


@pytest.fixture
def mini_store(tmp_path, mini_catalog) -> Path:
    path = tmp_path / "mini.db"
    assert (
        run(
            "init", "--db", str(path), "--catalog", str(mini_catalog), "--end", "2026-11-27"
        ).exit_code
        == 0
    )
    # The demo plants its breaches below win rate (the sales cycle), which this catalog
    # lacks: win rate's latest week is written far below its 25 % target instead.
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE observations SET value = 12.0 WHERE kpi_id = 'win_rate' AND period = "
        "(SELECT max(period) FROM observations WHERE kpi_id = 'win_rate')"
    )
    conn.commit()
    conn.close()
    run("check", "--db", str(path))
    assert query(path, "SELECT count(*) FROM alerts WHERE kpi_id = 'win_rate'")[0][0] > 0
    return path


def snapshot_history(db: Path):
    return (
        query(db, "SELECT * FROM observations ORDER BY kpi_id, period"),
        query(db, "SELECT * FROM alerts ORDER BY id"),
        query(db, "SELECT * FROM alert_events ORDER BY id"),
    )


def test_sync_adds_a_kpi_and_keeps_history(mini_store, tmp_path):
    before = snapshot_history(mini_store)
    catalog = write_catalog(tmp_path / "added", catalog_with_new_kpi())
    result = run("sync-catalog", "--db", str(mini_store), "--catalog", str(catalog))
    assert result.exit_code == 0, result.output
    assert "2 KPIs kept, 1 added (deal_velocity), 0 removed." in result.output
    assert snapshot_history(mini_store) == before
    assert {r[0] for r in query(mini_store, "SELECT id FROM kpis")} == {
        "revenue_growth",
        "win_rate",
        "deal_velocity",
    }
    path = write(tmp_path / "dv.csv", HEADER + "deal_velocity,2026-11-20,12\n")
    assert run("import", str(path), "--db", str(mini_store)).exit_code == 0


def test_sync_refuses_to_drop_a_kpi_with_history_unless_pruned(mini_store, tmp_path):
    before = snapshot_history(mini_store)
    with_history = count(mini_store, "kpi_id = 'win_rate'")
    others = count(mini_store, "kpi_id != 'win_rate'")
    assert with_history > 0 and others > 0
    catalog = write_catalog(tmp_path / "smaller", catalog_without_win_rate())
    refused = run("sync-catalog", "--db", str(mini_store), "--catalog", str(catalog))
    assert refused.exit_code == 1
    assert f"win_rate ({with_history} observations)" in refused.output
    assert "--prune" in refused.output and "nothing was changed" in refused.output
    assert snapshot_history(mini_store) == before
    assert len(query(mini_store, "SELECT id FROM kpis")) == 2
    pruned = run("sync-catalog", "--db", str(mini_store), "--catalog", str(catalog), "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert with_history > 1
    assert f"1 removed (win_rate; {with_history} observations deleted)" in pruned.output
    assert count(mini_store, "kpi_id = 'win_rate'") == 0
    assert count(mini_store, "kpi_id != 'win_rate'") == others
    assert query(mini_store, "SELECT id FROM kpis") == [("revenue_growth",)]
    open_alerts = query(
        mini_store, "SELECT count(*) FROM alerts WHERE kpi_id = 'win_rate' AND state != 'resolved'"
    )
    assert open_alerts == [(0,)]


def test_sync_refuses_a_broken_catalog_with_file_and_key(mini_store, tmp_path):
    files = dict(MINI_CATALOG)
    files["kpis.toml"] = files["kpis.toml"].replace('owner_agent = "cro"', 'owner_agent = "cpo"')
    catalog = write_catalog(tmp_path / "broken", files)
    before = store_content(mini_store)
    result = run("sync-catalog", "--db", str(mini_store), "--catalog", str(catalog))
    assert result.exit_code == 1
    assert "kpis.toml: kpi.win_rate.owner_agent: [reference] unknown agent 'cpo'" in result.output
    assert "nothing changed" in result.output
    assert store_content(mini_store) == before


# --- large files: speed and bounded memory -------------------------------------------------


def big_csv(path: Path, rows: int) -> Path:
    start = date(2030, 1, 1)
    ids = ("revenue_growth", "win_rate")
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        for i in range(rows):
            day = (start + timedelta(days=i // 2)).isoformat()
            handle.write(f"{ids[i % 2]},{day},{(i % 40_000) * 0.25}\n")  # plausible: < 10,000 %
    return path


def import_in_subprocess(csv_path: Path, db: Path) -> tuple[str, int, float]:
    """Run the import in a fresh interpreter; return (stdout, max RSS in KiB, seconds)."""
    command = [sys.executable, "-m", "intelligentos", "import", str(csv_path), "--db", str(db)]
    time_binary = shutil.which("time") or "/usr/bin/time"
    use_time = os.access(time_binary, os.X_OK)
    if use_time:
        command = [time_binary, "-v", *command]
    started = time.monotonic()
    result = run_process(command, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    if use_time:
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
        assert match, result.stderr
        return result.stdout, int(match.group(1)), elapsed
    return result.stdout, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, elapsed


@pytest.mark.slow  # 200,000 rows imported, and timed: a wall-clock figure
def test_a_large_import_is_fast_and_memory_does_not_grow_with_the_file(tmp_path, mini_catalog):
    stores = []
    for name in ("small", "large"):
        db = tmp_path / f"{name}.db"
        assert (
            run("init", "--db", str(db), "--catalog", str(mini_catalog), "--no-demo").exit_code == 0
        )
        stores.append(db)
    small = big_csv(tmp_path / "small.csv", 20_000)
    large = big_csv(tmp_path / "large.csv", 200_000)
    out_small, rss_small, _ = import_in_subprocess(small, stores[0])
    out_large, rss_large, seconds = import_in_subprocess(large, stores[1])
    assert "20,000 were inserted" in out_small
    assert "200,000 valid rows in 1 file: 200,000 were inserted, 0 updated, 0 unchanged." in (
        out_large
    )
    assert count(stores[1]) == 200_000
    assert seconds < 15, f"200k rows took {seconds:.1f} s"
    measures = f"max RSS: 20k rows {rss_small / 1024:.0f} MB, 200k rows {rss_large / 1024:.0f} MB"
    assert rss_large < 200 * 1024, measures
    assert rss_large - rss_small < 40 * 1024, measures
    assert query(stores[1], "PRAGMA integrity_check") == [("ok",)]


def test_sync_resolves_a_removed_kpis_alerts_through_the_lifecycle(mini_store, tmp_path):
    """Every transition is in the event log: a pruned KPI's open alerts are resolved with a
    'resolve' event saying why, never by a silent UPDATE."""
    was_open = [
        (alert_id, state)
        for alert_id, state in query(
            mini_store,
            "SELECT id, state FROM alerts WHERE kpi_id = 'win_rate' AND state != 'resolved'",
        )
    ]
    assert was_open
    catalog = write_catalog(tmp_path / "smaller", catalog_without_win_rate())
    pruned = run("sync-catalog", "--db", str(mini_store), "--catalog", str(catalog), "--prune")
    assert pruned.exit_code == 0, pruned.output
    for alert_id, state in was_open:
        last = query(
            mini_store,
            "SELECT action, from_state, to_state, note FROM alert_events WHERE alert_id = ? "
            "ORDER BY id DESC LIMIT 1",
            (alert_id,),
        )[0]
        assert last[:3] == ("resolve", state, "resolved")
        assert "removed from the catalog" in last[3]
        resolved_at = query(mini_store, "SELECT resolved_at FROM alerts WHERE id = ?", (alert_id,))
        assert resolved_at[0][0]


# --- tables as people keep them --------------------------------------------------------------


def stored_2031(db: Path) -> list[tuple]:
    return query(
        db,
        "SELECT kpi_id, period, value FROM observations WHERE period LIKE '2031-%' "
        "ORDER BY kpi_id, period",
    )


@pytest.mark.parametrize(
    ("text", "unit", "decimal", "expected"),
    [
        ("9.1%", "percent", ".", 9.1),
        (" 9.1 % ", "percent", ".", 9.1),
        ("$15,200", "currency", ".", 15200.0),
        ("-$1,234.50", "currency", ".", -1234.5),
        ("$-15", "currency", ".", -15.0),
        ("15.200 €", "currency", ",", 15200.0),
        ("1.234.567,5", "currency", ",", 1234567.5),
        ("1 234,25", "count", ",", 1234.25),
        ("27,25", "percent", ",", 27.25),
        ("9,1%", "percent", ",", 9.1),
        ("1,000,000", "count", ".", 1000000.0),
    ],
)
def test_numbers_are_read_as_people_write_them(text, unit, decimal, expected):
    from intelligentos.domain.catalog.models import Unit
    from intelligentos.services.imports import parse_number

    assert parse_number(text, Unit(unit), decimal) == expected


@pytest.mark.parametrize(
    ("text", "unit", "decimal", "says"),
    [
        ("9.1%", "currency", ".", "is a percentage, but the KPI is in currency"),
        ("$15", "percent", ".", "is an amount of money, but the KPI is in percent"),
        ("27,25", "percent", ".", "',' that does not group thousands"),
        ("1,2345", "count", ".", "',' that does not group thousands"),
        ("27.25", "percent", ",", "'.' that does not group thousands"),
        ("12 apples", "count", ".", "is not a number"),
    ],
)
def test_numbers_that_cannot_be_read_say_why(text, unit, decimal, says):
    from intelligentos.domain.catalog.models import Unit
    from intelligentos.services.imports import parse_number

    with pytest.raises(ValueError, match=re.escape(says)):
        parse_number(text, Unit(unit), decimal)


def test_a_semicolon_csv_with_decimal_commas_is_detected(demo_store, tmp_path):
    path = write(
        tmp_path / "eu.csv",
        'kpi_id;period;value\nnew_arr;2031-01-01;"1.234.567,5"\nwin_rate;2031-01-05;27,25\n',
    )
    result = run("import", str(path), "--db", str(demo_store))
    assert result.exit_code == 0, result.output
    assert stored_2031(demo_store) == [
        ("new_arr", "2031-01-01", 1234567.5),
        ("win_rate", "2031-01-05", 27.25),
    ]


def test_delimiter_and_decimal_can_be_given(demo_store, tmp_path):
    # A semicolon file written with decimal points: detection would read a decimal comma.
    points = write(tmp_path / "points.csv", "kpi_id;period;value\nwin_rate;2031-01-05;27.25\n")
    refused = run("import", str(points), "--db", str(demo_store))
    assert refused.exit_code == 1 and "'.' that does not group thousands" in refused.output
    assert stored_2031(demo_store) == []
    taken = run("import", str(points), "--db", str(demo_store), "--decimal", ".")
    assert taken.exit_code == 0, taken.output
    tabs = write(tmp_path / "tabs.txt", "kpi_id\tperiod\tvalue\nnew_arr\t2031-02-01\t5,5\n")
    result = run(
        "import", str(tabs), "--db", str(demo_store), "--format", "csv",
        "--delimiter", "tab", "--decimal", ",",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert stored_2031(demo_store) == [
        ("new_arr", "2031-02-01", 5.5),
        ("win_rate", "2031-01-05", 27.25),
    ]
    bad = run("import", str(tabs), "--db", str(demo_store), "--delimiter", ":")
    assert bad.exit_code == 1 and "unknown delimiter ':'" in bad.output


def test_percent_and_currency_values_for_kpis_of_that_unit(demo_store, tmp_path):
    good = write(
        tmp_path / "people.csv", HEADER + 'win_rate,2031-01-05,9.1%\nnew_arr,2031-01-01,"$15,200"\n'
    )
    result = run("import", str(good), "--db", str(demo_store))
    assert result.exit_code == 0, result.output
    assert stored_2031(demo_store) == [
        ("new_arr", "2031-01-01", 15200.0),
        ("win_rate", "2031-01-05", 9.1),
    ]
    # The sign must match the KPI's unit; one wrong row and nothing is imported.
    wrong = write(
        tmp_path / "wrong.csv",
        HEADER + "new_arr,2031-03-01,9.1%\nwin_rate,2031-03-02,$5\nwin_rate,2031-03-09,30\n",
    )
    refused = run("import", str(wrong), "--db", str(demo_store))
    assert refused.exit_code == 1
    assert f"{wrong}:2:value: '9.1%' is a percentage, but the KPI is in currency" in refused.output
    assert f"{wrong}:3:value: '$5' is an amount of money, but the KPI is in percent" in (
        refused.output
    )
    assert len(stored_2031(demo_store)) == 2


def test_a_month_is_the_period_of_a_monthly_kpi(demo_store, tmp_path):
    path = write(tmp_path / "months.csv", HEADER + "new_arr,2031-07,5\ngross_margin,2031-12,70.5\n")
    result = run("import", str(path), "--db", str(demo_store))
    assert result.exit_code == 0, result.output
    assert stored_2031(demo_store) == [
        ("gross_margin", "2031-12-01", 70.5),
        ("new_arr", "2031-07-01", 5.0),
    ]
    weekly = write(tmp_path / "weekly.csv", HEADER + "win_rate,2031-07,5\nnew_arr,2031-13,5\n")
    refused = run("import", str(weekly), "--db", str(demo_store))
    assert refused.exit_code == 1
    assert f"{weekly}:2:period: '2031-07' is not an ISO-8601 date" in refused.output
    assert f"{weekly}:3:period: '2031-13' is not an ISO-8601 date" in refused.output


def test_a_wide_table_has_one_column_per_kpi(demo_store, tmp_path):
    text = "period,new_arr,win_rate\n2031-01-01,100,27.5\n2031-02-01,,28\n"
    path = write(tmp_path / "wide.csv", text)
    result = run("import", str(path), "--db", str(demo_store), "--wide")
    assert result.exit_code == 0, result.output
    assert summary(result.output)["valid"] == 3
    assert stored_2031(demo_store) == [
        ("new_arr", "2031-01-01", 100.0),
        ("win_rate", "2031-01-01", 27.5),
        ("win_rate", "2031-02-01", 28.0),
    ]
    # Without --wide the header is wrong, and the message says what would read it.
    long = run("import", str(path), "--db", str(demo_store))
    assert long.exit_code == 1 and "needs --wide" in long.output
    unknown = write(tmp_path / "unknown.csv", "period,new_arr,ar\n2031-03-01,1,2\n")
    refused = run("import", str(unknown), "--db", str(demo_store), "--wide")
    assert refused.exit_code == 1
    assert f"{unknown}:1:header: unknown KPI id(s) 'ar'" in refused.output
    # One bad cell and no row of the table is imported.
    bad = write(tmp_path / "bad.csv", "period,new_arr,win_rate\n2031-04-01,1,2\n2031-05-01,3,x\n")
    assert run("import", str(bad), "--db", str(demo_store), "--wide").exit_code == 1
    assert len(stored_2031(demo_store)) == 3


def test_an_excel_workbook_imports_long_or_wide(demo_store, tmp_path):
    from datetime import datetime

    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["kpi_id", "period", "value", "source"])
    sheet.append(["new_arr", datetime(2031, 1, 1), 1500.25, "ledger"])
    sheet.append(["win_rate", "2031-01-05", "9.1%", None])
    sheet.append([None, None, None, None])  # an empty row is skipped
    sheet.append(["new_arr", "2031-02", "$15,200", None])
    book.save(tmp_path / "long.xlsx")
    result = run("import", str(tmp_path / "long.xlsx"), "--db", str(demo_store))
    assert result.exit_code == 0, result.output
    assert stored_2031(demo_store) == [
        ("new_arr", "2031-01-01", 1500.25),
        ("new_arr", "2031-02-01", 15200.0),
        ("win_rate", "2031-01-05", 9.1),
    ]
    wide = openpyxl.Workbook()
    wide.active.append(["period", "win_rate", "gross_margin"])
    wide.active.append([datetime(2031, 3, 2), 30, None])
    wide.active.append([datetime(2031, 3, 1), None, 71.5])
    wide.save(tmp_path / "wide.xlsx")
    result = run("import", str(tmp_path / "wide.xlsx"), "--db", str(demo_store), "--wide")
    assert result.exit_code == 0, result.output
    assert ("gross_margin", "2031-03-01", 71.5) in stored_2031(demo_store)
    assert ("win_rate", "2031-03-02", 30.0) in stored_2031(demo_store)
    # A cell that is not a number is a problem at its row, and nothing is imported.
    bad = openpyxl.Workbook()
    bad.active.append(["kpi_id", "period", "value"])
    bad.active.append(["new_arr", "2031-06-01", 1])
    bad.active.append(["new_arr", "2031-07-01", "lots"])
    bad.save(tmp_path / "bad.xlsx")
    refused = run("import", str(tmp_path / "bad.xlsx"), "--db", str(demo_store))
    assert refused.exit_code == 1 and f"{tmp_path / 'bad.xlsx'}:3:value:" in refused.output
    assert len(stored_2031(demo_store)) == 5


def test_a_file_that_is_not_a_workbook_is_refused(demo_store, tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"kpi_id,period,value\nnew_arr,2031-01-01,1\n")
    result = run("import", str(path), "--db", str(demo_store))
    assert result.exit_code == 1
    assert f"{path}: not a readable .xlsx workbook" in result.output
    assert "no observations" not in result.output  # the one reason, not a follow-on
    assert stored_2031(demo_store) == []


# --- implausible values and echoed input ----------------------------------------------------


@pytest.mark.parametrize(
    ("kpi_id", "value", "echo"),
    [
        ("new_arr", "1e300", "value 1e+300 is implausible for new_arr, a currency KPI"),
        ("cash_runway", "-5", "value -5 is implausible for cash_runway, a months KPI"),
        ("experiment_velocity", "-3", "value -3 is implausible for experiment_velocity, a count"),
        ("gross_margin", "-1e15", "value -1e+15 is implausible for gross_margin, a percent KPI"),
    ],
)
def test_an_implausible_value_is_refused_echoing_it(demo_store, tmp_path, kpi_id, value, echo):
    before = count(demo_store)
    path = write(
        tmp_path / "bad.csv", f"{HEADER}win_rate,2031-01-05,27\n{kpi_id},2031-01-05,{value}\n"
    )
    result = run("import", str(path), "--db", str(demo_store))
    assert result.exit_code == 1
    assert f"bad.csv:3:value: {echo}" in result.output
    assert "nothing was imported" in result.output
    assert count(demo_store) == before


def test_values_at_the_edge_of_plausible_are_accepted(demo_store, tmp_path):
    # Negative growth, an early milestone, a losing campaign, a runway of exactly zero.
    rows = "".join(
        f"{k},2031-01-05,{v}\n"
        for k, v in (
            ("revenue_growth", -40),
            ("milestone_slippage", -3),
            ("campaign_roi", -0.5),
            ("cash_runway", 0),
            ("new_arr", 9.9e12),
        )
    )
    result = run(
        "import", str(write(tmp_path / "edge.csv", HEADER + rows)), "--db", str(demo_store)
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("line", "column", "echo"),
    [
        ("win_rate,07/12/2026,27", "period", "'07/12/2026' is not an ISO-8601 date"),
        ("win_rate,2031-01-05,abc", "value", "(got 'abc')"),
        ("ghost_kpi,2031-01-05,1", "kpi_id", "unknown KPI id 'ghost_kpi'"),
    ],
)
def test_import_errors_echo_the_bad_value(demo_store, tmp_path, line, column, echo):
    result = run(
        "import", str(write(tmp_path / "bad.csv", f"{HEADER}{line}\n")), "--db", str(demo_store)
    )
    assert result.exit_code == 1
    assert f"bad.csv:2:{column}: " in result.output and echo in result.output


def test_one_huge_value_does_not_collapse_the_kpis_table(demo_store, monkeypatch):
    # Written around the importer, as a hand edit or another tool could.
    conn = sqlite3.connect(demo_store)
    conn.execute("UPDATE observations SET value = 1e300 WHERE kpi_id = 'new_arr'")
    conn.execute("UPDATE observations SET value = -1e15 WHERE kpi_id = 'gross_margin'")
    conn.commit()
    conn.close()
    monkeypatch.setenv("COLUMNS", "120")
    result = run("kpis", "--db", str(demo_store), "--as-of", "2026-11-27")
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "latest" in line)
    for column in ("id", "name", "latest", "change", "target", "status"):
        assert f" {column} " in header, header
    new_arr = next(line for line in result.output.splitlines() if line.startswith("│ new_arr "))
    assert "$1.0e+300" in new_arr and "$1.5M" in new_arr and "ok" in new_arr  # its target
    margin = next(line for line in result.output.splitlines() if "gross_margin" in line)
    assert "-1.0e+15%" in margin
    assert max(len(line) for line in result.output.splitlines()) <= 120


def test_a_problem_of_the_whole_file_or_row_points_at_no_line_or_column(demo_store, tmp_path):
    header_only = write(tmp_path / "wide.csv", HEADER)
    ragged = write(tmp_path / "ragged.csv", f"{HEADER}win_rate,2031-01-05\n")
    result = run("import", str(header_only), str(ragged), "--db", str(demo_store))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"{header_only}: no observations in the file" in lines
    assert f"{ragged}:2: 2 fields where the header has 3" in lines
    assert ":0:" not in result.output and ":-:" not in result.output


# --- the import as a service ---------------------------------------------------------------


def test_an_import_keeps_the_first_problems_counts_them_all_and_writes_nothing(
    demo_store, tmp_path
):
    from intelligentos.services.imports import PROBLEMS_KEPT, import_files
    from intelligentos.store import Store

    rows = tmp_path / "bad.csv"
    bad = "".join(f"nope,2026-01-{day:02d},1\n" for day in range(1, 29))
    more = "".join(f"nope_{n},2026-02-01,1\n" for n in range(PROBLEMS_KEPT))
    rows.write_text("kpi_id,period,value\ngross_margin,2019-01-01,61.5\n" + bad + more)
    before = query(demo_store, "SELECT count(*) FROM observations")
    with Store.open(demo_store) as store:
        report = import_files(store, [rows])
    assert report.counts is None and report.rows == 0
    assert report.total_problems == 28 + PROBLEMS_KEPT
    assert len(report.problems) == PROBLEMS_KEPT
    assert report.problems[0].row == 3 and report.problems[0].column == "kpi_id"
    assert query(demo_store, "SELECT count(*) FROM observations") == before


def test_a_dry_run_import_counts_what_the_merge_does_without_writing(demo_store, tmp_path):
    from intelligentos.services.imports import Layout, import_files
    from intelligentos.store import Store
    from intelligentos.store.bulk import MergeCounts

    rows = tmp_path / "wide.csv"
    rows.write_text("period;gross_margin;win_rate\n2019-01-01;61,5;\n2019-02-01;62;24,5\n")
    layout = Layout(decimal=None, wide=True)
    with Store.open(demo_store) as store:
        dry = import_files(store, [rows], layout=layout, dry_run=True)
        assert query(demo_store, "SELECT count(*) FROM observations WHERE period < '2020'") == [
            (0,)
        ]
        done = import_files(store, [rows], layout=layout)
        again = import_files(store, [rows], layout=layout)
    assert (dry.rows, dry.counts) == (3, MergeCounts(3, 0, 0))
    assert (done.rows, done.counts) == (3, MergeCounts(3, 0, 0))
    assert again.counts == MergeCounts(0, 0, 3)
    assert query(
        demo_store,
        "SELECT kpi_id, period, value FROM observations WHERE period < '2020' "
        "ORDER BY kpi_id, period",
    ) == [
        ("gross_margin", "2019-01-01", 61.5),
        ("gross_margin", "2019-02-01", 62.0),
        ("win_rate", "2019-02-01", 24.5),
    ]
