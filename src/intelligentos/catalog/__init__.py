"""The KPI catalog: pydantic models, the TOML loader and governance validation.

Pure Python: no SQL and no Textual here.
"""

from intelligentos.catalog.governance import Violation, validate_catalog
from intelligentos.catalog.loader import CatalogError, check_catalog, load_catalog, parse_catalog
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
