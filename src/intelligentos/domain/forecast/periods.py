"""The periods a forecast covers: the ones after the latest observation, and how many by
default (to the end of the quarter)."""

from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta

from intelligentos.domain.catalog.models import Frequency, Kpi
from intelligentos.domain.clock import period_date

# No default horizon runs past this many days (a KPI whose data stopped long ago would
# otherwise be forecast for years).
MAX_HORIZON_DAYS = 457


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


def horizon_through(kpi: Kpi, end: date, as_of: date, last: str | None = None) -> int:
    """The periods after the KPI's latest observation ``last`` (without one, after
    ``as_of``) up to the one holding ``end``, at least 1: a forecast of that horizon has a
    point for the period ``end`` falls in. Asked for explicitly (``forecast --through``),
    it ignores the KPI's ``forecast_horizon`` and the default's cap."""
    start = as_of
    if last is not None:
        try:
            start = period_date(last)
        except ValueError:
            start = as_of
    if end <= start:
        return 1
    # Enough periods to pass ``end`` (a month is at least 28 days), then those up to it.
    enough = (end - start).days // min(kpi.frequency.days, 28) + 1
    ahead = next_periods(start.isoformat(), kpi.frequency, enough)
    return max(1, sum(1 for p in ahead if date.fromisoformat(p) <= end))


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
