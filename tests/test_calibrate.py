"""Weights against history: the fit by hand, the alignment of periods, the catalog's implied
slope, a planted sensitivity recovered from a store, too little history, ``calibrate --json``
and ``validate --history``."""

from __future__ import annotations

import json
import math
import random
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.domain.calibrate import (
    MIN_CHANGES,
    Fit,
    aligned_changes,
    fit_changes,
    implied_slope,
)
from intelligentos.domain.catalog.models import Direction, Frequency, Kpi, Level, Unit
from intelligentos.domain.observations import Observation
from intelligentos.domain.rollup import Edge, EdgeKind
from intelligentos.services.calibrate import calibrate_store, history_warnings
from intelligentos.services.catalog import load_catalog
from intelligentos.store import Store, create_store

from .conftest import MINI_CATALOG, write_catalog

TODAY = date(2026, 11, 30)


# --- the fit -------------------------------------------------------------------------------


def test_the_fit_matches_least_squares_worked_by_hand():
    # x = -3 -2 -1 0 0 1 2 3 (mean 0, Sxx = 9+4+1+0+0+1+4+9 = 28); y = 1.5 x + e with
    # e = ±0.5 alternating (mean 0): Σxe = -1.5+1-0.5+0+0-0.5+1-1.5 = -2.
    # slope = 1.5 + Σxe/Sxx = 1.5 - 2/28 = 10/7; intercept = mean y - slope × mean x = 0.
    # Residuals x/14 + e: SSR = 28/196 + 2(-2)/14 + 8(0.25) = 1/7 - 2/7 + 2 = 13/7.
    # SST = Σy² = 2.25×28 + 3Σxe + Σe² = 63 - 6 + 2 = 59; R² = 1 - (13/7)/59 = 400/413.
    # se = √(SSR / (n-2) / Sxx) = √(13/1176); t(6 df, 0.975) = 2.446912.
    xs = [-3, -2, -1, 0, 0, 1, 2, 3]
    es = [0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5]
    fit = fit_changes([(x, 1.5 * x + e) for x, e in zip(xs, es, strict=True)])
    assert isinstance(fit, Fit)
    half = 2.446912 * math.sqrt(13 / 1176)
    assert fit.slope == pytest.approx(10 / 7)
    assert fit.intercept == pytest.approx(0, abs=1e-12)
    assert fit.r2 == pytest.approx(400 / 413)
    assert fit.changes == 8
    assert (fit.low, fit.high) == (
        pytest.approx(10 / 7 - half, abs=1e-6),
        pytest.approx(10 / 7 + half, abs=1e-6),
    )


def test_too_few_changes_or_a_child_that_never_moved_fit_nothing():
    seven = [(float(x), 2.0 * x) for x in range(MIN_CHANGES - 1)]
    assert fit_changes(seven) == (
        "only 7 paired changes in the history; calibrating needs at least 8"
    )
    flat = [(0.0, float(y)) for y in range(10)]
    assert fit_changes(flat) == (
        "the child did not change over its history: nothing to fit a slope to"
    )


def test_changes_are_aligned_on_calendar_months_whatever_day_dates_them():
    # The parent dated on month ends, the child daily: each month takes the child's last day.
    parent = [("2026-01-31", 100.0), ("2026-02-28", 103.0), ("2026-03-31", 101.0)]
    child = [
        ("2026-01-10", 5.0),
        ("2026-01-30", 6.0),  # January's last: 6
        ("2026-02-01", 9.0),
        ("2026-02-27", 7.0),  # February's last: 7
        ("2026-03-15", 4.0),  # March's last: 4
    ]
    # February: parent +3, child 7 - 6 = +1; March: parent -2, child 4 - 7 = -3.
    assert aligned_changes(parent, child, Frequency.MONTHLY) == [(1.0, 3.0), (-3.0, -2.0)]


def test_a_gap_or_a_missing_value_leaves_that_change_out():
    parent = [("2026-01-01", 1.0), ("2026-02-01", 2.0), ("2026-04-01", 4.0), ("2026-05-01", 8.0)]
    child = [("2026-01-05", 1.0), ("2026-02-05", 3.0), ("2026-04-05", 6.0), ("2026-05-05", None)]
    # Jan→Feb only: March is missing (no Feb→Apr change), and May's child has no value.
    assert aligned_changes(parent, child, Frequency.MONTHLY) == [(2.0, 1.0)]


