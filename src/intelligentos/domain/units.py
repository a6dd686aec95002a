"""The units a KPI's values are in: how they are formatted and which values are plausible."""

from __future__ import annotations

from enum import StrEnum


class Unit(StrEnum):
    PERCENT = "percent"
    CURRENCY = "currency"
    MONTHS = "months"
    DAYS = "days"
    HOURS = "hours"
    SCORE = "score"
    COUNT = "count"
    RATIO = "ratio"
