"""What a scenario changes: levers typed as ``KPI_ID=VALUE``, ``KPI_ID+=D``, ``KPI_ID-=D`` or
``KPI_ID±=P%``, and the errors a scenario can raise.

Pure Python: no SQL, no Textual.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class ScenarioError(ValueError):
    """A lever, a goal or the catalog cannot be simulated; the message says why."""


class MissingValue(ScenarioError):
    """A lever, or a KPI on a lever's path, has no current value to start from."""


class Change(StrEnum):
    SET = "="
    ADD = "+="
    SUBTRACT = "-="


@dataclass(frozen=True)
class Lever:
    kpi_id: str
    change: Change
    amount: float
    relative: bool = False  # the amount is a percentage of the current value

    @property
    def text(self) -> str:
        number = repr(self.amount).removesuffix(".0")  # exact: the text parses back the same
        return f"{self.kpi_id}{self.change.value}{number}{'%' if self.relative else ''}"

    def apply(self, current: float) -> float:
        if self.change is Change.SET:
            return self.amount
        step = current * self.amount / 100 if self.relative else self.amount
        return current + step if self.change is Change.ADD else current - step


_LEVER = re.compile(
    r"^\s*(?P<kpi>[A-Za-z0-9_.\-]+?)\s*(?P<op>\+=|-=|=)\s*(?P<number>[^%\s]+)\s*(?P<pct>%?)\s*$"
)


def parse_lever(text: str) -> Lever:
    """``KPI_ID=VALUE``, ``KPI_ID+=D``, ``KPI_ID-=D``, ``KPI_ID+=P%`` or ``KPI_ID-=P%``."""
    match = _LEVER.match(text)
    if match is None:
        raise ScenarioError(
            f"cannot read lever {text!r}: write KPI_ID=VALUE, KPI_ID+=D, KPI_ID-=D or KPI_ID+=P%"
        )
    change = Change(match["op"])
    relative = bool(match["pct"])
    if relative and change is Change.SET:
        raise ScenarioError(f"lever {text!r}: a percentage applies to += or -= only")
    try:
        amount = float(match["number"])
    except ValueError:
        raise ScenarioError(f"lever {text!r}: {match['number']!r} is not a number") from None
    if not math.isfinite(amount):
        raise ScenarioError(f"lever {text!r}: the value must be a finite number")
    return Lever(match["kpi"], change, amount, relative)


def parse_levers(texts: Iterable[str]) -> list[Lever]:
    levers = [parse_lever(text) for text in texts]
    seen: set[str] = set()
    for lever in levers:
        if lever.kpi_id in seen:
            raise ScenarioError(f"KPI {lever.kpi_id!r} has more than one lever")
        seen.add(lever.kpi_id)
    return levers
