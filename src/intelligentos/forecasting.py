"""Per-KPI forecasts, each with the honest backtest that chose its method.

Methods
    Two statsmodels models compete with two baselines, all additive (KPIs cross zero, so
    multiplicative forms are never used):

    * ``ets``: ``ETSModel`` with additive errors and a damped additive trend, plus an additive
      season when there is one: ETS(A,Ad,A) or ETS(A,Ad,N), and ETS(A,N,N) when fewer than
      ten observations precede the first backtest origin. Intervals: the model's analytic ones.
    * ``theta``: ``ThetaModel`` (SES with drift, on data seasonally adjusted by a classical
      additive decomposition when statsmodels' seasonality test finds a season). Intervals:
      its ``prediction_intervals``.
    * ``seasonal_naive`` (same period last season) and ``naive`` (last value): baselines, a
      few lines each. Their intervals are normal with the in-sample one-step error scale,
      widened by sqrt(h) (naive) or sqrt(k + 1), k = full seasons before step h (seasonal).

    The season length follows the KPI's frequency (daily 7, weekly 52, monthly 12) when there
    are two full seasons plus the horizon (and at least ``MIN_ORIGINS``) of history; otherwise
    every method is non-seasonal and MASE divides by naive instead of seasonal naive.

Backtest and choice
    Rolling origin: up to ``MAX_ORIGINS`` origins in the later half of the history, each
    forecasting the horizon from the data before it only (the horizon is cut when the
    origins would not fit; the note says so). Each method is scored by its MAE over all
    origins and steps; ``mase`` is the chosen method's MAE over seasonal naive's. The best
    model is used, and called reliable, only if it cut the better baseline's MAE by at least
    ``1 - TRUST_RATIO`` (20 %) over at least ``MIN_ORIGINS`` origins; otherwise the better
    baseline forecasts. Why the margin: with a handful of origins, on seeded random walks
    (where nothing can beat naive) "any lower MAE" trusted a model 40-60 % of the time; the
    20 % margin, 1-12 %. The price: a model with a real but small edge (10 %) is not used.
    ``coverage80`` is the share of backtest actuals inside the chosen method's 80 % interval.

Honest limits
    * Few origins (2,000 KPIs must forecast in about a minute), so MASE and coverage are
      noisy estimates, and the trust rule still lets a lucky model through now and then.
    * ETS parameters are estimated once, on the data before the earliest origin, and the later
      origins re-run the filter with them (no origin sees its future, but parameters are not
      re-estimated at each). Theta is refitted at every origin, but its interval width comes
      from the earliest origin, re-centred on each forecast (its variance costs an ARIMA
      fit). The final forecast refits the chosen method on all the history used.
    * statsmodels' Theta intervals are wide: its variance is sigma²(1 + (h-1)(1 + (alpha-1)²))
      where Hyndman & Billah's IMA(1,1) gives sigma²(1 + (h-1)alpha²), with sigma² from an
      ARIMA(0,1,1) of the series before seasonal adjustment. Expect Theta's backtest coverage
      near 100 %, on seasonal series and long horizons above all; the note reports it.
    * Missing values are closed up, not filled: a season is a count of observations.
    * Only the last ``MAX_HISTORY`` observations are used. Nothing is clamped to a plausible
      range (a percentage may be forecast above 100).
    * Series are rescaled to mean 0 and unit variance before fitting (the additive models are
      unchanged by it; their optimisers then cope with 1e12 and 1e-9) and forecasts scaled back.

The statistics libraries are imported inside the functions: the cockpit's launch path imports
this module for its types. The first forecast in a process pays for the import (about 0.5 s).
"""

from __future__ import annotations

import math
import warnings
from calendar import monthrange
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from intelligentos.catalog.models import Frequency, Kpi
from intelligentos.detection import period_date

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Array = NDArray[np.float64]

MIN_OBSERVATIONS = 8
MIN_TRAIN = 5  # shortest non-seasonal history a backtest origin may fit on
ETS_TREND_MIN = 10  # statsmodels' heuristic start needs 10 points; below it, no trend
MAX_ORIGINS = 4
MIN_ORIGINS = 3  # fewer, and no model is trusted however well it did
# A model is used only if its backtest MAE is at most this share of the better baseline's
# (the module docstring has the random-walk numbers behind it).
TRUST_RATIO = 0.8
MAX_HISTORY = 200
MAX_ITER = 100
Z80 = 1.2815515655446004  # standard normal quantile 0.90
Z95 = 1.959963984540054  # standard normal quantile 0.975

