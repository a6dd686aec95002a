"""Per-KPI forecasts, each with the honest backtest that chose its method.

Methods
    Statsmodels models and a drift forecast compete with two baselines:

    * ``ets``: ``ETSModel`` with additive errors and a damped additive trend, plus an additive
      season when there is one: ETS(A,Ad,A) or ETS(A,Ad,N), and ETS(A,N,N) when fewer than
      ten observations precede the first backtest origin. Intervals: the model's analytic ones.
    * ``ets_log``: the same, fitted on the logarithm of a strictly positive series (Box-Cox
      with lambda 0) and taken back with exp: a multiplicative error, trend and season (akin
      to ETS(M,Md,M), not the same model), with analytic intervals. statsmodels simulates the
      intervals of its own multiplicative forms, about 7 ms per forecast and origin: too slow
      for 2,000 KPIs.
    * ``theta``: ``ThetaModel`` (SES with drift, on data seasonally adjusted by a classical
      additive decomposition when there is a season). Intervals: its
      ``prediction_intervals``.
    * ``drift``: the last value plus the average change so far (the random walk with drift).
      A simple reference like the baselines, but it must beat them by the same margin as the
      models: a steady trend is what drift captures, and a forecast of it may be relied on.
    * ``seasonal_naive`` (same period last season) and ``naive`` (last value): baselines, a
      few lines each. Their intervals (and drift's) are normal with the in-sample one-step
      error scale, widened by sqrt(h) (naive), sqrt(k + 1), k = full seasons before step h
      (seasonal), or sqrt(h (1 + h / (n - 1))) (drift).

Season
    Found in the data, among the frequency's candidates (``SEASON_CANDIDATES``: 7 days; 52 or
    13 weeks; 12 or 3 months): the series is detrended by a centred moving average of one
    season and correlated with itself a season later; a candidate passes at a correlation of
    at least 0.3 and above a one-sided 5 % test (1.645 / sqrt(pairs)), over at least six
    pairs, and after two seasons plus the horizon of history. The strongest passing
    candidate is the season; with none, every method is non-seasonal and MASE divides by
    naive instead of seasonal naive.

Backtest and choice
    Rolling origin: up to ``MAX_ORIGINS`` (12) origins in the later half of the history, the
    latest forecasting the last observation one step ahead, the others stepping back by up to
    the horizon; each forecasts the horizon (cut to half the span the origins may use; the
    note says so) from the data before it only, and is scored on the steps that have
    actuals. Each method is scored by its MAE over all those pairs; ``mase`` is the chosen
    method's MAE over seasonal naive's. The best model is used only if it cut the better
    baseline's MAE by at least ``1 - TRUST_RATIO`` (20 %) over at least ``MIN_ORIGINS``
    origins; otherwise the better baseline forecasts. Why the margin: with a handful of
    origins, on seeded random walks (where nothing can beat naive) "any lower MAE" trusted a
    model 40-60 % of the time; the 20 % margin, 1-12 %. The price: a model with a real but
    small edge (10 %) is not used.

Intervals and reliability
    The chosen method's own intervals are used when their 80 % interval held at least
    ``WIDEN_BELOW`` (80 %, what it promises) of the backtest actuals. Otherwise they are too
    narrow, and both are widened about the forecast by split-conformal factors from the
    backtest's own errors (the ceil((N + 1) level)-th smallest of the factors each actual
    would have needed); the note says which intervals the forecast uses. ``coverage80`` is
    the share of backtest actuals inside the 80 % interval used: the model's own, or the
    widened one judged leaving each origin out of the factor that judges it.
    A forecast is *reliable* only when a model (not a baseline) was used, on at least
    ``MIN_ERRORS`` (12) one-step backtest errors, with a ``coverage80`` of at least
    ``MIN_COVERAGE`` (65 %). Why 12: the count of actuals inside an 80 % interval then has a
    standard deviation of 1.4 of 12, enough to tell intervals that cover 80 % from ones that
    cover half; on 4 it was not.

Honest limits
    * Twelve origins at most (2,000 KPIs must forecast in about a minute), so MASE and
      coverage are noisy estimates, and the trust rule still lets a lucky model through now
      and then. A monthly KPI needs two years of history for twelve origins.
    * ETS parameters are estimated once, on the data before the earliest origin; one run of
      the filter over the whole history with them gives every origin's forecast from the
      state reached there (no origin sees its future; parameters are not re-estimated at
      each, and each origin's error variance comes from the one-step errors before it).
      Theta is refitted at up to ``THETA_REFITS`` (4) origins and an origin between refits
      reads the earlier refit's forecast further ahead (less data than it could use, never
      its future); its interval width comes from the earliest origin, re-centred on each
      forecast (its variance costs an ARIMA fit). The final forecast refits the chosen
      method on all the history used.
    * statsmodels' Theta intervals are wide: its variance is sigma²(1 + (h-1)(1 + (alpha-1)²))
      where Hyndman & Billah's IMA(1,1) gives sigma²(1 + (h-1)alpha²), with sigma² from an
      ARIMA(0,1,1) of the series before seasonal adjustment. Expect Theta's backtest coverage
      near 100 %, on seasonal series and long horizons above all; the note reports it.
    * Calibrated intervals widen the model's own by one factor per level for every step, so
      they keep the model's shape over the horizon.
    * Missing values are closed up, not filled: a season is a count of observations.
    * Only the last ``MAX_HISTORY`` observations are used. Nothing is clamped to a plausible
      range (a percentage may be forecast above 100).
    * Series are rescaled to mean 0 and unit variance before fitting (the additive models are
      unchanged by it; their optimisers then cope with 1e12 and 1e-9) and forecasts scaled
      back; the logs of a positive series are rescaled the same way.

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

from intelligentos.domain.catalog.models import Frequency, Kpi
from intelligentos.domain.detection import period_date

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Array = NDArray[np.float64]

MIN_OBSERVATIONS = 8
MIN_TRAIN = 5  # shortest non-seasonal history a backtest origin may fit on
ETS_TREND_MIN = 10  # statsmodels' heuristic start needs 10 points; below it, no trend
MAX_ORIGINS = 12
MIN_ORIGINS = 3  # fewer, and no model is used however well it did
THETA_REFITS = 4  # Theta's refits per backtest (see _Theta.backtest)
# A forecast is called reliable only with at least this many one-step backtest errors (one
# per origin): with 12, the count of actuals inside an 80 % interval has a binomial standard
# deviation of 1.4 (12 %), so intervals that really cover 50 % (6 of 12) are told from ones
# that cover 80 % (9.6 of 12); with the 4 errors used before, they were not.
MIN_ERRORS = 12
# A model's own intervals that held fewer backtest actuals than this in their 80 % interval
# (fewer than they promise) are too narrow: the forecast's intervals are then calibrated on
# the backtest's errors.
WIDEN_BELOW = 0.8
# Reliability also needs the intervals the forecast uses to hold at least this share of the
# backtest actuals in their 80 % interval (judged leaving each origin out of the calibration).
MIN_COVERAGE = 0.65
# A model is used only if its backtest MAE is at most this share of the better baseline's
# (the module docstring has the random-walk numbers behind it).
TRUST_RATIO = 0.8
MAX_HISTORY = 200
MAX_ITER = 100
# No default horizon runs past this many days (a KPI whose data stopped long ago would
# otherwise be forecast for years).
MAX_HORIZON_DAYS = 457
Z80 = 1.2815515655446004  # standard normal quantile 0.90
Z95 = 1.959963984540054  # standard normal quantile 0.975

# Season candidates per frequency: a year of months or weeks, a quarter of them, a week of days.
SEASON_CANDIDATES = {
    Frequency.DAILY: (7,),
    Frequency.WEEKLY: (52, 13),
    Frequency.MONTHLY: (12, 3),
}
# A candidate season m is detected when the series, detrended by a centred moving average of
# one season, correlates with itself m steps later by at least SEASON_MIN_CORRELATION and by
# more than a one-sided 5 % test for no correlation allows (1.645 / sqrt(pairs)), over at
# least SEASON_MIN_PAIRS pairs. 0.3: the season is then at least about 30 % of the detrended
# variance (for season plus independent noise, the lag-m correlation is that share).
SEASON_MIN_CORRELATION = 0.3
SEASON_MIN_PAIRS = 6
Z_ONE_SIDED_95 = 1.6448536269514722

MODELS = ("drift", "ets", "ets_log", "theta")
BASELINES = ("naive", "seasonal_naive")
LABELS = {
    "ets": "ets",
    "ets_log": "ets on logs",
    "theta": "theta",
    "drift": "drift",
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


def _lag_correlation(values: Array, m: int) -> tuple[float, int]:
    """Correlation of the series, detrended by a centred moving average of one season (a
    2 x m average for even m, as in classical decomposition), with itself m steps later;
    and the number of pairs it rests on."""
    import numpy as np

    weights = np.full(m + 1, 1.0 / m) if m % 2 == 0 else np.full(m, 1.0 / m)
    if m % 2 == 0:
        weights[0] = weights[-1] = 0.5 / m
    if values.size < weights.size + m:
        return 0.0, 0
    trend = np.convolve(values, weights, mode="valid")
    half = weights.size // 2
    detrended = values[half : half + trend.size] - trend
    a, b = detrended[:-m], detrended[m:]
    if a.std() == 0 or b.std() == 0:
        return 0.0, a.size
    return float(np.corrcoef(a, b)[0, 1]), a.size


def detect_season(
    values: Sequence[float] | Array, frequency: Frequency, horizon: int = 1
) -> int | None:
    """The season the data show, among the frequency's candidates (``SEASON_CANDIDATES``):
    the one with the strongest lag correlation that passes the test above, or None. A
    candidate needs two seasons plus the horizon (and ``MIN_ORIGINS``) of history before it
    is tried: seasonal methods fit on two seasons at least."""
    import numpy as np

    y = np.asarray(values, dtype=float)
    best: tuple[float, int] | None = None
    for m in SEASON_CANDIDATES[frequency]:
        if y.size < 2 * m + max(horizon, MIN_ORIGINS):
            continue
        r, pairs = _lag_correlation(y, m)
        if pairs < SEASON_MIN_PAIRS or not math.isfinite(r):
            continue
        passes = r >= max(SEASON_MIN_CORRELATION, Z_ONE_SIDED_95 / math.sqrt(pairs))
        if passes and (best is None or r > best[0]):
            best = (r, m)
    return None if best is None else best[1]


def quarter_end(day: date) -> date:
    month = (day.month - 1) // 3 * 3 + 3
    return date(day.year, month, monthrange(day.year, month)[1])


def default_horizon(kpi: Kpi, as_of: date, last: str | None = None) -> int:
    """The KPI's ``forecast_horizon`` override, else the periods after its latest observation
    ``last`` up to the end of ``as_of``'s calendar quarter, at least 1: data that lag still
    get a forecast that reaches the quarter's end. Without ``last``, the periods from
    ``as_of``. At most ``MAX_HORIZON_DAYS`` worth of periods."""
    if kpi.detection.forecast_horizon is not None:
        return kpi.detection.forecast_horizon
    end = quarter_end(as_of)
    cap = max(1, MAX_HORIZON_DAYS // kpi.frequency.days)
    if last is not None:
        try:
            start = period_date(last)
        except ValueError:
            start = None
        if start is not None:
            ahead = next_periods(start.isoformat(), kpi.frequency, cap)
            return max(1, sum(1 for p in ahead if date.fromisoformat(p) <= end))
    if kpi.frequency is Frequency.MONTHLY:
        periods = end.month - as_of.month
    elif kpi.frequency is Frequency.WEEKLY:
        periods = (end - as_of).days // 7
    else:
        periods = (end - as_of).days
    return min(cap, max(1, periods))


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
    spec = ""  # the variant, in words, for the note

    def backtest(self, y: Array, origins: Sequence[int], steps: int) -> list[_Path]:
        return [self.forecast(y[:o], steps) for o in origins]

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


class _Drift(_Method):
    """The random walk with drift: the last value plus the average change so far, with
    Hyndman and Athanasopoulos' interval sigma * sqrt(h (1 + h / (n - 1)))."""

    name = "drift"

    def forecast(self, y: Array, steps: int) -> _Path:
        import numpy as np

        changes = np.diff(y)
        slope = float(np.mean(changes))
        sigma = _rms(changes - slope)
        h = np.arange(1, steps + 1, dtype=float)
        return _normal_path(y[-1] + slope * h, sigma * np.sqrt(h * (1 + h / (y.size - 1))))


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


