"""Models of the KPI catalog: the architecture as data.

Plain frozen dataclasses: building one converts and checks nothing, so the catalog costs
nothing to import and little to read back from the store (which only this product writes).
Catalog *files* are checked by :mod:`intelligentos.services.catalog`, with pydantic (imported
there, when a file is read), against the rules written here: the field types, ``Checked``
annotations and ``__pydantic_config__`` (no unknown keys).

Every entity remembers the catalog file it came from (``source``) so that governance
violations can name the file and key a person has to edit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

# A KPI's unit belongs to the catalog's model; it is defined below the catalog so that the
# formatting of values (which catalog messages use) needs no catalog.
from intelligentos.domain.units import Unit as Unit

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler
    from pydantic_core import CoreSchema


class Level(StrEnum):
    CEO = "ceo"
    FUNCTIONAL = "functional"
    LEADING = "leading"


class Direction(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"
    BAND = "band"


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"

    @property
    def days(self) -> int:
        return {"daily": 1, "weekly": 7, "monthly": 30}[self.value]


class Checked:
    """How the loader checks a value read from a catalog file, as in
    ``Annotated[float, Checked(strict=True, ge=0)]``: ``strict`` refuses a value of another
    type, ``ge``/``gt``/``le`` bound a number, ``min_length`` a text or a list, and ``after``
    is called with the valid value and the fields checked before it (it raises
    ``ValueError``). Building a model in code checks nothing."""

    # A plain class, not a dataclass: defining a dataclass costs import time.
    __slots__ = ("after", "ge", "gt", "le", "min_length", "strict")

    def __init__(
        self,
        *,
        strict: bool = False,
        ge: float | None = None,
        gt: float | None = None,
        le: float | None = None,
        min_length: int | None = None,
        after: Callable[[Any, Mapping[str, Any]], None] | None = None,
    ) -> None:
        self.strict = strict
        self.ge = ge
        self.gt = gt
        self.le = le
        self.min_length = min_length
        self.after = after

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        # Only ever called by the loader, which has imported pydantic already.
        import annotated_types
        from pydantic import Strict
        from pydantic_core import core_schema

        rules: list[object] = [Strict()] if self.strict else []
        if self.ge is not None:
            rules.append(annotated_types.Ge(self.ge))
        if self.gt is not None:
            rules.append(annotated_types.Gt(self.gt))
        if self.le is not None:
            rules.append(annotated_types.Le(self.le))
        if self.min_length is not None:
            rules.append(annotated_types.MinLen(self.min_length))
        schema = handler(Annotated[source, *rules]) if rules else handler(source)
        if self.after is None:
            return schema
        after = self.after

        def check(value: Any, info: core_schema.ValidationInfo) -> Any:
            after(value, info.data)
            return value

        return core_schema.with_info_after_validator_function(check, schema)


# Numbers must be written as numbers: `target = "28"` in a catalog is a mistake to report,
# not a string to convert (TOML has numbers; a quoted one usually hides a typo elsewhere).
# An integer is fine where a float is expected (`target = 28`).
Number = Annotated[float, Checked(strict=True)]
NonEmpty = Annotated[str, Checked(min_length=1)]  # not empty

# Catalog files may not hold keys the models do not know (a typo would go unnoticed).
_NO_UNKNOWN_KEYS: dict[str, str] = {"extra": "forbid"}


def _needs_target(threshold: float, earlier: Mapping[str, Any]) -> None:
    # ``target`` is absent from ``earlier`` when the file's target was refused (reported
    # already); None when the file gives none.
    if "target" in earlier and earlier["target"] is None:
        raise ValueError(
            "a threshold needs a target: a KPI without one is tracked, not judged "
            "(give a target, or remove warning and critical)"
        )


def _critical_not_below_warning(critical: float, earlier: Mapping[str, Any]) -> None:
    _needs_target(critical, earlier)
    warning = earlier.get("warning")  # absent when the file's warning was refused
    if warning is not None and critical < warning:
        raise ValueError("critical threshold must be at least the warning threshold")


def _quarters_parse(targets: Mapping[str, float], earlier: Mapping[str, Any]) -> None:
    from intelligentos.domain.quarters import Quarter, QuarterError

    if targets and "target" in earlier and earlier["target"] is None:
        raise ValueError(
            "quarterly targets need a target to fall back on outside their quarters "
            "(give a target, or remove the targets table)"
        )
    for quarter in targets:
        try:
            Quarter.parse(quarter)
        except QuarterError as error:
            raise ValueError(str(error)) from None


def _expression_parses(text: str, earlier: Mapping[str, Any]) -> None:
    from intelligentos.domain.formula import FormulaError, parse_formula

    try:
        parse_formula(text)
    except FormulaError as error:
        raise ValueError(str(error)) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Entity:
    """A top-level entity of the catalog: one ``[<kind>.<id>]`` table of a catalog file."""

    __pydantic_config__: ClassVar[dict[str, str]] = _NO_UNKNOWN_KEYS

    id: str
    source: str = ""  # catalog file this entity was read from


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectionOverrides:
    """Per-KPI overrides of the detection defaults (see :mod:`intelligentos.domain.detection`)."""

    __pydantic_config__: ClassVar[dict[str, str]] = _NO_UNKNOWN_KEYS

    anomaly_threshold: Number | None = None
    anomaly_window: Annotated[int, Checked(strict=True, ge=3)] | None = None
    drift_baseline: Annotated[int, Checked(strict=True, ge=4)] | None = None
    stale_periods: Annotated[float, Checked(strict=True, gt=0)] | None = None
    forecast_horizon: Annotated[int, Checked(strict=True, ge=1, le=366)] | None = None
    disabled_rules: tuple[str, ...] = ()

    def non_defaults(self) -> dict[str, Any]:
        """The overrides given, by field name in field order (the rest are the defaults)."""
        return {
            f.name: value
            for f in dataclass_fields(self)
            if (value := getattr(self, f.name)) != f.default
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class LineageLink:
    """One path from a KPI down to data: operational metric → workflow → step → fields."""

    __pydantic_config__: ClassVar[dict[str, str]] = _NO_UNKNOWN_KEYS

    metric: NonEmpty
    workflow: str
    step: str
    fields: Annotated[tuple[str, ...], Checked(min_length=1)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Kpi(_Entity):
    """A KPI: what is measured and how, its target and thresholds, the KPI it rolls up to,
    who owns it and its lineage down to data."""

    name: NonEmpty
    short_name: str = ""  # name for narrow columns
    level: Level
    unit: Unit
    direction: Direction
    # Without a target the KPI is tracked: shown, forecast and used in formulas, never judged
    # against a target (only the anomaly, drift and stale rules watch it).
    target: Number | None = None
    # Adverse shortfalls (fractions of the target) that warn and that are critical.
    warning: Annotated[float, Checked(strict=True, ge=0, after=_needs_target)] = 0.05
    critical: Annotated[float, Checked(strict=True, ge=0, after=_critical_not_below_warning)] = 0.10
    # Targets by quarter (``"2027Q1" = 30.0``): each replaces ``target`` from its quarter's
    # first day until a later quarter's does (:mod:`intelligentos.domain.okr.targets`).
    # Left out of the hash (a dict has none); equal KPIs still hash alike.
    targets: Annotated[dict[str, Number], Checked(after=_quarters_parse)] = field(
        default_factory=dict, hash=False
    )
    frequency: Frequency
    formula: NonEmpty
    engine: str
    owner_function: str | None = None
    owner_agent: str | None = None
    rolls_up_to: str | None = None
    weight: Annotated[float, Checked(strict=True, ge=0, le=1)] = 1.0
    # On the edge to ``rolls_up_to``: the parent's units one of this KPI's units moves ("one
    # point of churn is -1 point of NRR"). Without it a weighted edge is a scoring model.
    sensitivity: Number | None = None
    # An expression over other KPIs' ids (:mod:`intelligentos.domain.formula`): the KPI is
    # derived, its values computed from its inputs' and never imported.
    compute: Annotated[str, Checked(min_length=1, after=_expression_parses)] | None = None
    description: str = ""
    lineage: tuple[LineageLink, ...] = ()
    detection: DetectionOverrides = DetectionOverrides()

    @property
    def display_name(self) -> str:
        return self.short_name or self.name

    @property
    def derived(self) -> bool:
        return self.compute is not None

    @property
    def tracked(self) -> bool:
        """Whether the KPI has no target: it is watched, not judged."""
        return self.target is None


@dataclass(frozen=True, slots=True, kw_only=True)
class Engine(_Entity):
    """A KPI engine (growth, retention, ...): the functions that own it and the KPIs it rolls
    up to."""

    name: str
    description: str = ""
    owners: tuple[str, ...] = ()
    rollup_kpis: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Function(_Entity):
    """A business function and the agent that leads it."""

    name: str
    agent: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Agent(_Entity):
    """An agent: its function (none for the CEO agent), the KPIs it owns and supports, and
    its rules."""

    name: str
    function: str | None = None
    owns: tuple[str, ...] = ()
    supports: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Theme(_Entity):
    """A strategy theme."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Objective(_Entity):
    """An objective of a strategy theme and the KPIs that trace it."""

    name: str
    theme: str
    ceo_kpis: Annotated[tuple[str, ...], Checked(min_length=1)]
    functional_kpis: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One step of a workflow and the system it is done in."""

    __pydantic_config__: ClassVar[dict[str, str]] = _NO_UNKNOWN_KEYS

    id: str
    name: str
    system: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Workflow(_Entity):
    """A workflow of a function, step by step."""

    name: str
    owner_function: str
    description: str = ""
    steps: Annotated[tuple[Step, ...], Checked(min_length=1)]

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class System(_Entity):
    """A system of record and its data fields (``tables``: table -> field names)."""

    name: str
    kind: str = ""
    tables: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def field_ids(self) -> list[str]:
        return [f"{self.id}.{table}.{field}" for table, fs in self.tables.items() for field in fs]


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    """The whole architecture. Dicts are keyed by entity id, in file order."""

    kpis: dict[str, Kpi] = field(default_factory=dict)
    engines: dict[str, Engine] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    agents: dict[str, Agent] = field(default_factory=dict)
    themes: dict[str, Theme] = field(default_factory=dict)
    objectives: dict[str, Objective] = field(default_factory=dict)
    workflows: dict[str, Workflow] = field(default_factory=dict)
    systems: dict[str, System] = field(default_factory=dict)

    def ceo_kpis(self) -> list[Kpi]:
        return [k for k in self.kpis.values() if k.level is Level.CEO]

    def kpis_of_engine(self, engine_id: str) -> list[Kpi]:
        return [k for k in self.kpis.values() if k.engine == engine_id and k.level is not Level.CEO]

    def field_ids(self) -> set[str]:
        return {f for system in self.systems.values() for f in system.field_ids()}
