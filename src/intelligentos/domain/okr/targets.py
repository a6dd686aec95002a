"""Targets as dated facts: a KPI's target can change at the start of a quarter.

A KPI's catalog ``target`` is its default; a quarterly target replaces it from the first day
of its quarter until a later quarter's target does. :func:`target_in_force` is the one rule
every judgement uses, so a KPI judged on a day (its status, its alerts, a forecast's early
warning, a what-if, an explanation, a brief, time travel) is judged against the target in
force that day.

Pure Python: no SQL, no Textual, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from intelligentos.domain.okr.quarters import Quarter


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


def targets_by_kpi(targets: Iterable[QuarterTarget]) -> dict[str, list[QuarterTarget]]:
    """The targets grouped by KPI, each KPI's in quarter order."""
    grouped: dict[str, list[QuarterTarget]] = {}
    for target in sorted(targets, key=lambda t: (t.kpi_id, t.quarter)):
        grouped.setdefault(target.kpi_id, []).append(target)
    return grouped


def next_change(targets: Iterable[QuarterTarget], day: date) -> QuarterTarget | None:
    """The first quarterly target that starts after ``day`` (what the selection card says
    is coming)."""
    later = [t for t in targets if t.quarter.start > day]
    return min(later, key=lambda t: t.quarter) if later else None


def in_force(
    defaults: Mapping[str, float | None], targets: Iterable[QuarterTarget], day: date
) -> dict[str, float | None]:
    """Every KPI's target on ``day`` (``defaults``: each KPI's catalog target)."""
    grouped = targets_by_kpi(targets)
    return {
        kpi_id: target_in_force(default, grouped.get(kpi_id, ()), day)
        for kpi_id, default in defaults.items()
    }
