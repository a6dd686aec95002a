"""Forecasting a KPI: the methods' backtest, and the choice it makes.

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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import TYPE_CHECKING

from intelligentos.domain.catalog.models import Kpi
from intelligentos.domain.clock import period_date
from intelligentos.domain.forecast.backtest import (
    MIN_ORIGINS,
    MIN_TRAIN,
    Pairs,
    backtest_pairs,
    plan_origins,
)
from intelligentos.domain.forecast.intervals import (
    MIN_COVERAGE,
    MIN_ERRORS,
    is_reliable,
    judge_intervals,
    nested_point,
    widened,
)
from intelligentos.domain.forecast.methods import (
    BASELINES,
    LABELS,
    MODELS,
    Z80,
    Z95,
    ForecastPath,
    Method,
    candidates,
    quietly,
)
from intelligentos.domain.forecast.periods import next_periods
from intelligentos.domain.forecast.results import Backtest, Forecast
from intelligentos.domain.forecast.season import detect_season

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Array = NDArray[np.float64]

MIN_OBSERVATIONS = 8
# A model is used only if its backtest MAE is at most this share of the better baseline's
# (the module docstring has the random-walk numbers behind it).
TRUST_RATIO = 0.8
MAX_HISTORY = 200


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
    steps, origins = plan_origins(n, horizon, 2 * season if season else MIN_TRAIN)

    methods = candidates(season, constant, bool(np.all(raw > 0)), shift_u, scale_u)
    baseline = "seasonal_naive" if season else "naive"

    runs: dict[str, list[ForecastPath]] = {}
    scored: dict[str, Pairs] = {}
    mae: dict[str, float] = {}
    failed: list[str] = []
    for method in methods:
        paths = quietly(partial(method.backtest, y, origins, steps))
        pairs = (
            None if paths is None else quietly(partial(backtest_pairs, paths, y, origins, steps))
        )
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

    final = quietly(partial(_final, methods, chosen, y, horizon))
    refit_failed = final is None and chosen in MODELS
    if refit_failed:
        chosen = best_baseline
        final = quietly(partial(_final, methods, chosen, y, horizon))
    if final is None:
        return _none(kpi, horizon, "no method could forecast these values", based_on)

    intervals = quietly(partial(judge_intervals, runs[chosen], scored[chosen], y, origins, steps))
    widen = (1.0, 1.0)
    held = None
    own80 = None
    if intervals is not None:
        own80, widen, held = intervals
        final = widened(final, *widen)
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
            nested_point(period, *(float(v) * scale + shift for v in values))
            for period, values in zip(periods, zip(*final, strict=True), strict=True)
        ),
        Backtest(len(origins), 1.0 if mase is None else mase, held, scores),
        note,
    )


def _usable(values: Array, shape: tuple[int, ...]) -> bool:
    import numpy as np

    return values.shape == shape and bool(np.isfinite(values).all())


def _final(methods: list[Method], name: str, y: Array, horizon: int) -> tuple[Array, ...]:
    method = next(m for m in methods if m.name == name)
    path = method.forecast(y, horizon)
    lo80, hi80 = path.band(Z80)
    lo95, hi95 = path.band(Z95)
    columns = (path.mean, lo80, hi80, lo95, hi95)
    if not all(_usable(c, (horizon,)) for c in columns):
        raise ValueError("non-finite forecast")
    return columns


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
