"""Pydantic models of the KPI catalog: the architecture as data.

Every entity remembers the catalog file it came from (``source``) so that governance
violations can name the file and key a person has to edit.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationInfo, field_validator


class Level(StrEnum):
    CEO = "ceo"
    FUNCTIONAL = "functional"
    LEADING = "leading"


class Direction(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"
    BAND = "band"


class Unit(StrEnum):
    PERCENT = "percent"
    CURRENCY = "currency"
    MONTHS = "months"
    DAYS = "days"
    HOURS = "hours"
    SCORE = "score"
    COUNT = "count"
    RATIO = "ratio"


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"

    @property
    def days(self) -> int:
        return {"daily": 1, "weekly": 7, "monthly": 30}[self.value]


class _Entity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    id: str
    source: str = Field(default="", description="catalog file this entity was read from")


# Numbers must be written as numbers: `target = "28"` in a catalog is a mistake to report,
# not a string to convert (TOML has numbers; a quoted one usually hides a typo elsewhere).
Number = Annotated[float, Strict()]
Whole = Annotated[int, Strict()]


class DetectionOverrides(BaseModel):
    """Per-KPI overrides of the detection defaults (see :mod:`intelligentos.detection`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    anomaly_threshold: Number | None = None
    anomaly_window: Whole | None = Field(default=None, ge=3)
    drift_baseline: Whole | None = Field(default=None, ge=4)
    stale_periods: Number | None = Field(default=None, gt=0)
    forecast_horizon: Whole | None = Field(default=None, ge=1, le=366)
    disabled_rules: tuple[str, ...] = ()


class LineageLink(BaseModel):
    """One path from a KPI down to data: operational metric → workflow → step → fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = Field(min_length=1)
    workflow: str
    step: str
    fields: tuple[str, ...] = Field(min_length=1)


class Kpi(_Entity):
    name: str = Field(min_length=1)
    short_name: str = Field(default="", description="name for narrow columns")
    level: Level
    unit: Unit
    direction: Direction
    target: Number
    warning: Number = Field(default=0.05, ge=0, description="adverse shortfall that warns")
    critical: Number = Field(default=0.10, ge=0, description="adverse shortfall that is critical")
    frequency: Frequency
    formula: str = Field(min_length=1)
    engine: str
    owner_function: str | None = None
    owner_agent: str | None = None
    rolls_up_to: str | None = None
    weight: Number = Field(default=1.0, ge=0, le=1)
    description: str = ""
    lineage: tuple[LineageLink, ...] = ()
    detection: DetectionOverrides = DetectionOverrides()

    @property
    def display_name(self) -> str:
        return self.short_name or self.name

    @field_validator("critical")
    @classmethod
    def _critical_not_below_warning(cls, critical: float, info: ValidationInfo) -> float:
        warning = info.data.get("warning")
        if warning is not None and critical < warning:
            raise ValueError("critical threshold must be at least the warning threshold")
        return critical


class Engine(_Entity):
    name: str
    description: str = ""
    owners: tuple[str, ...] = ()
    rollup_kpis: tuple[str, ...] = ()


class Function(_Entity):
    name: str
    agent: str


class Agent(_Entity):
    name: str
    function: str | None = None
    owns: tuple[str, ...] = ()
    supports: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()


class Theme(_Entity):
    name: str


class Objective(_Entity):
    name: str
    theme: str
    ceo_kpis: tuple[str, ...] = Field(min_length=1)
    functional_kpis: tuple[str, ...] = ()


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    system: str


class Workflow(_Entity):
    name: str
    owner_function: str
    description: str = ""
    steps: tuple[Step, ...] = Field(min_length=1)

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)


class System(_Entity):
    name: str
    kind: str = ""
    tables: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    def field_ids(self) -> list[str]:
        return [f"{self.id}.{table}.{field}" for table, fs in self.tables.items() for field in fs]


class Catalog(BaseModel):
    """The whole architecture. Dicts are keyed by entity id, in file order."""

    model_config = ConfigDict(frozen=True)

    kpis: dict[str, Kpi] = Field(default_factory=dict)
    engines: dict[str, Engine] = Field(default_factory=dict)
    functions: dict[str, Function] = Field(default_factory=dict)
    agents: dict[str, Agent] = Field(default_factory=dict)
    themes: dict[str, Theme] = Field(default_factory=dict)
    objectives: dict[str, Objective] = Field(default_factory=dict)
    workflows: dict[str, Workflow] = Field(default_factory=dict)
    systems: dict[str, System] = Field(default_factory=dict)

    def ceo_kpis(self) -> list[Kpi]:
        return [k for k in self.kpis.values() if k.level is Level.CEO]

    def kpis_of_engine(self, engine_id: str) -> list[Kpi]:
        return [k for k in self.kpis.values() if k.engine == engine_id and k.level is not Level.CEO]

    def field_ids(self) -> set[str]:
        return {f for system in self.systems.values() for f in system.field_ids()}
