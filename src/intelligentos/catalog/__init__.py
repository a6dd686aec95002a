"""The KPI catalog: its models (frozen dataclasses), the TOML loader (which checks catalog
files with pydantic) and governance validation.

Pure Python: no SQL and no Textual here. The loader and governance are imported on first
use, so that importing the models (as the cockpit does) costs no more than the models.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from intelligentos.catalog.models import (
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
    from intelligentos.catalog.governance import Violation, validate_catalog
    from intelligentos.catalog.loader import (
        CatalogError,
        check_catalog,
        load_catalog,
        parse_catalog,
    )

_ON_FIRST_USE = {
    "Violation": "intelligentos.catalog.governance",
    "validate_catalog": "intelligentos.catalog.governance",
    "CatalogError": "intelligentos.catalog.loader",
    "check_catalog": "intelligentos.catalog.loader",
    "load_catalog": "intelligentos.catalog.loader",
    "parse_catalog": "intelligentos.catalog.loader",
}


def __getattr__(name: str) -> object:
    if name in _ON_FIRST_USE:
        return getattr(import_module(_ON_FIRST_USE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Agent",
    "Catalog",
    "CatalogError",
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
    "check_catalog",
    "load_catalog",
    "parse_catalog",
    "validate_catalog",
]
