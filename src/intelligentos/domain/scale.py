"""An enterprise-scale catalog: the built-in catalog grown to N synthetic KPIs.

Deterministic and valid under every governance rule: each synthetic KPI rolls up (through
the built-in tree) to a CEO KPI, has one owner function and lineage down to data fields.
One KPI, ``mega_lineage``, has a lineage tree of more than 1,000 nodes, and one functional
KPI gets hundreds of children, so drill-down is measured at its worst.
"""

from __future__ import annotations

from intelligentos.domain.catalog.models import (
    Catalog,
    Frequency,
    Kpi,
    Level,
    LineageLink,
    Step,
    System,
    Workflow,
)

WAREHOUSE = "warehouse"
WAREHOUSE_TABLES = 100
FIELDS_PER_TABLE = 8
MEGA_LINKS = 220  # 220 × (metric, workflow, step, system, 2 fields) > 1,300 nodes


def _warehouse() -> System:
    tables = {
        f"fact_{t:03d}": tuple(f"measure_{f}" for f in range(FIELDS_PER_TABLE))
        for t in range(WAREHOUSE_TABLES)
    }
    return System(
        id=WAREHOUSE, name="Data Warehouse", kind="warehouse", tables=tables, source="scale"
    )


def _pipeline(function: str) -> Workflow:
    steps = tuple(
        Step(id=f"stage_{i}", name=f"Pipeline stage {i}", system=WAREHOUSE) for i in range(10)
    )
    return Workflow(
        id=f"pipeline_{function}",
        name=f"{function.title()} data pipeline",
        owner_function=function,
        steps=steps,
        source="scale",
    )


def _leading_under(
    parent: Kpi,
    kpi_id: str,
    *,
    name: str,
    formula: str,
    rolls_up_to: str,
    lineage: tuple[LineageLink, ...],
) -> Kpi:
    """A daily leading indicator owned, measured and targeted like ``parent``."""
    return Kpi(
        id=kpi_id,
        name=name,
        level=Level.LEADING,
        unit=parent.unit,
        direction=parent.direction,
        target=parent.target,
        warning=parent.warning,
        critical=parent.critical,
        frequency=Frequency.DAILY,
        formula=formula,
        engine=parent.engine,
        owner_function=parent.owner_function,
        owner_agent=parent.owner_agent,
        rolls_up_to=rolls_up_to,
        weight=0.001,
        lineage=lineage,
        source="scale",
    )


def scaled_catalog(base: Catalog, total_kpis: int) -> Catalog:
    """``base`` plus synthetic daily KPIs until there are ``total_kpis`` in all."""
    systems = dict(base.systems)
    systems[WAREHOUSE] = _warehouse()
    warehouse_fields = systems[WAREHOUSE].field_ids()
    workflows = dict(base.workflows)
    for function in base.functions:
        workflows[f"pipeline_{function}"] = _pipeline(function)
    # A derived KPI is its expression over its inputs: a synthetic KPI weighing into it would
    # move it in a what-if while its value cannot move. Synthetic KPIs go under measured ones.
    parents = [k for k in base.kpis.values() if k.level is not Level.CEO and not k.derived]
    kpis = dict(base.kpis)

    def link(
        label: str, parent: Kpi, step: int, first_field: int, second_field: int
    ) -> LineageLink:
        return LineageLink(
            metric=label,
            workflow=f"pipeline_{parent.owner_function}",
            step=f"stage_{step % 10}",
            fields=(
                warehouse_fields[first_field % len(warehouse_fields)],
                warehouse_fields[second_field % len(warehouse_fields)],
            ),
        )

    index = 0
    while len(kpis) < total_kpis:
        parent = parents[index % len(parents)]
        kpi_id = f"synthetic_{index:05d}"
        kpis[kpi_id] = _leading_under(
            parent,
            kpi_id,
            name=f"{parent.display_name} · segment {index:05d}",
            formula=f"{parent.formula} (segment {index})",
            # Every fourth rolls up to the same KPI: a "rolls up from" hundreds wide.
            rolls_up_to=parents[0].id if index % 4 == 0 else parent.id,
            lineage=(link(f"Segment {index} events", parent, index, index * 7, index * 7 + 3),),
        )
        index += 1
    mega_parent = parents[1]
    kpis["mega_lineage"] = _leading_under(
        mega_parent,
        "mega_lineage",
        name="Enterprise data quality index",
        formula="Weighted share of warehouse measures passing their checks",
        rolls_up_to=mega_parent.id,
        lineage=tuple(
            link(f"Checks on fact table {i:03d}", mega_parent, i, i * 2, i * 2 + 1)
            for i in range(MEGA_LINKS)
        ),
    )
    if len(kpis) > total_kpis:
        kpis.pop(f"synthetic_{index - 1:05d}")
    return Catalog(
        kpis=kpis,
        engines=base.engines,
        functions=base.functions,
        agents=base.agents,
        themes=base.themes,
        objectives=base.objectives,
        workflows=workflows,
        systems=systems,
    )
