"""The catalog as rows of the store's tables, and back: one mapping serves both directions;
and the catalog's queries.

Each top-level entity (KPI, engine, agent, ...) is one row of its table. Columns carry the
model's field names, except where a column names what it references (``agent_id`` for
``Function.agent``); enums are their values and lists are JSON arrays. Three child tables
hold what is nested in the models: ``steps`` (a workflow's steps), ``fields`` (a system's
tables and fields) and ``lineage`` (a KPI's lineage links, one row per data field).

Rows become models as they are, unchecked (only this product writes the store): enums from
their values, tuples from JSON arrays, nested models built field by field.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from functools import cached_property
from typing import Any, cast

from intelligentos.domain.catalog.models import (
    Agent,
    Catalog,
    DetectionOverrides,
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
    _Entity,
)
from intelligentos.domain.rollup import formula_of
from intelligentos.store.connection import Row, StoreConnections
from intelligentos.store.schema import (
    BUMP_CATALOG_VERSION,
    CATALOG_TABLES,
    CREATE_DERIVED_TRIGGERS,
    DELETE_CATALOG_TABLE,
    DROP_DERIVED_TRIGGERS,
    INSERT_TARGET_CHANGE,
    SELECT_CATALOG_TABLE,
    SELECT_KPI_TARGETS,
    UPSERT_KPI_TARGET,
)


@dataclass(frozen=True)
class Codec:
    """How a column holds a field: ``encode`` turns the field's value into the column's,
    ``decode`` turns it back."""

    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


def _enum_codec(kind: type[Enum]) -> Codec:
    by_value = {member.value: member for member in kind}
    return Codec(lambda member: member.value, by_value.__getitem__)


def _list_json(values: tuple[str, ...]) -> str:
    return json.dumps(list(values))


def _tuple_from_json(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text)) if text else ()


def _json_value(value: object) -> object:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None  # as stores have always held it
    return value


def _overrides_json(overrides: DetectionOverrides) -> str:
    """Only the overrides a KPI sets, so that a store stays readable when defaults change
    (compact JSON, as stores have always held it)."""
    given = {name: _json_value(value) for name, value in overrides.non_defaults().items()}
    return json.dumps(given, separators=(",", ":"), ensure_ascii=False)


_NO_OVERRIDES = DetectionOverrides()


def _overrides_from_json(text: str) -> DetectionOverrides:
    given = json.loads(text) if text and text != "{}" else None  # "{}": most KPIs
    if not given:
        return _NO_OVERRIDES
    if given.get("disabled_rules") is not None:
        given["disabled_rules"] = tuple(given["disabled_rules"])
    return DetectionOverrides(**given)


_LIST = Codec(_list_json, _tuple_from_json)
_NOTHING: Mapping[str, Any] = {}


@dataclass(frozen=True)
class EntityTable:
    """How one catalog section (``Catalog.<section>``) maps to one table."""

    section: str
    model: type[_Entity]
    renamed: Mapping[str, str] = field(default_factory=dict)  # model field -> column
    codecs: Mapping[str, Codec] = field(default_factory=dict)  # by column
    nested: tuple[str, ...] = ()  # model fields kept in a child table

    @property
    def table(self) -> str:
        return self.section

    @cached_property
    def _columns(self) -> tuple[tuple[str, str, Codec | None], ...]:
        """(model field, column, codec) of every field the table's own columns hold."""
        return tuple(
            (item.name, column, self.codecs.get(column))
            for item in fields(self.model)
            if item.name not in self.nested
            for column in [self.renamed.get(item.name, item.name)]
        )

    @cached_property
    def _decoders(self) -> tuple[tuple[str, str, Callable[[Any], Any] | None], ...]:
        """(column, model field, decoder) of every column the table's own row holds."""
        return tuple(
            (column, name, None if codec is None else codec.decode)
            for name, column, codec in self._columns
        )

    def to_row(self, entity: _Entity, position: int) -> Row:
        row: Row = {}
        for name, column, codec in self._columns:
            value = getattr(entity, name)
            row[column] = value if codec is None else codec.encode(value)
        row["position"] = position
        return row

    def from_row(self, row: Mapping[str, Any], nested: Mapping[str, Any] = _NOTHING) -> _Entity:
        """The entity of ``row``; ``nested`` holds the fields kept in child tables."""
        values: Row = {}
        for column, name, decode in self._decoders:
            value = row[column]
            if value is not None:  # NULL means "not given": the model's default applies
                values[name] = value if decode is None else decode(value)
        return self.model(**values, **nested)


