"""Grading a quarter: each KPI's score from 0 to 1, and the means of agents and engines.

* **Higher or lower is better**: the progress made from the KPI's value at the quarter's
  start towards its target, ``(actual − start) / (target − start)``, clipped to 0…1. When the
  KPI already met its target at the start (no progress was asked), it scores 1 while it still
  meets it, and loses score with the shortfall: ``1 − shortfall / band``, the band being the
  warning fraction of |target| (0 at the warning threshold and beyond).
* **Band**: how well it was kept near its target, ``1 − |actual − target| / band``, clipped.

Scores are coloured as OKRs usually are: below 0.4 red, below 0.7 yellow, else green.

Pure Python: no SQL, no Textual, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from intelligentos.domain.catalog.models import Direction, Kpi


class Colour(StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


def colour(score: float) -> Colour:
    if score < 0.4:
        return Colour.RED
    if score < 0.7:
        return Colour.YELLOW
    return Colour.GREEN


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def score(kpi: Kpi, target: float, start: float, actual: float) -> float:
    """The KPI's grade for a quarter whose target was ``target``, from its value at the
    quarter's start to its value at the end (or now, while the quarter runs)."""
    band = kpi.warning * abs(target) or 1.0
    if kpi.direction is Direction.BAND:
        return _clip(1.0 - abs(actual - target) / band)
    sign = 1.0 if kpi.direction is Direction.HIGHER else -1.0
    asked = sign * (target - start)
    if asked <= 0:  # met at the start: hold it
        shortfall = max(0.0, sign * (target - actual))
        return _clip(1.0 - shortfall / band)
    return _clip(sign * (actual - start) / asked)


def mean(scores: Iterable[float]) -> float | None:
    found = list(scores)
    return sum(found) / len(found) if found else None
