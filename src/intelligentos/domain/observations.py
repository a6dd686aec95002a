"""One KPI value as it is recorded: which KPI, for which period, from which source."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Observation:
    kpi_id: str
    period: str
    value: float | None
    source: str | None = None
