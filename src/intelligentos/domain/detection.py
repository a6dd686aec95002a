"""Deviation rules (target band, anomaly, drift, stale data, forecast early warning) as pure
functions over a KPI and its observations.

Each rule returns a :class:`Finding` when its condition holds, else ``None``. Missing values
(``None``/NaN) are ignored. Defaults can be overridden per KPI in the catalog
(``[kpi.<id>.detection]``). A tracked KPI (no target) is watched by the anomaly, drift
and stale rules only: the target band and the forecast early warning need a target.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from intelligentos.domain.catalog.models import Direction, Frequency, Kpi
from intelligentos.domain.clock import period_date
from intelligentos.domain.quarters import Quarter

if TYPE_CHECKING:
    from intelligentos.domain.forecast import Projection

ANOMALY_THRESHOLD = 3.5
ANOMALY_WINDOW = 12
DRIFT_BASELINE = 20
DRIFT_RECENT = 8
STALE_PERIODS = 2.0
MAD_SCALE = 0.6745
MEAN_AD_SCALE = 1.2533
D2 = 1.128  # average moving range of two points ÷ σ for a normal process


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    STALE = "stale"
    NO_DATA = "no-data"
    TRACKED = "tracked"  # a value, and no target to judge it against

    @property
    def glyph(self) -> str:
        # Shapes differ as well as colours, so status never relies on colour alone.
        return {
            "ok": "●",
            "warning": "▲",
            "critical": "■",
            "stale": "◌",
            "no-data": "·",
            "tracked": "◇",
        }[self.value]

    @property
    def rank(self) -> int:
        """Worse is higher. Tracked is the mildest: beside an OK KPI, the OK one speaks for
        a group; a group of tracked KPIs only is tracked."""
        return {"tracked": 0, "ok": 1, "no-data": 2, "stale": 3, "warning": 4, "critical": 5}[
            self.value
        ]


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "critical": 2}[self.value]


class Rule(StrEnum):
    TARGET = "target"
    ANOMALY = "anomaly"
    DRIFT = "drift"
    STALE = "stale"
    STALE_SOURCE = "stale-source"
    FORECAST = "forecast"


@dataclass(frozen=True)
class Finding:
    rule: Rule
    severity: Severity
    value: float | None
    expected: float | None
    deviation: float | None
    message: str
    period: str | None = None


Point = tuple[str, float | None]
PresentPoint = tuple[str, float]


def is_missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


_INFINITE = (math.inf, -math.inf)


class Clean(list[PresentPoint]):
    """Points already filtered by :func:`present` (so each rule need not filter again)."""


def present(points: Sequence[Point]) -> Clean:
    """Points with a finite value (``v == v`` is false only for NaN). Hot: keep it lean."""
    if type(points) is Clean:
        return points
    return Clean((p, v) for p, v in points if v is not None and v == v and v not in _INFINITE)


def adverse_sign(kpi: Kpi) -> int:
    """+1 if a rise is adverse, -1 if a fall is adverse, 0 if both are (a band)."""
    return {Direction.HIGHER: -1, Direction.LOWER: 1, Direction.BAND: 0}[kpi.direction]


def is_adverse(kpi: Kpi, delta: float) -> bool:
    sign = adverse_sign(kpi)
    return delta != 0 and (sign == 0 or (delta > 0) == (sign > 0))


# --- target band -------------------------------------------------------------------------


class NoTarget(ValueError):
    """A tracked KPI (no target) asked for something only a target defines."""


def target_of(kpi: Kpi) -> float:
    """The KPI's target; :class:`NoTarget` for a tracked KPI (callers check ``kpi.tracked``
    first: reaching this without a target is a bug, never a user's mistake)."""
    if kpi.target is None:
        raise NoTarget(f"KPI {kpi.id} is tracked: it has no target")
    return kpi.target


def shortfall(kpi: Kpi, value: float) -> float:
    """Adverse shortfall from target as a fraction of |target| (negative = better).

    A zero target uses an absolute scale of 1 so the rule stays defined. A tracked KPI has
    none (:class:`NoTarget`).
    """
    target = target_of(kpi)
    scale = abs(target) or 1.0
    if kpi.direction is Direction.HIGHER:
        return (target - value) / scale
    if kpi.direction is Direction.LOWER:
        return (value - target) / scale
    return abs(value - target) / scale


