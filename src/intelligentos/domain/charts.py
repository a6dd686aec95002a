"""Charts as data: a one-line sparkline, and what the lineage screen's forecast chart shows
(target and threshold lines, axis ticks, the forecast's verdict in words).

Pure functions returning strings and numbers, so the cockpit renders them and tests read them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from intelligentos.domain.catalog.models import Direction, Kpi, Unit
from intelligentos.domain.clock import period_date
from intelligentos.domain.formatting import format_value

if TYPE_CHECKING:
    from intelligentos.domain.forecast import Forecast

BARS = "▁▂▃▄▅▆▇█"


def _present(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None and not math.isnan(v)]


def resample(values: Sequence[float | None], width: int) -> list[float | None]:
    """Average ``values`` into at most ``width`` buckets (keeps short series as they are)."""
    if width <= 0:
        return []
    if len(values) <= width:
        return list(values)
    out: list[float | None] = []
    for bucket in range(width):
        lo = bucket * len(values) // width
        hi = (bucket + 1) * len(values) // width
        chunk = _present(values[lo:hi])
        out.append(sum(chunk) / len(chunk) if chunk else None)
    return out


def sparkline(values: Sequence[float | None], width: int) -> str:
    """One line of block characters; gaps (missing values) show as spaces."""
    points = resample(values, width)
    present = _present(points)
    if not present:
        return " " * width
    low, high = min(present), max(present)
    span = high - low
    chars = []
    for value in points:
        if value is None or math.isnan(value):
            chars.append(" ")
        elif span == 0:
            chars.append(BARS[len(BARS) // 2])
        else:
            chars.append(BARS[round((value - low) / span * (len(BARS) - 1))])
    return "".join(chars).rjust(width)


# --- the forecast chart --------------------------------------------------------------------

NO_FORECAST = (
    "No forecast yet (run `intelligentos-tui forecast`, or wait for the cockpit to compute it)."
)


@dataclass(frozen=True)
class BandLine:
    """A horizontal line of the chart: the target, or where a threshold band starts."""

    kind: str  # "target", "warning" or "critical"
    value: float


def band_lines(kpi: Kpi) -> list[BandLine]:
    """The target and the warning and critical boundaries, as detection judges them: a
    threshold is an adverse shortfall as a share of |target| (a zero target uses a scale of
    1), below the target when higher is better, above when lower is, both sides for a band.
    No lines for a tracked KPI, which has no target."""
    target = kpi.target
    if target is None:
        return []
    scale = abs(target) or 1.0
    lines = [BandLine("target", target)]
    for kind, share in (("warning", kpi.warning), ("critical", kpi.critical)):
        if kpi.direction in (Direction.HIGHER, Direction.BAND):
            lines.append(BandLine(kind, target - share * scale))
        if kpi.direction in (Direction.LOWER, Direction.BAND):
            lines.append(BandLine(kind, target + share * scale))
    return lines


@dataclass(frozen=True)
class ValueAxis:
    """The y range to draw and its ticks, labelled in the KPI's unit."""

    low: float
    high: float
    ticks: tuple[float, ...]
    labels: tuple[str, ...]


_NICE = (1.0, 2.0, 2.5, 5.0, 10.0)


def value_axis(values: Sequence[float], unit: Unit | str, count: int = 5) -> ValueAxis:
    """A range covering ``values`` with at most about ``count`` round ticks (1, 2, 2.5 or 5
    times a power of ten apart), labelled with :func:`format_value`. Ticks whose label
    repeats the previous one (a unit's rounding) are left out."""
    finite = [v for v in values if math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if high == low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in _NICE if m * magnitude >= raw * (1 - 1e-9))
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    ticks: list[float] = []
    labels: list[str] = []
    for index in range(first, last + 1):
        tick = round(index * step, 12) + 0.0  # + 0.0: no "-0.0"
        label = format_value(tick, unit)
        if labels and label == labels[-1]:
            continue
        ticks.append(tick)
        labels.append(label)
    return ValueAxis(first * step, last * step, tuple(ticks), tuple(labels))


def date_ticks(periods: Sequence[str], count: int) -> list[str]:
    """At most ``count`` (at least 2) dates, evenly spread from the first period to the
    last, as YYYY-MM-DD."""
    days = [p[:10] for p in periods]
    if len(days) <= max(count, 2):
        return days
    count = max(count, 2)
    picked = [days[round(i * (len(days) - 1) / (count - 1))] for i in range(count)]
    return list(dict.fromkeys(picked))


@dataclass(frozen=True)
class Verdict:
    """A stored forecast's backtest verdict, projection and provenance, in words."""

    summary: str
    note: str = ""  # the backtest's verdict
    projection: str = ""
    provenance: str = ""
    outdated: bool = False  # made from data older than the latest observation


def _day(period: str | None) -> date | None:
    try:
        return period_date(period) if period else None
    except ValueError:
        return None


def forecast_verdict(
    forecast: Forecast | None, made_at: str | None, latest: str | None, unit: Unit | str
) -> Verdict:
    """What the chart says under it about the KPI's stored forecast. ``latest`` is the
    latest observation's period: a forecast based on older data is out of date."""
    if forecast is None:
        return Verdict(NO_FORECAST)
    made = f"made {made_at.replace('T', ' ').removesuffix('Z')} UTC" if made_at else "made"
    based, newest = _day(forecast.based_on), _day(latest)
    outdated = based is not None and newest is not None and based < newest
    if outdated:
        provenance = f"Out of date: {made} from data up to {forecast.based_on}; newer data since."
    elif forecast.based_on:
        provenance = f"{made[0].upper()}{made[1:]} from data up to {forecast.based_on}."
    else:
        provenance = f"{made[0].upper()}{made[1:]}."
    note = forecast.note.rstrip(".")
    if forecast.model == "none" or not forecast.points:
        return Verdict(f"No forecast: {note}.", "", "", provenance, outdated)
    from intelligentos.domain.forecast import LABELS  # with the chart, off the launch path

    label = LABELS.get(forecast.model, forecast.model)
    trust = "reliable" if forecast.reliable else "not reliable: baseline forecast"
    end = forecast.points[-1]
    projection = (
        f"By {end.period}: {format_value(end.mean, unit)} "
        f"(80 % interval {format_value(end.lo80, unit)} to {format_value(end.hi80, unit)})."
    )
    return Verdict(
        f"Forecast: {label}, {trust}.", f"Backtest: {note}.", projection, provenance, outdated
    )
