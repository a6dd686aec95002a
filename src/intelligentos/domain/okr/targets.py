"""Targets as dated facts: a KPI's target can change at the start of a quarter.

A KPI's catalog ``target`` is its default; a quarterly target replaces it from the first day
of its quarter until a later quarter's target does. :func:`target_in_force` is the one rule
every judgement uses, so a KPI judged on a day (its status, its alerts, a forecast's early
warning, a what-if, an explanation, a brief, time travel) is judged against the target in
force that day.

Pure Python: no SQL, no Textual, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from intelligentos.domain.catalog.models import Catalog, Kpi
from intelligentos.domain.clock import period_date
from intelligentos.domain.quarters import Quarter


class TargetSource(StrEnum):
    CATALOG = "catalog"  # a quarterly target written in the catalog
    PROPOSAL = "proposal"  # accepted from `okr propose`
    HAND = "hand"  # set by hand (`okr accept --kpi ID=VALUE`)


@dataclass(frozen=True)
class QuarterTarget:
    """One KPI's target for one quarter, and where it came from."""

    kpi_id: str
    quarter: Quarter
    value: float
    source: TargetSource = TargetSource.CATALOG
    who: str = ""
    at: str = ""  # when it was set (UTC stamp)
    note: str = ""


@dataclass(frozen=True)
class TargetChange:
    """One change to a KPI's target for a quarter, as the store logs it: ``before`` None
    when the quarter had no target of its own, ``after`` None when its target was removed."""

    kpi_id: str
    quarter: Quarter
    before: float | None
    after: float | None
    source: TargetSource
    who: str
    at: str
    note: str = ""


def target_in_force(
    default: float | None, targets: Iterable[QuarterTarget], day: date
) -> float | None:
    """The target on ``day``: the latest quarter's target starting on or before it, else
    ``default`` (the catalog's ``target``; None for a tracked KPI)."""
    found: QuarterTarget | None = None
    for target in targets:
        if target.quarter.start <= day and (found is None or target.quarter > found.quarter):
            found = target
    return default if found is None else found.value


def next_change(targets: Iterable[QuarterTarget], day: date) -> QuarterTarget | None:
    """The first quarterly target that starts after ``day`` (what the selection card says
    is coming)."""
    later = [t for t in targets if t.quarter.start > day]
    return min(later, key=lambda t: t.quarter) if later else None


def quarter_targets(kpi: Kpi) -> list[QuarterTarget]:
    """The quarterly targets ``kpi`` carries (its catalog's ``targets``), in quarter order."""
    return sorted(
        (QuarterTarget(kpi.id, Quarter.parse(text), value) for text, value in kpi.targets.items()),
        key=lambda t: t.quarter,
    )


def target_on(kpi: Kpi, day: date) -> float | None:
    """``kpi``'s target on ``day``: its quarterly target in force then, else its default."""
    if not kpi.targets:
        return kpi.target
    return target_in_force(kpi.target, quarter_targets(kpi), day)


def kpi_on(kpi: Kpi, day: date) -> Kpi:
    """``kpi`` judged on ``day``: its ``target`` the one in force then (the same object when
    that is its default). Judge a KPI as read from the catalog, never one already judged on
    another day: a judged KPI no longer knows its default."""
    if not kpi.targets:
        return kpi
    target = target_on(kpi, day)
    return kpi if target == kpi.target else replace(kpi, target=target)


def kpi_in(kpi: Kpi, period: str) -> Kpi:
    """``kpi`` judged on ``period``'s date (an observation's or a forecast point's): a period
    is judged with the target in force on its own day, as time travel to that day would."""
    return kpi_on(kpi, period_date(period)) if kpi.targets else kpi


def judged_on(catalog: Catalog, day: date) -> Catalog:
    """``catalog`` with every KPI's ``target`` the one in force on ``day``: what judging a
    KPI on that day reads (status, alert rules, early warnings, what-if, explain, brief).

    The same catalog object when no target differs, so a catalog without quarterly targets
    costs nothing. Never write the result back to the store: its ``target`` is no longer the
    default. Judge the catalog as read, never one already judged on another day."""
    moved = {
        kpi_id: judged
        for kpi_id, kpi in catalog.kpis.items()
        if (judged := kpi_on(kpi, day)) is not kpi
    }
    if not moved:
        return catalog
    return replace(
        catalog, kpis={kpi_id: moved.get(kpi_id, kpi) for kpi_id, kpi in catalog.kpis.items()}
    )


def quarter_targets_of(catalog: Catalog, quarter: Quarter) -> dict[str, float | None]:
    """Every KPI's target for ``quarter`` as it stands: its own for the quarter, else the one
    in force from before (None for a tracked KPI)."""
    return {kpi_id: target_on(kpi, quarter.start) for kpi_id, kpi in catalog.kpis.items()}
