"""The methods that compete on each series.

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
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Array = NDArray[np.float64]

ETS_TREND_MIN = 10  # statsmodels' heuristic start needs 10 points; below it, no trend
THETA_REFITS = 4  # Theta's refits per backtest (see _Theta.backtest)
MAX_ITER = 100
Z80 = 1.2815515655446004  # standard normal quantile 0.90
Z95 = 1.959963984540054  # standard normal quantile 0.975

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


@dataclass
class ForecastPath:
    """One forecast path in normalised units. ``band`` computes (lo, hi) for a z quantile
    lazily: Theta's interval costs an extra ARIMA fit, wanted only for the chosen method."""

    mean: Array
    band: Callable[[float], tuple[Array, Array]]


class Method:
    name = ""
    spec = ""  # the variant, in words, for the note

    def backtest(self, y: Array, origins: Sequence[int], steps: int) -> list[ForecastPath]:
        return [self.forecast(y[:o], steps) for o in origins]

    def forecast(self, y: Array, steps: int) -> ForecastPath:
        raise NotImplementedError


def _rms(errors: Array) -> float:
    import numpy as np

    return float(np.sqrt(np.mean(errors * errors))) if errors.size else 0.0


def _normal_path(mean: Array, scale: Array) -> ForecastPath:
    return ForecastPath(mean, lambda z: (mean - z * scale, mean + z * scale))


class _Naive(Method):
    name = "naive"

    def forecast(self, y: Array, steps: int) -> ForecastPath:
        import numpy as np

        sigma = _rms(np.diff(y))
        h = np.arange(1, steps + 1, dtype=float)
        return _normal_path(np.full(steps, y[-1]), sigma * np.sqrt(h))


class _Drift(Method):
    """The random walk with drift: the last value plus the average change so far, with
    Hyndman and Athanasopoulos' interval sigma * sqrt(h (1 + h / (n - 1)))."""

    name = "drift"

    def forecast(self, y: Array, steps: int) -> ForecastPath:
        import numpy as np

        changes = np.diff(y)
        slope = float(np.mean(changes))
        sigma = _rms(changes - slope)
        h = np.arange(1, steps + 1, dtype=float)
        return _normal_path(y[-1] + slope * h, sigma * np.sqrt(h * (1 + h / (y.size - 1))))


class _SeasonalNaive(Method):
    name = "seasonal_naive"

    def __init__(self, season: int) -> None:
        self.season = season

    def forecast(self, y: Array, steps: int) -> ForecastPath:
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


class _Ets(Method):
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

    def backtest(self, y: Array, origins: Sequence[int], steps: int) -> list[ForecastPath]:
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

    def forecast(self, y: Array, steps: int) -> ForecastPath:
        import numpy as np

        settings = self.settings = self.settings or self._settings(len(y))
        start = None if self.fitted is None else self.fitted.params
        results = self._fit(y, settings, start)
        prediction = results.get_prediction(start=len(y), end=len(y) + steps - 1)
        mean = np.asarray(prediction.predicted_mean, dtype=float)
        return _normal_path(mean, np.sqrt(np.asarray(prediction.forecast_variance, dtype=float)))


class _Theta(Method):
    name = "theta"

    def __init__(self, season: int | None) -> None:
        self.season = season

    @property
    def spec(self) -> str:  # type: ignore[override]
        return "Theta, deseasonalised" if self.season else "Theta"

    def forecast(self, y: Array, steps: int) -> ForecastPath:
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

        return ForecastPath(mean, band)

    def backtest(self, y: Array, origins: Sequence[int], steps: int) -> list[ForecastPath]:
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
            paths.append(ForecastPath(mean, recentred(mean)))
        return paths


class _Logged(Method):
    """A method fitted on the logarithm of a strictly positive series (the Box-Cox transform
    with lambda 0), its forecasts and interval ends taken back with exp: an additive season
    and trend on logs are a multiplicative season and trend on the series. The mean taken
    back is the forecast median, which is what minimises the absolute error the backtest
    scores. ``to_units``: from the series' own values to the normalised units the other
    methods work in."""

    def __init__(self, inner: Method, shift: float, scale: float) -> None:
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

    def _back(self, path: ForecastPath) -> ForecastPath:
        import numpy as np

        def units(v: Array) -> Array:
            return (np.exp(v * self.log_scale + self.log_shift) - self.shift) / self.scale

        def band(z: float) -> tuple[Array, Array]:
            lo, hi = path.band(z)
            return units(lo), units(hi)

        return ForecastPath(units(path.mean), band)

    def prepare(self, y: Array) -> None:
        """Normalise the logs as the series is (the additive models are unchanged by it, and
        their optimisers cope better)."""
        import numpy as np

        logs = np.log(y * self.scale + self.shift)
        self.log_shift = float(np.mean(logs))
        self.log_scale = float(np.std(logs)) or 1.0

    def backtest(self, y: Array, origins: Sequence[int], steps: int) -> list[ForecastPath]:
        self.prepare(y)
        return [self._back(p) for p in self.inner.backtest(self._logs(y), origins, steps)]

    def forecast(self, y: Array, steps: int) -> ForecastPath:
        self.prepare(y)
        return self._back(self.inner.forecast(self._logs(y), steps))


def candidates(
    season: int | None, constant: bool, positive: bool, shift: float, scale: float
) -> list[Method]:
    """The methods that compete on a normalised series: naive always, seasonal naive with a
    season, drift and the models unless the series is constant, and ets on logs too when
    it is strictly positive (``y * scale + shift`` is the series divided by its peak)."""
    methods: list[Method] = [_Naive()]
    if season:
        methods.append(_SeasonalNaive(season))
    if not constant:
        methods += [_Drift(), _Theta(season), _Ets(season)]
        if positive:
            methods.append(_Logged(_Ets(season), shift, scale))
    return methods


T = TypeVar("T")


def quietly(run: Callable[[], T]) -> T | None:
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