def _series(y: Array) -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    # A Series, not an array: statsmodels 0.15's ETS get_prediction needs an index.
    return pd.Series(y)


def _ets_model(y: Array, **spec: Any) -> Any:
    from statsmodels.tsa.exponential_smoothing.ets import (  # type: ignore[import-untyped, unused-ignore]
        ETSModel,
    )

    return ETSModel(_series(y), error="add", initialization_method="heuristic", **spec)


class _Ets(_Method):
    """ETS(A,Ad,A) with a season, ETS(A,Ad,N) without; ETS(A,N,N) on fewer than
    ``ETS_TREND_MIN`` points before the earliest origin. Additive throughout: the forms with
    a multiplicative error, trend or season come from fitting on logs (``_Logged``), where
    the intervals stay analytic (statsmodels simulates the multiplicative forms' intervals,
    about 7 ms a forecast, twelve times per KPI)."""

    name = "ets"

    def __init__(self, season: int | None) -> None:
        self.season = season
        # The backtest decides the specification and its first fit starts the final one, so
        # what was scored is what forecasts.
        self.settings: dict[str, Any] | None = None
        self.fitted: Any = None

    def _settings(self, n: int) -> dict[str, Any]:
        if self.season:
            return {
                "trend": "add",
                "damped_trend": True,
                "seasonal": "add",
                "seasonal_periods": self.season,
            }
        if n >= ETS_TREND_MIN:
            return {"trend": "add", "damped_trend": True}
        return {}

    @property
    def spec(self) -> str:  # type: ignore[override]
        settings = self.settings or {}
        trend = "Ad" if settings.get("trend") else "N"
        return f"ETS(A,{trend},{'A' if settings.get('seasonal') else 'N'})"

    def _fit(self, y: Array, settings: dict[str, Any], start: Any = None) -> Any:
        model = _ets_model(y, **settings)
        return model.fit(disp=False, maxiter=MAX_ITER, start_params=start)

    def backtest(self, y: Array, origins: Sequence[int], steps: int) -> list[_Path]:
        """Parameters estimated once, on the data before the earliest origin; then one run
        of the filter over the whole history with them, and each origin's forecast from the
        state the filter had reached there (no origin sees its future). The error variance
        is each origin's own: the filter's squared one-step errors before the origin."""
        import numpy as np

        first_origin = min(origins)
        settings = self.settings = self._settings(first_origin)
        first = self.fitted = self._fit(y[:first_origin], settings)
        full = _ets_model(y, **settings).smooth(first.params)
        squared = np.asarray(full.resid, dtype=float) ** 2
        whole = float(np.mean(squared))
        paths = []
        for o in origins:
            prediction = full.get_prediction(start=o, end=o + steps - 1, dynamic=0)
            mean = np.asarray(prediction.predicted_mean, dtype=float)
            sd = np.sqrt(np.asarray(prediction.forecast_variance, dtype=float))
            before = float(np.mean(squared[:o]))
            paths.append(_normal_path(mean, sd * math.sqrt(before / whole) if whole else sd))
        return paths

    def forecast(self, y: Array, steps: int) -> _Path:
        import numpy as np

        settings = self.settings = self.settings or self._settings(len(y))
        start = None if self.fitted is None else self.fitted.params
        results = self._fit(y, settings, start)
        prediction = results.get_prediction(start=len(y), end=len(y) + steps - 1)
        mean = np.asarray(prediction.predicted_mean, dtype=float)
        return _normal_path(mean, np.sqrt(np.asarray(prediction.forecast_variance, dtype=float)))


