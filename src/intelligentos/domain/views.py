"""What the strategy map, the KPI pyramid and the agents views show, and an agent's focus.

Pure Python: no SQL, no Textual. Each view is built from one refresh's catalog, lineage
graph, KPI snapshots and open alerts; the screens only draw it. Routes are computed with
:func:`intelligentos.domain.agents.routes`, so a view agrees with where an alert is sent.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from intelligentos.domain.agents import owned_kpis, routes, supported_kpis
from intelligentos.domain.alerts import Alert, subject_name
from intelligentos.domain.catalog.models import Agent, Catalog, Kpi, Level
from intelligentos.domain.detection import Status
from intelligentos.domain.formatting import name_within
from intelligentos.domain.lineage import LineageGraph, field_label, split_field_id
from intelligentos.domain.snapshots import KpiSnapshot, objective_status, theme_status, worst

# An agent's name in a list or the header: "Finance (Lee)" fits whole, "CRO Agent (Chief
# Revenue Officer)" loses its expansion.
AGENT_NAME_ROOM = 24

# --- one KPI, as every view lists it ----------------------------------------------------------


@dataclass(frozen=True)
class KpiLine:
    """A KPI with its status and latest value."""

    kpi_id: str
    name: str
    level: Level
    status: Status
    value_text: str
    target_text: str


def kpi_line(kpi: Kpi, snaps: Mapping[str, KpiSnapshot]) -> KpiLine:
    snap = snaps.get(kpi.id)
    if snap is None:
        return KpiLine(kpi.id, kpi.name, kpi.level, Status.NO_DATA, "—", "")
    # A tracked KPI's line shows no target at all rather than "target —".
    target_text = "" if kpi.tracked else snap.target_text
    return KpiLine(kpi.id, kpi.name, kpi.level, snap.status, snap.value_text, target_text)


def _status(kpi_ids: Iterable[str], snaps: Mapping[str, KpiSnapshot]) -> Status:
    """The worst status of these KPIs (OK when there are none)."""
    return worst(snaps[k].status if k in snaps else Status.NO_DATA for k in kpi_ids)


# --- strategy map: themes → objectives → CEO KPIs → functional KPIs ----------------------------


@dataclass(frozen=True)
class CeoBranch:
    """A CEO KPI of an objective and the objective's functional KPIs that roll up to it."""

    kpi: KpiLine
    functional: tuple[KpiLine, ...]


@dataclass(frozen=True)
class ObjectiveBranch:
    objective_id: str
    name: str
    status: Status  # the worst of its KPIs
    ceo: tuple[CeoBranch, ...]

    def kpis(self) -> list[KpiLine]:
        return [line for branch in self.ceo for line in (branch.kpi, *branch.functional)]


@dataclass(frozen=True)
class ThemeBranch:
    theme_id: str
    name: str
    status: Status
    objectives: tuple[ObjectiveBranch, ...]


def strategy_map(
    catalog: Catalog, graph: LineageGraph, snaps: Mapping[str, KpiSnapshot]
) -> list[ThemeBranch]:
    """The architecture's traceability table as a tree, in catalog order. An objective's
    functional KPI goes under the CEO KPI it rolls up to; under its first CEO KPI when that
    is not one of the objective's (so every KPI the catalog lists is shown)."""
    themes: list[ThemeBranch] = []
    for theme in catalog.themes.values():
        objectives: list[ObjectiveBranch] = []
        for objective in catalog.objectives.values():
            if objective.theme != theme.id:
                continue
            ceo_ids = [k for k in objective.ceo_kpis if k in catalog.kpis]
            under: dict[str, list[KpiLine]] = {k: [] for k in ceo_ids}
            for kpi_id in objective.functional_kpis:
                kpi = catalog.kpis.get(kpi_id)
                if kpi is None or not ceo_ids:
                    continue
                top = graph.ceo_kpi_of(kpi_id).id
                under[top if top in under else ceo_ids[0]].append(kpi_line(kpi, snaps))
            branches = tuple(
                CeoBranch(kpi_line(catalog.kpis[k], snaps), tuple(under[k])) for k in ceo_ids
            )
            status = objective_status(catalog, objective.id, snaps)
            objectives.append(ObjectiveBranch(objective.id, objective.name, status, branches))
        status = theme_status(catalog, theme.id, snaps)
        themes.append(ThemeBranch(theme.id, theme.name, status, tuple(objectives)))
    return themes