def target_status(kpi: Kpi, value: float | None) -> Status:
    """Status of one value against the KPI's target band (warning/critical thresholds);
    tracked for a KPI without a target."""
    # The explicit None test is what lets the type checker narrow ``value`` to a float.
    if value is None or is_missing(value):
        return Status.NO_DATA
    if kpi.tracked:
        return Status.TRACKED
    gap = shortfall(kpi, value)
    if gap > kpi.critical:
        return Status.CRITICAL
    if gap > kpi.warning:
        return Status.WARNING
    return Status.OK


def target_band(kpi: Kpi, points: Sequence[Point]) -> Finding | None:
    values = present(points)
    if not values or kpi.tracked:
        return None
    period, value = values[-1]
    gap = shortfall(kpi, value)
    if gap <= kpi.warning:
        return None
    severity = Severity.CRITICAL if gap > kpi.critical else Severity.WARNING
    return Finding(
        Rule.TARGET,
        severity,
        value,
        kpi.target,
        gap,
        f"{gap:.1%} adverse to target (warning {kpi.warning:.0%}, critical {kpi.critical:.0%})",
        period,
    )


def target_cleared(kpi: Kpi, points: Sequence[Point]) -> bool:
    """Hysteresis: a target alert resolves only within half the warning threshold (at
    once for a KPI whose target was removed)."""
    values = present(points)
    if kpi.tracked:
        return True
    return bool(values) and shortfall(kpi, values[-1][1]) <= kpi.warning / 2


# --- forecast early warning ---------------------------------------------------------------


def forecast_known(points: Sequence[Point], projection: Projection | None) -> bool:
    """Whether the forecast rule can judge: a forecast made from the latest observation.
    Without one (none yet, or newer data since), an open forecast alert is left as it is."""
    values = present(points)
    return projection is not None and bool(values) and projection.is_current(values[-1][0])


def projected_miss(
    kpi: Kpi,
    points: Sequence[Point],
    projection: Projection | None,
    later: Kpi | None = None,
) -> Finding | None:
    """A warning before the breach: the KPI is inside its warning band now, but a reliable
    forecast's 80 % interval at the horizon lies wholly beyond it on the adverse side.

    ``kpi`` is judged on the day of judgement, ``later`` (``kpi`` when not given) on the
    horizon's date: its value now against today's target, the forecast against the target
    in force when it lands, so a known change of target shows up before it starts."""
    values = present(points)
    if not values or kpi.tracked or projection is None or not projection.reliable:
        return None
    if not projection.is_current(values[-1][0]) or shortfall(kpi, values[-1][1]) > kpi.warning:
        return None
    later = later or kpi
    if later.tracked:
        return None
    low, high = projection.lo80, projection.hi80
    # Both ends beyond the band; for a band KPI also on the same side of target.
    beyond = min(shortfall(later, low), shortfall(later, high)) > later.warning
    target = target_of(later)
    if later.direction is Direction.BAND:
        beyond = beyond and (low - target) * (high - target) > 0
    if not beyond:
        return None
    if target == kpi.target:
        missed = "target"
    else:
        # The horizon falls where another target is in force: name it.
        quarter = Quarter.of(period_date(projection.period))
        missed = f"its {quarter} target of {target:.4g}"
    return Finding(
        Rule.FORECAST,
        Severity.WARNING,
        projection.mean,
        target,
        shortfall(later, projection.mean),
        f"projected to miss {missed} by {projection.period}: {projection.model} forecast "
        f"{projection.mean:.4g}, 80 % interval {low:.4g} to {high:.4g}, beyond the warning "
        f"band ({later.warning:.0%})",
        projection.period,
    )


def projection_cleared(kpi: Kpi, projection: Projection | None, later: Kpi | None = None) -> bool:
    """Hysteresis: a forecast alert resolves once the projected mean is back inside the
    warning band (not merely when one end of the interval crosses back), or when there is no
    reliable forecast any more. ``later``: ``kpi`` judged on the horizon's date."""
    later = later or kpi
    if later.tracked or projection is None or not projection.reliable:
        return True
    return shortfall(later, projection.mean) <= later.warning


# --- anomaly (Iglewicz–Hoaglin modified z-score) -------------------------------------


