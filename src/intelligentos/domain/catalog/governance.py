"""Governance rules of the architecture, as pure functions over a parsed catalog.

The rules are: no dangling references, no side-KPIs (every KPI reaches a CEO KPI
through roll-ups), no roll-up cycles, lineage down to at least one data field for every KPI,
and exactly one owner function per KPI.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from intelligentos.domain.formatting import plural

if TYPE_CHECKING:
    from intelligentos.domain.catalog.models import Catalog, Kpi


@dataclass(frozen=True, order=True)
class Violation:
    rule: str
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: [{self.rule}] {self.message}"


def validate_catalog(catalog: Catalog) -> list[Violation]:
    problems = [
        *check_references(catalog),
        *check_ownership(catalog),
        *check_rollups(catalog),
        *check_lineage(catalog),
    ]
    return sorted(set(problems), key=lambda v: (v.file, v.key, v.rule, v.message))


# How far from 1 the weights of a parent's children may sum before `validate` warns: the
# rounding of two-decimal weights, not a real difference.
WEIGHT_TOLERANCE = 1e-6


def weight_warnings(catalog: Catalog) -> list[Violation]:
    """One warning per KPI whose children's weights do not sum to 1 (naming the sum and
    each child's weight). Not a violation: a catalog that breaks it still loads, but a
    what-if then moves the parent by more (or less) than its parts together say."""
    children: dict[str, list[Kpi]] = {}
    for kpi in catalog.kpis.values():
        if kpi.rolls_up_to in catalog.kpis:
            children.setdefault(kpi.rolls_up_to, []).append(kpi)
    found = []
    for parent_id, parts in children.items():
        total = sum(part.weight for part in parts)
        if abs(total - 1.0) <= WEIGHT_TOLERANCE:
            continue
        parent = catalog.kpis[parent_id]
        listed = ", ".join(f"{part.id} {part.weight:g}" for part in parts)
        found.append(
            Violation(
                "weights",
                parent.source,
                f"kpi.{parent_id}",
                f"the weights of the {plural(len(parts), 'KPI')} rolling up to it sum to "
                f"{round(total, 6):g}, not 1 ({listed})",
            )
        )
    return sorted(found, key=lambda v: (v.file, v.key))


def _missing(
    catalog_part: Mapping[str, object], ids: Iterable[str], file: str, key: str, what: str
) -> Iterator[Violation]:
    for ref in ids:
        if ref not in catalog_part:
            yield Violation("reference", file, key, f"unknown {what} '{ref}'")


def check_references(catalog: Catalog) -> Iterator[Violation]:
    c = catalog
    for kpi in c.kpis.values():
        key = f"kpi.{kpi.id}"
        yield from _missing(c.engines, [kpi.engine], kpi.source, f"{key}.engine", "engine")
        if kpi.owner_function:
            yield from _missing(
                c.functions, [kpi.owner_function], kpi.source, f"{key}.owner_function", "function"
            )
        if kpi.owner_agent:
            yield from _missing(
                c.agents, [kpi.owner_agent], kpi.source, f"{key}.owner_agent", "agent"
            )
        if kpi.rolls_up_to:
            yield from _missing(c.kpis, [kpi.rolls_up_to], kpi.source, f"{key}.rolls_up_to", "KPI")
    for engine in c.engines.values():
        key = f"engine.{engine.id}"
        for owner in engine.owners:
            if owner not in c.functions and owner not in c.agents:
                yield Violation(
                    "reference", engine.source, f"{key}.owners", f"unknown function '{owner}'"
                )
        yield from _missing(c.kpis, engine.rollup_kpis, engine.source, f"{key}.rollup_kpis", "KPI")
    for function in c.functions.values():
        yield from _missing(
            c.agents, [function.agent], function.source, f"function.{function.id}.agent", "agent"
        )
    for agent in c.agents.values():
        key = f"agent.{agent.id}"
        if agent.function:
            yield from _missing(
                c.functions, [agent.function], agent.source, f"{key}.function", "function"
            )
        yield from _missing(c.kpis, agent.owns, agent.source, f"{key}.owns", "KPI")
        yield from _missing(c.kpis, agent.supports, agent.source, f"{key}.supports", "KPI")
    for objective in c.objectives.values():
        key = f"objective.{objective.id}"
        yield from _missing(c.themes, [objective.theme], objective.source, f"{key}.theme", "theme")
        yield from _missing(c.kpis, objective.ceo_kpis, objective.source, f"{key}.ceo_kpis", "KPI")
        yield from _missing(
            c.kpis, objective.functional_kpis, objective.source, f"{key}.functional_kpis", "KPI"
        )
    for workflow in c.workflows.values():
        key = f"workflow.{workflow.id}"
        yield from _missing(
            c.functions,
            [workflow.owner_function],
            workflow.source,
            f"{key}.owner_function",
            "function",
        )
        for step in workflow.steps:
            yield from _missing(
                c.systems,
                [step.system],
                workflow.source,
                f"{key}.steps.{step.id}.system",
                "system",
            )


def check_ownership(catalog: Catalog) -> Iterator[Violation]:
    """Exactly one owner function per KPI, and no agent claiming another function's KPI."""
    ceo_agents = {a.id for a in catalog.agents.values() if a.function is None}
    for kpi in catalog.kpis.values():
        key = f"kpi.{kpi.id}"
        if not kpi.owner_function:
            yield Violation("ownership", kpi.source, key, "has no owner function")
            continue
        function = catalog.functions.get(kpi.owner_function)
        if function and kpi.owner_agent and kpi.owner_agent not in (function.agent, *ceo_agents):
            yield Violation(
                "ownership",
                kpi.source,
                f"{key}.owner_agent",
                f"agent '{kpi.owner_agent}' does not belong to owner function "
                f"'{kpi.owner_function}'",
            )
    for agent in catalog.agents.values():
        for kpi_id in agent.owns:
            owned = catalog.kpis.get(kpi_id)
            if owned is None or agent.function is None or owned.owner_function is None:
                continue
            if owned.owner_function != agent.function:
                yield Violation(
                    "ownership",
                    agent.source,
                    f"agent.{agent.id}.owns",
                    f"claims KPI '{kpi_id}', which is owned by function '{owned.owner_function}'",
                )