# --- KPI pyramid --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerMember:
    """One member of a pyramid layer. ``kpi_id`` is the KPI whose lineage shows it (the KPI
    itself, or the first KPI it feeds) and ``select`` the lineage node to select there."""

    member_id: str
    name: str
    status: Status
    detail: str
    kpi_id: str | None
    select: str | None = None


@dataclass(frozen=True)
class Layer:
    key: str
    name: str
    members: tuple[LayerMember, ...]

    @property
    def count(self) -> int:
        return len(self.members)

    @property
    def status(self) -> Status:
        """The worst status in the layer."""
        return worst(m.status for m in self.members)


PYRAMID_LAYERS = (
    ("ceo", "CEO KPIs"),
    ("functional", "Functional KPIs"),
    ("leading", "Leading indicators"),
    ("workflow", "Workflows"),
    ("metric", "Operational metrics"),
    ("system", "Source systems"),
    ("field", "Data fields"),
)


def _feeds(kpi_ids: Sequence[str]) -> str:
    if not kpi_ids:
        return "feeds no KPI"
    return f"feeds {len(kpi_ids)} KPI" + ("" if len(kpi_ids) == 1 else "s")


def _fed_member(
    member_id: str, name: str, kpi_ids: Sequence[str], snaps: Mapping[str, KpiSnapshot]
) -> LayerMember:
    """A workflow, metric, system or field: the worst status of the KPIs it feeds."""
    return LayerMember(
        member_id,
        name,
        _status(kpi_ids, snaps),
        _feeds(kpi_ids),
        kpi_ids[0] if kpi_ids else None,
        member_id if kpi_ids else None,
    )


def pyramid(catalog: Catalog, graph: LineageGraph, snaps: Mapping[str, KpiSnapshot]) -> list[Layer]:
    """The enterprise pyramid, top to bottom: the KPIs by level, then the workflows,
    operational metrics, source systems and data fields beneath them. A KPI's status is its
    own; anything below the KPIs takes the worst status of the KPIs it feeds."""
    layers: dict[str, list[LayerMember]] = {key: [] for key, _ in PYRAMID_LAYERS}
    for kpi in catalog.kpis.values():
        line = kpi_line(kpi, snaps)
        # No snapshot: a value of "—" and no target; a tracked KPI: its value alone.
        detail = (
            f"{line.value_text} (target {line.target_text})"
            if line.target_text
            else line.value_text
        )
        layers[kpi.level.value].append(LayerMember(kpi.id, kpi.name, line.status, detail, kpi.id))
    for workflow in catalog.workflows.values():
        fed = graph.kpis_by_workflow.get(workflow.id, [])
        layers["workflow"].append(_fed_member(workflow.id, workflow.name, fed, snaps))
    # An operational metric is named in a KPI's lineage link; the same name in several
    # KPIs' links is one metric. Its lineage node is "<kpi>#<link index>".
    metrics: dict[str, list[tuple[str, int]]] = {}
    for kpi in catalog.kpis.values():
        for index, link in enumerate(kpi.lineage):
            metrics.setdefault(link.metric, []).append((kpi.id, index))
    for name, links in metrics.items():
        fed = list(dict.fromkeys(kpi_id for kpi_id, _ in links))
        first_kpi, first_index = links[0]
        member = _fed_member(f"{first_kpi}#{first_index}", name, fed, snaps)
        layers["metric"].append(member)
    for system in catalog.systems.values():
        fed = graph.kpis_by_system.get(system.id, [])
        layers["system"].append(_fed_member(system.id, system.name, fed, snaps))
    fields = [*catalog.field_ids()]
    # Lineage may name a field its system does not list (governance reports it): show it too.
    fields += [f for f in graph.kpis_by_field if f not in catalog.field_ids()]
    for field_id in sorted(fields, key=split_field_id):
        fed = graph.kpis_by_field.get(field_id, [])
        layers["field"].append(_fed_member(field_id, field_label(field_id), fed, snaps))
    return [Layer(key, name, tuple(layers[key])) for key, name in PYRAMID_LAYERS]


# --- agents: what each answers for, its rules and its routed alerts ---------------------------


@dataclass(frozen=True)
class RoutedAlert:
    """An open alert routed to an agent, with why."""

    alert: Alert
    subject: str
    reason: str