def robust_z(value: float, baseline: Sequence[float]) -> float:
    """Modified z-score of ``value`` against ``baseline``: 0.6745·(x − median)/MAD, or
    (x − median)/(1.2533·mean absolute deviation) when MAD is 0. A constant baseline gives
    ±inf for any other value and 0 for the same value."""
    median = statistics.median(baseline)
    deviation = value - median
    if deviation == 0:
        return 0.0
    mad = statistics.median(abs(v - median) for v in baseline)
    if mad > 0:
        return MAD_SCALE * deviation / mad
    mean_ad = statistics.fmean(abs(v - median) for v in baseline)
    if mean_ad > 0:
        return deviation / (MEAN_AD_SCALE * mean_ad)
    return math.copysign(math.inf, deviation)


def anomaly(kpi: Kpi, points: Sequence[Point]) -> Finding | None:
    overrides = kpi.detection
    window = overrides.anomaly_window if overrides.anomaly_window is not None else ANOMALY_WINDOW
    threshold = (
        overrides.anomaly_threshold
        if overrides.anomaly_threshold is not None
        else ANOMALY_THRESHOLD
    )
    values = present(points)
    if len(values) < 4:
        return None
    period, value = values[-1]
    baseline = [v for _, v in values[-window - 1 : -1]]
    z = robust_z(value, baseline)
    if abs(z) <= threshold:
        return None
    median = statistics.median(baseline)
    adverse = is_adverse(kpi, value - median)
    shown = "∞" if math.isinf(z) else f"{z:+.1f}"
    return Finding(
        Rule.ANOMALY,
        Severity.WARNING if adverse else Severity.INFO,
        value,
        median,
        z if math.isfinite(z) else None,
        f"robust z {shown} against the last {len(baseline)} periods "
        f"({'adverse' if adverse else 'favourable'})",
        period,
    )


# --- drift (Western Electric rules) --------------------------------------------------


def moving_range_sigma(values: Sequence[float]) -> float:
    ranges = [abs(b - a) for a, b in itertools.pairwise(values)]
    return statistics.fmean(ranges) / D2 if ranges else 0.0


def drift(kpi: Kpi, points: Sequence[Point]) -> Finding | None:
    """Western Electric rules on the latest points, against the baseline just before them.

    Only the adverse side counts (both sides for a band KPI): one point beyond 3σ
    (critical); two of three beyond 2σ, four of five beyond 1σ, or eight in a row on the
    adverse side of the centre line (warning).
    """
    size = kpi.detection.drift_baseline or DRIFT_BASELINE
    values = [v for _, v in present(points)]
    if len(values) < DRIFT_RECENT + 4:
        return None
    recent = values[-DRIFT_RECENT:]
    baseline = values[-DRIFT_RECENT - size : -DRIFT_RECENT]
    try:
        centre = statistics.fmean(baseline)
        sigma = moving_range_sigma(baseline)
    except OverflowError:  # values near the float limit: no meaningful control chart
        return None
    if sigma == 0 or not math.isfinite(sigma) or not math.isfinite(centre):
        return None
    sign = adverse_sign(kpi)

    def zones(point: float, side: int) -> float:
        """Distance from the centre in σ, positive on ``side`` (+1 above, -1 below)."""
        return (point - centre) / sigma * side

    # The adverse side; a band KPI has two, and each run must stay on one side.
    sides = (sign,) if sign != 0 else (1, -1)
    runs = [[zones(v, side) for v in recent] for side in sides]
    period = present(points)[-1][0]
    latest = recent[-1]

    def finding(severity: Severity, rule: str, distances: list[float]) -> Finding:
        return Finding(
            Rule.DRIFT,
            severity,
            latest,
            centre,
            distances[-1],
            f"{rule} (centre {centre:.4g}, σ {sigma:.3g})",
            period,
        )

    for distances in runs:
        if distances[-1] > 3:
            return finding(Severity.CRITICAL, "one point beyond 3σ", distances)
    for distances in runs:
        if sum(d > 2 for d in distances[-3:]) >= 2:
            return finding(Severity.WARNING, "two of three points beyond 2σ", distances)
        if sum(d > 1 for d in distances[-5:]) >= 4:
            return finding(Severity.WARNING, "four of five points beyond 1σ", distances)
        if sign != 0 and all(d > 0 for d in distances[-8:]):
            return finding(Severity.WARNING, "eight points in a row on the adverse side", distances)
    return None


# --- stale data ------------------------------------------------------------------------


