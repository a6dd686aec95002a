"""Forecasts and their backtests: models that must win, series no model may be trusted on, a
real public series, and inputs that must not break anything."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import warnings
from datetime import date, timedelta

import pytest

from intelligentos import forecasting
from intelligentos.catalog.models import Direction, Frequency, Kpi, Level, Unit
from intelligentos.forecasting import (
    Forecast,
    default_horizon,
    forecast_kpi,
    next_periods,
    season_length,
)

History = list[tuple[str, float | None]]


def make_kpi(frequency: str = "monthly") -> Kpi:
    return Kpi(
        id="k",
        name="Test KPI",
        level=Level.FUNCTIONAL,
        unit=Unit.COUNT,
        direction=Direction.HIGHER,
        target=100.0,
        frequency=Frequency(frequency),
        formula="x",
        engine="growth",
    )


def monthly(values: list[float | None], start: str = "2020-01-01") -> History:
    periods = [start, *next_periods(start, Frequency.MONTHLY, len(values) - 1)]
    return list(zip(periods, values, strict=True))


def daily(values: list[float | None], end: date = date(2026, 11, 27)) -> History:
    start = end - timedelta(days=len(values) - 1)
    return [((start + timedelta(days=i)).isoformat(), v) for i, v in enumerate(values)]


def seasonal_series(n: int, seed: int) -> list[float]:
    """Monthly: trend, a clear 12-month cycle and a little noise."""
    rng = random.Random(seed)
    return [
        100 + 0.8 * i + 15 * math.sin(2 * math.pi * i / 12) + rng.gauss(0, 1.5) for i in range(n)
    ]


def random_walk(n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    value, out = 50.0, []
    for _ in range(n):
        value += rng.gauss(0, 1)
        out.append(value)
    return out


def assert_sane(result: Forecast, horizon: int) -> None:
    """Finite, nested intervals, one point per period after the latest observation."""
    if result.model == "none":
        assert result.points == () and result.backtest is None
        return
    assert result.based_on is not None
    assert len(result.points) == horizon
    for point in result.points:
        values = (point.mean, point.lo80, point.hi80, point.lo95, point.hi95)
        assert all(math.isfinite(v) for v in values), point
        assert point.lo95 <= point.lo80 <= point.mean <= point.hi80 <= point.hi95, point
    assert result.backtest is not None
    assert math.isfinite(result.backtest.mase)
    assert all(math.isfinite(v) for v in result.backtest.scores.values())


# --- models that must win, and series where none may be trusted ----------------------------


def test_a_strongly_seasonal_series_is_forecast_by_a_seasonal_model_that_beats_the_baselines():
    values = seasonal_series(72, seed=3)
    result = forecast_kpi(make_kpi(), monthly(values), 12)
    assert_sane(result, 12)
    assert result.model in {"ets", "theta"} and result.reliable
    assert result.season == 12
    assert result.backtest is not None and result.backtest.origins == 4
    assert result.backtest.mase < 0.8
    assert set(result.backtest.scores) == {"naive", "seasonal_naive", "ets", "theta"}
    assert result.backtest.scores["seasonal_naive"] == 1.0
    assert result.note.startswith("beats seasonal naive by ")
    # The forecast follows the cycle: within a few noise standard deviations of the truth.
    truth = [100 + 0.8 * i + 15 * math.sin(2 * math.pi * i / 12) for i in range(72, 84)]
    assert max(abs(p.mean - t) for p, t in zip(result.points, truth, strict=True)) < 5


def test_the_80_percent_interval_covers_about_80_percent_of_backtest_actuals():
    # One series gives 12 actuals, too few to judge calibration; ten series give 120.
    coverage = []
    for seed in range(10):
        result = forecast_kpi(make_kpi(), monthly(seasonal_series(72, seed)), 3)
        assert result.reliable and result.backtest and result.backtest.coverage80 is not None
        coverage.append(result.backtest.coverage80)
    assert 0.65 <= sum(coverage) / len(coverage) <= 0.95


def test_on_a_random_walk_the_forecast_is_a_baseline_and_not_reliable():
    result = forecast_kpi(make_kpi(), monthly(random_walk(60, seed=0)), 3)
    assert_sane(result, 3)
    assert result.model == "naive" and not result.reliable
    assert result.note.startswith("naive: ")
    # Repeating the last value is exactly what a random walk's best forecast is.
    assert all(p.mean == pytest.approx(result.points[0].mean) for p in result.points)


def test_random_walks_rarely_get_a_trusted_model():
    # Nothing can beat naive on a random walk; a handful of origins lets luck through
    # sometimes, and the trust margin keeps that rare.
    trusted = [
        forecast_kpi(make_kpi(), monthly(random_walk(60, seed)), 3).reliable for seed in range(20)
    ]
    assert sum(trusted) <= 4


def test_a_short_series_is_non_seasonal_with_naive_as_the_baseline():
    result = forecast_kpi(make_kpi(), monthly(seasonal_series(20, seed=1)), 3)
    assert_sane(result, 3)
    assert result.season is None
    assert "seasonal_naive" not in (result.backtest.scores if result.backtest else {})
    assert result.backtest and result.backtest.scores["naive"] == 1.0


def test_seasonality_needs_two_seasons_plus_the_horizon():
    assert forecast_kpi(make_kpi(), monthly(seasonal_series(26, 1)), 3).season is None
    assert forecast_kpi(make_kpi(), monthly(seasonal_series(27, 1)), 3).season == 12


def test_a_real_public_series_co2_monthly_gets_a_finite_reliable_forecast():
    from statsmodels.datasets import co2

    data = co2.load_pandas().data["co2"].resample("MS").mean()  # weekly → monthly means
    history: History = [
        (stamp.date().isoformat(), None if math.isnan(v) else float(v)) for stamp, v in data.items()
    ]
    result = forecast_kpi(make_kpi(), history, 3)
    assert_sane(result, 3)
    assert result.based_on == "2001-12-01"
    assert [p.period for p in result.points] == ["2002-01-01", "2002-02-01", "2002-03-01"]
    assert result.season == 12 and result.reliable
    assert result.backtest and result.backtest.mase < 0.5
    assert 360 < result.points[0].mean < 385  # ppm, around the 2001 level


def test_forecasts_are_deterministic():
    history = monthly(seasonal_series(48, seed=2))
    assert forecast_kpi(make_kpi(), history, 3) == forecast_kpi(make_kpi(), history, 3)


def test_a_daily_series_uses_a_weekly_season():
    rng = random.Random(4)
    values = [50 + 5 * math.sin(2 * math.pi * i / 7) + rng.gauss(0, 0.5) for i in range(400)]
    result = forecast_kpi(make_kpi("daily"), daily(values), 34)
    assert_sane(result, 34)
    assert result.season == 7 and result.reliable
    assert result.points[0].period == "2026-11-28" and result.points[-1].period == "2026-12-31"


# --- inputs that must not break anything --------------------------------------------------


@pytest.mark.parametrize(
    ("history", "count"),
    [([], 0), ([("2026-01-01", 5.0)], 1), (monthly([1.0, 2.0, None, 3.0, float("nan")]), 3)],
)
def test_too_little_history_gives_no_forecast_and_says_why(history, count):
    result = forecast_kpi(make_kpi(), history, 3)
    assert result.model == "none" and not result.reliable
    assert result.points == () and result.backtest is None
    assert result.note == f"not enough history: {count} of the 8 observations needed"


def test_a_constant_series_gets_the_naive_forecast_with_a_zero_width_interval():
    result = forecast_kpi(make_kpi(), monthly([42.0] * 30), 3)
    assert_sane(result, 3)
    assert result.model == "naive" and not result.reliable
    assert all(p.lo95 == p.mean == p.hi95 == 42.0 for p in result.points)
    assert result.note.startswith("constant series")


def test_gaps_none_nan_and_infinity_are_skipped():
    values: list[float | None] = list(seasonal_series(40, seed=5))
    for i in (3, 10, 17):
        values[i] = None
    values[20] = float("nan")
    values[25] = float("inf")
    values[-1] = None  # the latest period is missing: the forecast starts from the one before
    history = monthly(values)
    result = forecast_kpi(make_kpi(), history, 3)
    assert_sane(result, 3)
    assert result.based_on == history[-2][0]
    assert result.points[0].period == next_periods(history[-2][0], Frequency.MONTHLY, 1)[0]


def test_unreadable_periods_and_values_are_skipped():
    history = [
        ("not a date", 1.0),
        ("2020-01-01", "x"),
        ("2020-01-01",),
        *monthly(random_walk(20, 1)),
    ]
    assert_sane(forecast_kpi(make_kpi(), history, 2), 2)  # type: ignore[arg-type]


def test_negative_values_are_forecast():
    values = [v - 200 for v in seasonal_series(48, seed=6)]
    result = forecast_kpi(make_kpi(), monthly(values), 3)
    assert_sane(result, 3)
    assert result.points[0].mean < 0


@pytest.mark.parametrize("factor", [1e12, 1e-9])
def test_huge_and_tiny_magnitudes_give_the_same_forecast_scaled(factor):
    values = seasonal_series(48, seed=8)
    plain = forecast_kpi(make_kpi(), monthly(values), 3)
    scaled = forecast_kpi(make_kpi(), monthly([v * factor for v in values]), 3)
    assert_sane(scaled, 3)
    assert scaled.model == plain.model and scaled.reliable == plain.reliable
    for a, b in zip(plain.points, scaled.points, strict=True):
        assert b.mean == pytest.approx(a.mean * factor, rel=1e-6)
        assert b.hi95 == pytest.approx(a.hi95 * factor, rel=1e-6)


def test_unordered_history_is_sorted_and_duplicate_periods_keep_the_last():
    history = monthly(seasonal_series(40, seed=9))
    # A stale value for the latest period comes first; the one given later wins.
    shuffled = [(history[-1][0], -999.0), *reversed(history)]
    assert forecast_kpi(make_kpi(), shuffled, 3) == forecast_kpi(make_kpi(), history, 3)


def test_a_horizon_below_one_forecasts_one_period():
    result = forecast_kpi(make_kpi(), monthly(seasonal_series(40, seed=2)), 0)
    assert result.horizon == 1 and len(result.points) == 1


def test_no_warning_escapes():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for values in ([1e12 * (i % 3) for i in range(40)], [0.0] * 20 + [1.0] * 20):
            forecast_kpi(make_kpi(), monthly(values), 3)
    assert caught == []


def test_a_model_that_cannot_be_fitted_is_dropped_and_named(monkeypatch):
    def broken(*args, **kwargs):
        raise FloatingPointError("optimiser diverged")

    monkeypatch.setattr(forecasting._Ets, "backtest", broken)
    result = forecast_kpi(make_kpi(), monthly(seasonal_series(72, seed=3)), 3)
    assert_sane(result, 3)
    assert result.backtest and "ets" not in result.backtest.scores
    assert "ets could not be fitted" in result.note


def test_a_failed_final_fit_falls_back_to_the_better_baseline(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("no convergence")

    monkeypatch.setattr(forecasting._Ets, "forecast", broken)
    monkeypatch.setattr(forecasting._Theta, "forecast", broken)
    result = forecast_kpi(make_kpi(), monthly(seasonal_series(72, seed=3)), 3)
    assert_sane(result, 3)
    assert result.model in {"naive", "seasonal_naive"} and not result.reliable


# --- calendar ------------------------------------------------------------------------------


def test_season_lengths():
    assert [season_length(f) for f in Frequency] == [7, 52, 12]


@pytest.mark.parametrize(
    ("frequency", "as_of", "expected"),
    [
        ("monthly", date(2026, 11, 27), 1),  # December
        ("daily", date(2026, 11, 27), 34),  # Nov 28 … Dec 31
        ("weekly", date(2026, 11, 27), 4),
        ("monthly", date(2026, 12, 31), 1),  # at the quarter's end: still one period
        ("daily", date(2026, 12, 31), 1),
        ("monthly", date(2026, 1, 1), 2),
        ("daily", date(2026, 7, 1), 91),
        ("weekly", date(2026, 3, 30), 1),
    ],
)
def test_default_horizon_runs_to_the_end_of_the_quarter(frequency, as_of, expected):
    assert default_horizon(make_kpi(frequency), as_of) == expected


@pytest.mark.parametrize(
    ("last", "frequency", "expected"),
    [
        ("2026-01-31", "monthly", ["2026-02-28", "2026-03-31", "2026-04-30"]),
        ("2024-01-31", "monthly", ["2024-02-29"]),
        ("2026-01-15", "monthly", ["2026-02-15", "2026-03-15"]),
        ("2026-04-30", "monthly", ["2026-05-31"]),  # month ends stay month ends
        ("2026-11-01", "monthly", ["2026-12-01", "2027-01-01"]),
        ("2026-12-31", "daily", ["2027-01-01", "2027-01-02"]),
        ("2026-11-23", "weekly", ["2026-11-30", "2026-12-07"]),
        ("2026-11-27T00:00:00", "daily", ["2026-11-28"]),
    ],
)
def test_next_periods(last, frequency, expected):
    assert next_periods(last, Frequency(frequency), len(expected)) == expected


def test_points_follow_the_latest_observation():
    history = daily([float(i % 7) + random.Random(i).random() for i in range(60)])
    result = forecast_kpi(make_kpi("daily"), history, 5)
    assert result.based_on == "2026-11-27"
    assert [p.period for p in result.points] == next_periods("2026-11-27", Frequency.DAILY, 5)


def test_importing_the_module_does_not_import_the_statistics_libraries():
    code = (
        "import sys, intelligentos.forecasting; "
        "print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'statsmodels') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
