"""Forecasts and their backtests: models that must win, series no model may be trusted on, a
real public series, and inputs that must not break anything."""

from __future__ import annotations

import dataclasses
import math
import random
import re
import sys
import warnings
from datetime import date, timedelta

import pytest

from intelligentos.domain import forecast as forecasting
from intelligentos.domain.catalog.models import (
    DetectionOverrides,
    Direction,
    Frequency,
    Kpi,
    Level,
    Unit,
)
from intelligentos.domain.forecast import (
    Forecast,
    backtest,
    default_horizon,
    forecast_kpi,
    horizon_through,
    intervals,
    next_periods,
)
from intelligentos.domain.forecast.season import SEASON_CANDIDATES

from .processes import run

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
    assert result.model in {"ets", "ets_log", "theta"} and result.reliable
    assert result.season == 12
    assert result.backtest is not None and result.backtest.origins == 12
    assert result.backtest.mase < 0.8
    assert set(result.backtest.scores) == {
        "naive",
        "seasonal_naive",
        "drift",
        "ets",
        "ets_log",
        "theta",
    }
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


def test_seasonality_needs_two_seasons_plus_the_horizon_and_six_pairs_to_judge_it_on():
    # 2 x 12 + 3 = 27 points allow a season; judging it takes six pairs of detrended values
    # a season apart: 29 - 12 (the moving average's ends) - 12 = 5 pairs, too few; 30 give 6.
    assert forecast_kpi(make_kpi(), monthly(seasonal_series(29, 1)), 3).season is None
    assert forecast_kpi(make_kpi(), monthly(seasonal_series(30, 1)), 3).season == 12


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


