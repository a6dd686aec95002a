"""Forecasts in the store and on the command line: the version-2 migration, the public
tables, and `forecast` end to end."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.store import SCHEMA_VERSION, Store
from intelligentos.store.schema import SCHEMA_V2_FORECASTS

from .stores import make_version_4

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def make_version_1(path: Path) -> None:
    """The store as version 1 wrote it: no forecast (or later) tables, user_version 1."""
    make_version_4(path)
    conn = sqlite3.connect(path)
    for later in ("deliveries", "alert_routes"):  # version 4
        conn.execute(f"DROP TABLE {later}")
    conn.execute("DROP TABLE scenarios")
    conn.execute("DROP TABLE forecast_points")
    conn.execute("DROP TABLE forecasts")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


def test_a_version_1_store_migrates_on_open_and_keeps_its_data(demo_store):
    make_version_1(demo_store)
    conn = sqlite3.connect(demo_store)
    observations = conn.execute("SELECT count(*) FROM observations").fetchone()[0]
    conn.close()
    assert SCHEMA_VERSION >= 2 and "CREATE TABLE forecasts" in SCHEMA_V2_FORECASTS
    with Store.open(demo_store) as store:
        names = {r["name"] for r in store.query("SELECT name FROM sqlite_master")}
        assert {"forecasts", "forecast_points"} <= names
        assert store.query("PRAGMA user_version")[0]["user_version"] == SCHEMA_VERSION
        assert store.query("SELECT count(*) AS n FROM observations")[0]["n"] == observations


def test_forecast_json_stores_and_prints_every_point(today_store):
    result = run(
        "forecast",
        "--db",
        str(today_store),
        "--kpi",
        "gross_margin",
        "--kpi",
        "uptime",
        "--horizon",
        "3",
        "--json",
    )
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["kpi_id"] for r in records] == ["gross_margin", "uptime"]
    for record in records:
        assert {"kpi_id", "model", "mase", "coverage80", "backtest_origins", "points"} <= set(
            record
        )
        if record["model"] != "none":
            assert len(record["points"]) == 3
            periods = [p["period"] for p in record["points"]]
            assert periods == sorted(periods) and periods[0] > record["based_on"]
            for p in record["points"]:
                assert p["lo95"] <= p["lo80"] <= p["mean"] <= p["hi80"] <= p["hi95"]
    with Store.open(today_store) as store:
        stored = {s.forecast.kpi_id: s for s in store.forecasts()}
    assert set(stored) == {"gross_margin", "uptime"}
    uptime = stored["uptime"].forecast
    assert uptime.model == records[1]["model"] and len(uptime.points) == len(records[1]["points"])
    assert stored["uptime"].made_at.endswith("Z")


def test_forecasting_again_replaces_the_stored_forecast(today_store):
    run("forecast", "--db", str(today_store), "--kpi", "uptime", "--horizon", "5")
    run("forecast", "--db", str(today_store), "--kpi", "uptime", "--horizon", "2")
    with Store.open(today_store) as store:
        (stored,) = store.forecasts(["uptime"])
        rows = store.query("SELECT count(*) AS n FROM forecast_points WHERE kpi_id = 'uptime'")
    assert stored.forecast.horizon == 2 and rows[0]["n"] == len(stored.forecast.points) <= 2


def test_forecast_refuses_an_unknown_kpi_with_one_sentence(today_store):
    result = runner.invoke(app, ["forecast", "--db", str(today_store), "--kpi", "nope"])
    assert result.exit_code == 1
    assert result.output.count("Error: ") == 1 and "unknown KPI 'nope'" in result.output


@pytest.mark.slow  # every KPI of the demo store forecast, in worker processes
def test_forecast_all_kpis_in_a_table(today_store):
    result = runner.invoke(app, ["forecast", "--db", str(today_store)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "revenue_growth" in result.output and "Traceback" not in result.output
    with Store.open(today_store) as store:
        assert len(store.forecasts()) == len(store.kpi_ids())


def test_the_default_horizon_counts_from_the_latest_observation_when_the_data_lag(demo_store):
    """The demo store ends on 2026-11-27, its latest month 2026-11-01. Forecast on
    2027-02-10, the quarter ends on 2027-03-31: the forecast must reach it from November,
    through December, January, February and March: 4 months (counting from the clock's
    month would give 1, and stop in December)."""
    from datetime import date

    from intelligentos.services.forecast import jobs_for, outdated

    with Store.open(demo_store) as store:
        catalog = store.read_catalog()
        last = store.history("gross_margin", 1)[-1][0]
        (job,) = list(jobs_for(store, [catalog.kpis["gross_margin"]], date(2027, 2, 10)))
    assert last == "2026-11-01"
    assert job.horizon == 4
    latest = {"gross_margin": last}
    as_of = date(2027, 2, 10)
    assert catalog.kpis["gross_margin"] not in outdated(
        catalog, latest, {"gross_margin": (last, 4)}, as_of
    )
    assert catalog.kpis["gross_margin"] in outdated(
        catalog, latest, {"gross_margin": (last, 1)}, as_of
    )


def test_a_narrow_forecast_table_wraps_the_verdict_between_words(tmp_path, monkeypatch):
    from intelligentos.cli import render

    db = tmp_path / "few.db"
    assert run("init", "--db", str(db), "--no-demo").exit_code == 0
    rows = tmp_path / "six.csv"
    rows.write_text(
        "kpi_id,period,value\n" + "".join(f"gross_margin,2026-0{m}-01,70\n" for m in range(4, 10)),
        encoding="utf-8",
    )
    assert run("import", str(rows), "--db", str(db)).exit_code == 0
    # As on an 80-column terminal.
    monkeypatch.setattr(render.CliConsole, "bounded", property(lambda self: True))
    monkeypatch.setattr(
        render, "out", render.CliConsole(width=80, height=40, highlight=False, soft_wrap=True)
    )
    result = run("forecast", "--db", str(db), "--kpi", "gross_margin")
    assert result.exit_code == 0, result.output
    body = [line for line in result.output.splitlines() if line.startswith("│")]
    assert len(body) > 1  # it did wrap
    verdict = " ".join(line.split("│")[-2].strip() for line in body)
    assert verdict == "not enough history: 6 of the 8 observations needed"


def test_a_forecast_job_reads_no_row_dated_after_its_day(demo_store):
    """The demo store's latest month is 2026-11-01; a row dated 2026-12-01 is not yet a
    value on 2026-11-27, so the forecast is made from November, as `kpis` shows it."""
    from datetime import date

    from intelligentos.services.forecast import jobs_for

    with sqlite3.connect(demo_store) as conn:
        conn.execute(
            "INSERT INTO observations (kpi_id, period, value) "
            "VALUES ('gross_margin', '2026-12-01', 10.0)"
        )
    conn.close()
    with Store.open(demo_store) as store:
        catalog = store.read_catalog()
        (job,) = list(jobs_for(store, [catalog.kpis["gross_margin"]], date(2026, 11, 27)))
    assert job.history[-1][0] == "2026-11-01"
    assert "2026-12-01" not in {period for period, _ in job.history}


def test_forecasts_at_a_day_read_its_point_and_the_last_only(demo_store):
    """``forecasts_at(day)``: each forecast with its last point dated on or before the day
    and its last point; the rest of the forecast as stored."""
    from datetime import date

    from intelligentos.domain.forecast import Forecast, ForecastPoint

    def points(*periods: str) -> tuple[ForecastPoint, ...]:
        return tuple(ForecastPoint(p, i, i - 1, i + 1, i - 2, i + 2) for i, p in enumerate(periods))

    def made(kpi_id: str, *periods: str) -> Forecast:
        return Forecast(kpi_id, "ets", True, len(periods), None, "2026-11-01", points(*periods),
                        None, "by hand")  # fmt: skip

    months = made("gross_margin", "2026-12-01", "2027-01-01", "2027-02-01", "2027-03-01",
                  "2027-04-01")  # fmt: skip
    short = made("arr", "2026-12-01", "2027-01-01")
    late = made("mrr", "2027-04-01", "2027-05-01")
    with Store.open(demo_store) as store:
        store.save_forecasts([months, short, late], "2026-11-28T00:00:00Z")
        found = {f.forecast.kpi_id: f.forecast for f in store.forecasts_at(date(2027, 3, 31))}
        everything = {f.forecast.kpi_id: f.forecast for f in store.forecasts()}
        chosen = store.forecasts_at(date(2027, 3, 31), ["arr"])
    # March's point (the last on or before 03-31) and April's (the last).
    assert [p.period for p in found["gross_margin"].points] == ["2027-03-01", "2027-04-01"]
    assert found["gross_margin"].points[0] == months.points[3]
    # Ending before the day: its last point is both.
    assert [p.period for p in found["arr"].points] == ["2027-01-01"]
    # Starting after the day: only its last.
    assert [p.period for p in found["mrr"].points] == ["2027-05-01"]
    assert found["gross_margin"].model == "ets" and found["gross_margin"].based_on == "2026-11-01"
    assert set(found) == set(everything)
    assert [f.forecast.kpi_id for f in chosen] == ["arr"]