MODELS = ("ets", "theta")
BASELINES = ("naive", "seasonal_naive")
LABELS = {
    "ets": "ets",
    "theta": "theta",
    "naive": "naive",
    "seasonal_naive": "seasonal naive",
}


@dataclass(frozen=True)
class ForecastPoint:
    period: str  # ISO date (YYYY-MM-DD) of the forecast period
    mean: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float


@dataclass(frozen=True)
class Backtest:
    origins: int  # rolling origins evaluated
    mase: float  # chosen method's MAE / seasonal naive's MAE on the same forecasts (<1 beats it)
    coverage80: float | None  # share of backtest actuals inside the chosen 80 % interval
    scores: dict[str, float]  # every scored method's MAE ratio to seasonal naive


@dataclass(frozen=True)
class Forecast:
    kpi_id: str
    model: str  # "ets", "theta", "seasonal_naive", "naive", or "none" (no forecast)
    reliable: bool  # a model (not a baseline) cut the better baseline's error by >= 20 %
    horizon: int
    season: int | None  # season length used, or None
    based_on: str | None  # the latest observation period the forecast starts from
    points: tuple[ForecastPoint, ...]  # empty when model == "none"
    backtest: Backtest | None
    note: str  # the verdict in words

    @property
    def projection(self) -> Projection | None:
        """Where the forecast ends, when it has points."""
        if not self.points:
            return None
        end = self.points[-1]
        return Projection(
            self.kpi_id,
            self.model,
            self.reliable,
            self.based_on,
            self.horizon,
            end.period,
            end.mean,
            end.lo80,
            end.hi80,
        )


@dataclass(frozen=True)
class Projection:
    """A forecast's last point (the horizon), as the early-warning rule and the cards use it."""

    kpi_id: str
    model: str
    reliable: bool
    based_on: str | None  # the latest observation the forecast was made from
    horizon: int
    period: str
    mean: float
    lo80: float
    hi80: float

    def is_current(self, latest_period: str | None) -> bool:
        """Made from the KPI's latest observation (newer data makes a forecast stale)."""
        return latest_period is not None and self.based_on == latest_period


# --- calendar ------------------------------------------------------------------------------


def season_length(frequency: Frequency) -> int:
    return {Frequency.DAILY: 7, Frequency.WEEKLY: 52, Frequency.MONTHLY: 12}[frequency]


def default_horizon(kpi: Kpi, as_of: date) -> int:
    """The KPI's ``forecast_horizon`` override, else the periods from ``as_of`` to the end of
    its calendar quarter, at least 1."""
    if kpi.detection.forecast_horizon is not None:
        return kpi.detection.forecast_horizon
    quarter_end_month = (as_of.month - 1) // 3 * 3 + 3
    quarter_end = date(as_of.year, quarter_end_month, monthrange(as_of.year, quarter_end_month)[1])
    if kpi.frequency is Frequency.MONTHLY:
        periods = quarter_end_month - as_of.month
    elif kpi.frequency is Frequency.WEEKLY:
        periods = (quarter_end - as_of).days // 7
    else:
        periods = (quarter_end - as_of).days
    return max(1, periods)


def _add_months(day: date, months: int, month_end: bool) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    month += 1
    last = monthrange(year, month)[1]
    return date(year, month, last if month_end else min(day.day, last))


def next_periods(last: str, frequency: Frequency, count: int) -> list[str]:
    """The ``count`` periods after ``last``. Months keep ``last``'s day of the month, clamped
    to each month's length (Jan 31 → Feb 28); a ``last`` on a month's final day continues
    on month ends (Apr 30 → May 31), as month-end series are stored."""
    start = period_date(last)
    if frequency is Frequency.MONTHLY:
        month_end = start.day == monthrange(start.year, start.month)[1]
        return [_add_months(start, i, month_end).isoformat() for i in range(1, count + 1)]
    step = timedelta(days=frequency.days)
    return [(start + step * i).isoformat() for i in range(1, count + 1)]


