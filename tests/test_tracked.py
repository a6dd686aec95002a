"""Tracked KPIs: a KPI without a target is shown, forecast and watched for anomalies, drift
and stale data, never judged against a target."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app as cli
from intelligentos.domain.catalog.models import Direction, Frequency, Kpi, Level, Unit
from intelligentos.domain.charts import band_lines
from intelligentos.domain.demo import demo_observations
from intelligentos.domain.detection import (
    Rule,
    Status,
    cleared,
    evaluate_kpi,
    projected_miss,
    target_band,
    target_status,
)
from intelligentos.domain.forecast.results import Projection
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.observations import Observation
from intelligentos.domain.snapshots import objective_status, snapshot, snapshots, worst
from intelligentos.domain.views import kpi_line, pyramid
from intelligentos.domain.whatif.model import ScenarioError, performance
from intelligentos.services.catalog import load_catalog, parse_catalog
from intelligentos.services.check import evaluate_store
from intelligentos.store import SCHEMA_VERSION, Store, create_store
from intelligentos.tui.themes import theme_from_file
from intelligentos.tui.widgets.kpi_table import KpiTable
from intelligentos.tui.widgets.status import TRACKED_VARIABLE, status_colour

from .conftest import MINI_CATALOG, write_catalog
from .stores import make_version_4
from .tui_helpers import FIXED_NOW, make_app, settle

runner = CliRunner()
TODAY = FIXED_NOW.date()  # 2026-11-27, a Friday
THEMES = Path(__file__).resolve().parent.parent / "themes"


def tracked_files() -> dict[str, str]:
    """The mini catalog with the win rate's target removed: it is tracked."""
    files = dict(MINI_CATALOG)
    files["kpis.toml"] = files["kpis.toml"].replace("target = 25.0\n", "")
    assert files["kpis.toml"] != MINI_CATALOG["kpis.toml"]
    return files


def tracked_kpi(**changes: object) -> Kpi:
    kpi = Kpi(
        id="signups",
        name="Signups",
        level=Level.FUNCTIONAL,
        unit=Unit.COUNT,
        direction=Direction.HIGHER,
        frequency=Frequency.DAILY,
        formula="new accounts",
        engine="growth",
    )
    return replace(kpi, **changes)


# The win rate's weekly values: 40, 41, 39 repeated, then a fall to 10 in the latest week.
STEADY = [40.0, 41.0, 39.0] * 10
WIN_RATE = [*STEADY[:-1], 10.0]


def observations() -> list[Observation]:
    latest_monday = TODAY - timedelta(days=TODAY.weekday())  # 2026-11-23
    weeks = [latest_monday - timedelta(weeks=n) for n in range(len(WIN_RATE))][::-1]
    pairs = zip(weeks, WIN_RATE, strict=True)
    rows = [Observation("win_rate", d.isoformat(), v, "crm") for d, v in pairs]
    months = [date(2026 - (m > 10), (10 - m) % 12 + 1, 1) for m in range(12)][::-1]
    assert months[-1] == date(2026, 11, 1) and months[0] == date(2025, 12, 1)
    rows += [Observation("revenue_growth", d.isoformat(), 30.0, "crm") for d in months]
    return rows


@pytest.fixture
def tracked_store(tmp_path: Path) -> Path:
    catalog = load_catalog(write_catalog(tmp_path / "catalog", tracked_files()))
    return create_store(tmp_path / "tracked.db", catalog, observations())


def run(*args: str):
    return runner.invoke(cli, list(args), catch_exceptions=False)


# --- the catalog -------------------------------------------------------------------------


def test_a_kpi_without_a_target_is_tracked(tmp_path):
    catalog, problems = parse_catalog(write_catalog(tmp_path / "c", tracked_files()))
    assert problems == []
    assert catalog.kpis["win_rate"].target is None and catalog.kpis["win_rate"].tracked
    assert not catalog.kpis["revenue_growth"].tracked