@dataclass(frozen=True)
class AgentView:
    agent_id: str
    name: str
    function: str  # the function's name, "" for the CEO agent
    owns: tuple[KpiLine, ...]
    supports: tuple[KpiLine, ...]
    rules: tuple[str, ...]
    alerts: tuple[RoutedAlert, ...]
    # Ids of its alerts a silence hushes: listed, but not asking for attention.
    silenced: frozenset[int] = frozenset()

    @property
    def status(self) -> Status:
        """The worst status of the KPIs it owns."""
        return worst(line.status for line in self.owns)

    @property
    def attention(self) -> int:
        """Its routed alerts that are firing, unacknowledged and not silenced."""
        return sum(
            1
            for routed in self.alerts
            if routed.alert.needs_attention and routed.alert.id not in self.silenced
        )


def routed_alerts(
    agent_id: str, alerts: Iterable[Alert], catalog: Catalog, graph: LineageGraph
) -> list[RoutedAlert]:
    """The open alerts routed to an agent, most severe first, with the reason."""
    found = []
    for alert in alerts:
        if not alert.is_open:
            continue
        reason = next(
            (
                r.reason
                for r in routes(alert.kpi_id, alert.system_id, catalog, graph)
                if r.agent_id == agent_id
            ),
            None,
        )
        if reason is not None:
            found.append(RoutedAlert(alert, subject_name(alert, catalog), reason))
    found.sort(key=lambda r: (-r.alert.severity.rank, r.alert.id or 0))
    return found


def agent_view(
    agent: Agent,
    catalog: Catalog,
    graph: LineageGraph,
    snaps: Mapping[str, KpiSnapshot],
    alerts: Iterable[Alert],
    silenced: Collection[int] = (),
) -> AgentView:
    function = catalog.functions.get(agent.function or "")
    routed = tuple(routed_alerts(agent.id, alerts, catalog, graph))
    return AgentView(
        agent.id,
        agent.name,
        function.name if function else "",
        tuple(kpi_line(catalog.kpis[k], snaps) for k in owned_kpis(agent, catalog)),
        tuple(kpi_line(catalog.kpis[k], snaps) for k in supported_kpis(agent, catalog)),
        agent.rules,
        routed,
        frozenset(r.alert.id for r in routed if r.alert.id is not None and r.alert.id in silenced),
    )


def agent_views(
    catalog: Catalog,
    graph: LineageGraph,
    snaps: Mapping[str, KpiSnapshot],
    alerts: Sequence[Alert],
    silenced: Collection[int] = (),
) -> list[AgentView]:
    """Every agent, in catalog order; ``silenced``: the ids of the alerts a silence hushes."""
    return [agent_view(a, catalog, graph, snaps, alerts, silenced) for a in catalog.agents.values()]


# --- agent focus --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentFocus:
    """One agent's view of the cockpit: its own KPIs first, then those it supports, then the
    rest (each group in catalog order); only the alerts routed to it."""

    agent_id: str
    name: str
    owned: frozenset[str]
    supported: frozenset[str]

    @classmethod
    def of(cls, agent: Agent, catalog: Catalog) -> AgentFocus:
        return cls(
            agent.id,
            agent.name,
            frozenset(owned_kpis(agent, catalog)),
            frozenset(supported_kpis(agent, catalog)),
        )

    @property
    def short_name(self) -> str:
        """For the header: "CRO Agent (Chief Revenue Officer)" → "CRO Agent", but
        "Finance (Lee)" whole (see :func:`name_within`)."""
        return name_within(self.name, AGENT_NAME_ROOM)

    def rank(self, kpi_id: str) -> int:
        return 0 if kpi_id in self.owned else 1 if kpi_id in self.supported else 2

    def order(self, kpis: Iterable[Kpi]) -> list[Kpi]:
        """Owned first, then supported, then the others; stable within each group."""
        return sorted(kpis, key=lambda k: self.rank(k.id))

    def alerts(self, alerts: Iterable[Alert], catalog: Catalog, graph: LineageGraph) -> list[Alert]:
        """The alerts routed to this agent, in the order given."""
        return [
            a
            for a in alerts
            if any(
                r.agent_id == self.agent_id for r in routes(a.kpi_id, a.system_id, catalog, graph)
            )
        ]