# --- methods -------------------------------------------------------------------------------


@dataclass
class _Path:
    """One forecast path in normalised units. ``band`` computes (lo, hi) for a z quantile
    lazily: Theta's interval costs an extra ARIMA fit, wanted only for the chosen method."""

    mean: Array
    band: Callable[[float], tuple[Array, Array]]


class _Method:
    name = ""

    def backtest(self, y: Array, origins: Sequence[int], steps: int) -> list[_Path]:
        raise NotImplementedError

    def forecast(self, y: Array, steps: int) -> _Path:
        raise NotImplementedError


def _rms(errors: Array) -> float:
    import numpy as np

    return float(np.sqrt(np.mean(errors * errors))) if errors.size else 0.0


def _normal_path(mean: Array, scale: Array) -> _Path:
    return _Path(mean, lambda z: (mean - z * scale, mean + z * scale))


class _Naive(_Method):
    name = "naive"

    def forecast(self, y: Array, steps: int) -> _Path:
        import numpy as np

        sigma = _rms(np.diff(y))
        h = np.arange(1, steps + 1, dtype=float)
        return _normal_path(np.full(steps, y[-1]), sigma * np.sqrt(h))

    def backtest(self, y: Array, origins: Sequence[int], steps: int) -> list[_Path]:
        return [self.forecast(y[:o], steps) for o in origins]


