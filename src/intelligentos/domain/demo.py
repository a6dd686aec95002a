"""Deterministic demo history: two years of plausible series per KPI, with planted deviations.

Pure: returns :class:`Observation` records; the store writes them. The same seed, catalog and
end date always give exactly the same rows (each KPI draws from its own seeded generator, so
adding a KPI does not shift the others' series).

Only measured KPIs get a generated series. A derived KPI's values are its expression over its
inputs' values (:mod:`intelligentos.domain.formula`), period by period, exactly as the store
computes them; a period where an input has no value, or the expression none (a division by
zero), has no value. A deviation planted in an input shows in the KPIs computed from it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from intelligentos.domain.catalog.models import Catalog, Direction, Frequency, Kpi, Unit
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.observations import Observation
from intelligentos.domain.rollup import derived_order, formula_of

DEFAULT_SEED = 20261127
HISTORY_DAYS = 730


@dataclass(frozen=True)
class Plant:
    """A deviation planted at the end of a KPI's series (or a source system's feeds)."""

    kind: str  # breach | warning | spike | drift | stale
    target: str  # KPI id, or system id for "stale"
    description: str


PLANTS: tuple[Plant, ...] = (
    Plant("breach", "win_rate", "Win rate falls far below target for the last four weeks"),
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


def _plant(kpi: Kpi, kind: str, series: list[tuple[date, float]]) -> list[tuple[date, float]]:
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
        set_shortfall(len(out) - 1, 2.5 * kpi.critical)
    elif kind == "drift":
        # Nine points in a row on the adverse side, inside the warning band: only a
        # drift rule sees it, not the target band.
        for offset in range(9):
            index = len(out) - 9 + offset
            set_shortfall(index, (0.25 + 0.04 * offset) * kpi.warning)
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
    values: dict[str, dict[str, float]] = {}
    for kpi in catalog.kpis.values():
        if kpi.derived:
            continue
        series = kpi_series(kpi, end, seed, days)
        if kpi.id in kpi_plants:
            series = _plant(kpi, kpi_plants[kpi.id], series)
        if stale_systems.intersection(graph.systems_of(kpi.id)):
            series = series[:-3]
        values[kpi.id] = {day.isoformat(): _clamp(kpi, value) for day, value in series}
    # Inputs first: a derived KPI may read another (NRR reads GRR). Its values are the
    # expression's, unrounded, so that they equal what the store computes from the inputs.
    for kpi_id in derived_order(catalog.kpis):
        values[kpi_id] = derived_values(catalog.kpis[kpi_id], values)
    for kpi in catalog.kpis.values():
        systems = graph.systems_of(kpi.id)
        source = systems[0] if systems else None
        for period, value in values[kpi.id].items():
            yield Observation(kpi.id, period, value, source)
