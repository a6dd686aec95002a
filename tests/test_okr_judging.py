"""Every judgement uses the target in force on the day it judges: the status, the alert
rules, the forecast's early warning, the what-if, explain, the brief, and time travel.

One small store: Win Rate (higher is better, warning 5 %, critical 10 %, default target 25)
with the quarterly targets 27.5 from 2026Q4 and 30 from 2027Q1, and the same value, 26, every
Monday from 2026-07-06 to 2026-12-28 (Revenue Growth, target 30, is 31 every month). So, by
hand:

* on 2026-09-30 (2026Q3, target 25): 26 is above target: ok;
* on 2026-10-01 (2026Q4, target 27.5): short by 1.5 / 27.5 = 5.45 % (> 5 %, ≤ 10 %): warning;
* on 2027-01-04 (2027Q1, target 30): short by 4 / 30 = 13.3 % (> 10 %): critical.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.domain.brief.why import week_reason
from intelligentos.domain.catalog.models import Direction, Frequency, Kpi, Level, Unit
from intelligentos.domain.clock import stamp
from intelligentos.domain.detection import Rule, Severity, evaluate_kpi, projected_miss
from intelligentos.domain.explain.model import Basis
from intelligentos.domain.forecast import Projection
from intelligentos.domain.forecast.results import Backtest, Forecast, ForecastPoint
from intelligentos.domain.observations import Observation
from intelligentos.domain.okr.targets import kpi_in, kpi_on
from intelligentos.services.bootstrap import init_store
from intelligentos.services.brief import make_brief
from intelligentos.services.catalog import sync_store_catalog
from intelligentos.services.check import evaluate_store
from intelligentos.services.explain import ExplainRequest, explain_kpi
from intelligentos.store import Store

from .conftest import MINI_CATALOG, write_catalog
from .tui_helpers import make_app, settle

runner = CliRunner()

TARGETS = """
[kpi.win_rate.targets]
"2026Q4" = 27.5
"2027Q1" = 30.0
"""
FIRST_MONDAY = date(2026, 7, 6)
LAST_MONDAY = date(2026, 12, 28)
VALUE = 26.0


def catalog_dir(tmp_path: Path, targets: str = TARGETS, name: str = "catalog") -> Path:
    files = dict(MINI_CATALOG)
    files["kpis.toml"] += targets
    return write_catalog(tmp_path / name, files)


def mondays() -> list[date]:
    days, day = [], FIRST_MONDAY
    while day <= LAST_MONDAY:
        days.append(day)
        day += timedelta(days=7)
    return days


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "judged.db"
    init_store(path, catalog_dir(tmp_path), demo=False)
    with Store.open(path) as store:
        store.upsert_observations(
            Observation("win_rate", day.isoformat(), VALUE) for day in mondays()
        )
        store.upsert_observations(
            Observation("revenue_growth", f"2026-{month:02d}-01", 31.0) for month in range(7, 13)
        )
    return path


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def kpis_as_of(path: Path, day: str) -> dict:
    result = run("kpis", "--db", str(path), "--as-of", day, "--json")
    assert result.exit_code == 0, result.output
    return {record["id"]: record for record in json.loads(result.stdout)}


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0)


# --- the domain -------------------------------------------------------------------------


def win_rate(**changes) -> Kpi:
    fields = dict(
        id="win_rate",
        name="Win Rate",
        level=Level.FUNCTIONAL,
        unit=Unit.PERCENT,
        direction=Direction.HIGHER,
        target=25.0,
        warning=0.05,
        critical=0.10,
        targets={"2026Q4": 27.5, "2027Q1": 30.0},
        frequency=Frequency.WEEKLY,
        formula="won / closed",
        engine="growth",
    )
    fields.update(changes)
    return Kpi(**fields)  # type: ignore[arg-type]


def test_a_kpi_is_judged_with_the_target_in_force_on_a_day_and_a_period_on_its_own_day():
    kpi = win_rate()
    assert kpi_on(kpi, date(2026, 9, 30)) is kpi  # the default: the same object
    assert kpi_on(kpi, date(2026, 10, 1)).target == 27.5
    assert kpi_in(kpi, "2027-01-04").target == 30.0
    assert kpi_in(win_rate(targets={}), "2027-01-04").target == 25.0


def test_the_early_warning_judges_the_forecast_with_the_target_in_force_at_its_horizon():
    now = win_rate(target=27.5)  # judged on a day of 2026Q4
    points = [("2026-12-21", 27.5), ("2026-12-28", 27.5)]  # on target now
    # The forecast lands in 2027Q1 at 28 (80 %: 27.8 to 28.2): on the 2026Q4 target (27.5)
    # it is fine; on the 2027Q1 target (30) both ends are short by more than 5 %
    # ((30 − 28.2) / 30 = 6 %).
    projection = Projection("win_rate", "ets", True, "2026-12-28", 2, "2027-01-11", 28, 27.8, 28.2)
    assert projected_miss(now, points, projection) is None
    finding = projected_miss(now, points, projection, kpi_in(win_rate(), projection.period))
    assert finding is not None
    assert finding.expected == 30.0
    assert finding.message.startswith("projected to miss its 2027Q1 target of 30 by 2027-01-11")
    found = evaluate_kpi(
        now, points, date(2026, 12, 29), projection, kpi_in(win_rate(), "2027-01-11")
    )
    assert list(found) == [Rule.FORECAST]


def test_the_brief_judges_the_week_ago_value_with_the_target_in_force_then():
    # 26 a week ago, in 2026Q3 (target 25): ok; 25.9 now, in 2026Q4 (target 27.5): short by
    # 1.6 / 27.5 = 5.8 %: warning. The move (0.1) is inside the warning band (5 % of 27.5).
    now, before = win_rate(target=27.5), win_rate()
    assert week_reason(now, 26.0, 25.9, before) == "status ok → warning"
    # Both judged on today's target (26 is 5.45 % short: warning too): no news.
    assert week_reason(now, 26.0, 25.9) is None


# --- status, time travel and the alerts ---------------------------------------------------


def test_kpis_as_of_either_side_of_a_quarter_judges_with_that_quarters_target(store_path):
    q3, q4 = kpis_as_of(store_path, "2026-09-30"), kpis_as_of(store_path, "2026-10-01")
    assert (q3["win_rate"]["target"], q3["win_rate"]["status"]) == (25.0, "ok")
    assert (q4["win_rate"]["target"], q4["win_rate"]["status"]) == (27.5, "warning")
    assert q4["win_rate"]["targets"] == {"2026Q4": 27.5, "2027Q1": 30.0}
    assert q4["revenue_growth"]["targets"] == {}
    table = run("kpis", "--db", str(store_path), "--as-of", "2026-10-01").stdout
    assert "27.5%" in table


def test_lineage_as_of_either_side_of_a_quarter_shows_that_days_status(store_path):
    def win_rate_line(day: str) -> str:
        result = runner.invoke(
            app,
            ["lineage", "win_rate", "--db", str(store_path), "--as-of", day],
            env={"COLUMNS": "200"},
        )
        assert result.exit_code == 0, result.output
        (line,) = [x for x in result.stdout.splitlines() if "(win_rate, functional)" in x]
        return line

    assert win_rate_line("2026-09-30").endswith("26.0% ● ok")
    assert win_rate_line("2026-10-01").endswith("26.0% ▲ warning")


def test_the_target_alert_follows_the_target_in_force(store_path):
    with Store.open(store_path) as store:
        catalog = store.read_catalog()
        assert evaluate_store(store, catalog, at(date(2026, 9, 30))).opened == []

        opened = evaluate_store(store, catalog, at(date(2026, 10, 1))).opened
        assert [(a.kpi_id, a.rule, a.severity, a.expected) for a in opened] == [
            ("win_rate", "target", Severity.WARNING, 27.5)
        ]
        # 2027Q1 begins: the open alert is judged again under 30 (13.3 % short: critical).
        evaluate_store(store, catalog, at(date(2027, 1, 4)))
        (alert,) = store.open_alerts()
        assert (alert.severity, alert.expected) == (Severity.CRITICAL, 30.0)
        # The catalog as stored keeps its default.
        assert store.read_catalog().kpis["win_rate"].target == 25.0
        last = store.alert_events(alert.id)[-1]
        assert (last.action, last.note.endswith("under the new definition")) == ("escalate", True)

    # The alert's record names the target it was judged against.
    listed = run("alerts", "--db", str(store_path), "--json")
    assert [(r["kpi_id"], r["expected"]) for r in json.loads(listed.stdout)["alerts"]] == [
        ("win_rate", 30.0)
    ]


def test_sync_catalog_judges_an_open_alert_again_when_a_quarters_target_changes(
    store_path, tmp_path
):
    with Store.open(store_path) as store:
        evaluate_store(store, store.read_catalog(), at(date(2026, 10, 1)))
        (alert,) = store.open_alerts()
        assert (alert.severity, alert.expected) == (Severity.WARNING, 27.5)
        # 2026Q4's target lowered to 26: 26 is on it, and the alert resolves.
        lowered = catalog_dir(tmp_path, TARGETS.replace("27.5", "26.0"), "lowered")
        synced = sync_store_catalog(store, lowered, at(date(2026, 10, 2)))
        assert (synced.rejudged, synced.still_open) == (1, 0)
        assert store.open_alerts() == []
        assert store.read_catalog().kpis["win_rate"].targets["2026Q4"] == 26.0


def test_the_early_warning_names_a_coming_quarters_target(store_path):
    with Store.open(store_path) as store:
        # Win Rate at 28.5 in December: on its 2026Q4 target (27.5).
        store.upsert_observations(
            Observation("win_rate", day, 28.5)
            for day in ("2026-12-07", "2026-12-14", "2026-12-21", "2026-12-28")
        )
        # Forecast for 2027-01-11 (2027Q1, target 30): 28 (80 %: 27.8 to 28.2). Both ends
        # short of 30 by more than the 5 % warning: (30 − 28.2) / 30 = 6 %. Against today's
        # 27.5 it would be on target.
        point = ForecastPoint("2027-01-11", 28.0, 27.8, 28.2, 27.6, 28.4)
        forecast = Forecast(
            "win_rate",
            "ets",
            True,
            2,
            None,
            "2026-12-28",
            (point,),
            Backtest(4, 0.5, 0.75, {"ets": 0.5}),
            "beats seasonal naive by 50 %",
        )
        store.save_forecasts([forecast], stamp(at(date(2026, 12, 29))))
        catalog = store.read_catalog()
        opened = evaluate_store(store, catalog, at(date(2026, 12, 29))).opened
        (early,) = [a for a in opened if a.rule == Rule.FORECAST.value]
        assert early.expected == 30.0
        assert early.message.startswith("projected to miss its 2027Q1 target of 30 by 2027-01-11")
        assert not [a for a in opened if a.rule == Rule.TARGET.value]
        # The next evaluation, nothing new: the alert is not judged again every time.
        events = len(store.alert_events(early.id))
        evaluate_store(store, catalog, at(date(2026, 12, 30)))
        assert len(store.alert_events(early.id)) == events


# --- what-if, explain and the brief -----------------------------------------------------------


def whatif_win_rate(path: Path, day: str) -> dict:
    result = run("whatif", "win_rate+=0.5", "--db", str(path), "--as-of", day, "--json")
    assert result.exit_code == 0, result.output
    return next(k for k in json.loads(result.stdout)["kpis"] if k["id"] == "win_rate")


def test_the_whatif_judges_with_the_target_in_force_on_its_as_of_date(store_path):
    # 26 → 26.5. In 2026Q3 (25) both are ok; in 2026Q4 (27.5) 26 is warning (5.45 % short)
    # and 26.5 ok (1 / 27.5 = 3.6 % short).
    q3, q4 = whatif_win_rate(store_path, "2026-09-30"), whatif_win_rate(store_path, "2026-10-01")
    assert (q3["status"], q3["projected_status"]) == ("ok", "ok")
    assert (q4["status"], q4["projected_status"]) == ("warning", "ok")


def explain_target(path: Path, *args: str) -> dict:
    result = run("explain", "win_rate", "--vs", "target", "--db", str(path), "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_explain_vs_target_uses_the_target_in_force_on_its_to_day(store_path):
    assert explain_target(store_path, "--as-of", "2026-10-01")["target"] == 27.5
    then = explain_target(store_path, "--as-of", "2026-10-01", "--to", "2026-09-30")
    assert then["target"] == 25.0
    with Store.open(store_path) as store:
        found = explain_kpi(
            store, ExplainRequest("win_rate", date(2026, 12, 7), basis=Basis.TARGET)
        )
        # The gap to 2026Q4's 27.5: from the target to the value, 26 − 27.5.
        assert (found.value_from, found.value_to) == (27.5, 26.0)


def test_the_brief_judges_with_the_quarters_target(store_path):
    with Store.open(store_path) as store:
        q3 = make_brief(store, date(2026, 9, 30), "cro")
        q4 = make_brief(store, date(2026, 10, 1), "cro")
    assert q3.agent is not None and q4.agent is not None
    (before,), (after,) = q3.agent.owns, q4.agent.owns
    assert (before.target, before.status.value) == (25.0, "ok")
    assert (after.target, after.target_text, after.status.value) == (27.5, "27.5%", "warning")


# --- the cockpit ----------------------------------------------------------------------------


def table_row(app, kpi_id: str) -> str:
    from intelligentos.tui.widgets.kpi_table import KpiTable

    row = app.screen.query_one("#table-growth", KpiTable).get_row(kpi_id)
    return " ".join(str(cell) for cell in row)


async def test_time_travel_across_quarters_judges_with_each_days_target(store_path, tmp_path):
    app = make_app(store_path, tmp_path / "config", clock=lambda: at(date(2027, 1, 4)))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        # Live on 2027-01-04: 2027Q1's 30, 13.3 % short: critical (and alerted).
        live = app.data
        assert live is not None and live.past is None
        assert live.snaps["win_rate"].status.value == "critical"
        assert "30.0%" in table_row(app, "win_rate")
        assert [(a.rule, a.expected) for a in live.alerts_of_kpi("win_rate")] == [("target", 30.0)]

        for day, status, target in (
            (date(2026, 12, 31), "warning", "27.5%"),
            (date(2026, 9, 30), "ok", "25.0%"),
        ):
            app.time_travel.travel_to(day)
            await settle(pilot)
            data = app.data
            assert data is not None and data.past == day
            assert data.snaps["win_rate"].status.value == status
            assert data.catalog.kpis["win_rate"].target == float(target[:-1])
            assert target in table_row(app, "win_rate")

        await pilot.press("L")
        await settle(pilot)
        assert app.data is not None and app.data.past is None
        assert app.data.snaps["win_rate"].status.value == "critical"
        # The store's catalog keeps its default: nothing judged was written back.
        with Store.open(store_path) as store:
            assert store.read_catalog().kpis["win_rate"].target == 25.0
