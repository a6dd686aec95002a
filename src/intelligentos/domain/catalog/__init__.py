"""The KPI catalog: its models (frozen dataclasses) and governance validation.

Pure Python: no SQL, no Textual, no I/O. Governance is imported on first
use, so that importing the models (as the cockpit does) costs no more than the models.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from intelligentos.domain.catalog.models import (
    Agent,
    Catalog,
    Direction,
    Engine,
    Frequency,
    Function,
    Kpi,
    Level,
    LineageLink,
    Objective,
    Step,
    System,
    Theme,
    Unit,
    Workflow,
)

if TYPE_CHECKING:
    from intelligentos.domain.catalog.governance import Violation, validate_catalog

_ON_FIRST_USE = {
    "Violation": "intelligentos.domain.catalog.governance",
    "validate_catalog": "intelligentos.domain.catalog.governance",
}


def __getattr__(name: str) -> object:
    if name in _ON_FIRST_USE:
        return getattr(import_module(_ON_FIRST_USE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Agent",
    "Catalog",
    "Direction",
    "Engine",
    "Frequency",
    "Function",
    "Kpi",
    "Level",
    "LineageLink",
    "Objective",
    "Step",
    "System",
    "Theme",
    "Unit",
    "Violation",
    "Workflow",
    "validate_catalog",
]