def rollup_chain(catalog: Catalog, kpi: Kpi) -> tuple[list[str], bool]:
    """Follow ``rolls_up_to`` from ``kpi``; return the ids visited and whether it cycles."""
    seen: list[str] = [kpi.id]
    current = kpi
    while current.rolls_up_to and current.rolls_up_to in catalog.kpis:
        nxt = current.rolls_up_to
        if nxt in seen:
            return [*seen, nxt], True
        seen.append(nxt)
        current = catalog.kpis[nxt]
    return seen, False


def check_rollups(catalog: Catalog) -> Iterator[Violation]:
    from intelligentos.domain.catalog.models import Level

    for kpi in catalog.kpis.values():
        key = f"kpi.{kpi.id}"
        if kpi.level is Level.CEO:
            if kpi.rolls_up_to:
                yield Violation(
                    "rollup", kpi.source, f"{key}.rolls_up_to", "a CEO KPI does not roll up"
                )
            continue
        chain, cycles = rollup_chain(catalog, kpi)
        if cycles:
            yield Violation("cycle", kpi.source, f"{key}.rolls_up_to", " → ".join(chain))
            continue
        top = catalog.kpis[chain[-1]]
        if top.level is not Level.CEO and (not top.rolls_up_to or top.id == kpi.id):
            yield Violation(
                "side-kpi",
                kpi.source,
                key,
                "does not roll up to a CEO KPI"
                + (f" (stops at '{top.id}')" if len(chain) > 1 else ""),
            )


def check_lineage(catalog: Catalog) -> Iterator[Violation]:
    fields = catalog.field_ids()
    for kpi in catalog.kpis.values():
        key = f"kpi.{kpi.id}"
        if not kpi.lineage:
            yield Violation("lineage", kpi.source, key, "has no lineage down to a data field")
            continue
        reaches_field = False
        for index, link in enumerate(kpi.lineage):
            link_key = f"{key}.lineage[{index}]"
            workflow = catalog.workflows.get(link.workflow)
            if workflow is None:
                yield Violation(
                    "reference",
                    kpi.source,
                    f"{link_key}.workflow",
                    f"unknown workflow '{link.workflow}'",
                )
            elif workflow.step(link.step) is None:
                yield Violation(
                    "reference",
                    kpi.source,
                    f"{link_key}.step",
                    f"workflow '{link.workflow}' has no step '{link.step}'",
                )
            for field in link.fields:
                if field in fields:
                    reaches_field = True
                else:
                    yield Violation(
                        "reference",
                        kpi.source,
                        f"{link_key}.fields",
                        f"unknown data field '{field}' (expected system.table.field)",
                    )
        if not reaches_field:
            yield Violation(
                "lineage", kpi.source, key, "no lineage link reaches a known data field"
            )
