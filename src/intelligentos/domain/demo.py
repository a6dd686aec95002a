"""Deterministic demo history: two years of plausible series per KPI, with planted deviations.

Pure: returns :class:`Observation` records; the store writes them. The same seed, catalog and
end date always give exactly the same rows (each KPI draws from its own seeded generator, so
adding a KPI does not shift the others' series).

Only measured KPIs get a generated series. A derived KPI's values are its expression over its
inputs' values (:mod:`intelligentos.domain.formula`), period by period, exactly as the store
computes them; a period where an input has no value, or the expression none (a division by
zero), has no value. A deviation planted in an input shows in the KPIs computed from it.

A measured KPI that other KPIs roll up to moves with them, as the roll-up model says (see
:func:`drivers` and :func:`_driven`): its change between two periods is its children's
weighted changes plus a little noise of its own, so explaining it finds its children, and a
deviation planted below it shows in it too (the story: the sales cycle stretches this month,
win rate falls with it, and revenue growth with win rate).
"""

from __future__ import annotations

import itertools
import math
import random
import statistics
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from intelligentos.domain.catalog.models import Catalog, Direction, Frequency, Kpi, Unit
from intelligentos.domain.detection import period_end
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.observations import Observation
from intelligentos.domain.rollup import Edge, EdgeKind, edge_of, formula_of

DEFAULT_SEED = 20261127
HISTORY_DAYS = 730


@dataclass(frozen=True)
class Plant:
    """A deviation planted at the end of a KPI's series (or a source system's feeds)."""

    # breach | warning | spike | drift | stale, or slump | sag: a shortfall over the periods of
    # the current month, worsening to its latest (1.9 × critical, or just past critical), so
    # that the KPIs above it fall between the end of last month and today (last month, when
    # this month has no period of the KPI yet)
    kind: str
    target: str  # KPI id, or system id for "stale"
    description: str


PLANTS: tuple[Plant, ...] = (
    # The story a new user asks about: deals take far longer to close this month, so win rate
    # (which rolls up from the sales cycle) falls far below target, and revenue growth (which
    # rolls up from win rate) falls below its own: a cause the CRO agent owns.
    Plant("slump", "sales_cycle_length", "Deals take longer to close this month: win rate falls"),
    Plant("sag", "pipeline_coverage", "Pipeline coverage thins this month: new ARR falls"),
    Plant("warning", "turnover", "Turnover creeps above its target"),
    # MQL→SQL conversion is computed from the counts: sales accepting far fewer MQLs on the
    # latest day is what makes it collapse.
    Plant("spike", "sqls", "SQLs collapse on the latest day, and MQL→SQL conversion with them"),
    Plant("drift", "activation_rate", "Activation drifts down day after day"),
    Plant("breach", "gross_margin", "Gross margin misses its target for four months"),
    Plant("stale", "social_listening", "The social listening feed stopped delivering"),
)


def periods(frequency: Frequency, end: date, days: int = HISTORY_DAYS) -> list[date]:
    """Period start dates covering ``days`` before ``end``: days, Mondays or month starts."""
    start = end - timedelta(days=days - 1)
    if frequency is Frequency.DAILY:
        return [start + timedelta(days=i) for i in range(days)]
    if frequency is Frequency.WEEKLY:
        monday = end - timedelta(days=end.weekday())
        out = []
        while monday >= start:
            out.append(monday)
            monday -= timedelta(days=7)
        return out[::-1]
    out = []
    month = date(end.year, end.month, 1)
    while month >= start:
        out.append(month)
        month = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    return out[::-1]


# Where a tracked KPI's series (it has no target) runs, by unit: a level typical of a small
# company, so that its values read plausibly beside the others.
TRACKED_LEVEL = {
    Unit.PERCENT: 50.0,
    Unit.CURRENCY: 100_000.0,
    Unit.MONTHS: 12.0,
    Unit.DAYS: 30.0,
    Unit.HOURS: 24.0,
    Unit.SCORE: 50.0,
    Unit.COUNT: 100.0,
    Unit.RATIO: 1.0,
}


def _level(kpi: Kpi) -> float:
    """The level a KPI's series is drawn around: its target, or a tracked KPI's typical
    level."""
    return TRACKED_LEVEL[kpi.unit] if kpi.target is None else kpi.target


