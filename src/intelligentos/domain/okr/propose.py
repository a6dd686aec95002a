"""Targets proposed from forecasts: how likely a KPI is to hit a target at a quarter's end,
and the targets it hits with a chosen probability.

**The distribution at the quarter's end** comes from the stored forecast's point there: its
mean and its 80 % interval [lo, hi]. Each side of the mean is a normal scaled to its own half
of the interval: below the mean σ_lo = (mean − lo) / z, above it σ_hi = (hi − mean) / z, with
z = Φ⁻¹(0.9) ≈ 1.2816. So the mean is the median and the interval's ends are exactly the 10 %
and 90 % quantiles, whether the interval is symmetric or not (a log model's is not):

* P(X ≤ x) = Φ((x − mean) / σ_lo) below the mean, Φ((x − mean) / σ_hi) above it;
* the q-quantile is mean + Φ⁻¹(q) · σ (σ_lo for q < 0.5, σ_hi above).

**P(hit)** of a target T: higher is better P(X ≥ T); lower is better P(X ≤ T); a band KPI
P(|X − T| ≤ its warning band), the band being the warning fraction of |T|.

**Commit** is the value hit with probability :data:`COMMIT` (0.9): the 10 % quantile of a
higher-is-better KPI, the 90 % quantile of a lower-is-better one. **Stretch** is the value hit
with probability :data:`STRETCH` (0.35): the 65 % and 35 % quantiles. A band KPI keeps its
target: staying near it is the goal, and no quantile says "nearer".

Pure Python: no SQL, no Textual, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from intelligentos.domain.catalog.models import Direction, Frequency, Kpi
from intelligentos.domain.clock import period_date
from intelligentos.domain.forecast.periods import next_periods
from intelligentos.domain.forecast.results import Forecast, ForecastPoint
from intelligentos.domain.quarters import Quarter
from intelligentos.domain.whatif.propagation import clamp

COMMIT = 0.9
STRETCH = 0.35
_STANDARD = NormalDist()
Z80 = _STANDARD.inv_cdf(0.9)  # the 80 % interval's ends, in standard deviations


class ProposalError(ValueError):
    """A forecast that cannot give a distribution; the message says why."""


@dataclass(frozen=True)
class Outlook:
    """The forecast's distribution of a KPI's value at a quarter's end."""

    mean: float
    lo80: float
    hi80: float

    def __post_init__(self) -> None:
        values = (self.mean, self.lo80, self.hi80)
        if not all(math.isfinite(v) for v in values):
            raise ProposalError("the forecast's mean and interval must be finite numbers")
        if not self.lo80 <= self.mean <= self.hi80:
            raise ProposalError(
                f"the forecast's 80 % interval [{self.lo80:g}, {self.hi80:g}] does not hold "
                f"its mean {self.mean:g}"
            )

    @property
    def sigma_lo(self) -> float:
        return (self.mean - self.lo80) / Z80

    @property
    def sigma_hi(self) -> float:
        return (self.hi80 - self.mean) / Z80

    def cdf(self, value: float) -> float:
        """P(X ≤ value)."""
        if value == self.mean:
            return 0.5
        sigma = self.sigma_lo if value < self.mean else self.sigma_hi
        if sigma == 0:
            return 0.0 if value < self.mean else 1.0
        return _STANDARD.cdf((value - self.mean) / sigma)

    def quantile(self, probability: float) -> float:
        if not 0 < probability < 1:
            raise ProposalError(f"a probability must lie between 0 and 1, not {probability:g}")
        z = _STANDARD.inv_cdf(probability)
        return self.mean + z * (self.sigma_lo if z < 0 else self.sigma_hi)


def band_of(kpi: Kpi, target: float) -> float:
    """A band KPI's tolerance around ``target``: its warning fraction of |target|."""
    return kpi.warning * abs(target)


def p_hit(kpi: Kpi, outlook: Outlook, target: float) -> float:
    """The probability that the KPI meets ``target`` at the quarter's end."""
    if kpi.direction is Direction.HIGHER:
        return 1.0 - outlook.cdf(target)
    if kpi.direction is Direction.LOWER:
        return outlook.cdf(target)
    band = band_of(kpi, target)
    return outlook.cdf(target + band) - outlook.cdf(target - band)