class _Theta(_Method):
    name = "theta"

    def __init__(self, season: int | None) -> None:
        self.season = season

    @property
    def spec(self) -> str:  # type: ignore[override]
        return "Theta, deseasonalised" if self.season else "Theta"

    def forecast(self, y: Array, steps: int) -> _Path:
        import numpy as np
        from statsmodels.tsa.forecasting.theta import (  # type: ignore[import-untyped, unused-ignore]
            ThetaModel,
        )

        seasonal = self.season is not None
        results = ThetaModel(
            y, period=self.season, deseasonalize=seasonal, method="additive", use_test=False
        ).fit()
        mean = np.asarray(results.forecast(steps), dtype=float)
        sd: list[Array] = []

        def band(z: float) -> tuple[Array, Array]:
            # statsmodels' Theta intervals are normal, mean ± z sd, and each call refits the
            # ARIMA behind sd: one call gives sd for every z.
            if not sd:
                from statistics import NormalDist

                alpha = 2 * (1 - NormalDist().cdf(Z80))
                frame = results.prediction_intervals(steps, alpha=alpha)
                upper = np.asarray(frame["upper"], dtype=float)
                lower = np.asarray(frame["lower"], dtype=float)
                sd.append((upper - lower) / (2 * Z80))
            return mean - z * sd[0], mean + z * sd[0]

        return _Path(mean, band)

    def backtest(self, y: Array, origins: Sequence[int], steps: int) -> list[_Path]:
        """Theta has no re-filter, and a refit costs as much as an ETS fit: it is refitted at
        up to ``THETA_REFITS`` of the origins, spread evenly from the earliest, and an origin
        between two refits takes the forecast of the refit before it, read further ahead (it
        sees less data than it could: a handicap, never a look at its future). The interval
        width comes from the earliest origin only, re-centred on each forecast: statsmodels
        estimates Theta's variance with an ARIMA fit that costs more than the rest."""
        ascending = sorted(origins)
        every = math.ceil(len(ascending) / THETA_REFITS)
        refits = ascending[::every]
        base = {o: max(r for r in refits if r <= o) for o in origins}
        reach = {r: steps + max(o - b for o, b in base.items() if b == r) for r in refits}
        made = {r: self.forecast(y[:r], reach[r]) for r in refits}
        earliest = made[ascending[0]]
        widths: dict[float, Array] = {}

        def half(z: float) -> Array:
            if z not in widths:
                lo, hi = earliest.band(z)
                widths[z] = ((hi - lo) / 2)[:steps]
            return widths[z]

        def recentred(mean: Array) -> Callable[[float], tuple[Array, Array]]:
            return lambda z: (mean - half(z), mean + half(z))

        paths = []
        for o in origins:
            mean = made[base[o]].mean[o - base[o] : o - base[o] + steps]
            paths.append(_Path(mean, recentred(mean)))
        return paths