ENTITY_TABLES = (
    EntityTable("engines", Engine, codecs={"owners": _LIST, "rollup_kpis": _LIST}),
    EntityTable("functions", Function, renamed={"agent": "agent_id"}),
    EntityTable(
        "agents",
        Agent,
        renamed={"function": "function_id"},
        codecs={"owns": _LIST, "supports": _LIST, "rules": _LIST},
    ),
    EntityTable("themes", Theme),
    EntityTable(
        "objectives",
        Objective,
        renamed={"theme": "theme_id"},
        codecs={"ceo_kpis": _LIST, "functional_kpis": _LIST},
    ),
    EntityTable("systems", System, nested=("tables",)),
    EntityTable(
        "workflows", Workflow, renamed={"owner_function": "owner_function_id"}, nested=("steps",)
    ),
    EntityTable(
        "kpis",
        Kpi,
        renamed={
            "engine": "engine_id",
            "owner_function": "owner_function_id",
            "owner_agent": "owner_agent_id",
        },
        codecs={
            "level": _enum_codec(Level),
            "unit": _enum_codec(Unit),
            "direction": _enum_codec(Direction),
            "frequency": _enum_codec(Frequency),
            "detection": Codec(_overrides_json, _overrides_from_json),
        },
        nested=("lineage", "targets"),
    ),
)


def catalog_to_rows(catalog: Catalog) -> dict[str, list[Row]]:
    """Every table's rows for ``catalog``, parents before children."""
    tables: dict[str, list[Row]] = {}
    for spec in ENTITY_TABLES:
        entities: Mapping[str, _Entity] = getattr(catalog, spec.section)
        tables[spec.table] = [spec.to_row(e, i) for i, e in enumerate(entities.values())]
    tables["fields"] = [
        {
            "id": field_id,
            "system_id": field_id.split(".", 1)[0],
            "table_name": field_id.split(".")[1],
            "field_name": field_id.split(".", 2)[2],
            "position": position,
        }
        for position, field_id in enumerate(
            f for system in catalog.systems.values() for f in system.field_ids()
        )
    ]
    tables["steps"] = [
        {
            "id": f"{workflow.id}.{step.id}",
            "workflow_id": workflow.id,
            "step_id": step.id,
            "name": step.name,
            "system_id": step.system,
            "position": position,
        }
        for workflow in catalog.workflows.values()
        for position, step in enumerate(workflow.steps)
    ]
    tables["lineage"] = [
        {
            "kpi_id": kpi.id,
            "link": link_index,
            "metric": link.metric,
            "workflow_id": link.workflow,
            "step_id": link.step,
            "field_id": field_id,
            "position": position,
        }
        for kpi in catalog.kpis.values()
        for link_index, link in enumerate(kpi.lineage)
        for position, field_id in enumerate(link.fields)
    ]
    tables["kpi_targets"] = [
        {
            "kpi_id": kpi.id,
            "quarter": quarter,
            "value": value,
            "source": "catalog",
            "who": "",
            "at": "",
            "note": "",
        }
        for kpi in catalog.kpis.values()
        for quarter, value in sorted(kpi.targets.items())
    ]
    return tables


def catalog_from_rows(tables: Mapping[str, Iterable[Mapping[str, Any]]]) -> Catalog:
    """The catalog back from rows in table order (``position``); the inverse of
    :func:`catalog_to_rows`."""
    steps: dict[str, list[Step]] = {}
    for row in tables["steps"]:
        steps.setdefault(row["workflow_id"], []).append(
            Step(id=row["step_id"], name=row["name"], system=row["system_id"])
        )
    system_tables: dict[str, dict[str, list[str]]] = {}
    for row in tables["fields"]:
        system_tables.setdefault(row["system_id"], {}).setdefault(row["table_name"], []).append(
            row["field_name"]
        )
    links: dict[str, dict[int, tuple[str, str, str, list[str]]]] = {}
    for row in tables["lineage"]:
        link = links.setdefault(row["kpi_id"], {}).get(row["link"])
        if link is None:
            link = (row["metric"], row["workflow_id"], row["step_id"], [])
            links[row["kpi_id"]][row["link"]] = link
        link[3].append(row["field_id"])
    targets: dict[str, dict[str, float]] = {}
    for row in tables.get("kpi_targets", ()):
        targets.setdefault(row["kpi_id"], {})[row["quarter"]] = row["value"]

    # What the child tables hold, by section, entity id and model field.
    nested: dict[str, dict[str, Mapping[str, Any]]] = {
        "systems": {
            system_id: {"tables": {table: tuple(names) for table, names in held.items()}}
            for system_id, held in system_tables.items()
        },
        "workflows": {
            workflow_id: {"steps": tuple(workflow_steps)}
            for workflow_id, workflow_steps in steps.items()
        },
        "kpis": {
            kpi_id: {
                "lineage": tuple(
                    LineageLink(metric=metric, workflow=workflow, step=step, fields=tuple(ids))
                    for _, (metric, workflow, step, ids) in sorted(links.get(kpi_id, {}).items())
                ),
                "targets": targets.get(kpi_id, {}),
            }
            for kpi_id in links.keys() | targets.keys()
        },
    }

    sections: dict[str, dict[str, _Entity]] = {}
    for spec in ENTITY_TABLES:
        children = nested.get(spec.section, {})
        sections[spec.section] = {
            row["id"]: spec.from_row(row, children.get(row["id"], _NOTHING))
            for row in tables[spec.table]
        }
    # Keyed by field name, which the type checker cannot follow; every dict only ever holds
    # instances of its field's model.
    return Catalog(**cast("dict[str, Any]", sections))


