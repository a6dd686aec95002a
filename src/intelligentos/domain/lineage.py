"""The lineage graph of a catalog, and the trees the CLI and the cockpit draw from it.

Pure: no SQL, no Textual. A :class:`LineageNode` tree is a neutral description (kind, id,
label, children) that each front end renders its own way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from intelligentos.domain.catalog.models import Catalog, Kpi, Level, Objective


@dataclass
class LineageNode:
    kind: str
    id: str
    label: str
    detail: str = ""
    kpi_id: str | None = None
    children: list[LineageNode] = field(default_factory=list)

    def add(self, child: LineageNode) -> LineageNode:
        self.children.append(child)
        return child

    def walk(self) -> Iterator[LineageNode]:
        yield self
        for child in self.children:
            yield from child.walk()


def split_field_id(field_id: str) -> tuple[str, str, str]:
    system, table, name = field_id.split(".", 2)
    return system, table, name


def field_label(field_id: str) -> str:
    return " · ".join(split_field_id(field_id))


class LineageGraph:
    """Indexes over a catalog for walking roll-ups up and lineage down."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def warm(self) -> LineageGraph:
        """Build every index now (e.g. in a worker), not on the first drill-down."""
        for index in (
            self.children,
            self.objectives_by_kpi,
            self.kpis_by_field,
            self.kpis_by_system,
            self.kpis_by_workflow,
        ):
            assert index is not None
        return self

    @cached_property
    def children(self) -> dict[str, list[Kpi]]:
        index: dict[str, list[Kpi]] = defaultdict(list)
        for kpi in self.catalog.kpis.values():
            if kpi.rolls_up_to:
                index[kpi.rolls_up_to].append(kpi)
        return dict(index)

    @cached_property
    def objectives_by_kpi(self) -> dict[str, list[Objective]]:
        index: dict[str, list[Objective]] = defaultdict(list)
        for objective in self.catalog.objectives.values():
            for kpi_id in (*objective.ceo_kpis, *objective.functional_kpis):
                index[kpi_id].append(objective)
        return dict(index)

    @cached_property
    def kpis_by_field(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = defaultdict(list)
        for kpi in self.catalog.kpis.values():
            for field_id in dict.fromkeys(f for link in kpi.lineage for f in link.fields):
                index[field_id].append(kpi.id)
        return dict(index)

    @cached_property
    def kpis_by_system(self) -> dict[str, list[str]]:
        index: dict[str, dict[str, None]] = defaultdict(dict)
        for field_id, kpi_ids in self.kpis_by_field.items():
            for kpi_id in kpi_ids:
                index[split_field_id(field_id)[0]][kpi_id] = None
        return {system: list(ids) for system, ids in index.items()}

    @cached_property
    def kpis_by_workflow(self) -> dict[str, list[str]]:
        index: dict[str, dict[str, None]] = defaultdict(dict)
        for kpi in self.catalog.kpis.values():
            for link in kpi.lineage:
                index[link.workflow][kpi.id] = None
        return {workflow: list(ids) for workflow, ids in index.items()}

    def systems_of(self, kpi_id: str) -> list[str]:
        kpi = self.catalog.kpis[kpi_id]
        fields = (f for link in kpi.lineage for f in link.fields)
        return list(dict.fromkeys(split_field_id(f)[0] for f in fields))

    def chain_up(self, kpi_id: str) -> list[Kpi]:
        """The KPIs above ``kpi_id``, nearest first, ending at its CEO KPI."""
        chain: list[Kpi] = []
        seen = {kpi_id}
        current = self.catalog.kpis[kpi_id]
        while current.rolls_up_to and current.rolls_up_to not in seen:
            parent = self.catalog.kpis.get(current.rolls_up_to)
            if parent is None:
                break
            chain.append(parent)
            seen.add(parent.id)
            current = parent
        return chain

    def ceo_kpi_of(self, kpi_id: str) -> Kpi:
        kpi = self.catalog.kpis[kpi_id]
        if kpi.level is Level.CEO:
            return kpi
        chain = self.chain_up(kpi_id)
        return chain[-1] if chain else kpi

    # --- trees -----------------------------------------------------------------------

    def kpi_node(self, kpi: Kpi) -> LineageNode:
        return LineageNode("kpi", kpi.id, kpi.name, detail=kpi.level.value, kpi_id=kpi.id)

    def upward_tree(self, kpi_id: str) -> LineageNode:
        """Context above a KPI: the roll-up chain to its CEO KPI, then objectives and themes."""
        section = LineageNode("section", "up", "Rolls up to")
        parent = section
        below = self.catalog.kpis[kpi_id]
        for ancestor in self.chain_up(kpi_id):
            # Each level shows the weight of the KPI just below it, in this parent.
            who = "this KPI" if below.id == kpi_id else below.name
            node = self.kpi_node(ancestor)
            node.detail = f"{ancestor.level.value} · {who} weighs {below.weight:g}"
            parent = parent.add(node)
            below = ancestor
        ceo = self.ceo_kpi_of(kpi_id)
        for objective in self.objectives_by_kpi.get(ceo.id, []):
            theme = self.catalog.themes.get(objective.theme)
            objective_node = parent.add(
                LineageNode("objective", objective.id, objective.name, detail="objective")
            )
            if theme:
                objective_node.add(LineageNode("theme", theme.id, theme.name, detail="theme"))
        return section

    def downward_tree(self, kpi_id: str) -> LineageNode:
        """Operational metric → workflow → step → source system → data field."""
        section = LineageNode("section", "down", "Lineage")
        kpi = self.catalog.kpis[kpi_id]
        for index, link in enumerate(kpi.lineage):
            metric = section.add(
                LineageNode("metric", f"{kpi_id}#{index}", link.metric, detail="operational metric")
            )
            workflow = self.catalog.workflows.get(link.workflow)
            workflow_node = metric.add(
                LineageNode(
                    "workflow",
                    link.workflow,
                    workflow.name if workflow else link.workflow,
                    detail="workflow",
                )
            )
            step = workflow.step(link.step) if workflow else None
            step_node = workflow_node.add(
                LineageNode(
                    "step",
                    f"{link.workflow}.{link.step}",
                    step.name if step else link.step,
                    detail="step",
                )
            )
            by_system: dict[str, list[str]] = defaultdict(list)
            for field_id in link.fields:
                by_system[split_field_id(field_id)[0]].append(field_id)
            for system_id, field_ids in by_system.items():
                system = self.catalog.systems.get(system_id)
                system_node = step_node.add(
                    LineageNode(
                        "system",
                        system_id,
                        system.name if system else system_id,
                        detail="source system",
                    )
                )
                for field_id in field_ids:
                    system_node.add(
                        LineageNode("field", field_id, field_label(field_id), detail="data field")
                    )
        return section

    def children_tree(self, kpi_id: str) -> LineageNode | None:
        direct = self.children.get(kpi_id, [])
        if not direct:
            return None
        section = LineageNode("section", "children", "Rolls up from")
        for child in direct:
            node = self.kpi_node(child)
            node.detail = f"{child.level.value}, weight {child.weight:g}"
            section.add(node)
        return section

    def lineage_tree(self, kpi_id: str) -> LineageNode:
        """The whole drill-down for one KPI: context above, lineage below, children."""
        kpi = self.catalog.kpis[kpi_id]
        root = self.kpi_node(kpi)
        if kpi.rolls_up_to or self.objectives_by_kpi.get(kpi.id):
            root.add(self.upward_tree(kpi_id))
        engine = self.catalog.engines.get(kpi.engine)
        if engine:
            root.add(LineageNode("engine", engine.id, engine.name, detail="engine"))
        root.add(self.downward_tree(kpi_id))
        children = self.children_tree(kpi_id)
        if children:
            root.add(children)
        return root