class _Logged(_Method):
    """A method fitted on the logarithm of a strictly positive series (the Box-Cox transform
    with lambda 0), its forecasts and interval ends taken back with exp: an additive season
    and trend on logs are a multiplicative season and trend on the series. The mean taken
    back is the forecast median, which is what minimises the absolute error the backtest
    scores. ``to_units``: from the series' own values to the normalised units the other
    methods work in."""

    def __init__(self, inner: _Method, shift: float, scale: float) -> None:
        self.inner = inner
        self.name = f"{inner.name}_log"
        self.shift, self.scale = shift, scale
        self.log_shift = 0.0
        self.log_scale = 1.0

    @property
    def spec(self) -> str:  # type: ignore[override]
        return f"{self.inner.spec} on logs"

    def _logs(self, y: Array) -> Array:
        import numpy as np

        return (np.log(y * self.scale + self.shift) - self.log_shift) / self.log_scale

    def _back(self, path: _Path) -> _Path:
        import numpy as np

        def units(v: Array) -> Array:
            return (np.exp(v * self.log_scale + self.log_shift) - self.shift) / self.scale

        def band(z: float) -> tuple[Array, Array]:
            lo, hi = path.band(z)
            return units(lo), units(hi)

        return _Path(units(path.mean), band)

    def prepare(self, y: Array) -> None:
        """Normalise the logs as the series is (the additive models are unchanged by it, and
        their optimisers cope better)."""
        import numpy as np

        logs = np.log(y * self.scale + self.shift)
        self.log_shift = float(np.mean(logs))
        self.log_scale = float(np.std(logs)) or 1.0

    def backtest(self, y: Array, origins: Sequence[int], steps: int) -> list[_Path]:
        self.prepare(y)
        return [self._back(p) for p in self.inner.backtest(self._logs(y), origins, steps)]

    def forecast(self, y: Array, steps: int) -> _Path:
        self.prepare(y)
        return self._back(self.inner.forecast(self._logs(y), steps))


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
    parameters there once); the horizon is cut to half of what is left. Up to ``MAX_ORIGINS``
    origins, the latest forecasting the last observation one step ahead, the others stepping
    back by up to the horizon, as far as the history allows; an origin near the end scores
    only the steps that have actuals, so every origin gives a one-step error."""
    available = max(1, n - max(min_train, n // 2))
    steps = max(1, min(horizon, available // 2))
    count = max(1, min(MAX_ORIGINS, available))
    stride = 1 if count == 1 else max(1, min(steps, (available - 1) // (count - 1)))
    return steps, [n - 1 - i * stride for i in range(count)]


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


@dataclass(frozen=True)
class Pairs:
    """A method's backtest, flattened: each origin's forecast steps that have an actual."""

    actual: Array
    mean: Array
    origin: Array  # which origin (0, 1, ...) each pair comes from


def _pairs(paths: list[_Path], y: Array, origins: Sequence[int], steps: int) -> Pairs:
    import numpy as np

    cut = [min(steps, y.size - o) for o in origins]
    if any(p.mean.size < c for p, c in zip(paths, cut, strict=True)):
        raise ValueError("a backtest forecast is too short")
    return Pairs(
        np.concatenate([y[o : o + c] for o, c in zip(origins, cut, strict=True)]),
        np.concatenate([p.mean[:c] for p, c in zip(paths, cut, strict=True)]),
        np.concatenate([np.full(c, i) for i, c in enumerate(cut)]),
    )


def _bands(paths: list[_Path], y: Array, origins: Sequence[int], steps: int, z: float) -> Array:
    """(lo, hi) of every pair, as two rows."""
    import numpy as np

    cut = [min(steps, y.size - o) for o in origins]
    bands = [p.band(z) for p in paths]
    lo = np.concatenate([b[0][:c] for b, c in zip(bands, cut, strict=True)])
    hi = np.concatenate([b[1][:c] for b, c in zip(bands, cut, strict=True)])
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise ValueError("non-finite interval")
    return np.vstack([lo, hi])


def _stretch(pairs: Pairs, band: Array) -> Array:
    """For each pair, the factor the interval's half on the actual's side would need to
    reach the actual (0 when the actual is the mean, inf when that half is empty)."""
    import numpy as np

    above = pairs.actual >= pairs.mean
    half = np.where(above, band[1] - pairs.mean, pairs.mean - band[0])
    gap = np.abs(pairs.actual - pairs.mean)
    with np.errstate(all="ignore"):
        return np.where(gap == 0, 0.0, np.where(half > 0, gap / half, np.inf))


def conformal_factor(stretch: Sequence[float], level: float) -> float:
    """Split-conformal widening factor: the ceil((N + 1) level)-th smallest of the N
    stretches (the largest when N is too small for that), never below 1 (the model's own
    interval is only ever widened)."""
    ordered = sorted(stretch)
    if not ordered:
        return 1.0
    rank = min(len(ordered), math.ceil((len(ordered) + 1) * level))
    return max(1.0, float(ordered[rank - 1]))


def calibrated(pairs: Pairs, band80: Array, band95: Array) -> tuple[float, float, float]:
    """Factors for the 80 % and 95 % intervals from all the backtest's errors, and the 80 %
    coverage they would have had, judged fairly: each origin's pairs against a factor from
    the other origins' only."""
    import numpy as np

    s80 = _stretch(pairs, band80)
    s95 = _stretch(pairs, band95)
    inside = 0
    for origin in np.unique(pairs.origin):
        mine = pairs.origin == origin
        k = conformal_factor(s80[~mine].tolist(), 0.8)
        inside += int(np.sum(s80[mine] <= k))
    return (
        conformal_factor(s80.tolist(), 0.8),
        conformal_factor(s95.tolist(), 0.95),
        inside / s80.size,
    )


