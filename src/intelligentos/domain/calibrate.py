"""Weights against history: the sensitivity a weighted roll-up edge's history suggests, beside
the one the catalog implies.

For a weighted edge (a weight or a sensitivity, not a formula) from a child to its parent:

* **aligned to the parent's frequency** (or the child's, when the child is measured less
  often: a monthly child has no change between two weeks): each KPI takes its last value in
  each period. Periods are days, Monday-to-Sunday weeks, or calendar months (a month dated
  on its first day or on its last is the same month);
* **changes**: for each two consecutive periods (no gap between them) where both KPIs have a
  value, the parent's change and the child's;
* **fit**: ordinary least squares of the parent's changes on the child's, with an intercept
  (a drift of the parent that the child does not explain): the slope is the sensitivity
  history suggests, in parent units per child unit, with its R², the number of changes and a
  95 % confidence interval (Student's t, n − 2 degrees of freedom). Fewer than
  :data:`MIN_CHANGES` changes, or a child that never changed, fit nothing.

The catalog implies the edge's ``sensitivity`` when it gives one; otherwise the weight
model's slope (:func:`implied_slope`). History *disagrees* with the catalog when the fit
explains at least :data:`TRUSTED_R2` of the parent's changes and the catalog's slope lies
outside the fitted interval.

Pure Python: no SQL, no Textual; SciPy is imported only to fit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from intelligentos.domain.catalog.models import Catalog, Direction, Frequency, Kpi, Unit
from intelligentos.domain.clock import period_date
from intelligentos.domain.formatting import plural
from intelligentos.domain.rollup import Edge, EdgeKind, edge_of

# Fewer paired changes than this fit nothing: with two parameters, eight changes leave six
# degrees of freedom, the fewest for which a 95 % interval is narrower than ±2.5 standard
# errors.
MIN_CHANGES = 8
# Below this R² the child explains too little of the parent's changes for its interval to
# judge the catalog by.
TRUSTED_R2 = 0.3
CONFIDENCE = 0.95

History = Sequence[tuple[str, float | None]]


@dataclass(frozen=True)
class Fit:
    slope: float  # parent units per child unit
    intercept: float  # the parent's change per period when the child's is zero
    r2: float
    changes: int  # paired period-to-period changes fitted
    low: float  # the slope's 95 % confidence interval
    high: float

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Calibration:
    """One weighted edge: what the catalog implies and what history suggests."""

    edge: Edge
    implied: float | None  # the catalog's slope (None: a band KPI without a value)
    implied_from: Literal["sensitivity", "weight"]
    fit: Fit | None
    reason: str  # why nothing was fitted ("" when something was)
    changes: int  # paired changes found (as many as were fitted, when fitted)
    frequency: Frequency  # the periods the changes are of

    @property
    def disagrees(self) -> bool:
        """History explains the parent well and puts the catalog's slope outside its
        interval."""
        fit = self.fit
        return (
            fit is not None
            and self.implied is not None
            and fit.r2 >= TRUSTED_R2
            and not fit.covers(self.implied)
        )


# --- the catalog's slope ---------------------------------------------------------------------


def _scale(target: float) -> float:
    # As :func:`intelligentos.domain.whatif.model.scale`: |target|, or 1 for a zero target.
    return abs(target) or 1.0


def _sign(kpi: Kpi, value: float | None) -> float | None:
    """How the KPI's value moves with its performance: +1 higher is better, -1 lower; a band
    KPI as the side of its target it is on (above or on it: -1, below: +1), None without a
    value."""
    if kpi.direction is Direction.HIGHER:
        return 1.0
    if kpi.direction is Direction.LOWER:
        return -1.0
    if value is None or kpi.target is None:
        return None
    return -1.0 if value >= kpi.target else 1.0


def implied_slope(
    edge: Edge, child: Kpi, parent: Kpi, current: Mapping[str, float | None]
) -> float | None:
    """The parent units one child unit moves under the catalog: the edge's sensitivity when it
    gives one, else the weight model's slope.

    Mirrors the weight model of :mod:`intelligentos.domain.whatif.model` (a child's change of
    performance moves its parent's by ``weight`` times it, performance being the value's
    distance from target in units of the target): Δparent = weight × Δchild × sign(child) ×
    sign(parent) × scale(parent) / scale(child). ``current`` gives a band KPI's side of its
    target; a band KPI without a value has no slope (None), and neither has a weighted edge to
    or from a tracked KPI (without a target, the weight model cannot measure it)."""
    if edge.sensitivity is not None:
        return edge.sensitivity
    if child.target is None or parent.target is None:
        return None
    child_sign = _sign(child, current.get(child.id))
    parent_sign = _sign(parent, current.get(parent.id))
    if child_sign is None or parent_sign is None:
        return None
    return edge.weight * child_sign * parent_sign * _scale(parent.target) / _scale(child.target)


# --- history ---------------------------------------------------------------------------------


def _bucket(period: str, frequency: Frequency) -> int:
    """The number of the period of ``frequency`` a period text falls in: consecutive periods
    have consecutive numbers (days; Monday-to-Sunday weeks; calendar months, so that a month
    dated on its first day and one dated on its last are the same month)."""
    day = period_date(period)
    if frequency is Frequency.DAILY:
        return day.toordinal()
    if frequency is Frequency.WEEKLY:
        return (day.toordinal() - day.weekday()) // 7
    return day.year * 12 + day.month - 1


def _last_values(history: History, frequency: Frequency) -> dict[int, float]:
    """Each period's last value (by period text), periods without one left out."""
    found: dict[int, float] = {}
    for period, value in sorted(history):
        if value is not None and math.isfinite(value):
            found[_bucket(period, frequency)] = value
    return found


