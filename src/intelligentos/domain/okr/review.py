"""An agent's performance review for a quarter: the figures, worked out from what the store
holds, and kept as plain data for the renderers.

* **Alerts:** those routed to the agent and opened in the quarter (up to the day reviewed).
  Time to acknowledge runs from opening to the first acknowledgement, time to resolve to the
  resolution, both read from the alert's event log (up to the as-of day). An alert not yet
  acknowledged (or resolved) is listed as such, left out of the median and the worst, and
  counted apart: an open wait has no length yet, and counting it as zero would flatter. An
  alert resolved without anyone acknowledging it (its condition cleared) counts as not
  acknowledged.
* **Forecast accuracy, out of sample:** each KPI is forecast from its values up to the day
  before the quarter started (never a value inside it) through the quarter's end, and that
  forecast is scored against the values inside the quarter: the MAE, the MASE as the
  forecasts measure it (that MAE over the MAE of the seasonal naive forecast from the same
  data, on the same periods: below 1 beats it) and the share of values inside the 80 %
  interval.

Pure Python: no SQL, no Textual, no I/O.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from intelligentos.domain.alerts import Alert, Event, State
from intelligentos.domain.catalog.models import Kpi
from intelligentos.domain.clock import parse_stamp, period_date
from intelligentos.domain.forecast import Forecast
from intelligentos.domain.okr.targets import TargetChange
from intelligentos.domain.quarters import Quarter
from intelligentos.domain.whatif.scenarios import ScenarioChange

Series = Sequence[tuple[str, float | None]]


# --- KPIs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiReview:
    """One KPI the agent owns: its quarter's target, where it started and stands, its grade
    and its values in the quarter (the trend)."""

    id: str
    name: str
    unit: str
    target: float
    target_text: str
    start: float | None
    start_text: str
    actual: float | None
    actual_text: str
    change_text: str  # actual against start, in the KPI's unit
    score: float | None
    colour: str | None
    sparkline: str
    values: tuple[tuple[str, float], ...]  # the start's period and value, then the quarter's
    reason: str = ""  # why there is no score


# --- alerts ------------------------------------------------------------------------------------


def _seconds(start: str, end: str) -> float:
    return (parse_stamp(end) - parse_stamp(start)).total_seconds()


@dataclass(frozen=True)
class AlertTiming:
    id: int | None
    subject: str
    kpi_id: str | None
    rule: str
    severity: str
    opened_at: str
    acknowledged_at: str | None  # the first acknowledgement, up to the day reviewed
    acknowledged_by: str | None
    resolved_at: str | None
    to_acknowledge: float | None  # seconds; None: not acknowledged
    to_resolve: float | None  # seconds; None: not resolved


def alert_timing(alert: Alert, events: Iterable[Event], subject: str, until: str) -> AlertTiming:
    """When ``alert`` was first acknowledged and resolved, from its ``events`` at or before
    ``until`` (a store timestamp or a day's upper bound)."""
    acked: Event | None = None
    resolved: Event | None = None
    for event in sorted((e for e in events if e.at <= until), key=lambda e: e.at):
        if acked is None and event.action == "acknowledge":
            acked = event
        if resolved is None and event.to_state is State.RESOLVED:
            resolved = event
    return AlertTiming(
        id=alert.id,
        subject=subject,
        kpi_id=alert.kpi_id,
        rule=alert.rule,
        severity=alert.severity.value,
        opened_at=alert.opened_at,
        acknowledged_at=acked.at if acked else None,
        acknowledged_by=acked.actor if acked else None,
        resolved_at=resolved.at if resolved else None,
        to_acknowledge=_seconds(alert.opened_at, acked.at) if acked else None,
        to_resolve=_seconds(alert.opened_at, resolved.at) if resolved else None,
    )


@dataclass(frozen=True)
class Waits:
    """Median and worst of the waits that ended, and how many had not."""

    measured: int
    pending: int  # not acknowledged (or not resolved) by the day reviewed
    median: float | None  # seconds
    worst: float | None


def waits(values: Iterable[float | None]) -> Waits:
    found = list(values)
    ended = [v for v in found if v is not None]
    return Waits(
        measured=len(ended),
        pending=len(found) - len(ended),
        median=statistics.median(ended) if ended else None,
        worst=max(ended) if ended else None,
    )


# --- forecast accuracy -------------------------------------------------------------------------


@dataclass(frozen=True)
class Accuracy:
    """A forecast made before the quarter, scored on the quarter's values."""

    kpi_id: str
    name: str
    model: str
    based_on: str | None  # the latest value the forecast was made from (before the quarter)
    compared: tuple[tuple[str, float, float], ...]  # (period, forecast mean, actual)
    mae: float | None
    mase: float | None  # MAE / seasonal naive's MAE on the same periods; None: not defined
    coverage80: float | None  # share of the actuals inside the 80 % interval
    reason: str = ""  # why there is no score


def out_of_sample(
    kpi: Kpi, forecast: Forecast, before: Series, quarter: Quarter, actuals: Series
) -> Accuracy:
    """Score ``forecast`` (made from ``before``, the values up to the quarter's start) on
    ``actuals``, the values inside ``quarter``. Values outside the quarter are ignored, so
    a forecast can never be scored on the data it was fitted to."""
    history = [v for _, v in before if v is not None]
    inside = {
        period_date(p): v
        for p, v in actuals
        if v is not None and quarter.start <= period_date(p) <= quarter.end
    }
    if not forecast.points:
        return Accuracy(
            kpi.id, kpi.name, forecast.model, forecast.based_on, (), None, None, None,
            forecast.note or "no forecast",
        )  # fmt: skip
    season = forecast.season or 1
    compared, naive_errors, inside80 = [], [], 0
    for step, point in enumerate(forecast.points):
        actual = inside.get(period_date(point.period))
        if actual is None:
            continue
        compared.append((point.period, point.mean, actual))
        if len(history) >= season:
            naive = history[len(history) - season + step % season]
            naive_errors.append(abs(actual - naive))
        inside80 += point.lo80 <= actual <= point.hi80
    if not compared:
        return Accuracy(
            kpi.id, kpi.name, forecast.model, forecast.based_on, (), None, None, None,
            f"no value in {quarter} to compare with yet",
        )  # fmt: skip
    mae = sum(abs(actual - mean) for _, mean, actual in compared) / len(compared)
    naive_mae = sum(naive_errors) / len(naive_errors) if naive_errors else 0.0
    mase = mae / naive_mae if naive_mae > 0 and len(naive_errors) == len(compared) else None
    return Accuracy(
        kpi.id,
        kpi.name,
        forecast.model,
        forecast.based_on,
        tuple(compared),
        mae,
        mase,
        inside80 / len(compared),
    )


# --- scenarios, target changes, recommendations ------------------------------------------------


@dataclass(frozen=True)
class OpenAction:
    """An off-target KPI of the agent's and what its plan asks of the levers the agent
    owns; ``problem`` when there is no plan."""

    kpi_id: str
    name: str
    value_text: str
    target_text: str
    actions: tuple[str, ...] = ()
    outcome: str = ""
    problem: str | None = None


# --- the review --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Review:
    quarter: Quarter
    as_of: date  # the day reviewed: the quarter's end, or earlier while it runs
    running: bool
    agent_id: str
    agent_name: str
    function: str | None
    kpis: tuple[KpiReview, ...]
    score: float | None  # the mean of its KPIs' scores
    alerts: tuple[AlertTiming, ...]
    to_acknowledge: Waits
    to_resolve: Waits
    accuracy: tuple[Accuracy, ...]
    scenarios: tuple[ScenarioChange, ...]
    target_changes: tuple[TargetChange, ...]
    actions: tuple[OpenAction, ...]

    @property
    def title(self) -> str:
        return f"Performance review: {self.agent_name}, {self.quarter}"