def _forecast(kpi: Kpi, points: list[tuple[str, float]], horizon: int) -> Forecast:
    import numpy as np

    based_on = points[-1][0]
    periods = next_periods(based_on, kpi.frequency, horizon)
    raw = np.array([v for _, v in points], dtype=float)
    n = raw.size

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

    season = None if constant else detect_season(y, kpi.frequency, horizon)
    steps, origins = _plan(n, horizon, 2 * season if season else MIN_TRAIN)

    methods: list[_Method] = [_Naive()]
    if season:
        methods.append(_SeasonalNaive(season))
    if not constant:
        methods += [_Drift(), _Theta(season), _Ets(season)]
        if bool(np.all(raw > 0)):
            # The logs of the series divided by its peak: y * scale_u + shift_u.
            methods.append(_Logged(_Ets(season), shift_u, scale_u))
    baseline = "seasonal_naive" if season else "naive"

    runs: dict[str, list[_Path]] = {}
    scored: dict[str, Pairs] = {}
    mae: dict[str, float] = {}
    failed: list[str] = []
    for method in methods:
        paths = _quietly(partial(method.backtest, y, origins, steps))
        pairs = None if paths is None else _quietly(partial(_pairs, paths, y, origins, steps))
        if paths is None or pairs is None or not bool(np.isfinite(pairs.mean).all()):
            failed.append(method.name)
            continue
        runs[method.name] = paths
        scored[method.name] = pairs
        mae[method.name] = float(np.mean(np.abs(pairs.actual - pairs.mean)))

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

    intervals = _quietly(partial(_intervals, runs[chosen], scored[chosen], y, origins, steps))
    widen = (1.0, 1.0)
    held = None
    own80 = None
    if intervals is not None:
        own80, widen, held = intervals
        final = _widened(final, *widen)
    mase = _ratio(mae[chosen], mae[baseline])
    enough = len(origins) >= MIN_ERRORS
    covered = held is not None and held >= MIN_COVERAGE
    reliable = is_reliable(chosen in MODELS, len(origins), held)
    method = next(m for m in methods if m.name == chosen)
    verdict = _Verdict(chosen, baseline, best_baseline, best_model, mae, len(origins))
    note = (
        "constant series: naive forecast, which no model can beat" if constant else verdict.text()
    )
    if chosen in MODELS and method.spec:
        note += f" ({method.spec})"
    actuals = scored[chosen].actual.size
    if intervals is not None and own80 is not None and held is not None:
        if widen != (1.0, 1.0):
            note += (
                f"; intervals from the backtest's errors (the model's own 80 % interval held "
                f"{round(own80 * actuals)} of {actuals}; widened {widen[0]:.2g}x, "
                f"held {round(held * actuals)} of {actuals} out of calibration)"
            )
        else:
            note += f", 80 % interval held {round(held * actuals)} of {actuals}"
    if chosen in MODELS and not reliable:
        if not enough:
            note += f"; not reliable: {len(origins)} one-step backtest errors, {MIN_ERRORS} needed"
        elif not covered:
            note += "; not reliable: its intervals held too few backtest actuals"
    if refit_failed:
        note += f"; the {best_model} refit on the full history failed"
    if failed and not constant:
        note += f"; {' and '.join(LABELS[f] for f in failed)} could not be fitted"
    if steps < horizon:
        note += f"; backtested {steps} of {horizon} steps ahead"
    return Forecast(
        kpi.id,
        chosen,
        reliable,
        horizon,
        season,
        based_on,
        tuple(
            _point(period, *(float(v) * scale + shift for v in values))
            for period, values in zip(periods, zip(*final, strict=True), strict=True)
        ),
        Backtest(len(origins), 1.0 if mase is None else mase, held, scores),
        note,
    )


