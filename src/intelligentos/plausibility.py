"""The values a KPI's unit can plausibly take: what an import accepts.

Wide on purpose. A value outside these bounds is not an unusual week but a unit mix-up, a
sign error or a corrupt export (``1e300`` dollars, ``-5`` months of runway, ``-3`` teams),
and one such value would mislead every view that shows it. Pure: no I/O.
"""

from __future__ import annotations

from intelligentos.catalog.models import Unit

YEARS_100_DAYS = 36_525.0

PLAUSIBLE: dict[Unit, tuple[float, float]] = {
    # Growth rates, margins and variances may be negative and pass 100 %, not by 100×.
    Unit.PERCENT: (-10_000.0, 10_000.0),
    # Net burn and variances may be negative; ten trillion is beyond any company.
    Unit.CURRENCY: (-1e13, 1e13),
    # Runway and payback cannot be negative; a century is the longest meaningful horizon.
    Unit.MONTHS: (0.0, 1_200.0),
    # Days may be negative (a milestone delivered early), up to a century either way.
    Unit.DAYS: (-YEARS_100_DAYS, YEARS_100_DAYS),
    Unit.HOURS: (0.0, YEARS_100_DAYS * 24),
    # NPS-like scores run −100…100; leave room for other scales, not for sign slips of 1e6.
    Unit.SCORE: (-1_000.0, 1_000.0),
    # Things counted (teams, tickets, mentions) are never negative.
    Unit.COUNT: (0.0, 1e12),
    # A return on investment may be negative; a coverage or multiple is never a million.
    Unit.RATIO: (-1e6, 1e6),
}


def plausible_bounds(unit: Unit | str) -> tuple[float, float]:
    return PLAUSIBLE[Unit(unit)]


def implausibility(value: float, unit: Unit | str, kpi_id: str = "") -> str | None:
    """Why ``value`` cannot be a value of this unit, echoing it; None when it can."""
    if unit not in PLAUSIBLE and unit not in {u.value for u in Unit}:
        return None  # a unit this version does not know: nothing to judge it by
    low, high = plausible_bounds(unit)
    if low <= value <= high:
        return None
    what = f"{kpi_id}, a {Unit(unit).value} KPI" if kpi_id else f"a {Unit(unit).value} KPI"
    return f"value {value:g} is implausible for {what} (plausible: {low:g} to {high:g})"