def coarser(first: Frequency, second: Frequency) -> Frequency:
    return first if first.days >= second.days else second


def aligned_changes(
    parent: History, child: History, frequency: Frequency
) -> list[tuple[float, float]]:
    """(the child's change, the parent's change) for each two consecutive periods of
    ``frequency`` where both KPIs have a value, each KPI taking its last value in a period."""
    parents = _last_values(parent, frequency)
    children = _last_values(child, frequency)
    pairs = []
    for bucket in sorted(parents.keys() & children.keys()):
        before = bucket - 1
        if before in parents and before in children:
            pairs.append((children[bucket] - children[before], parents[bucket] - parents[before]))
    return pairs


def fit_changes(pairs: Sequence[tuple[float, float]]) -> Fit | str:
    """Least squares of the parent's changes on the child's (with an intercept), or why
    nothing can be fitted."""
    n = len(pairs)
    if n < MIN_CHANGES:
        return (
            f"only {plural(n, 'paired change')} in the history; calibrating needs at least "
            f"{MIN_CHANGES}"
        )
    xs = [x for x, _ in pairs]
    ys = [y for _, y in pairs]
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return "the child did not change over its history: nothing to fit a slope to"
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in pairs)
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    residual = sum((y - intercept - slope * x) ** 2 for x, y in pairs)
    total = sum((y - mean_y) ** 2 for y in ys)
    r2 = max(0.0, 1.0 - residual / total) if total > 0 else 0.0
    from scipy.special import stdtrit  # the t quantile; SciPy only when fitting

    error = math.sqrt(residual / (n - 2) / sxx)
    half = float(stdtrit(n - 2, 0.5 + CONFIDENCE / 2)) * error
    return Fit(slope, intercept, r2, n, slope - half, slope + half)


# --- the edges -------------------------------------------------------------------------------


def weighted_edges(catalog: Catalog, kpi_id: str | None = None) -> list[Edge]:
    """The catalog's weight and sensitivity edges, in catalog order; with ``kpi_id``, those
    from it to its parent and from its children to it."""
    edges = []
    for kpi in catalog.kpis.values():
        edge = edge_of(kpi, catalog)
        if edge is None or edge.kind is EdgeKind.FORMULA:
            continue
        if kpi_id is None or kpi_id in (edge.child, edge.parent):
            edges.append(edge)
    return edges


def latest(history: History) -> float | None:
    """The latest value of a history (oldest first), None when it has none."""
    return next((v for _, v in reversed(history) if v is not None and math.isfinite(v)), None)


def calibrate_edge(edge: Edge, catalog: Catalog, histories: Mapping[str, History]) -> Calibration:
    """One weighted edge against the history of its two KPIs (oldest first)."""
    child, parent = catalog.kpis[edge.child], catalog.kpis[edge.parent]
    current = {k: latest(histories.get(k, ())) for k in (child.id, parent.id)}
    implied = implied_slope(edge, child, parent, current)
    source: Literal["sensitivity", "weight"] = (
        "sensitivity" if edge.sensitivity is not None else "weight"
    )
    frequency = coarser(parent.frequency, child.frequency)
    pairs = aligned_changes(histories.get(parent.id, ()), histories.get(child.id, ()), frequency)
    fitted = fit_changes(pairs)
    if isinstance(fitted, str):
        return Calibration(edge, implied, source, None, fitted, len(pairs), frequency)
    return Calibration(edge, implied, source, fitted, "", fitted.changes, frequency)


def calibrate(
    catalog: Catalog, histories: Mapping[str, History], kpi_id: str | None = None
) -> list[Calibration]:
    """Every weighted edge (those of ``kpi_id``) against its KPIs' histories."""
    return [calibrate_edge(edge, catalog, histories) for edge in weighted_edges(catalog, kpi_id)]


# --- words ---------------------------------------------------------------------------------