def ets_fits_fail(monkeypatch, *, on_length: int | None = None) -> None:
    """statsmodels' ETS cannot fit (a series of ``on_length`` points only, when given)."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    fit = ETSModel.fit

    def broken(self, *args, **kwargs):
        if on_length is None or len(self.endog) == on_length:
            raise FloatingPointError("optimiser diverged")
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(ETSModel, "fit", broken)


def test_a_model_that_cannot_be_fitted_is_dropped_and_named(monkeypatch):
    ets_fits_fail(monkeypatch)
    result = forecast_kpi(make_kpi(), monthly(seasonal_series(72, seed=3)), 3)
    assert_sane(result, 3)
    assert result.backtest and "ets" not in result.backtest.scores
    assert "ets_log" not in result.backtest.scores  # the same model, on logs
    assert "ets and ets on logs could not be fitted" in result.note


def test_a_failed_final_fit_falls_back_to_the_better_baseline(monkeypatch):
    history = monthly(seasonal_series(72, seed=3))
    assert forecast_kpi(make_kpi(), history, 3).model == "ets"
    # The backtest fits ETS on the history before its earliest origin; the forecast itself,
    # on all 72 points, is what fails.
    ets_fits_fail(monkeypatch, on_length=72)
    result = forecast_kpi(make_kpi(), history, 3)
    assert_sane(result, 3)
    assert result.backtest and "ets" in result.backtest.scores  # scored, then not usable
    assert result.model in {"naive", "seasonal_naive"} and not result.reliable


# --- calendar ------------------------------------------------------------------------------


def test_each_frequencys_natural_season_is_tried_first():
    assert [SEASON_CANDIDATES[f][0] for f in Frequency] == [7, 52, 12]


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
        "import sys, intelligentos.domain.forecast; "
        "print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'statsmodels') if m in sys.modules))"
    )
    out = run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


# --- season from the data -------------------------------------------------------------------


def weekly(values: list[float], end: date = date(2026, 11, 23)) -> History:
    start = end - timedelta(weeks=len(values) - 1)
    return [((start + timedelta(weeks=i)).isoformat(), v) for i, v in enumerate(values)]


def test_a_yearly_cycle_in_weekly_data_is_found_as_a_52_week_season():
    rng = random.Random(11)
    values = [
        200 + 0.1 * i + 8 * math.sin(2 * math.pi * i / 52) + rng.gauss(0, 1) for i in range(200)
    ]
    assert forecasting.detect_season(values, Frequency.WEEKLY, 13) == 52
    result = forecast_kpi(make_kpi("weekly"), weekly(values), 13)
    assert result.season == 52
    assert result.backtest and "seasonal_naive" in result.backtest.scores


def test_no_season_is_claimed_where_the_data_show_none():
    rng = random.Random(12)
    noise = [100 + rng.gauss(0, 1) for _ in range(200)]
    assert forecasting.detect_season(noise, Frequency.WEEKLY, 13) is None
    assert forecasting.detect_season(random_walk(120, seed=5), Frequency.MONTHLY, 3) is None
    # The frequency alone would say 12; the data decide.
    result = forecast_kpi(make_kpi(), monthly(random_walk(120, seed=5)), 3)
    assert result.season is None
    assert result.backtest and result.backtest.scores["naive"] == 1.0


def test_a_quarterly_cycle_in_monthly_data_is_found_as_a_season_of_3():
    # A 3-month cycle repeats at lag 12 as well; a slow wobble (17 months) weakens the lag-12
    # correlation more than the lag-3 one, so the shorter, truer season wins.
    values = [[10.0, 20.0, 60.0][i % 3] + 2 * math.sin(2 * math.pi * i / 17) for i in range(60)]
    assert forecasting.detect_season(values, Frequency.MONTHLY, 3) == 3


# --- scoring, intervals and the reliability rule, by hand ------------------------------------


def load_accuracy_module():
    import importlib.util
    from pathlib import Path

    name = "forecast_accuracy_under_test"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).parent.parent / "benchmarks" / "forecast_accuracy.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_mase_divides_the_out_of_sample_error_by_the_in_sample_seasonal_naive_error():
    accuracy = load_accuracy_module()
    train = [1.0, 3.0, 2.0, 4.0, 3.0, 5.0]
    # One step back: |3-1| |2-3| |4-2| |3-4| |5-3| = 2 1 2 1 2, mean 8 / 5 = 1.6.
    assert accuracy.naive_scale(train, 1) == pytest.approx(1.6)
    # One season (2) back: |2-1| |4-3| |3-2| |5-4| = 1 1 1 1, mean 1.
    assert accuracy.naive_scale(train, 2) == pytest.approx(1.0)
    history = monthly([*train, 7.0, 4.0])
    fit, held = accuracy.split(history, 2)
    assert [v for _, v in fit] == train and [v for _, v in held] == [7.0, 4.0]
    points = (
        # Forecast 6 for an actual of 7, 5 for 4: MAE 1. 80 %: 7 is inside [5, 7] (its end
        # counts), 4 is outside [4.5, 5.5]; 95 %: both inside.
        forecasting.ForecastPoint(held[0][0], 6.0, 5.0, 7.0, 4.0, 8.0),
        forecasting.ForecastPoint(held[1][0], 5.0, 4.5, 5.5, 3.0, 7.0),
    )
    for season, mase in ((None, 1 / 1.6), (2, 1.0)):
        made = Forecast("k", "ets", True, 2, season, fit[-1][0], points, None, "")
        row = accuracy.score("s", Frequency.MONTHLY, fit, held, made)
        assert row.mae == pytest.approx(1.0)
        assert row.mase == pytest.approx(mase)
        assert (row.inside, row.inside95, row.actuals) == (1, 2, 2)
        assert (row.coverage80, row.coverage95) == (0.5, 1.0)


def test_pooled_figures_count_points_and_average_series():
    accuracy = load_accuracy_module()

    def row(name, mase, inside, inside95, actuals):
        return accuracy.Row(
            name, "monthly", 20, "ets", None, True, mase, 1.0, 1.0, inside, inside95, actuals,
            inside / actuals, inside95 / actuals, 0.5, "",
        )  # fmt: skip

    rows = [row("a", 0.5, 3, 3, 3), row("b", 2.0, 1, 2, 3), row("c", 0.8, 10, 12, 13)]
    none = accuracy.Row("d", "monthly", 3, "none", None, False, *([None] * 9), "x")
    summary = accuracy.summarise([*rows, none])
    assert (summary.series, summary.excluded) == (3, 1)
    assert summary.mean_mase == pytest.approx((0.5 + 2.0 + 0.8) / 3)
    assert summary.median_mase == 0.8
    assert (summary.worst_mase, summary.worst_series) == (2.0, "b")
    assert summary.over_worst_target == ["b"]  # above 1.25
    # Pooled over points, not series: (3 + 1 + 10) / 19 and (3 + 2 + 12) / 19.
    assert (summary.inside, summary.actuals, summary.inside95) == (14, 19, 17)
    assert summary.pooled_coverage == pytest.approx(14 / 19)
    assert summary.pooled_coverage95 == pytest.approx(17 / 19)


def test_the_conformal_factor_is_the_ceil_n_plus_1_level_th_smallest_stretch():
    stretches = [0.5, 1.2, 0.8, 2.0, 1.5]
    # N = 5: 80 % takes the ceil(6 x 0.8) = 5th smallest, 2.0; 50 % the 3rd, 1.2.
    assert forecasting.conformal_factor(stretches, 0.8) == 2.0
    assert forecasting.conformal_factor(stretches, 0.5) == 1.2
    # Too few for 95 % (ceil(6 x 0.95) = 6 > 5): the largest. Never narrower than the model's.
    assert forecasting.conformal_factor(stretches, 0.95) == 2.0
    assert forecasting.conformal_factor([0.1, 0.2, 0.3], 0.8) == 1.0


def test_calibrated_coverage_is_judged_leaving_each_origin_out():
    import numpy as np

    # Four origins, one pair each; forecasts 0, 80 % interval [-1, 1]: the stretches the
    # interval would need are 1, 2, 3 and 0.5.
    pairs = backtest.Pairs(np.array([1.0, -2.0, 3.0, 0.5]), np.zeros(4), np.array([0, 1, 2, 3]))
    band80 = np.array([[-1.0] * 4, [1.0] * 4])
    band95 = np.array([[-2.0] * 4, [2.0] * 4])  # stretches 0.5, 1, 1.5, 0.25
    k80, k95, held = intervals.calibrated(pairs, band80, band95)
    # All four: the ceil(5 x 0.8) = 4th smallest of 1, 2, 3, 0.5 is 3; for 95 %, 1.5.
    assert (k80, k95) == (3.0, 1.5)
    # Leaving one out (three left, the 4th smallest is beyond: the largest): origin 0 gets
    # max(2, 3, 0.5) = 3 and 1 <= 3 holds; origin 1: 3, holds; origin 2: max(1, 2, 0.5) = 2,
    # 3 > 2 misses; origin 3: 3, holds. 3 of 4.
    assert held == 0.75


def test_the_reliability_rule():
    assert forecasting.MIN_ERRORS == 12 and forecasting.MIN_COVERAGE == 0.65
    assert forecasting.is_reliable(True, 12, 0.65)
    assert not forecasting.is_reliable(True, 11, 0.9)  # too few one-step errors
    assert not forecasting.is_reliable(True, 40, 0.64)  # under-covered
    assert not forecasting.is_reliable(True, 40, None)
    assert not forecasting.is_reliable(False, 40, 0.9)  # a baseline is never reliable


def line(n: int, seed: int = 0) -> list[float]:
    """A steady fall with a little noise: drift or a trend model beats naive by far."""
    rng = random.Random(seed)
    return [80 - 1.5 * i + rng.gauss(0, 0.3) for i in range(n)]


def test_too_few_backtest_errors_leave_a_winning_model_unreliable():
    # 20 points: the earliest origin keeps half (10), so 20 - 10 = 10 origins, 10 one-step
    # errors, 2 short of the 12 needed.
    result = forecast_kpi(make_kpi(), monthly(line(20)), 2)
    assert result.model in forecasting.MODELS and not result.reliable
    assert result.backtest and result.backtest.origins == 10
    assert "not reliable: 10 one-step backtest errors, 12 needed" in result.note
    # 24 points: 12 origins, and the same kind of series is reliable.
    longer = forecast_kpi(make_kpi(), monthly(line(24)), 2)
    assert longer.backtest and longer.backtest.origins == 12
    assert longer.model in forecasting.MODELS and longer.reliable, longer.note


def quiet_then_loud(seed: int) -> list[float]:
    """A steady fall, nearly noiseless for 30 months, then ten noisy ones: drift's own
    intervals, from the whole history's noise, are far too narrow for the noisy end its
    backtest is judged on."""
    rng = random.Random(seed)
    return [80 - 1.5 * i + rng.gauss(0, 0.02 if i < 30 else 2.0) for i in range(40)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_intervals_too_narrow_in_the_backtest_are_widened_from_its_errors(seed):
    honest = forecast_kpi(make_kpi(), monthly(line(40)), 3)
    assert honest.model == "drift" and honest.reliable
    assert "intervals from the backtest's errors" not in honest.note  # its own held

    result = forecast_kpi(make_kpi(), monthly(quiet_then_loud(seed)), 3)
    assert result.model == "drift"
    assert "intervals from the backtest's errors" in result.note
    assert re.search(r"the model's own 80 % interval held (\d+) of 33; widened", result.note)
    for made, steady in zip(result.points, honest.points, strict=True):
        # Far wider than on the steady line, wide enough for the noisy end's errors.
        assert made.hi80 - made.mean > 5 * (steady.hi80 - steady.mean)
        assert made.lo95 <= made.lo80 < made.mean < made.hi80 <= made.hi95
    # Judged leaving each origin out, the widened intervals hold enough of the actuals.
    assert result.backtest and result.backtest.coverage80 is not None
    assert result.backtest.coverage80 >= forecasting.MIN_COVERAGE


# --- the default horizon, when the data lag -------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "last", "as_of", "expected"),
    [
        # The latest month is September; on Nov 27 the quarter still needs Oct, Nov and Dec.
        ("monthly", "2026-09-01", date(2026, 11, 27), 3),
        ("monthly", "2026-11-01", date(2026, 11, 27), 1),  # up to date: December only
        ("monthly", "2026-10-31", date(2026, 11, 27), 2),  # month ends: Nov 30, Dec 31
        # Weekly, last Nov 2: Nov 9, 16, 23, 30, Dec 7, 14, 21, 28 (Jan 4 is past the end).
        ("weekly", "2026-11-02", date(2026, 11, 27), 8),
        ("daily", "2026-12-20", date(2026, 12, 31), 11),  # Dec 21 ... Dec 31
        ("daily", "2026-12-31", date(2026, 12, 31), 1),  # at the quarter's end: still one
        # A quarter behind: June's data on Aug 15 need Jul, Aug, Sep.
        ("monthly", "2026-06-01", date(2026, 8, 15), 3),
        # Data that stopped long ago are not forecast for years: at most 457 days' periods.
        ("monthly", "2020-01-01", date(2026, 11, 27), 15),
        ("daily", "2020-01-01", date(2026, 11, 27), 457),
    ],
)
def test_the_default_horizon_reaches_the_quarter_end_from_the_latest_observation(
    frequency, last, as_of, expected
):
    assert default_horizon(make_kpi(frequency), as_of, last) == expected


@pytest.mark.parametrize(
    ("frequency", "last", "as_of", "expected"),
    [
        # 2027Q1 ends 2027-03-31. Months from 2026-11-01: Dec, Jan, Feb, Mar (holds 03-31).
        ("monthly", "2026-11-01", date(2026, 12, 7), 4),
        # Month-end series: Dec 31, Jan 31, Feb 28, Mar 31.
        ("monthly", "2026-11-30", date(2026, 12, 7), 4),
        # Weeks from Monday 2026-11-30: Dec 7 … Mar 29 (holds 03-31; Apr 5 does not) = 17.
        ("weekly", "2026-11-30", date(2026, 12, 7), 17),
        # Days from 2026-12-06: Dec 7 … Mar 31 = 25 + 31 + 28 + 31 = 115.
        ("daily", "2026-12-06", date(2026, 12, 7), 115),
        # No observation: counted from the day itself (Dec 7 → Mar 31 by months: Jan 7,
        # Feb 7, Mar 7 = 3).
        ("monthly", None, date(2026, 12, 7), 3),
        # Data that stopped long ago: no cap (asked for explicitly), 2020-01 → 2027-03 = 86.
        ("monthly", "2020-01-01", date(2026, 12, 7), 86),
        # Already past the end: one period.
        ("daily", "2027-04-02", date(2027, 4, 2), 1),
    ],
)
def test_the_horizon_through_a_quarter_reaches_the_period_holding_its_last_day(
    frequency, last, as_of, expected
):
    kpi = dataclasses.replace(make_kpi(frequency), detection=DetectionOverrides(forecast_horizon=2))
    # The KPI's own forecast_horizon (2) is what --horizon-less forecasts use; --through
    # asks for the quarter's end explicitly and ignores it.
    assert horizon_through(kpi, date(2027, 3, 31), as_of, last) == expected


# --- a series the models must win on out of sample ----------------------------------------


def test_on_a_trending_multiplicative_seasonal_series_the_choice_beats_seasonal_naive():
    """Ten years of months: a level growing 2 % a month and a season whose swing is 30 % of
    the level (so it grows with it), with 2 % noise. The last 12 months are held out; the
    product forecasts them from the rest, and must beat repeating the last season."""
    rng = random.Random(21)
    values = [
        100 * 1.02**i * (1 + 0.3 * math.sin(2 * math.pi * i / 12)) * (1 + rng.gauss(0, 0.02))
        for i in range(120)
    ]
    train, held = values[:108], values[108:]
    result = forecast_kpi(make_kpi(), monthly(train), 12)
    assert_sane(result, 12)
    assert result.season == 12 and result.model in forecasting.MODELS and result.reliable
    seasonal_naive = train[-12:]  # the same month one season earlier, by hand
    mae_model = sum(abs(p.mean - a) for p, a in zip(result.points, held, strict=True)) / 12
    mae_naive = sum(abs(f - a) for f, a in zip(seasonal_naive, held, strict=True)) / 12
    # The level grew 27 % in a year (1.02^12), which seasonal naive misses entirely.
    assert mae_model < 0.5 * mae_naive, (result.model, result.note, mae_model, mae_naive)
    inside = sum(p.lo95 <= a <= p.hi95 for p, a in zip(result.points, held, strict=True))
    assert inside >= 9, result.points  # most of the year inside the 95 % interval


def test_a_series_with_no_mase_scale_is_excluded_and_counted():
    accuracy = load_accuracy_module()
    history = monthly([5.0] * 10 + [6.0])
    fit, held = accuracy.split(history, 1)
    point = forecasting.ForecastPoint(held[0][0], 5.0, 5.0, 5.0, 5.0, 5.0)
    made = Forecast("k", "naive", False, 1, None, fit[-1][0], (point,), None, "")
    row = accuracy.score("flat", Frequency.MONTHLY, fit, held, made)
    assert row.model == "none" and row.mase is None and "no MASE scale" in row.note
    summary = accuracy.summarise([row])
    assert (summary.series, summary.excluded, summary.actuals) == (0, 1, 0)
