"""Per-KPI forecasts, each with the honest backtest that chose its method.

:func:`forecast_kpi` (``selection``) forecasts a KPI with the method that won its backtest:
the ``methods`` compete on the series' own ``season``, are scored on the rolling-origin
``backtest``, and the winner's ``intervals`` are judged (and widened when too narrow) on the
same backtest; ``results`` are what a forecast is, ``periods`` which periods it covers.

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

from intelligentos.domain.forecast.intervals import (
    MIN_COVERAGE,
    MIN_ERRORS,
    conformal_factor,
    is_reliable,
)
from intelligentos.domain.forecast.methods import BASELINES, LABELS, MODELS
from intelligentos.domain.forecast.periods import (
    default_horizon,
    horizon_through,
    next_periods,
    quarter_end,
)
from intelligentos.domain.forecast.results import Backtest, Forecast, ForecastPoint, Projection
from intelligentos.domain.forecast.season import detect_season
from intelligentos.domain.forecast.selection import MAX_HISTORY, MIN_OBSERVATIONS, forecast_kpi

__all__ = [
    "BASELINES",
    "LABELS",
    "MAX_HISTORY",
    "MIN_COVERAGE",
    "MIN_ERRORS",
    "MIN_OBSERVATIONS",
    "MODELS",
    "Backtest",
    "Forecast",
    "ForecastPoint",
    "Projection",
    "conformal_factor",
    "default_horizon",
    "detect_season",
    "forecast_kpi",
    "horizon_through",
    "is_reliable",
    "next_periods",
    "quarter_end",
]
