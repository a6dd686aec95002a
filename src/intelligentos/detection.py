"""Deviation rules (SPEC.md §4) as pure functions over a KPI and its observations."""

from __future__ import annotations

import math
from enum import StrEnum

from intelligentos.catalog.models import Direction, Kpi


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    STALE = "stale"
    NO_DATA = "no-data"

    @property
    def glyph(self) -> str:
        # Shapes differ as well as colours, so status never relies on colour alone.
        return {
            "ok": "●",
            "warning": "▲",
            "critical": "■",
            "stale": "◌",
            "no-data": "·",
        }[self.value]

    @property
    def rank(self) -> int:
        return {"ok": 0, "no-data": 1, "stale": 2, "warning": 3, "critical": 4}[self.value]


def is_missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def shortfall(kpi: Kpi, value: float) -> float:
    """Adverse shortfall from target as a fraction of |target| (negative = better)."""
    scale = abs(kpi.target) or 1.0
    if kpi.direction is Direction.HIGHER:
        return (kpi.target - value) / scale
    if kpi.direction is Direction.LOWER:
        return (value - kpi.target) / scale
    return abs(value - kpi.target) / scale


def target_status(kpi: Kpi, value: float | None) -> Status:
    """Status of one value against the KPI's target band (warning/critical thresholds)."""
    if is_missing(value):
        return Status.NO_DATA
    gap = shortfall(kpi, value)
    if gap > kpi.critical:
        return Status.CRITICAL
    if gap > kpi.warning:
        return Status.WARNING
    return Status.OK
