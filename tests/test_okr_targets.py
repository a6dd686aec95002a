"""Quarterly targets as dated facts: the catalog's ``[kpi.<id>.targets]`` table and its
checks, the store's ``kpi_targets`` and ``target_changes``, ``sync-catalog`` keeping who set a
target, and the catalog as judged on a day."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.domain.catalog.changes import kpi_changes
from intelligentos.domain.okr.targets import QuarterTarget, TargetSource, judged_on, target_on
from intelligentos.domain.quarters import Quarter
from intelligentos.services.catalog import check_catalog, load_catalog
from intelligentos.store import SCHEMA_VERSION, Store

from .conftest import MINI_CATALOG, write_catalog
from .stores import make_version_4

runner = CliRunner()

WIN_RATE_TARGETS = """
[kpi.win_rate.targets]
# Raised for the new year.
"2027Q1" = 27.0
"2027Q2" = 29
"""


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def with_targets(tmp_path: Path, targets: str = WIN_RATE_TARGETS, name: str = "catalog") -> Path:
    files = dict(MINI_CATALOG)
    files["kpis.toml"] += targets
    return write_catalog(tmp_path / name, files)


def messages(directory: Path) -> list[str]:
    return [str(v) for v in check_catalog(directory)]


# --- the catalog ----------------------------------------------------------------------------


def test_the_catalog_reads_quarterly_targets_as_numbers(tmp_path):
    catalog = load_catalog(with_targets(tmp_path))
    assert catalog.kpis["win_rate"].targets == {"2027Q1": 27.0, "2027Q2": 29.0}
    assert catalog.kpis["revenue_growth"].targets == {}


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (
            '"2027-Q1" = 27.0',
            "kpis.toml: kpi.win_rate.targets: [schema] '2027-Q1' is not a quarter: write YYYYQn, "
            "e.g. 2027Q1",
        ),
        ('"2027Q5" = 27.0', "'2027Q5' is not a quarter"),
        ('"2027Q1" = "27"', "kpis.toml: kpi.win_rate.targets.2027Q1: [schema]"),
        (
            '"2027Q1" = 27.0\n"2027Q1" = 28.0',
            "kpis.toml: kpi.win_rate.targets.2027Q1: [syntax] kpi.win_rate.targets.2027Q1 is "
            "given twice",
        ),
    ],
)
def test_a_bad_quarterly_target_is_a_violation_naming_file_and_key(tmp_path, targets, expected):
    found = messages(with_targets(tmp_path, f"\n[kpi.win_rate.targets]\n{targets}\n"))
    assert any(expected in message for message in found), found


def test_a_tracked_kpi_cannot_have_quarterly_targets(tmp_path):
    files = dict(MINI_CATALOG)
    files["kpis.toml"] = files["kpis.toml"].replace("target = 25.0\n", "", 1)
    files["kpis.toml"] += '\n[kpi.win_rate.targets]\n"2027Q1" = 27.0\n'
    found = messages(write_catalog(tmp_path / "tracked", files))
    assert any(
        "kpi.win_rate.targets: [schema] quarterly targets need a target to fall back on" in m
        for m in found
    ), found


def test_a_changed_quarterly_target_is_a_judging_change(tmp_path):
    before = load_catalog(with_targets(tmp_path))
    after = load_catalog(
        with_targets(tmp_path, '\n[kpi.win_rate.targets]\n"2027Q1" = 30.0\n', "after")
    )
    changes = [c for c in kpi_changes(before, after) if c.kpi_id == "win_rate"]
    assert [c.describe() for c in changes] == [
        "target 2027Q1 27 → 30",
        "target 2027Q2 29 → none",
    ]
    assert all(c.judging for c in changes)


# --- the target in force ------------------------------------------------------------------


def test_the_target_in_force_changes_on_the_quarters_first_day(tmp_path):
    catalog = load_catalog(with_targets(tmp_path))
    win_rate = catalog.kpis["win_rate"]
    assert target_on(win_rate, date(2026, 12, 31)) == 25.0  # the catalog's default
    assert target_on(win_rate, date(2027, 1, 1)) == 27.0
    assert target_on(win_rate, date(2027, 3, 31)) == 27.0
    assert target_on(win_rate, date(2027, 4, 1)) == 29.0
    assert target_on(win_rate, date(2031, 1, 1)) == 29.0  # until a later quarter's


def test_judged_on_replaces_only_the_targets_that_differ(tmp_path):
    catalog = load_catalog(with_targets(tmp_path))
    assert judged_on(catalog, date(2026, 12, 31)) is catalog
    judged = judged_on(catalog, date(2027, 2, 1))
    assert judged.kpis["win_rate"].target == 27.0
    assert judged.kpis["revenue_growth"] is catalog.kpis["revenue_growth"]
    assert list(judged.kpis) == list(catalog.kpis)
    assert catalog.kpis["win_rate"].target == 25.0  # the default is untouched


# --- the store --------------------------------------------------------------------------------


@pytest.fixture
def store_with_targets(tmp_path: Path) -> Path:
    path = tmp_path / "targets.db"
    result = run(
        "init", "--db", str(path), "--catalog", str(with_targets(tmp_path)), "--end", "2026-11-27"
    )
    assert result.exit_code == 0, result.output
    return path


def rows(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_a_new_store_holds_the_catalogs_quarterly_targets(store_with_targets):
    assert rows(store_with_targets, "SELECT * FROM kpi_targets ORDER BY quarter") == [
        ("win_rate", "2027Q1", 27.0, "catalog", "", "", ""),
        ("win_rate", "2027Q2", 29.0, "catalog", "", "", ""),
    ]
    with Store.open(store_with_targets, readonly=True) as store:
        assert store.read_catalog().kpis["win_rate"].targets == {"2027Q1": 27.0, "2027Q2": 29.0}
        assert [str(t.quarter) for t in store.quarter_targets()] == ["2027Q1", "2027Q2"]


def test_setting_targets_logs_each_change_and_moves_the_catalog_version(store_with_targets):
    with Store.open(store_with_targets) as store:
        version = store.catalog_version()
        with store.transaction():
            changes = store.set_quarter_targets(
                [
                    QuarterTarget(
                        "win_rate", Quarter(2027, 1), 27.0, TargetSource.HAND, "ana", "t1", "same"
                    ),
                    QuarterTarget(
                        "win_rate", Quarter(2027, 3), 31.0, TargetSource.PROPOSAL, "ana", "t1", "Q3"
                    ),
                ]
            )
        assert [(str(c.quarter), c.before, c.after) for c in changes] == [("2027Q3", None, 31.0)]
        assert store.catalog_version() == version + 1
        assert store.read_catalog().kpis["win_rate"].targets["2027Q3"] == 31.0
        [held] = store.quarter_targets(["win_rate"])[2:]
        assert (held.source, held.who, held.at, held.note) == ("proposal", "ana", "t1", "Q3")
        assert [(c.who, c.note) for c in store.target_changes(["win_rate"])] == [("ana", "Q3")]


def test_sync_keeps_who_set_an_unchanged_target_and_logs_the_changed(store_with_targets, tmp_path):
    with Store.open(store_with_targets) as store, store.transaction():
        store.set_quarter_targets(
            [QuarterTarget("win_rate", Quarter(2027, 1), 27.0, TargetSource.HAND, "ana", "t", "x")]
        )
        # 27.0 equals the held value: nothing is written, so the row is still the catalog's.
    catalog = with_targets(
        tmp_path, '\n[kpi.win_rate.targets]\n"2027Q1" = 27.0\n"2027Q2" = 30.0\n', "v2"
    )
    result = run("sync-catalog", "--db", str(store_with_targets), "--catalog", str(catalog))
    assert result.exit_code == 0, result.output
    assert "win_rate: target 2027Q2 29 → 30" in result.output
    held = rows(store_with_targets, "SELECT quarter, value, source, at FROM kpi_targets")
    assert held[0] == ("2027Q1", 27.0, "catalog", "")  # unchanged: provenance kept
    assert held[1][:3] == ("2027Q2", 30.0, "catalog") and held[1][3] != ""
    logged = rows(store_with_targets, "SELECT quarter, before, after, source FROM target_changes")
    assert logged == [("2027Q2", 29.0, 30.0, "catalog")]


def test_an_older_store_upgrades_to_quarterly_targets(store_with_targets):
    make_version_4(store_with_targets)
    with Store.open(store_with_targets) as store:
        assert store.query("PRAGMA user_version")[0]["user_version"] == SCHEMA_VERSION
        assert store.quarter_targets() == []
        assert store.read_catalog().kpis["win_rate"].targets == {}