def is_reliable(model_used: bool, one_step_errors: int, coverage80: float | None) -> bool:
    """A forecast is reliable when a model (not a baseline) was used, on at least
    ``MIN_ERRORS`` one-step backtest errors, and the intervals it uses held at least
    ``MIN_COVERAGE`` of the backtest actuals in their 80 % interval."""
    return (
        model_used
        and one_step_errors >= MIN_ERRORS
        and coverage80 is not None
        and coverage80 >= MIN_COVERAGE
    )


def _intervals(
    paths: list[_Path], pairs: Pairs, y: Array, origins: Sequence[int], steps: int
) -> tuple[float, tuple[float, float], float]:
    """The chosen method's own 80 % backtest coverage; the widening factors for its 80 % and
    95 % intervals (1 and 1: its own are used); and the 80 % coverage of the intervals used."""
    import numpy as np

    band80 = _bands(paths, y, origins, steps, Z80)
    own = float(np.mean((pairs.actual >= band80[0]) & (pairs.actual <= band80[1])))
    if own >= WIDEN_BELOW or len(origins) < MIN_ORIGINS:
        return own, (1.0, 1.0), own
    band95 = _bands(paths, y, origins, steps, Z95)
    k80, k95, held = calibrated(pairs, band80, band95)
    return own, (k80, max(k95, k80)), held


def _widened(columns: tuple[Array, ...], k80: float, k95: float) -> tuple[Array, ...]:
    mean, lo80, hi80, lo95, hi95 = columns
    return (
        mean,
        mean - k80 * (mean - lo80),
        mean + k80 * (hi80 - mean),
        mean - k95 * (mean - lo95),
        mean + k95 * (hi95 - mean),
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
        best = self.best_model
        if best is None or self.mae[best] >= self.mae[self.best_baseline]:
            beaten = (
                LABELS[self.baseline] if self.baseline == "naive" else "seasonal naive or naive"
            )
            return f"{label}: no model beat {beaten}"
        gain = self._gain(best, self.best_baseline)
        model = LABELS[best]
        if gain == "0 %":
            return f"{label}: {model} was barely better, too little to trust"
        if self.origins < MIN_ORIGINS:
            return f"{label}: {model} was {gain} better, but on too few backtest origins to trust"
        return f"{label}: {model} was only {gain} better, too little to trust"
