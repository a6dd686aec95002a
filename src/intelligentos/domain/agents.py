"""Agents and the KPIs they answer for, and where an alert is routed.

An agent *owns* the KPIs it lists in ``owns`` and those naming it as ``owner_agent``; it
*supports* those it lists in ``supports``. A KPI without an owner agent is answered for by
its owning function's agent. The CEO agent has no function, and owns CEO KPIs only.

An alert is **routed** to agents, each with a reason:

* a KPI alert: the KPI's owning agent ("owner"); the owning agent of each KPI above it up to
  its CEO KPI ("rolls up to <KPI>"); the owning agent of every derived KPI whose expression
  reads it, directly or through other derived KPIs, wherever it sits in the tree ("feeds
  <KPI>"); every agent supporting the KPI or one above it ("supports <KPI>"); and, for a
  CEO KPI, the CEO agent ("CEO KPI");
* a stale-source alert: the owning agent of every KPI the system feeds ("fed by <system>:
  <KPI>"), which is what makes it cross-functional.

An agent is routed once, with its first reason in that order.

Pure Python: no SQL, no Textual.
"""

from __future__ import annotations

from dataclasses import dataclass

from intelligentos.domain.catalog.models import Agent, Catalog, Kpi, Level
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.rollup import CycleError, readers


def owned_kpis(agent: Agent, catalog: Catalog) -> list[str]:
    """The KPIs an agent owns: those it lists and those naming it as owner, catalog order."""
    listed = set(agent.owns)
    return [k.id for k in catalog.kpis.values() if k.id in listed or k.owner_agent == agent.id]


def supported_kpis(agent: Agent, catalog: Catalog) -> list[str]:
    owned = set(owned_kpis(agent, catalog))
    listed = set(agent.supports)
    return [k.id for k in catalog.kpis.values() if k.id in listed and k.id not in owned]


def is_ceo_agent(agent: Agent, catalog: Catalog) -> bool:
    """The CEO's agent: no function of its own, and every KPI it owns is a CEO KPI."""
    return agent.function is None and all(
        catalog.kpis[k].level is Level.CEO for k in owned_kpis(agent, catalog)
    )


def owning_agent(kpi: Kpi, catalog: Catalog) -> Agent | None:
    """The KPI's owner agent, else its owning function's agent."""
    agent = catalog.agents.get(kpi.owner_agent or "")
    if agent is None:
        function = catalog.functions.get(kpi.owner_function or "")
        agent = catalog.agents.get(function.agent) if function else None
    return agent


def ceo_agent(catalog: Catalog) -> Agent | None:
    return next((a for a in catalog.agents.values() if is_ceo_agent(a, catalog)), None)


def fed_kpis(kpi_id: str, catalog: Catalog) -> list[str]:
    """The derived KPIs a change of ``kpi_id`` reaches through expressions: those reading
    it, those reading them, and so on (nearest first). Empty when derived KPIs read each
    other in a loop: the catalog's checks refuse that."""
    try:
        read_by = readers(catalog.kpis)
    except CycleError:
        return []
    found: list[str] = []
    todo = [kpi_id]
    while todo:
        for derived_id in read_by.get(todo.pop(0), ()):
            if derived_id not in found and derived_id != kpi_id:
                found.append(derived_id)
                todo.append(derived_id)
    return found


@dataclass(frozen=True)
class Route:
    agent_id: str
    reason: str


def routes_for_kpi(kpi_id: str, catalog: Catalog, graph: LineageGraph) -> list[Route]:
    """Where an alert on ``kpi_id`` goes (see the module's docstring)."""
    kpi = catalog.kpis.get(kpi_id)
    if kpi is None:
        return []
    found: dict[str, str] = {}

    def add(agent: Agent | None, reason: str) -> None:
        if agent is not None and agent.id not in found:
            found[agent.id] = reason

    chain: list[Kpi] = [kpi, *graph.chain_up(kpi_id)]
    add(owning_agent(kpi, catalog), "owner")
    for above in chain[1:]:
        add(owning_agent(above, catalog), f"rolls up to {above.name}")
    for derived_id in fed_kpis(kpi_id, catalog):
        derived = catalog.kpis[derived_id]
        add(owning_agent(derived, catalog), f"feeds {derived.name}")
    for agent in catalog.agents.values():
        listed = set(agent.supports)
        supported = next((k for k in chain if k.id in listed), None)
        if supported is not None:
            add(agent, f"supports {supported.name}")
    if kpi.level is Level.CEO:
        add(ceo_agent(catalog), "CEO KPI")
    return [Route(agent_id, reason) for agent_id, reason in found.items()]


def routes_for_system(system_id: str, catalog: Catalog, graph: LineageGraph) -> list[Route]:
    """Where a stale-source alert on ``system_id`` goes: every agent whose KPIs it feeds."""
    system = catalog.systems.get(system_id)
    name = system.name if system else system_id
    found: dict[str, str] = {}
    for kpi_id in graph.kpis_by_system.get(system_id, []):
        kpi = catalog.kpis[kpi_id]
        agent = owning_agent(kpi, catalog)
        if agent is not None and agent.id not in found:
            found[agent.id] = f"fed by {name}: {kpi.name}"
    return [Route(agent_id, reason) for agent_id, reason in found.items()]


def routes(
    kpi_id: str | None, system_id: str | None, catalog: Catalog, graph: LineageGraph
) -> list[Route]:
    """Where an alert on this subject goes."""
    if kpi_id is not None:
        return routes_for_kpi(kpi_id, catalog, graph)
    if system_id is not None:
        return routes_for_system(system_id, catalog, graph)
    return []