@pytest.mark.parametrize("key", ["warning", "critical"])
def test_a_threshold_without_a_target_is_refused_naming_file_and_key(tmp_path, key):
    files = tracked_files()
    files["kpis.toml"] = files["kpis.toml"].replace("weight = 0.5", f"weight = 0.5\n{key} = 0.2")
    catalog, problems = parse_catalog(write_catalog(tmp_path / "c", files))
    assert [(p.rule, p.file, p.key) for p in problems] == [
        ("schema", "kpis.toml", f"kpi.win_rate.{key}")
    ]
    assert "a threshold needs a target" in problems[0].message
    assert "win_rate" not in catalog.kpis


# --- status and rules --------------------------------------------------------------------


def test_tracked_has_a_glyph_of_its_own_and_never_outweighs_a_judged_status():
    glyphs = [status.glyph for status in Status]
    assert Status.TRACKED.glyph == "◇" and len(set(glyphs)) == len(glyphs)
    assert target_status(tracked_kpi(), 12.0) is Status.TRACKED
    assert target_status(tracked_kpi(), None) is Status.NO_DATA
    # A group speaks with its worst judged status; only a group of tracked KPIs is tracked.
    assert worst([Status.TRACKED, Status.OK]) is Status.OK
    assert worst([Status.OK, Status.TRACKED]) is Status.OK
    assert worst([Status.TRACKED, Status.NO_DATA]) is Status.NO_DATA
    assert worst([Status.TRACKED, Status.TRACKED]) is Status.TRACKED


def test_the_target_and_forecast_rules_never_fire_on_a_tracked_kpi():
    kpi = tracked_kpi()
    points = [(f"2026-11-{day:02d}", 0.0) for day in range(1, 28)]  # nothing signed up
    assert target_band(kpi, points) is None
    # A reliable forecast of −50 at the horizon, made from the latest value: with any target
    # above zero that would be a projected miss.
    projection = Projection("signups", "ets", True, "2026-11-27", 7, "2026-12-04", -50, -60, -40)
    assert projected_miss(kpi, points, projection) is None
    findings = evaluate_kpi(kpi, points, datetime(2026, 11, 27), projection)
    assert Rule.TARGET not in findings and Rule.FORECAST not in findings
    # An alert left open from when the KPI had a target resolves.
    assert cleared(kpi, Rule.TARGET, points, False)
    assert cleared(kpi, Rule.FORECAST, points, False, projection)


def test_anomaly_drift_and_stale_still_fire_on_a_tracked_kpi():
    kpi = tracked_kpi()
    days = [date(2026, 11, 27) - timedelta(days=n) for n in range(30)][::-1]
    # Steady 100, 101, 99 … then 40 on the latest day: median of the last 12 is 100, their
    # median absolute deviation 1, so the robust z is 0.6745 × (40 − 100) / 1 ≈ −40.5; and
    # 40 is far beyond 3σ of the control chart (moving range 4/3, σ ≈ 1.18).
    spiking = [*([100.0, 101.0, 99.0] * 10)[:-1], 40.0]
    spike = [(d.isoformat(), v) for d, v in zip(days, spiking, strict=True)]
    found = evaluate_kpi(kpi, spike, datetime(2026, 11, 27))
    assert set(found) == {Rule.ANOMALY, Rule.DRIFT}
    assert found[Rule.ANOMALY].deviation == pytest.approx(0.6745 * (40 - 100) / 1)
    assert found[Rule.DRIFT].message.startswith("one point beyond 3σ")
    # Twenty days alternating 100 and 102 (centre 101, moving range 2, σ = 2 / 1.128 ≈ 1.77),
    # then eight days at 99: eight in a row below the centre on the adverse side, each
    # (99 − 101) / 1.77 ≈ −1.13 σ: four of five beyond 1σ.
    settling = [100.0, 102.0] * 10 + [99.0] * 8
    drifting = [(d.isoformat(), v) for d, v in zip(days[2:], settling, strict=True)]
    found = evaluate_kpi(kpi, drifting, datetime(2026, 11, 27))
    assert set(found) == {Rule.DRIFT}
    assert found[Rule.DRIFT].message.startswith("four of five points beyond 1σ")
    # The latest value on November 20th, a daily KPI: 7 days old, beyond 2 × 1 day.
    found = evaluate_kpi(kpi, spike[:-7], datetime(2026, 11, 27))
    assert set(found) == {Rule.STALE} and found[Rule.STALE].deviation == 7.0