def _kpi(kpi_id: str, direction: Direction, target: float | None) -> Kpi:
    return Kpi(
        id=kpi_id,
        name=kpi_id,
        level=Level.FUNCTIONAL,
        unit=Unit.PERCENT,
        direction=direction,
        target=target,
        frequency=Frequency.MONTHLY,
        formula="-",
        engine="e",
    )


def test_the_implied_slope_follows_the_weight_model_by_direction_and_scale():
    nrr = _kpi("nrr", Direction.HIGHER, 100.0)
    churn = _kpi("churn", Direction.LOWER, 2.0)
    edge = Edge("churn", "nrr", EdgeKind.WEIGHT, 0.2)
    # 0.2 × sign(churn) -1 × sign(nrr) +1 × scale 100 / scale 2 = -10 pt of NRR per pt.
    assert implied_slope(edge, churn, nrr, {}) == pytest.approx(-10.0)
    band = _kpi("band", Direction.BAND, 10.0)
    edge = Edge("band", "nrr", EdgeKind.WEIGHT, 0.5)
    # Above its target a band KPI is better lower: 0.5 × -1 × 1 × 100/10 = -5; below, +5.
    assert implied_slope(edge, band, nrr, {"band": 12.0}) == pytest.approx(-5.0)
    assert implied_slope(edge, band, nrr, {"band": 8.0}) == pytest.approx(5.0)
    assert implied_slope(edge, band, nrr, {}) is None  # no value: no side, no slope
    given = Edge("churn", "nrr", EdgeKind.SENSITIVITY, 0.2, -1.0)
    assert implied_slope(given, churn, nrr, {}) == -1.0  # a sensitivity is used as is


def test_a_weighted_edge_to_or_from_a_tracked_kpi_implies_no_slope():
    nrr = _kpi("nrr", Direction.HIGHER, 100.0)
    signups = _kpi("signups", Direction.HIGHER, None)  # tracked: no target
    edge = Edge("signups", "nrr", EdgeKind.WEIGHT, 0.5)
    assert implied_slope(edge, signups, nrr, {"signups": 40.0}) is None
    assert implied_slope(edge, nrr, signups, {}) is None
    # A sensitivity needs no target: it is used as is.
    given = Edge("signups", "nrr", EdgeKind.SENSITIVITY, 0.5, 0.02)
    assert implied_slope(given, signups, nrr, {}) == 0.02


# --- a store -------------------------------------------------------------------------------


def _catalog(tmp_path: Path, sensitivity: float | None = None) -> Path:
    """The mini catalog with Win Rate measured monthly (it rolls up to Revenue Growth Rate,
    weight 0.5), optionally with a sensitivity."""
    files = dict(MINI_CATALOG)
    kpis = files["kpis.toml"].replace('frequency = "weekly"', 'frequency = "monthly"')
    if sensitivity is not None:
        kpis = kpis.replace("weight = 0.5", f"weight = 0.5\nsensitivity = {sensitivity}")
    files["kpis.toml"] = kpis
    return write_catalog(tmp_path / "catalog", files)