def _clamp(kpi: Kpi, value: float) -> float:
    if kpi.unit is Unit.PERCENT:
        # Most percentages are shares (≤ 100, uptime included); a KPI whose target is
        # above 100 % (NRR) is a ratio and may run above it.
        level = _level(kpi)
        value = min(max(value, 0.0), 2 * level if level > 100 else 100.0)
    elif kpi.unit is Unit.SCORE:
        value = min(max(value, -100.0), 100.0)
    else:
        value = max(value, 0.0)
    if kpi.unit is Unit.COUNT:
        return float(round(value))
    if kpi.unit is Unit.CURRENCY:
        return float(round(value))
    return round(value, 2)


def _adverse(kpi: Kpi) -> float:
    """+1 when a larger value is worse, -1 when a smaller value is worse."""
    return 1.0 if kpi.direction is Direction.LOWER else -1.0


def kpi_series(
    kpi: Kpi, end: date, seed: int, days: int = HISTORY_DAYS
) -> list[tuple[date, float]]:
    """A healthy series: improving trend, yearly (and weekly) seasonality, AR(1) noise. A
    tracked KPI has no target to improve towards: its series stays level."""
    rng = random.Random(f"{seed}:{kpi.id}")
    dates = periods(kpi.frequency, end, days)
    level = _level(kpi)
    scale = abs(level) or 1.0
    band = max(kpi.warning, 0.01) * scale
    adverse = _adverse(kpi)
    if kpi.direction is Direction.BAND or kpi.tracked:
        start_level = end_level = level
    else:
        start_level = level + adverse * 2.5 * band
        end_level = level - adverse * 0.5 * band
    phase = rng.uniform(0, 2 * math.pi)
    noise_sd = 0.22 * band
    noise = 0.0
    series = []
    for index, day in enumerate(dates):
        progress = index / max(len(dates) - 1, 1)
        level = start_level + (end_level - start_level) * progress
        season = 0.35 * band * math.sin(2 * math.pi * day.timetuple().tm_yday / 365.25 + phase)
        if kpi.frequency is Frequency.DAILY:
            season += 0.15 * band * math.sin(2 * math.pi * day.weekday() / 7)
        noise = 0.5 * noise + rng.gauss(0.0, noise_sd)
        series.append((day, level + season + noise))
    return series


def _plant(
    kpi: Kpi, kind: str, series: list[tuple[date, float]], end: date
) -> list[tuple[date, float]]:
    level = _level(kpi)
    scale = abs(level) or 1.0
    adverse = _adverse(kpi) if kpi.direction is not Direction.BAND else 1.0
    out = list(series)

    def set_shortfall(index: int, shortfall: float) -> None:
        # A short history (a monthly KPI over 30 days) has fewer points than the plant:
        # the plant keeps to the ones there are.
        if index >= 0:
            out[index] = (out[index][0], level + adverse * shortfall * scale)

    if kind == "breach":
        for offset, factor in enumerate((1.2, 1.5, 1.7, 1.9)):
            set_shortfall(len(out) - 4 + offset, factor * kpi.critical)
    elif kind == "warning":
        middle = (kpi.warning + kpi.critical) / 2
        for offset in range(3):
            set_shortfall(len(out) - 3 + offset, middle)
    elif kind == "spike":
        set_shortfall(len(out) - 1, 1.5 * kpi.critical)
    elif kind == "drift":
        # Nine points in a row on the adverse side, inside the warning band: only a
        # drift rule sees it, not the target band.
        for offset in range(9):
            index = len(out) - 9 + offset
            set_shortfall(index, (0.25 + 0.04 * offset) * kpi.warning)
    elif kind in ("slump", "sag") and out:
        # The periods dated after last month's end, or the latest alone when this month has
        # none yet (a weekly KPI before its first Monday).
        month_end = date(end.year, end.month, 1) - timedelta(days=1)
        first = next((i for i, (day, _) in enumerate(out) if day > month_end), len(out) - 1)
        count = len(out) - first
        worst = (1.9 if kind == "slump" else 1.05) * kpi.critical
        for offset in range(count):
            # Worsening by a tenth of the worst each period, to the worst at the latest.
            steps = count - 1 - offset
            set_shortfall(first + offset, max(0.6, 1.0 - 0.1 * steps) * worst)
    return out