def test_a_tracked_kpi_draws_no_target_lines_and_says_why():
    kpi = tracked_kpi()
    assert band_lines(kpi) == []
    snap = snapshot(kpi, [("2026-11-26", 10.0), ("2026-11-27", 12.0)], date(2026, 11, 27))
    assert snap.status is Status.TRACKED
    assert snap.target_text == "—"
    assert snap.gap_text == "no target (tracked)"
    assert "anomalies, drift and stale data" in snap.thresholds_text


def test_the_views_show_a_tracked_kpi_by_its_value_without_a_target(tmp_path):
    catalog = load_catalog(write_catalog(tmp_path / "c", tracked_files()))
    windows = {"win_rate": [("2026-11-23", 41.0)], "revenue_growth": [("2026-11-01", 30.0)]}
    snaps = snapshots(catalog, windows, date(2026, 11, 27))
    assert kpi_line(catalog.kpis["win_rate"], snaps).target_text == ""
    assert kpi_line(catalog.kpis["revenue_growth"], snaps).target_text == "30.0%"
    members = {
        m.member_id: m
        for layer in pyramid(catalog, LineageGraph(catalog), snaps)
        for m in layer.members
    }
    assert (members["win_rate"].status, members["win_rate"].detail) == (Status.TRACKED, "41.0%")
    assert members["revenue_growth"].detail == "30.0% (target 30.0%)"
    # The objective lists both: the judged one speaks for it.
    assert objective_status(catalog, "accelerate_revenue", snaps) is Status.OK


def test_the_weighted_what_if_model_refuses_a_tracked_kpi_with_a_sentence():
    with pytest.raises(ScenarioError, match=r"Signups \(signups\) has no target"):
        performance(tracked_kpi(), 12.0)