def _months(count: int) -> list[str]:
    return [date(2024 + m // 12, m % 12 + 1, 1).isoformat() for m in range(count)]


def _store(tmp_path: Path, catalog_dir: Path, rows: list[Observation]) -> Path:
    path = tmp_path / "store.db"
    create_store(path, load_catalog(catalog_dir), rows)
    return path


def _planted(months: int, seed: int = 7) -> list[Observation]:
    """Win Rate a random walk; Revenue Growth Rate's changes 1.5 × Win Rate's plus noise."""
    rng = random.Random(seed)
    child, parent = 25.0, 30.0
    rows = []
    for period in _months(months):
        rows += [
            Observation("win_rate", period, child),
            Observation("revenue_growth", period, parent),
        ]
        step = rng.gauss(0, 1.0)
        child += step
        parent += 1.5 * step + rng.gauss(0, 0.3)
    return rows


def test_calibrate_recovers_a_planted_sensitivity_within_its_interval(tmp_path):
    catalog_dir = _catalog(tmp_path, sensitivity=1.5)
    db = _store(tmp_path, catalog_dir, _planted(25))
    with Store.open(db) as store:
        [calibration] = calibrate_store(store, store.read_catalog(), TODAY)
    fit = calibration.fit
    assert fit is not None and calibration.changes == 24  # 25 months, 24 changes
    assert fit.low <= 1.5 <= fit.high
    assert fit.high - fit.low < 0.5  # noise 0.3 against steps of 1: a tight interval
    assert fit.r2 > 0.9
    assert calibration.implied == 1.5 and not calibration.disagrees
    with Store.open(db) as store:  # the catalog's own sensitivity agrees: nothing to warn
        assert history_warnings(store, store.read_catalog(), TODAY) == []


def test_too_little_history_says_so_and_fits_nothing(tmp_path):
    db = _store(tmp_path, _catalog(tmp_path), _planted(5))
    result = CliRunner().invoke(app, ["calibrate", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "Win Rate: only 4 paired changes in the history; calibrating needs at least 8." in (
        result.output
    )
    record = json.loads(CliRunner().invoke(app, ["calibrate", "--db", str(db), "--json"]).output)
    assert record[0]["fit"] is None and record[0]["changes"] == 4
    assert record[0]["history_text"] == "history: not enough (4 monthly changes; 8 needed)"


def _exact(tmp_path: Path) -> Path:
    # Win Rate's changes -3 -2 -1 0 0 1 2 3, Revenue Growth's exactly 2 × them + 1.
    child = [20.0]
    parent = [30.0]
    for x in (-3, -2, -1, 0, 0, 1, 2, 3):
        child.append(child[-1] + x)
        parent.append(parent[-1] + 2 * x + 1)
    months = _months(9)
    rows = [Observation("win_rate", m, v) for m, v in zip(months, child, strict=True)]
    rows += [Observation("revenue_growth", m, v) for m, v in zip(months, parent, strict=True)]
    return _store(tmp_path, _catalog(tmp_path), rows)


def test_calibrate_json_record(tmp_path):
    db = _exact(tmp_path)
    result = CliRunner().invoke(app, ["calibrate", "--db", str(db), "--json", "--kpi", "win_rate"])
    assert result.exit_code == 0, result.output
    # slope Sxy/Sxx = 56/28 = 2, intercept 1 - 2 × 0 = 1, no residual: R² 1, interval [2, 2].
    # The catalog: weight 0.5 × scale 30 / scale 25 = 0.6 pt of Revenue Growth per pt.
    assert json.loads(result.output) == [
        {
            "child": "win_rate",
            "parent": "revenue_growth",
            "kind": "weight",
            "weight": 0.5,
            "sensitivity": None,
            "catalog_slope": 0.6,
            "catalog_slope_from": "weight",
            "changes": 8,
            "fit": {
                "slope": 2.0,
                "intercept": 1.0,
                "r2": 1.0,
                "low": 2.0,
                "high": 2.0,
                "confidence": 0.95,
            },
            "reason": None,
            "disagrees": True,
            "catalog_text": "catalog 0.50 → +0.6 pt of Revenue Growth Rate per pt",
            "history_text": "history +2.0 pt per pt, R² 1.00, 8 monthly changes",
        }
    ]


def test_calibrate_refuses_an_unknown_kpi(tmp_path):
    db = _exact(tmp_path)
    result = CliRunner().invoke(app, ["calibrate", "--db", str(db), "--kpi", "nope"])
    assert result.exit_code == 1
    assert "unknown KPI 'nope'" in result.output


def test_validate_history_warns_where_the_catalog_lies_outside_the_fitted_interval(tmp_path):
    db = _exact(tmp_path)
    catalog_dir = tmp_path / "catalog"
    result = CliRunner().invoke(
        app, ["validate", "--catalog", str(catalog_dir), "--history", "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    assert (
        "kpis.toml: kpi.win_rate.weight: [history] warning: Win Rate → Revenue Growth Rate: the "
        "catalog implies +0.6 pt of Revenue Growth Rate per pt (weight), but history suggests "
        "+2.0 pt per pt (95 % interval +2.0 pt … +2.0 pt, R² 1.00, 8 monthly changes)"
    ) in result.output
    # The mini catalog's one child weighs 0.5: the weights warning is the other one.
    assert "(2 warnings above)" in result.output
    # Without --history the store is not read: no warning.
    plain = CliRunner().invoke(app, ["validate", "--catalog", str(catalog_dir)])
    assert "[history]" not in plain.output


def test_a_child_that_never_changed_says_so_rather_than_not_enough(tmp_path):
    from intelligentos.domain.calibrate import calibrate, history_text

    catalog = load_catalog(_catalog(tmp_path))
    months = _months(10)  # 9 changes: enough, but Win Rate stays at 25
    histories = {
        "win_rate": [(m, 25.0) for m in months],
        "revenue_growth": [(m, 30.0 + i) for i, m in enumerate(months)],
    }
    [calibration] = calibrate(catalog, histories)
    assert calibration.fit is None and calibration.changes == 9
    parent, child = catalog.kpis["revenue_growth"], catalog.kpis["win_rate"]
    assert history_text(calibration, parent, child) == "history: no slope (Win Rate never changed)"
