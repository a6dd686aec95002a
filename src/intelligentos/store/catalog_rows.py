"""The catalog as rows of the store's tables, and back: one mapping serves both directions.

Each top-level entity (KPI, engine, agent, ...) is one row of its table. Columns carry the
model's field names, except where a column names what it references (``agent_id`` for
``Function.agent``); lists are JSON arrays. Three child tables hold what is nested in the
models: ``steps`` (a workflow's steps), ``fields`` (a system's tables and fields) and
``lineage`` (a KPI's lineage links, one row per data field).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from intelligentos.catalog.models import (
    Agent,
    Catalog,
    Engine,
    Function,
    Kpi,
    LineageLink,
    Objective,
    Step,
    System,
    Theme,
    Workflow,
)

Row = dict[str, Any]


@dataclass(frozen=True)
class EntityTable:
    """How one catalog section (``Catalog.<section>``) maps to one table."""

    section: str
    model: type[BaseModel]
    renamed: Mapping[str, str] = field(default_factory=dict)  # model field -> column
    json_columns: tuple[str, ...] = ()
    nested: tuple[str, ...] = ()  # model fields kept in a child table

    @property
    def table(self) -> str:
        return self.section

    def to_row(self, entity: BaseModel, position: int) -> Row:
        values = entity.model_dump(mode="json", exclude=set(self.nested))
        row: Row = {self.renamed.get(name, name): value for name, value in values.items()}
        for column in self.json_columns:
            row[column] = json.dumps(row[column])
        row["position"] = position
        return row

    def from_row(self, row: Mapping[str, Any], **nested: Any) -> BaseModel:
        columns = {column: name for name, column in self.renamed.items()}
        values: Row = {}
        for column, value in row.items():
            if column == "position" or value is None:
                continue  # NULL means "not given": the model's default applies
            if column in self.json_columns:
                value = json.loads(value) if value else None
                if value is None:
                    continue
            values[columns.get(column, column)] = value
        return self.model(**values, **nested)


ENTITY_TABLES = (
    EntityTable("engines", Engine, json_columns=("owners", "rollup_kpis")),
    EntityTable("functions", Function, renamed={"agent": "agent_id"}),
    EntityTable(
        "agents",
        Agent,
        renamed={"function": "function_id"},
        json_columns=("owns", "supports", "rules"),
    ),
    EntityTable("themes", Theme),
    EntityTable(
        "objectives",
        Objective,
        renamed={"theme": "theme_id"},
        json_columns=("ceo_kpis", "functional_kpis"),
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
        json_columns=("detection",),
        nested=("lineage",),
    ),
)


def catalog_to_rows(catalog: Catalog) -> dict[str, list[Row]]:
    """Every table's rows for ``catalog``, parents before children."""
    tables: dict[str, list[Row]] = {}
    for spec in ENTITY_TABLES:
        entities: Mapping[str, BaseModel] = getattr(catalog, spec.section)
        tables[spec.table] = [spec.to_row(e, i) for i, e in enumerate(entities.values())]
    for row, kpi in zip(tables["kpis"], catalog.kpis.values(), strict=True):
        # Only the overrides a KPI sets: a store stays readable when defaults change.
        row["detection"] = kpi.detection.model_dump_json(exclude_defaults=True)
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
    links: dict[str, dict[int, Row]] = {}
    for row in tables["lineage"]:
        link = links.setdefault(row["kpi_id"], {}).setdefault(
            row["link"],
            {
                "metric": row["metric"],
                "workflow": row["workflow_id"],
                "step": row["step_id"],
                "fields": [],
            },
        )
        link["fields"].append(row["field_id"])

    def children(section: str, entity_id: str) -> dict[str, Any]:
        """What the child tables hold for one entity, by model field."""
        if section == "systems":
            return {"tables": system_tables.get(entity_id, {})}
        if section == "workflows":
            return {"steps": steps.get(entity_id, [])}
        if section == "kpis":
            kpi_links = sorted(links.get(entity_id, {}).items())
            return {"lineage": [LineageLink(**link) for _, link in kpi_links]}
        return {}

    sections: dict[str, dict[str, BaseModel]] = {}
    for spec in ENTITY_TABLES:
        sections[spec.section] = {
            row["id"]: spec.from_row(row, **children(spec.section, row["id"]))
            for row in tables[spec.table]
        }
    return Catalog.model_validate(sections)
