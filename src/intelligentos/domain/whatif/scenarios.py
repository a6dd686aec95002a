"""Saved what-if scenarios: a name and the lever texts it applies, with who saved it and
when. What a scenario projects is :mod:`intelligentos.domain.whatif.model`'s job; this module only
says what a saved one is, and how typed lever text and names are read.

Pure Python: no SQL, no Textual.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from intelligentos.domain.whatif.levers import ScenarioError, parse_lever

NAME_MAX = 80  # characters: a name is a label, not a note

# Spaces around an operator or before a % belong to the lever (``win_rate += 3 %``); any
# other run of spaces or commas separates two levers.
_AROUND_OPERATOR = re.compile(r"\s*(\+=|-=|=)\s*")
_BEFORE_PERCENT = re.compile(r"\s+%")
_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class SavedScenario:
    """A scenario as kept in the store's ``scenarios`` table."""

    id: int
    name: str
    levers: tuple[str, ...]  # lever texts, e.g. ("win_rate+=3", "mql_to_sql=20")
    created_by: str
    created_at: str  # ISO-8601 UTC with Z
    note: str | None = None
    updated_by: str | None = None
    updated_at: str | None = None


def split_levers(text: str) -> list[str]:
    """Lever texts typed in one line, separated by spaces or commas:
    ``"win_rate += 3, mql_to_sql=20"`` → ``["win_rate+=3", "mql_to_sql=20"]``. Each piece
    is left for :func:`intelligentos.domain.whatif.model.parse_lever` to judge."""
    joined = _BEFORE_PERCENT.sub("%", _AROUND_OPERATOR.sub(r"\1", text))
    return [piece for piece in _SEPARATORS.split(joined) if piece]


def check_name(text: str) -> str:
    """A scenario's name as typed, trimmed; raises ValueError with a sentence when it
    cannot be one."""
    name = " ".join(text.split())
    if not name:
        raise ValueError("A scenario needs a name.")
    if len(name) > NAME_MAX:
        raise ValueError(f"A scenario's name has at most {NAME_MAX} characters.")
    if not name.isprintable():
        raise ValueError("A scenario's name cannot contain control characters.")
    return name


@dataclass(frozen=True)
class ScenarioChange:
    """A saved scenario created or updated within some span (a week, a quarter)."""

    name: str
    levers: tuple[str, ...]
    change: str  # "created" or "updated"
    by: str
    at: str
    note: str


def lever_kpis(scenario: SavedScenario) -> set[str]:
    """The KPIs a scenario's levers move (a lever that no longer parses moves none)."""
    ids = set()
    for text in scenario.levers:
        try:
            ids.add(parse_lever(text).kpi_id)
        except ScenarioError:
            continue
    return ids


def scenario_changes(
    scenarios: Iterable[SavedScenario],
    inside: Callable[[str | None], bool],
    scope: Collection[str] | None = None,
) -> tuple[ScenarioChange, ...]:
    """The scenarios created or last updated at a moment ``inside`` accepts (an update
    counts over the creation), moving a KPI of ``scope`` (None: any), oldest first."""
    changed = []
    for scenario in scenarios:
        updated = inside(scenario.updated_at)
        if not updated and not inside(scenario.created_at):
            continue
        if scope is not None and not lever_kpis(scenario).intersection(scope):
            continue
        changed.append(
            ScenarioChange(
                name=scenario.name,
                levers=scenario.levers,
                change="updated" if updated else "created",
                by=(scenario.updated_by or scenario.created_by) if updated else scenario.created_by,
                at=(scenario.updated_at or scenario.created_at) if updated else scenario.created_at,
                note=scenario.note or "",
            )
        )
    changed.sort(key=lambda s: (s.at, s.name))
    return tuple(changed)
