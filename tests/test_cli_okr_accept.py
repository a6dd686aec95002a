"""`okr accept` on the command line: what it prints (as `sync-catalog` prints a change), the
diff of a dry run, JSON, and one `Error:` sentence for each bad input with nothing written.

The quarters are far from today (2099Q1 ahead, 2020Q1 ended), so that the command, which
judges with the real clock, answers the same on any day."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.domain.forecast.results import Forecast, ForecastPoint
from intelligentos.services.bootstrap import init_store
from intelligentos.store import Store

from .conftest import MINI_CATALOG, write_catalog
from .stores import store_content

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def mini(tmp_path: Path) -> tuple[str, Path]:
    catalog = write_catalog(tmp_path / "catalog", MINI_CATALOG)
    db = tmp_path / "mini.db"
    init_store(db, catalog, demo=False)
    return str(db), catalog


def kpis_text(catalog: Path) -> str:
    return (catalog / "kpis.toml").read_text()


def one_error_sentence(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: ")
    return lines[0]


def test_accept_by_hand_prints_each_change_and_sync_catalog_then_changes_nothing(mini):
    db, catalog = mini
    result = run(
        "okr", "accept", "--db", db, "--quarter", "2099Q1", "--kpi", "win_rate=30",
        "--kpi", "revenue_growth=33", "--note", "board plan", "--user", "alice",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"Targets for 2099Q1 accepted into the store and the catalog at {catalog}: 2 changes.",
        "  revenue_growth: target 2099Q1 none → 33 (kpis.toml)",
        "  win_rate: target 2099Q1 none → 30 (kpis.toml)",
    ]
    assert '[kpi.win_rate.targets]\n"2099Q1" = 30.0' in kpis_text(catalog)
    synced = run("sync-catalog", "--db", db)
    assert synced.exit_code == 0, synced.output
    assert synced.output.splitlines() == [
        f"Catalog synced from {catalog}: 2 KPIs kept, 0 added, 0 removed."
    ]
    with Store.open(Path(db)) as store:
        assert {(t.kpi_id, t.source.value, t.who, t.note) for t in store.quarter_targets()} == {
            ("win_rate", "hand", "alice", "board plan"),
            ("revenue_growth", "hand", "alice", "board plan"),
        }


def test_a_dry_run_prints_the_diff_and_writes_nothing(mini):
    db, catalog = mini
    before = store_content(Path(db)), kpis_text(catalog)
    result = run(
        "okr", "accept", "--db", db, "--quarter", "2099Q1", "--kpi", "win_rate=30",
        "--note", "board plan", "--dry-run",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        f"Dry run: nothing was written. Accepting would make 1 change to the store and the "
        f"catalog at {catalog}."
    )
    assert lines[1] == "  win_rate: target 2099Q1 none → 30 (kpis.toml)"
    assert lines[2:4] == ["--- a/kpis.toml", "+++ b/kpis.toml"]
    assert lines[-4:-1] == ["+", "+[kpi.win_rate.targets]", '+"2099Q1" = 30.0']
    # Win Rate at 30 against its default 25 takes Revenue Growth to 30 × (1 + 0.5 × 0.2) = 33.
    assert lines[-1] == (
        "Warning: revenue_growth's target 30.0% asks less than its children's targets imply "
        "(33.0%), a gap of 3.0 pt."
    )
    assert (store_content(Path(db)), kpis_text(catalog)) == before


def test_commit_for_one_kpi_as_json(mini):
    db, catalog = mini
    point = ForecastPoint("2099-03-30", 30.0, 27.5, 32.5, 26.0, 34.0)
    forecast = Forecast("win_rate", "ets", True, 17, None, None, (point,), None, "hand-made")
    with Store.open(Path(db)) as store:
        store.save_forecasts([forecast], "2026-12-07T10:00:00Z")
    result = run(
        "okr", "accept", "--db", db, "--quarter", "2099Q1", "--commit", "--kpi", "win_rate",
        "--note", "commit", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    # The commit target of a higher-is-better KPI is the 80 % interval's low end, 27.5.
    assert record["targets"] == [
        {
            "id": "win_rate",
            "before": None,
            "after": 27.5,
            "changed": True,
            "source": "proposal",
            "file": "kpis.toml",
        }
    ]
    assert record["written"] is True and record["skipped"] == []
    # 27.5 / 25 = 1.1: Revenue Growth implied at 30 × (1 + 0.5 × 0.1) = 31.5, gap 1.5 pt.
    [link] = record["cascade"]
    assert link["parent"] == "revenue_growth" and link["consistent"] is False
    assert link["implied_target"] == pytest.approx(31.5)
    assert '"2099Q1" = 27.5' in kpis_text(catalog)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--quarter", "2099-Q1", "--kpi", "win_rate=30", "--note", "x"],
            "Error: '2099-Q1' is not a quarter: write YYYYQn, e.g. 2027Q1",
        ),
        (
            ["--quarter", "2020Q1", "--kpi", "win_rate=30", "--note", "x"],
            "Error: 2020Q1 ended on 2020-03-31; targets can be set for",
        ),
        (
            ["--quarter", "2099Q1", "--kpi", "win_rate=30"],
            "Error: a note is required to accept targets",
        ),
        (
            ["--quarter", "2099Q1", "--kpi", "win_rate=30", "--note", " "],
            "Error: a note is required to accept targets",
        ),
        (
            ["--quarter", "2099Q1", "--note", "x"],
            "Error: choose one of --commit, --stretch or --kpi ID=VALUE.",
        ),
        (
            ["--quarter", "2099Q1", "--commit", "--stretch", "--note", "x"],
            "Error: choose one of --commit, --stretch or --kpi ID=VALUE, not commit and stretch.",
        ),
        (
            ["--quarter", "2099Q1", "--commit", "--kpi", "win_rate=30", "--note", "x"],
            "Error: choose one of --commit, --stretch or --kpi ID=VALUE, not commit and values.",
        ),
        (
            ["--quarter", "2099Q1", "--kpi", "win_rate", "--kpi", "churn=3", "--note", "x"],
            "Error: --kpi win_rate needs a value (e.g. win_rate=30).",
        ),
        (
            ["--quarter", "2099Q1", "--kpi", "win_rate=abc", "--note", "x"],
            "Error: win_rate's target must be a finite number, not 'abc'.",
        ),
        (
            ["--quarter", "2099Q1", "--kpi", "win_rate=30", "--kpi", "win_rate=31", "--note", "x"],
            "Error: --kpi win_rate is given twice; give each KPI once.",
        ),
        (
            ["--quarter", "2099Q1", "--kpi", "nope=3", "--note", "x"],
            "Error: unknown KPI 'nope'; `intelligentos-tui kpis` lists them.",
        ),
    ],
)
def test_bad_input_is_one_sentence_and_writes_nothing(mini, args, expected):
    db, catalog = mini
    before = store_content(Path(db)), kpis_text(catalog)
    result = run("okr", "accept", "--db", db, *args)
    assert result.exit_code == 1
    assert one_error_sentence(result.output).startswith(expected)
    assert (store_content(Path(db)), kpis_text(catalog)) == before


def test_a_read_only_catalog_file_is_one_sentence(mini):
    db, catalog = mini
    before = store_content(Path(db)), kpis_text(catalog)
    (catalog / "kpis.toml").chmod(0o444)
    try:
        result = run(
            "okr", "accept", "--db", db, "--quarter", "2099Q1", "--kpi", "win_rate=30",
            "--note", "x",
        )  # fmt: skip
    finally:
        (catalog / "kpis.toml").chmod(0o644)
    assert result.exit_code == 1
    assert one_error_sentence(result.output) == (
        "Error: kpis.toml is read-only; nothing was written."
    )
    assert (store_content(Path(db)), kpis_text(catalog)) == before