def derived_values(kpi: Kpi, values: dict[str, dict[str, float]]) -> dict[str, float]:
    """A derived KPI's value for every period all its inputs have a value in (``values``: KPI
    id -> period -> value), leaving out the periods its expression has no value for."""
    formula = formula_of(kpi)
    assert formula is not None, f"{kpi.id} is not derived"
    if not formula.inputs:
        return {}
    by_input = [values.get(name, {}) for name in formula.inputs]
    shared = set(by_input[0]).intersection(*by_input[1:])
    out = {}
    for period in sorted(shared):
        value = formula.value_or_none({name: values[name][period] for name in formula.inputs})
        if value is not None:
            out[period] = value
    return out


# --- measured KPIs that roll up from others -----------------------------------------------

# How far a parent's series may move more than its own band before it follows its children
# only in part: a parent whose catalog weights would swing it far outside any plausible range
# (uptime weighs KPIs whose relative swings are a hundred times its own) keeps the rest as its
# own data, which an explanation then shows as the residual (a weighted edge's model error).
COUPLING = 2.5
# The parent's own noise, against its typical move from its children: what they never explain.
OWN_NOISE = 0.2
# The latest days are left out when the parent's level is fitted to its children, so that a
# deviation planted below it shows in it rather than being fitted away.
FIT_HOLDOUT_DAYS = 120


def _performance(kpi: Kpi, value: float) -> float:
    """Performance against target as the roll-up model measures it (the KPI has a target)."""
    assert kpi.target is not None
    size = abs(kpi.target) or 1.0
    if kpi.direction is Direction.HIGHER:
        return (value - kpi.target) / size
    if kpi.direction is Direction.LOWER:
        return (kpi.target - value) / size
    return -abs(value - kpi.target) / size


def drivers(catalog: Catalog) -> dict[str, list[tuple[Kpi, Edge]]]:
    """The measured KPIs whose series follow the KPIs rolling up to them, with those KPIs and
    their edges: a parent with a target, higher or lower is better (a band KPI's performance
    does not say which side of its target it is on), and a child with a target on a weighted
    edge (a tracked one cannot be weighed), or any child on a sensitivity."""
    found: dict[str, list[tuple[Kpi, Edge]]] = {}
    for child in catalog.kpis.values():
        edge = edge_of(child, catalog)
        if edge is None or edge.kind is EdgeKind.FORMULA:
            continue
        parent = catalog.kpis[edge.parent]
        if parent.derived or parent.target is None or parent.direction is Direction.BAND:
            continue
        if edge.kind is EdgeKind.WEIGHT and child.target is None:
            continue
        found.setdefault(parent.id, []).append((child, edge))
    return found