# --- the catalog's queries ---------------------------------------------------------------------


def insert_catalog(conn: sqlite3.Connection, catalog: Catalog) -> None:
    _insert_rows(conn, catalog_to_rows(catalog))
    _index_derived(conn, catalog)


def _insert_rows(conn: sqlite3.Connection, tables: Mapping[str, list[Row]]) -> None:
    import sqlite_utils  # not needed on the cockpit's start-up path

    db = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
    for table, rows in tables.items():
        if rows:
            db.table(table).insert_all(rows)


def _reconcile_targets(conn: sqlite3.Connection, rows: list[Row], who: str, at: str) -> None:
    """Make ``kpi_targets`` hold exactly ``rows`` (the catalog's), keeping the provenance of
    every target whose value is unchanged; log each change."""
    wanted = {(row["kpi_id"], row["quarter"]): row["value"] for row in rows}
    held = {
        (kpi_id, quarter): value
        for kpi_id, quarter, value in conn.execute("SELECT kpi_id, quarter, value FROM kpi_targets")
    }
    changes = [
        (kpi_id, quarter, held.get((kpi_id, quarter)), wanted.get((kpi_id, quarter)))
        for kpi_id, quarter in sorted(wanted.keys() | held.keys())
        if held.get((kpi_id, quarter)) != wanted.get((kpi_id, quarter))
    ]
    for kpi_id, quarter, _before, after in changes:
        if after is None:
            conn.execute(
                "DELETE FROM kpi_targets WHERE kpi_id = ? AND quarter = ?", (kpi_id, quarter)
            )
        else:
            conn.execute(UPSERT_KPI_TARGET, (kpi_id, quarter, after, "catalog", who, at, ""))
    conn.executemany(
        INSERT_TARGET_CHANGE,
        [(k, q, before, after, "catalog", who, at, "") for k, q, before, after in changes],
    )


def _index_derived(conn: sqlite3.Connection, catalog: Catalog) -> None:
    """The inputs each derived KPI's expression reads (``derived_inputs``), and the triggers
    that record the periods to compute again, present only while some KPI is derived."""
    conn.execute("DELETE FROM derived_inputs")
    rows = [
        (kpi.id, input_id, position)
        for kpi in catalog.kpis.values()
        if (formula := formula_of(kpi)) is not None
        for position, input_id in enumerate(formula.inputs)
    ]
    conn.executemany(
        "INSERT INTO derived_inputs (kpi_id, input_id, position) VALUES (?, ?, ?)", rows
    )
    # A KPI no longer derived (or gone) has no gaps left to report.
    conn.execute(
        "DELETE FROM derived_gaps WHERE kpi_id NOT IN "
        "(SELECT id FROM kpis WHERE compute IS NOT NULL)"
    )
    any_derived = any(kpi.derived for kpi in catalog.kpis.values())
    for statement in CREATE_DERIVED_TRIGGERS if any_derived else DROP_DERIVED_TRIGGERS:
        conn.execute(statement)


class CatalogQueries(StoreConnections):
    """Reading and replacing the catalog held in the store."""

    def read_catalog(self) -> Catalog:
        return catalog_from_rows(
            {table: self.query(sql) for table, sql in SELECT_CATALOG_TABLE.items()}
            | {"kpi_targets": self.query(SELECT_KPI_TARGETS)}
        )

    def write_catalog(self, catalog: Catalog, *, who: str = "", at: str = "") -> None:
        """Replace every catalog table with ``catalog`` and count a new catalog version;
        call inside :meth:`transaction`. Its quarterly targets replace the store's: a target
        whose value is unchanged keeps who set it, when and why; a new or changed one is the
        catalog's, set by ``who`` at ``at``, and logged in ``target_changes``."""
        with self._read() as conn:
            for table in CATALOG_TABLES:
                conn.execute(DELETE_CATALOG_TABLE[table])
            rows = catalog_to_rows(catalog)
            _reconcile_targets(conn, rows.pop("kpi_targets"), who, at)
            _insert_rows(conn, rows)
            _index_derived(conn, catalog)
            conn.execute(BUMP_CATALOG_VERSION)

    def catalog_version(self) -> int:
        """Grows with every catalog re-sync: a reader knows when to read the catalog again."""
        rows = self.query("SELECT value FROM store_meta WHERE key = 'catalog_version'")
        return int(rows[0]["value"]) if rows else 0

    def kpi_ids(self) -> set[str]:
        return {row["id"] for row in self.query("SELECT id FROM kpis")}

    def agent_ids(self) -> set[str]:
        return {row["id"] for row in self.query("SELECT id FROM agents")}