def test_demo_history_of_a_tracked_kpi_is_level_plausible_and_repeatable(tmp_path):
    catalog = load_catalog(write_catalog(tmp_path / "c", tracked_files()))
    end = date(2026, 11, 27)
    rows = [o for o in demo_observations(catalog, end, plants=()) if o.kpi_id == "win_rate"]
    again = [o for o in demo_observations(catalog, end, plants=()) if o.kpi_id == "win_rate"]
    # Mondays in the 730 days to Friday 2026-11-27 (from Thursday 2024-11-28): 2024-12-02
    # to 2026-11-23, 721 days = 103 weeks apart, so 104 of them.
    assert rows == again and len(rows) == 104
    values = sorted(o.value for o in rows if o.value is not None)
    # A percentage with no target is drawn around 50 %, with a band of 5 % of it (2.5 pt):
    # the seasonality (±0.35 band) and the noise keep it within a few points.
    assert 45.0 < values[len(values) // 2] < 55.0
    assert values[0] > 40.0 and values[-1] < 60.0


def test_each_built_in_theme_gives_tracked_a_colour_of_its_own():
    for path in sorted(THEMES.glob("*.toml")):
        theme = theme_from_file(path)
        colour = theme.variables[TRACKED_VARIABLE].lower()
        others = {theme.success, theme.warning, theme.error, theme.secondary, theme.foreground}
        assert colour not in {str(c).lower() for c in others}, path.name


# --- the store, the CLI, the brief and the cockpit ---------------------------------------------


def test_check_opens_the_anomaly_alert_of_a_tracked_kpi_and_no_target_alert(tracked_store):
    with Store.open(tracked_store) as store:
        evaluate_store(store, store.read_catalog(), FIXED_NOW)
        opened = {(a.kpi_id, a.rule) for a in store.open_alerts()}
    # The fall from 40 to 10 is an anomaly (robust z 0.6745 × (10 − 40) / 1 ≈ −20.2) and a
    # point beyond 3σ (σ = mean moving range 4/3 ÷ 1.128 ≈ 1.18); 10 % would be 60 % short
    # of the old 25 % target, but there is none to judge it by.
    assert opened == {("win_rate", "anomaly"), ("win_rate", "drift")}


def test_a_target_removed_from_the_catalog_resolves_its_target_alert(tmp_path):
    from intelligentos.services.catalog import sync_store_catalog

    judged = write_catalog(tmp_path / "judged", MINI_CATALOG)
    store_path = create_store(tmp_path / "s.db", load_catalog(judged), observations())
    with Store.open(store_path) as store:
        evaluate_store(store, store.read_catalog(), FIXED_NOW)
        # 10 % against a 25 % target: 60 % short, beyond the 10 % critical threshold.
        assert ("win_rate", "target") in {(a.kpi_id, a.rule) for a in store.open_alerts()}
        tracked = write_catalog(tmp_path / "tracked", tracked_files())
        sync_store_catalog(store, tracked, FIXED_NOW)
        still = {(a.kpi_id, a.rule) for a in store.open_alerts()}
        assert still == {("win_rate", "anomaly"), ("win_rate", "drift")}


def test_kpis_shows_a_tracked_kpi_with_no_target(tracked_store):
    as_of = ("--as-of", TODAY.isoformat())
    listing = json.loads(run("kpis", "--db", str(tracked_store), *as_of, "--json").output)
    win_rate = next(k for k in listing if k["id"] == "win_rate")
    assert win_rate["target"] is None and win_rate["status"] == "tracked"
    assert win_rate["value"] == 10.0
    table = run("kpis", "--db", str(tracked_store), *as_of).output
    line = next(text for text in table.splitlines() if "win_rate" in text)
    assert "—" in line and "tracked" in line


def test_the_brief_counts_a_tracked_kpi_and_never_ranks_it_off_target(tracked_store):
    with Store.open(tracked_store) as store:
        evaluate_store(store, store.read_catalog(), FIXED_NOW)
    args = ("brief", "--db", str(tracked_store), "--as-of", TODAY.isoformat())
    record = json.loads(run(*args, "--format", "json").output)
    assert record["headline"]["tracked"] == 1 and record["headline"]["ok"] == 1
    assert record["risks"] == {"off_target": 0, "top": []}
    markdown = run(*args).output
    assert "1 tracked (no target)" in markdown and "No KPI is off target." in markdown


async def test_the_cockpit_shows_the_tracked_glyph_and_says_what_it_means(tracked_store, tmp_path):
    app = make_app(tracked_store, tmp_path / "config")
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#table-growth", KpiTable)
        assert str(table.get_cell("win_rate", "status")) == Status.TRACKED.glyph
        assert str(table.get_cell("win_rate", "target")).strip() == "—"
        # The theme's own colour for tracked; a theme without one gives the text colour.
        theme = app.current_theme
        assert status_colour(table, Status.TRACKED) == theme.variables[TRACKED_VARIABLE]
        app.theme = "textual-dark"
        assert status_colour(table, Status.TRACKED) == app.current_theme.foreground
        app.navigator.open_lineage("win_rate")
        await settle(pilot)
        details = str(app.screen.query_one("#details-text").render())
        assert "◇ tracked" in details
        assert "none: tracked, alerts on anomalies, drift and stale data only" in details
        key = str(app.screen.query_one("#chart-key").render())
        assert "no target (tracked)" in key


# --- the store's upgrade -------------------------------------------------------------------


def test_a_version_4_store_upgrades_keeping_its_catalog_and_takes_a_tracked_kpi(tmp_path):
    judged = load_catalog(write_catalog(tmp_path / "judged", MINI_CATALOG))
    path = create_store(tmp_path / "s.db", judged, observations())
    make_version_4(path)
    with Store.open(path) as store:
        assert store.query("PRAGMA user_version")[0]["user_version"] == SCHEMA_VERSION
        nullable = {r["name"]: not r["notnull"] for r in store.query("PRAGMA table_info(kpis)")}
        assert nullable["target"] and nullable["compute"] and nullable["sensitivity"]
        assert store.read_catalog() == judged
        tracked = load_catalog(write_catalog(tmp_path / "tracked", tracked_files()))
        with store.transaction():
            store.write_catalog(tracked)
        assert store.read_catalog().kpis["win_rate"].target is None
