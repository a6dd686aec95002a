"""Saved what-if scenarios: a name and the lever texts it applies, with who saved it and
when. What a scenario projects is :mod:`intelligentos.domain.whatif.model`'s job; this module only
says what a saved one is, and how typed lever text and names are read.

Pure Python: no SQL, no Textual.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