def period_end(day: date, frequency: Frequency) -> date:
    """The last day of the period that a value dated ``day`` covers: the day itself, the
    Monday-to-Sunday week that holds it, or its calendar month. Periods are dated by their
    first day (a month by the 1st, a week by its Monday), but any day inside reads the same.
    """
    if frequency is Frequency.WEEKLY:
        return day + timedelta(days=6 - day.weekday())
    if frequency is Frequency.MONTHLY:
        following = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        return following - timedelta(days=1)
    return day


def age_days(
    points: Sequence[Point], today: date, frequency: Frequency = Frequency.DAILY
) -> int | None:
    """Days from the end of the period the latest value covers to ``today``: 0 while that
    period is still running (November's value on November 20th is current, not 19 days
    old), negative for a value dated after ``today``."""
    values = present(points)
    if not values:
        return None
    start = period_date(values[-1][0])
    if start > today:
        return (today - start).days
    return max(0, (today - period_end(start, frequency)).days)


def stale_limit_days(kpi: Kpi) -> float:
    return (kpi.detection.stale_periods or STALE_PERIODS) * kpi.frequency.days


def stale(kpi: Kpi, points: Sequence[Point], now: datetime | date) -> Finding | None:
    today = now.date() if isinstance(now, datetime) else now
    age = age_days(points, today, kpi.frequency)
    if age is None:
        return None
    limit = stale_limit_days(kpi)
    if age <= limit:
        return None
    last = present(points)[-1]
    return Finding(
        Rule.STALE,
        Severity.WARNING,
        last[1],
        None,
        float(age),
        f"no observation for {age} days after the period it covers ended (expected every "
        f"{kpi.frequency.days} d, limit {limit:g} d)",
        last[0],
    )


Check = Callable[[Kpi, Sequence[Point]], Finding | None]

RULES: dict[Rule, Check] = {
    Rule.TARGET: target_band,
    Rule.ANOMALY: anomaly,
    Rule.DRIFT: drift,
}


def evaluate_kpi(
    kpi: Kpi,
    points: Sequence[Point],
    now: datetime | date,
    projection: Projection | None = None,
    later: Kpi | None = None,
) -> dict[Rule, Finding]:
    """Every rule that fires for one KPI. A stale KPI is judged on staleness alone: its
    last value is old news, so value rules are not re-applied to it. ``kpi`` is judged on
    the day of judgement, ``later`` on its forecast horizon's date (see
    :func:`projected_miss`)."""
    points = present(points)  # once, so each rule scans an already clean list
    disabled = set(kpi.detection.disabled_rules)
    stale_finding = None if Rule.STALE in disabled else stale(kpi, points, now)
    if stale_finding:
        return {Rule.STALE: stale_finding}
    findings: dict[Rule, Finding] = {}
    for rule, check in RULES.items():
        if rule.value in disabled:
            continue
        finding = check(kpi, points)
        if finding is not None and finding.severity is not Severity.INFO:
            findings[rule] = finding
    if Rule.FORECAST not in disabled:
        early = projected_miss(kpi, points, projection, later)
        if early is not None:
            findings[Rule.FORECAST] = early
    return findings


def cleared(
    kpi: Kpi,
    rule: Rule,
    points: Sequence[Point],
    holds: bool,
    projection: Projection | None = None,
    later: Kpi | None = None,
) -> bool:
    """Whether an open alert of ``rule`` may resolve (hysteresis for the target band and
    the forecast; ``later``: ``kpi`` judged on the forecast horizon's date)."""
    if holds:
        return False
    if rule is Rule.TARGET:
        return target_cleared(kpi, points)
    if rule is Rule.FORECAST:
        values = present(points)
        if Rule.FORECAST in kpi.detection.disabled_rules or kpi.tracked:
            return True
        if values and shortfall(kpi, values[-1][1]) > kpi.warning:
            return True  # the breach came: the target rule's alert takes over
        if not forecast_known(points, projection):
            return False
        return projection_cleared(kpi, projection, later)
    return True


def stale_sources(
    kpis_by_system: dict[str, list[str]], stale_kpis: set[str], kpis_with_data: set[str]
) -> dict[str, list[str]]:
    """Systems whose every KPI (with any data) is stale, with those KPIs."""
    out: dict[str, list[str]] = {}
    for system, kpi_ids in kpis_by_system.items():
        fed = [k for k in kpi_ids if k in kpis_with_data]
        if fed and all(k in stale_kpis for k in fed):
            out[system] = fed
    return out