class _SeasonalNaive(_Method):
    name = "seasonal_naive"

    def __init__(self, season: int) -> None:
        self.season = season

    def forecast(self, y: Array, steps: int) -> _Path:
        import numpy as np

        m = self.season
        h = np.arange(steps)
        last_season = y[-m:]
        sigma = _rms(y[m:] - y[:-m])
        return _normal_path(last_season[h % m], sigma * np.sqrt(h // m + 1.0))

    def backtest(self, y: Array, origins: Sequence[int], steps: int) -> list[_Path]:
        return [self.forecast(y[:o], steps) for o in origins]


def _ets_model(y: Array, **spec: Any) -> Any:
    from statsmodels.tsa.exponential_smoothing.ets import (  # type: ignore[import-untyped, unused-ignore]
        ETSModel,
    )

    return ETSModel(_series(y), error="add", **spec)


def _series(y: Array) -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    # A Series, not an array: statsmodels 0.15's ETS get_prediction needs an index.
    return pd.Series(y)


class _Ets(_Method):
    name = "ets"

    def __init__(self, season: int | None) -> None:
        self.season = season
        # The backtest decides the specification and its first fit starts the final one, so
        # what was scored is what forecasts.
        self.spec: dict[str, Any] | None = None
        self.fitted: Any = None

    def _spec(self, n: int) -> dict[str, Any]:
        if self.season:
            return {
                "trend": "add",
                "damped_trend": True,
                "seasonal": "add",
                "seasonal_periods": self.season,
                "initialization_method": "heuristic",
            }
        if n >= ETS_TREND_MIN:
            return {"trend": "add", "damped_trend": True, "initialization_method": "heuristic"}
        return {"initialization_method": "estimated"}

    def _fit(self, y: Array, spec: dict[str, Any], start: Any = None) -> Any:
        model = _ets_model(y, **spec)
        return model.fit(disp=False, maxiter=MAX_ITER, start_params=start)

    @staticmethod
    def _path(results: Any, start: int, steps: int) -> _Path:
        import numpy as np

        prediction = results.get_prediction(start=start, end=start + steps - 1)
        mean = np.asarray(prediction.predicted_mean, dtype=float)
        sd = np.sqrt(np.asarray(prediction.forecast_variance, dtype=float))
        return _normal_path(mean, sd)

    def backtest(self, y: Array, origins: Sequence[int], steps: int) -> list[_Path]:
        import numpy as np

        spec = self.spec = self._spec(min(origins))
        first = self.fitted = self._fit(y[: min(origins)], spec)
        known = {k: v for k, v in spec.items() if k != "initialization_method"}
        start = {"initial_level": first.initial_level}
        if spec.get("trend"):
            start["initial_trend"] = first.initial_trend
        if spec.get("seasonal"):
            start["initial_seasonal"] = first.initial_seasonal
        paths = []
        for o in origins:
            if o == min(origins):
                paths.append(self._path(first, o, steps))
                continue
            model = _ets_model(y[:o], initialization_method="known", **known, **start)
            smoothing = np.asarray(first.params)[: len(model.param_names)]
            paths.append(self._path(model.smooth(smoothing), o, steps))
        return paths

    def forecast(self, y: Array, steps: int) -> _Path:
        spec = self.spec or self._spec(len(y))
        start = None if self.fitted is None else self.fitted.params
        return self._path(self._fit(y, spec, start), len(y), steps)


class _Theta(_Method):
    name = "theta"

    def __init__(self, season: int | None) -> None:
        self.season = season

    def forecast(self, y: Array, steps: int) -> _Path:
        import numpy as np
        from statsmodels.tsa.forecasting.theta import (  # type: ignore[import-untyped, unused-ignore]
            ThetaModel,
        )

        seasonal = self.season is not None
        results = ThetaModel(y, period=self.season, deseasonalize=seasonal, method="additive").fit()
        mean = np.asarray(results.forecast(steps), dtype=float)

        def band(z: float) -> tuple[Array, Array]:
            from statistics import NormalDist

            alpha = 2 * (1 - NormalDist().cdf(z))
            frame = results.prediction_intervals(steps, alpha=alpha)
            return (
                np.asarray(frame["lower"], dtype=float),
                np.asarray(frame["upper"], dtype=float),
            )

        return _Path(mean, band)

    def backtest(self, y: Array, origins: Sequence[int], steps: int) -> list[_Path]:
        # Each origin refits (Theta has no re-filter), but the interval width comes from the
        # earliest origin only, re-centred on each forecast: statsmodels estimates Theta's
        # variance with an ARIMA fit that costs more than the rest of the backtest.
        paths = [self.forecast(y[:o], steps) for o in origins]
        earliest = paths[origins.index(min(origins))]
        widths: dict[float, Array] = {}

        def half(z: float) -> Array:
            if z not in widths:
                lo, hi = earliest.band(z)
                widths[z] = (hi - lo) / 2
            return widths[z]

        def recentred(mean: Array) -> Callable[[float], tuple[Array, Array]]:
            return lambda z: (mean - half(z), mean + half(z))

        return [_Path(p.mean, recentred(p.mean)) for p in paths]


T = TypeVar("T")


def _quietly(run: Callable[[], T]) -> T | None:
    """``run()``, or None if it raises; warnings (convergence, overflow) silenced."""
    import numpy as np

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return run()
        except Exception:
            # A candidate that cannot be fitted is dropped, whatever the reason: bad input
            # must never cost the other KPIs their forecasts.
            return None


# --- the forecast --------------------------------------------------------------------------


def _clean(history: Sequence[tuple[str, float | None]]) -> list[tuple[str, float]]:
    """Finite values with a readable period, oldest first, one per date (the last given)."""
    by_date: dict[date, tuple[str, float]] = {}
    for item in history:
        try:
            period, value = item
            if value is None:
                continue
            number = float(value)
            day = period_date(str(period))
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            by_date[day] = (str(period), number)
    return [by_date[d] for d in sorted(by_date)]


def _plan(n: int, horizon: int, min_train: int) -> tuple[int, list[int]]:
    """Backtest horizon and origins (each the index of the first forecast step), latest
    first. The earliest origin keeps at least half the history to fit on (ETS estimates its
    parameters there once); the horizon is cut to half of what is left so that several
    origins fit, and the origins spread over it (stepping back by the horizon when there is
    room, by less, overlapping, when there is not)."""
    available = n - max(min_train, n // 2)
    steps = max(1, min(horizon, available // 2))
    count = max(1, min(MAX_ORIGINS, available - steps + 1))
    stride = steps if count == 1 else min(steps, max(1, (available - steps) // (count - 1)))
    return steps, [n - steps - i * stride for i in range(count)]


def _none(kpi: Kpi, horizon: int, note: str, based_on: str | None = None) -> Forecast:
    return Forecast(kpi.id, "none", False, horizon, None, based_on, (), None, note)


def _ratio(mae: float, baseline: float) -> float | None:
    if baseline > 0:
        return mae / baseline
    # A perfect baseline: a method as perfect ties it, any other is infinitely worse and
    # goes unscored (infinity does not survive JSON).
    return 1.0 if mae == 0 else None


def _percent(share: float) -> str:
    return f"{round(share * 100)} %"


def forecast_kpi(kpi: Kpi, history: Sequence[tuple[str, float | None]], horizon: int) -> Forecast:
    """Forecast ``horizon`` periods after the KPI's latest observation with the method that
    won its rolling-origin backtest. Never raises on bad data; returns model "none" when
    there is too little of it."""
    horizon = max(1, int(horizon))
    points = _clean(history)
    if len(points) < MIN_OBSERVATIONS:
        # No parenthesis to break across lines: a narrow table wraps it between any words.
        return _none(
            kpi,
            horizon,
            f"not enough history: {len(points)} of the {MIN_OBSERVATIONS} observations needed",
            points[-1][0] if points else None,
        )
    points = points[-MAX_HISTORY:]
    try:
        return _forecast(kpi, points, horizon)
    except Exception as error:  # the contract is "never raises"; say what happened instead
        return _none(kpi, horizon, f"forecast failed: {type(error).__name__}", points[-1][0])


def _forecast(kpi: Kpi, points: list[tuple[str, float]], horizon: int) -> Forecast:
    import numpy as np

    based_on = points[-1][0]
    periods = next_periods(based_on, kpi.frequency, horizon)
    raw = np.array([v for _, v in points], dtype=float)
    n = raw.size
    m = season_length(kpi.frequency)
    season = m if n >= 2 * m + max(horizon, MIN_ORIGINS) else None
    steps, origins = _plan(n, horizon, 2 * m if season else MIN_TRAIN)

    # Work in units where the series has mean 0 and standard deviation 1: the additive models
    # are unchanged by it, and their optimisers stop failing on 1e12 or 1e-9.
    peak = float(np.max(np.abs(raw)))
    constant = bool(np.all(raw == raw[0]))
    with np.errstate(all="ignore"):
        unit = raw / peak if peak > 0 else raw
        shift_u = float(np.mean(unit))
        scale_u = float(np.std(unit)) if not constant else 0.0
    if not (math.isfinite(peak) and math.isfinite(shift_u) and math.isfinite(scale_u)):
        return _none(kpi, horizon, "values too large to forecast", based_on)
    if scale_u > 0:
        shift, scale = shift_u * peak, scale_u * peak
        y = (unit - shift_u) / scale_u
    else:
        shift, scale, y = (float(raw[0]), 1.0, np.zeros(n))

    methods: list[_Method] = [_Naive()]
    if season:
        methods.append(_SeasonalNaive(season))
    if not constant:
        methods += [_Theta(season), _Ets(season)]
    baseline = "seasonal_naive" if season else "naive"

    actual = np.concatenate([y[o : o + steps] for o in origins])
    runs: dict[str, list[_Path]] = {}
    mae: dict[str, float] = {}
    failed: list[str] = []
    for method in methods:
        paths = _quietly(partial(method.backtest, y, origins, steps))
        forecasts = np.concatenate([p.mean for p in paths]) if paths else None
        if paths is None or forecasts is None or not _usable(forecasts, actual.shape):
            failed.append(method.name)
            continue
        runs[method.name] = paths
        mae[method.name] = float(np.mean(np.abs(actual - forecasts)))

    # Ties go to the simpler method.
    order = (*BASELINES, *MODELS)
    ranked = sorted(mae, key=lambda name: (mae[name], order.index(name)))
    best_baseline = next(name for name in ranked if name in BASELINES)
    best_model = next((name for name in ranked if name in MODELS), None)
    # A perfect baseline (zero error) cannot be beaten, only tied.
    trusted = (
        best_model is not None
        and len(origins) >= MIN_ORIGINS
        and mae[best_baseline] > 0
        and mae[best_model] <= TRUST_RATIO * mae[best_baseline]
    )
    chosen = best_model if trusted and best_model else best_baseline
    scores = {
        name: ratio
        for name in order
        if name in mae and (ratio := _ratio(mae[name], mae[baseline])) is not None
    }

    final = _quietly(partial(_final, methods, chosen, y, horizon))
    refit_failed = final is None and chosen in MODELS
    if refit_failed:
        chosen = best_baseline
        final = _quietly(partial(_final, methods, chosen, y, horizon))
    if final is None:
        return _none(kpi, horizon, "no method could forecast these values", based_on)

    coverage = _quietly(partial(_coverage, runs[chosen], actual))
    mase = _ratio(mae[chosen], mae[baseline])
    verdict = _Verdict(chosen, baseline, best_baseline, best_model, mae, len(origins))
    note = (
        "constant series: naive forecast, which no model can beat" if constant else verdict.text()
    )
    if coverage is not None:
        note += f", 80 % interval held {round(coverage * actual.size)} of {actual.size}"
    if refit_failed:
        note += f"; the {best_model} refit on the full history failed"
    if failed and not constant:
        note += f"; {' and '.join(LABELS[f] for f in failed)} could not be fitted"
    if steps < horizon:
        note += f"; backtested {steps} of {horizon} steps ahead"
    return Forecast(
        kpi.id,
        chosen,
        chosen in MODELS,
        horizon,
        season,
        based_on,
        tuple(
            _point(period, *(float(v) * scale + shift for v in values))
            for period, values in zip(periods, zip(*final, strict=True), strict=True)
        ),
        Backtest(len(origins), 1.0 if mase is None else mase, coverage, scores),
        note,
    )


def _usable(values: Array, shape: tuple[int, ...]) -> bool:
    import numpy as np

    return values.shape == shape and bool(np.isfinite(values).all())


def _final(methods: list[_Method], name: str, y: Array, horizon: int) -> tuple[Array, ...]:
    method = next(m for m in methods if m.name == name)
    path = method.forecast(y, horizon)
    lo80, hi80 = path.band(Z80)
    lo95, hi95 = path.band(Z95)
    columns = (path.mean, lo80, hi80, lo95, hi95)
    if not all(_usable(c, (horizon,)) for c in columns):
        raise ValueError("non-finite forecast")
    return columns


def _point(
    period: str, mean: float, lo80: float, hi80: float, lo95: float, hi95: float
) -> ForecastPoint:
    # Analytic intervals nest by construction; the min/max only guards rounding, so that the
    # promise lo95 <= lo80 <= mean <= hi80 <= hi95 holds for every point.
    lo80 = min(lo80, mean)
    hi80 = max(hi80, mean)
    return ForecastPoint(period, mean, lo80, hi80, min(lo95, lo80), max(hi95, hi80))


def _coverage(paths: list[_Path], actual: Array) -> float:
    import numpy as np

    bands = [p.band(Z80) for p in paths]
    lo = np.concatenate([b[0] for b in bands])
    hi = np.concatenate([b[1] for b in bands])
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise ValueError("non-finite interval")
    return float(np.mean((actual >= lo) & (actual <= hi)))


@dataclass(frozen=True)
class _Verdict:
    chosen: str
    baseline: str  # the one MASE divides by: seasonal naive, or naive without a season
    best_baseline: str
    best_model: str | None
    mae: dict[str, float]
    origins: int

    def _gain(self, name: str, over: str) -> str:
        base = self.mae[over]
        return _percent(1 - self.mae[name] / base if base > 0 else 0.0)

    def text(self) -> str:
        if self.chosen in MODELS:
            text = f"beats {LABELS[self.baseline]} by {self._gain(self.chosen, self.baseline)}"
            if self.best_baseline != self.baseline:
                text += f" and naive by {self._gain(self.chosen, self.best_baseline)}"
            return text
        label = LABELS[self.chosen]
        model = self.best_model
        if model is None or self.mae[model] >= self.mae[self.best_baseline]:
            beaten = (
                LABELS[self.baseline] if self.baseline == "naive" else "seasonal naive or naive"
            )
            return f"{label}: no model beat {beaten}"
        gain = self._gain(model, self.best_baseline)
        if gain == "0 %":
            return f"{label}: {model} was barely better, too little to trust"
        if self.origins < MIN_ORIGINS:
            return f"{label}: {model} was {gain} better, but on too few backtest origins to trust"
        return f"{label}: {model} was only {gain} better, too little to trust"