_AMOUNT = {
    Unit.PERCENT: "pt",
    Unit.SCORE: "pt",
    Unit.MONTHS: "mo",
    Unit.DAYS: "d",
    Unit.HOURS: "h",
    Unit.RATIO: "×",
}
_PER = {
    Unit.PERCENT: "pt",
    Unit.SCORE: "pt",
    Unit.COUNT: "one",
    Unit.MONTHS: "month",
    Unit.DAYS: "day",
    Unit.HOURS: "hour",
    Unit.RATIO: "1×",
}
_PERIOD = {Frequency.DAILY: "daily", Frequency.WEEKLY: "weekly", Frequency.MONTHLY: "monthly"}
_SUFFIXES = ((1e9, "B"), (1e6, "M"), (1e3, "k"))


def _number(value: float) -> str:
    text = f"{value:+.1f}" if abs(value) >= 1 or value == 0 else f"{value:+.2g}"
    return text.replace("-", "−")


def amount_text(value: float, unit: Unit) -> str:
    """A signed amount of a unit: ``+21.0 pt``, ``−$1.2k``, ``+3.0``."""
    if unit is Unit.CURRENCY:
        sign = "−" if value < 0 else "+"
        magnitude = abs(value)
        for threshold, suffix in _SUFFIXES:
            if magnitude >= threshold:
                return f"{sign}${magnitude / threshold:.1f}{suffix}"
        return f"{sign}${magnitude:.2f}" if magnitude < 1 else f"{sign}${magnitude:.1f}"
    word = _AMOUNT.get(unit)
    return _number(value) + (f" {word}" if word else "")


def per_child(child: Kpi) -> tuple[float, str]:
    """The step of the child a slope is told per, and its words: one unit (``pt``, ``day``),
    or for money a step of the child's size (``$1k`` for a KPI in thousands, ``$1M`` in
    millions): a slope per dollar of ARR is too small to read."""
    if child.unit is not Unit.CURRENCY:
        return 1.0, _PER[child.unit]
    size = abs(child.target) if child.target is not None else 0.0
    for threshold, suffix in _SUFFIXES:
        if size >= threshold * 10:
            return threshold, f"$1{suffix}"
    return 1.0, "$1"


def slope_text(slope: float, parent: Kpi, child: Kpi, *, name_parent: bool = True) -> str:
    """``+21.0 pt of NRR per pt``: a slope in the parent's units per step of the child's."""
    step, per = per_child(child)
    of = f" of {parent.display_name}" if name_parent else ""
    return f"{amount_text(slope * step, parent.unit)}{of} per {per}"


def changes_text(calibration: Calibration) -> str:
    """``24 monthly changes``."""
    return plural(calibration.changes, f"{_PERIOD[calibration.frequency]} change")


def catalog_text(calibration: Calibration, parent: Kpi, child: Kpi) -> str:
    """``catalog 0.40 → +21.0 pt of NRR per pt`` (a weight) or ``catalog −1.0 pt of NRR per pt
    (sensitivity)``."""
    edge = calibration.edge
    if calibration.implied_from == "sensitivity":
        slope = slope_text(calibration.implied or 0.0, parent, child)
        return f"catalog {slope} (sensitivity)"
    if calibration.implied is None:
        return f"catalog {edge.weight:.2f} (a band KPI without a value has no slope)"
    return f"catalog {edge.weight:.2f} → {slope_text(calibration.implied, parent, child)}"


def history_text(calibration: Calibration, parent: Kpi, child: Kpi) -> str:
    """``history +1.1 pt per pt, R² 0.62, 24 monthly changes``, or why there is none."""
    fit = calibration.fit
    if fit is None:
        if calibration.changes < MIN_CHANGES:
            return f"history: not enough ({changes_text(calibration)}; {MIN_CHANGES} needed)"
        return f"history: no slope ({child.display_name} never changed)"
    slope = slope_text(fit.slope, parent, child, name_parent=False)
    return f"history {slope}, R² {fit.r2:.2f}, {changes_text(calibration)}"


def interval_text(fit: Fit, parent: Kpi, child: Kpi) -> str:
    """``+0.8 pt … +1.4 pt`` per step of the child (as :func:`slope_text`)."""
    step, _ = per_child(child)
    return (
        f"{amount_text(fit.low * step, parent.unit)} … {amount_text(fit.high * step, parent.unit)}"
    )


def disagreement_text(calibration: Calibration, parent: Kpi, child: Kpi) -> str:
    """The sentence of ``validate --history`` for an edge whose history disagrees."""
    fit = calibration.fit
    assert fit is not None and calibration.implied is not None
    implied = slope_text(calibration.implied, parent, child)
    suggested = slope_text(fit.slope, parent, child, name_parent=False)
    return (
        f"the catalog implies {implied} ({calibration.implied_from}), but history suggests "
        f"{suggested} (95 % interval {interval_text(fit, parent, child)}, R² {fit.r2:.2f}, "
        f"{changes_text(calibration)})"
    )
