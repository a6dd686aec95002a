"""The values a KPI's unit can plausibly take: what an import accepts.

Wide on purpose. A value outside these bounds is not an unusual week but a unit mix-up, a
sign error or a corrupt export (``1e300`` dollars, ``-5`` months of runway, ``-3`` teams),
and one such value would mislead every view that shows it. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from intelligentos.domain.formatting import literal, plural
from intelligentos.domain.units import Unit


@dataclass(frozen=True)
class Gap:
    """A period a derived KPI has no value for although every input has one, and why."""

    kpi_id: str
    period: str
    reason: str

    def sentence(self) -> str:
        return f"{literal(self.kpi_id)} {literal(self.period)}: {literal(self.reason)}"


def gaps_sentence(gaps: tuple[Gap, ...], count: int) -> str | None:
    """``N periods of derived KPIs have no value: kpi period: why, ...`` (None: no gap)."""
    if not count:
        return None
    more = count - len(gaps)
    return (
        f"{plural(count, 'period')} of derived KPIs {'has' if count == 1 else 'have'} no value "
        "although every input has one: "
        + "; ".join(gap.sentence() for gap in gaps)
        + (f" and {more} more" if more > 0 else "")
    )


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


@dataclass(frozen=True)
class StrayRows:
    """Observation rows the importer would have refused, found in the store: written
    around it (sqlite-utils, a hand edit). The first few of each kind, and how many."""

    unknown_kpis: tuple[tuple[str, int], ...] = ()  # (KPI id not in the catalog, rows)
    bad_periods: tuple[tuple[str, str], ...] = ()  # (KPI id, period), the first few
    bad_period_count: int = 0
    implausible: tuple[tuple[str, str, float, str], ...] = ()  # (KPI, period, value, unit)
    implausible_count: int = 0
    future: tuple[tuple[str, str], ...] = ()  # (KPI id, period) dated after ``today``
    future_count: int = 0
    today: str = ""  # the day the future rows are judged against (ISO date)
    # Periods a derived KPI has no value for although every input has one (a zero divisor).
    undefined: tuple[Gap, ...] = ()
    undefined_count: int = 0

    def __bool__(self) -> bool:
        return bool(self.refused() or self.future_count or self.undefined_count)

    def refused(self) -> list[str]:
        """The sentences for the rows the importer would have refused."""
        found: list[str] = []
        if self.unknown_kpis:
            total = sum(n for _, n in self.unknown_kpis)
            named = ", ".join(f"{literal(k)} ({plural(n, 'row')})" for k, n in self.unknown_kpis)
            found.append(
                f"{plural(total, 'observation row')} for KPIs the catalog does not know: {named}"
            )
        if self.bad_period_count:
            named = ", ".join(f"{literal(k)} {literal(p)!r}" for k, p in self.bad_periods)
            more = self.bad_period_count - len(self.bad_periods)
            found.append(
                f"{plural(self.bad_period_count, 'observation row')} with a period that is not "
                f"an ISO-8601 date: {named}" + (f" and {more} more" if more > 0 else "")
            )
        if self.implausible_count:
            named = ", ".join(
                f"{literal(k)} {literal(p)} = {v:g} ({u})" for k, p, v, u in self.implausible
            )
            more = self.implausible_count - len(self.implausible)
            found.append(
                f"{plural(self.implausible_count, 'observation row')} with a value outside its "
                f"unit's plausible range: {named}" + (f" and {more} more" if more > 0 else "")
            )
        return found

    def dated_later(self) -> str | None:
        """The sentence for the rows dated after today, if any."""
        if not self.future_count:
            return None
        named = ", ".join(f"{literal(k)} {literal(p)}" for k, p in self.future)
        more = self.future_count - len(self.future)
        return (
            f"{plural(self.future_count, 'observation row')} dated after today "
            f"({self.today}), not counted as a latest value until that day: {named}"
            + (f" and {more} more" if more > 0 else "")
        )

    def sentences(self) -> list[str]:
        """One sentence per kind, naming the rows (user text made safe to show)."""
        later = self.dated_later()
        gaps = gaps_sentence(self.undefined, self.undefined_count)
        return self.refused() + ([later] if later else []) + ([gaps] if gaps else [])

    def message(self) -> str:
        """What is wrong and what to do, in one paragraph."""
        parts: list[str] = []
        refused = self.refused()
        if refused:
            parts.append(
                "; ".join(refused)
                + ". They were written around the importer, which would have refused them: "
                "correct or delete them (and import through `intelligentos-tui import`)."
            )
        later = self.dated_later()
        if later:
            parts.append(later + ": correct their period if it is a mistake.")
        gaps = gaps_sentence(self.undefined, self.undefined_count)
        if gaps:
            parts.append(gaps + ": correct the inputs if a zero there is a mistake.")
        return " ".join(parts)