def hit_with(kpi: Kpi, outlook: Outlook, probability: float) -> float | None:
    """The target the KPI meets with ``probability`` (None for a band KPI: it keeps its
    target). A quantile beyond what the KPI's unit allows (a percentage above 100 %, a
    negative duration) is capped there: no one can commit to 101 % satisfaction, and the
    capped target's own P(hit) says how likely it is."""
    if kpi.direction is Direction.HIGHER:
        return clamp(kpi, outlook.quantile(1.0 - probability))[0]
    if kpi.direction is Direction.LOWER:
        return clamp(kpi, outlook.quantile(probability))[0]
    return None


@dataclass(frozen=True)
class Proposal:
    kpi: Kpi
    current_target: float | None
    outlook: Outlook | None  # None: no reliable forecast reaches the quarter's end
    model: str | None
    reliable: bool
    reason: str = ""  # why there are no numbers
    commit_probability: float = COMMIT
    stretch_probability: float = STRETCH

    @property
    def p_hit_current(self) -> float | None:
        if self.outlook is None or self.current_target is None:
            return None
        return p_hit(self.kpi, self.outlook, self.current_target)

    @property
    def commit(self) -> float | None:
        if self.outlook is None:
            return None
        found = hit_with(self.kpi, self.outlook, self.commit_probability)
        return self.current_target if found is None else found

    @property
    def stretch(self) -> float | None:
        if self.outlook is None:
            return None
        found = hit_with(self.kpi, self.outlook, self.stretch_probability)
        return self.current_target if found is None else found

    @property
    def p_hit_commit(self) -> float | None:
        commit = self.commit
        return (
            None
            if commit is None or self.outlook is None
            else p_hit(self.kpi, self.outlook, commit)
        )

    @property
    def p_hit_stretch(self) -> float | None:
        stretch = self.stretch
        if stretch is None or self.outlook is None:
            return None
        return p_hit(self.kpi, self.outlook, stretch)


def point_at_end(
    points: Sequence[ForecastPoint], frequency: Frequency, quarter: Quarter
) -> ForecastPoint | None:
    """The forecast's point for the period holding the quarter's last day: the latest point
    dated on or before it, when the period after that point starts after it. None when the
    forecast stops short of the quarter's end (or starts after it)."""
    end = quarter.end
    last = next((p for p in reversed(points) if period_date(p.period) <= end), None)
    if last is None:
        return None
    following = next_periods(last.period, frequency, 1)
    return last if following and period_date(following[0]) > end else None


def outlook_of(
    kpi: Kpi, forecast: Forecast | None, quarter: Quarter, latest_period: str | None
) -> tuple[Outlook | None, str]:
    """The distribution at ``quarter``'s end from ``kpi``'s stored ``forecast``, or None and
    why there is none (no forecast, not reliable, older than the KPI's data, stopping short of
    the quarter's end, an interval without its mean)."""
    if forecast is None or not forecast.points:
        return None, "no stored forecast: run `intelligentos-tui forecast`"
    if not forecast.reliable:
        return None, f"its forecast is not reliable ({forecast.model}): {forecast.note}"
    if latest_period is not None and forecast.based_on != latest_period:
        return None, (
            f"its forecast was made from {forecast.based_on}, before its latest data "
            f"({latest_period}): forecast it again"
        )
    point = point_at_end(forecast.points, kpi.frequency, quarter)
    if point is None and period_date(forecast.points[0].period) > quarter.end:
        return None, (
            f"its data already reach the last period of {quarter} ({forecast.based_on}): "
            "nothing is left to forecast"
        )
    if point is None:
        ends = forecast.points[-1].period[:10]
        return None, (
            f"its forecast ends {ends}, before {quarter} ends ({quarter.end.isoformat()}): "
            f"forecast it further: `intelligentos-tui forecast --through {quarter}`"
        )
    try:
        return Outlook(point.mean, point.lo80, point.hi80), ""
    except ProposalError as error:
        return None, str(error)