def _generation_order(catalog: Catalog, driven: Mapping[str, list[tuple[Kpi, Edge]]]) -> list[str]:
    """Every KPI, each after the KPIs its values are made from: a derived KPI's inputs, a
    driven KPI's children (catalog order otherwise). A loop through both (which the catalog
    rules leave possible) is broken where it closes: that KPI keeps its own series there."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 once placed

    def inputs(kpi_id: str) -> list[str]:
        formula = formula_of(catalog.kpis[kpi_id])
        if formula is not None:
            return [name for name in formula.inputs if name in catalog.kpis]
        return [child.id for child, _ in driven.get(kpi_id, ())]

    for root in catalog.kpis:
        if root in state:
            continue
        stack = [(root, iter(inputs(root)))]
        state[root] = 1
        while stack:
            kpi_id, pending = stack[-1]
            following = next(pending, None)
            if following is None:
                stack.pop()
                state[kpi_id] = 2
                order.append(kpi_id)
            elif following not in state:
                state[following] = 1
                stack.append((following, iter(inputs(following))))
    return order


def _read_at(points: Mapping[str, float], reads: Sequence[str]) -> list[float] | None:
    """A KPI's value as it stood on each day in ``reads`` (ISO, ascending): its latest on or
    before it, or its first before it has any."""
    keys = list(points)  # ascending: periods are written in order
    if not keys:
        return None
    return [points[keys[max(bisect_right(keys, day) - 1, 0)]] for day in reads]


def _fit_line(values: Sequence[float]) -> tuple[float, float]:
    """Least-squares intercept and slope of ``values`` against their index."""
    n = len(values)
    if n < 2:
        return (values[0] if values else 0.0), 0.0
    mean_x = (n - 1) / 2
    mean_y = math.fsum(values) / n
    sxx = math.fsum((i - mean_x) ** 2 for i in range(n))
    sxy = math.fsum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    slope = sxy / sxx
    return mean_y - slope * mean_x, slope


def _change_sd(values: Sequence[float]) -> float:
    changes = [b - a for a, b in itertools.pairwise(values)]
    return statistics.pstdev(changes) if len(changes) > 1 else 0.0


def _driven(
    kpi: Kpi,
    series: list[tuple[date, float]],
    children: Sequence[tuple[Kpi, Edge]],
    values: Mapping[str, Mapping[str, float]],
    end: date,
    seed: int,
) -> list[tuple[date, float]]:
    """``kpi``'s series moved by its children as the roll-up model says, read as an
    explanation reads them (each child's latest value on or before the end of the parent's
    period, never after ``end``): its performance is the sum of each weighted child's weight
    × performance and each sensitivity × value (in its performance), plus a level and trend
    fitted to its own healthy series (so that it keeps its place against its target) and its
    own small noise. Changes between two periods are then its children's, and the noise."""
    if not series:
        return series
    assert kpi.target is not None
    size = abs(kpi.target) or 1.0
    sign = 1.0 if kpi.direction is Direction.HIGHER else -1.0
    reads = [min(period_end(day, kpi.frequency), end).isoformat() for day, _ in series]
    drive = [0.0] * len(series)
    moved = False
    for child, edge in children:
        at = _read_at(values.get(child.id, {}), reads)
        if at is None:
            continue
        moved = True
        if edge.kind is EdgeKind.WEIGHT:
            parts = [edge.weight * _performance(child, x) for x in at]
        else:
            factor = (edge.sensitivity or 0.0) * sign / size
            parts = [factor * x for x in at]
        drive = [d + part for d, part in zip(drive, parts, strict=True)]
    if not moved:
        return series
    own = [_performance(kpi, value) for _, value in series]
    cutoff = (end - timedelta(days=FIT_HOLDOUT_DAYS)).isoformat()
    fitted = sum(1 for day in reads if day <= cutoff)
    fitted = fitted if fitted >= 3 else len(series)
    own_sd, drive_sd = _change_sd(own[:fitted]), _change_sd(drive[:fitted])
    if drive_sd == 0:
        return series
    coupling = min(1.0, COUPLING * own_sd / drive_sd) if own_sd > 0 else 1.0
    mixed = [coupling * d + (1 - coupling) * o for d, o in zip(drive, own, strict=True)]
    # Where the parent's own healthy series stands against its children's at the end of the
    # fitted periods: a constant, so that every change after it is its children's.
    intercept, slope = _fit_line([o - m for o, m in zip(own[:fitted], mixed, strict=False)])
    offset = intercept + slope * (fitted - 1)
    rng = random.Random(f"{seed}:{kpi.id}:own")
    noise_sd = OWN_NOISE * _change_sd(mixed[:fitted])
    out = []
    for (day, _), value in zip(series, mixed, strict=True):
        p = value + offset + rng.gauss(0.0, noise_sd)
        out.append((day, kpi.target + sign * p * size))
    return out


def demo_observations(
    catalog: Catalog,
    end: date,
    seed: int = DEFAULT_SEED,
    plants: tuple[Plant, ...] = PLANTS,
    days: int = HISTORY_DAYS,
) -> Iterator[Observation]:
    graph = LineageGraph(catalog)
    stale_systems = {p.target for p in plants if p.kind == "stale"}
    kpi_plants = {p.target: p.kind for p in plants if p.kind != "stale"}
    driven = drivers(catalog)
    values: dict[str, dict[str, float]] = {}
    # Inputs first: a derived KPI may read another (NRR reads GRR), and a measured KPI that
    # rolls up from others moves with them. A derived KPI's values are the expression's,
    # unrounded, so that they equal what the store computes from the inputs.
    for kpi_id in _generation_order(catalog, driven):
        kpi = catalog.kpis[kpi_id]
        if kpi.derived:
            values[kpi_id] = derived_values(kpi, values)
            continue
        series = kpi_series(kpi, end, seed, days)
        if kpi_id in driven:
            series = _driven(kpi, series, driven[kpi_id], values, end, seed)
        if kpi_id in kpi_plants:
            series = _plant(kpi, kpi_plants[kpi_id], series, end)
        if stale_systems.intersection(graph.systems_of(kpi_id)):
            series = series[:-3]
        values[kpi_id] = {day.isoformat(): _clamp(kpi, value) for day, value in series}
    for kpi in catalog.kpis.values():
        systems = graph.systems_of(kpi.id)
        source = systems[0] if systems else None
        for period, value in values[kpi.id].items():
            yield Observation(kpi.id, period, value, source)
