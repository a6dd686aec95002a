"""Forecasts that reach a quarter's end: a proposal for a quarter needs each KPI's forecast to
cover the period holding the quarter's last day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from intelligentos.domain.catalog.models import Catalog, Kpi
from intelligentos.domain.clock import period_date, period_upper_bound
from intelligentos.domain.forecast.periods import horizon_through
from intelligentos.domain.okr.propose import point_at_end
from intelligentos.domain.quarters import Quarter
from intelligentos.store import Store


def short_of(store: Store, catalog: Catalog, quarter: Quarter) -> list[Kpi]:
    """The judged KPIs whose stored forecast is missing or ends before ``quarter`` ends. One
    that starts after it (its data already reach the quarter's last period) is not short:
    forecasting further would not help it."""
    judged = [k for k in catalog.kpis.values() if not k.tracked]
    # The point at the quarter's end and the last one are all it needs.
    found_at = store.forecasts_at(quarter.end, [k.id for k in judged])
    stored = {f.forecast.kpi_id: f.forecast for f in found_at}
    return [
        kpi
        for kpi in judged
        if (found := stored.get(kpi.id)) is None
        or not found.points
        or (
            point_at_end(found.points, kpi.frequency, quarter) is None
            and period_date(found.points[-1].period) <= quarter.end
        )
    ]


def forecast_through(
    store: Store,
    catalog: Catalog,
    quarter: Quarter,
    as_of: date,
    made_at: str,
    stop: Callable[[], bool] = lambda: False,
    *,
    background: bool = True,
) -> int:
    """Forecast every judged KPI whose stored forecast ends before ``quarter`` ends, from its
    history up to ``as_of``, far enough to reach it; save them. How many were saved
    (``stop()`` is asked between KPIs). ``background``: in other processes at a lower
    priority, as the cockpit forecasts."""
    from intelligentos.domain.forecast import MAX_HISTORY
    from intelligentos.services.forecast import ForecastJob, forecast_many

    jobs = []
    for kpi in short_of(store, catalog, quarter):
        history = tuple(store.history(kpi.id, MAX_HISTORY, until=period_upper_bound(as_of)))
        last = next((p for p, v in reversed(history) if v is not None), None)
        if last is None:
            continue  # no value to forecast from
        jobs.append(ForecastJob(kpi, history, horizon_through(kpi, quarter.end, as_of, last)))
    if not jobs or stop():
        return 0
    results = forecast_many(jobs, background=background)
    done = []
    try:
        for result in results:
            done.append(result)
            if stop():
                return 0
    finally:
        results.close()
    return store.save_forecasts(done, made_at)
