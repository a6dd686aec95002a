"""The CEO weekly brief and agent briefs, as data.

A :class:`Brief` holds every figure of one brief: the headline, every CEO KPI (value as of
the date, change over the week and over its own previous period, target, status, sparkline,
a reliable current forecast's projection), what changed this week in the alert log, the top
risks ranked by their impact on the CEO KPIs, stale source systems and what they feed, and
saved scenarios changed this week. The renderers (:mod:`intelligentos.domain.brief.render`) only
lay these figures out, so Markdown, HTML and JSON always agree.

The week is the seven days ending at the as-of date: ``as_of − 6`` to ``as_of``, by the UTC
date of each event. A risk's impact is what its CEO KPI would gain, as a fraction of that
KPI's target, were the risk back on target. On a path of weights (a scoring model) it is the
adverse shortfall from target (a fraction of |target|, as the alerts measure it) times the
product of the roll-up weights up to the CEO KPI. On a path with a formula or a sensitivity
edge it is exact: the what-if model projects the CEO KPI with the risk set to its target
(formulas evaluated, sensitivities applied), and the change is also given in the CEO KPI's
own units.

Pure Python: no SQL, no Textual. :mod:`intelligentos.services.brief` reads the store.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cached_property

from intelligentos.domain.agents import (
    is_ceo_agent,
    owned_kpis,
    owning_agent,
    routes,
    supported_kpis,
)
from intelligentos.domain.alerts import Alert, Event, State, acknowledgement_text, subject_name
from intelligentos.domain.brief.contents import (
    ACTIONS,
    AgentPart,
    AlertChange,
    Brief,
    Headline,
    KpiLine,
    OpenAlert,
    PathStep,
    Projected,
    Risk,
    Source,
    StaleSystem,
)
from intelligentos.domain.brief.why import (
    actions_section,
    moved_ids,
    off_target_ids,
    signed_in_unit,
    why_section,
)
from intelligentos.domain.catalog.models import Agent, Catalog, Direction, Kpi
from intelligentos.domain.charts import sparkline
from intelligentos.domain.clock import period_date
from intelligentos.domain.detection import (
    Status,
    shortfall,
    stale_sources,
    target_status,
)
from intelligentos.domain.explain.model import Explanation
from intelligentos.domain.explain.recommend import Recommendations
from intelligentos.domain.forecast import Projection
from intelligentos.domain.formatting import format_change, format_value
from intelligentos.domain.lineage import LineageGraph, split_field_id
from intelligentos.domain.okr.targets import judged_on, kpi_in
from intelligentos.domain.rollup import EdgeKind
from intelligentos.domain.snapshots import KpiSnapshot, snapshot, snapshots
from intelligentos.domain.whatif.model import (
    MODEL_NOTE,
    Change,
    Lever,
    ScenarioError,
    Tree,
    performance,
    simulate,
    target_of,
)
from intelligentos.domain.whatif.scenarios import SavedScenario, scenario_changes

WEEK_DAYS = 7
SPARK_WIDTH = 16  # characters of each sparkline
HISTORY_POINTS = 30  # latest observations read per KPI: sparkline, previous period, week ago
TOP_RISKS = 5
UNASSIGNED = "unassigned"
NO_NEW_VALUE = "no new value"  # the week's change of a KPI not observed during the week

Window = Sequence[tuple[str, float | None]]


class BriefError(ValueError):
    """A brief cannot be made as asked (an unknown agent); the message says why."""


def week_start(as_of: date) -> date:
    return as_of - timedelta(days=WEEK_DAYS - 1)


def in_week(stamp: str | None, as_of: date) -> bool:
    """Whether a store timestamp (``2026-11-27T09:30:00Z``) falls on a day of the week."""
    if not stamp:
        return False
    day = stamp[:10]
    return week_start(as_of).isoformat() <= day <= as_of.isoformat()


def _round(value: float | None, digits: int = 6) -> float | None:
    """Fixed precision for derived figures, so the JSON never carries float noise."""
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits) + 0.0  # + 0.0: never a negative zero


# --- the facts a service reads ---------------------------------------------------------------


@dataclass(frozen=True)
class BriefFacts:
    """What a brief is made from, read from the store for one date."""

    catalog: Catalog
    graph: LineageGraph
    as_of: date
    # The latest observations of every KPI up to the end of the as-of date, oldest first
    # (at least :data:`HISTORY_POINTS`, or the whole history when shorter).
    windows: Mapping[str, Window]
    # Alert events of the week (others are ignored), and the alerts they and the open
    # list name, by id.
    events: Sequence[Event]
    alerts: Mapping[int, Alert]
    open_alerts: Sequence[Alert]  # open as of the end of the as-of date
    projections: Mapping[str, Projection]  # stored forecasts' horizon points, by KPI
    scenarios: Sequence[SavedScenario]
    # The explanations of the CEO KPIs that moved this week, and the recommendations for
    # those off target (see :func:`wanted`), by KPI; a sentence where there is none.
    explanations: Mapping[str, Explanation | str] = field(default_factory=dict)
    recommendations: Mapping[str, Recommendations | str] = field(default_factory=dict)
    # The open alerts a silence covered then, by id: they do not count as unacknowledged.
    silenced: frozenset[int] = frozenset()

    # ``catalog`` is the catalog as read; a brief judges each KPI with the target in force
    # on the as-of date, its value a week ago with the one in force then, and a forecast
    # with the one in force at its horizon.
    @cached_property
    def judged(self) -> Catalog:
        return judged_on(self.catalog, self.as_of)

    @cached_property
    def week_before(self) -> Catalog:
        """The catalog judged on the day before the week began (the week-ago values')."""
        return judged_on(self.catalog, week_start(self.as_of) - timedelta(days=1))

    def later(self, kpi_id: str) -> Kpi | None:
        """The KPI judged on its forecast's horizon; None without a forecast."""
        projection = self.projections.get(kpi_id)
        kpi = self.catalog.kpis.get(kpi_id)
        return None if projection is None or kpi is None else kpi_in(kpi, projection.period)


def wanted(facts: BriefFacts) -> tuple[list[str], list[str]]:
    """The CEO KPIs whose explanation "Why it moved" needs (they moved this week by their
    warning band, or changed status), and those "Recommended actions" needs (off target)."""
    catalog, as_of = facts.judged, facts.as_of
    lines = {
        kpi.id: kpi_line(
            kpi, snapshot(kpi, facts.windows.get(kpi.id, ()), as_of), as_of, catalog, None
        )
        for kpi in catalog.ceo_kpis()
    }
    ids = list(lines)
    return moved_ids(catalog, lines, ids, facts.week_before), off_target_ids(lines, ids)


# --- building it ---------------------------------------------------------------------------------


def _value_before(window: Window, day: date) -> float | None:
    """The latest value observed on or before ``day``."""
    for period, value in reversed(window):
        if value is not None and math.isfinite(value) and period_date(period) <= day:
            return value
    return None


def _projected(
    kpi: Kpi, snap: KpiSnapshot, projection: Projection | None, later: Kpi | None = None
) -> Projected | None:
    if projection is None or not projection.reliable:
        return None
    if not projection.is_current(snap.observed_period):
        return None  # made from other data than the date's latest observation
    unit = kpi.unit
    # Judged with the target in force at the horizon (``later``).
    status = target_status(later or kpi, projection.mean)
    text = (
        f"{format_value(projection.mean, unit)} by {projection.period} "
        f"(80 %: {format_value(projection.lo80, unit)} – {format_value(projection.hi80, unit)}, "
        f"{projection.model})"
    )
    return Projected(
        projection.period,
        projection.mean,
        projection.lo80,
        projection.hi80,
        projection.model,
        status,
        text,
    )


def kpi_line(
    kpi: Kpi,
    snap: KpiSnapshot,
    as_of: date,
    catalog: Catalog,
    projection: Projection | None,
    later: Kpi | None = None,
) -> KpiLine:
    unit = kpi.unit
    latest = snap.window[-1] if snap.window else None
    value = latest[1] if latest else None
    period = latest[0] if latest else None
    if value is not None and not math.isfinite(value):
        value = None
    before_week = week_start(as_of) - timedelta(days=1)
    week_before = _value_before(snap.window, before_week)
    if value is None:
        week_change = "—"
    elif period is not None and period_date(period) <= before_week:
        week_change = NO_NEW_VALUE
        week_before = None
    elif week_before is None:
        week_change = "—"
    else:
        week_change = format_change(value, week_before, unit)
    previous = snap.previous
    if previous is not None and not math.isfinite(previous):
        previous = None
    agent = owning_agent(kpi, catalog)
    return KpiLine(
        id=kpi.id,
        name=kpi.name,
        level=kpi.level.value,
        unit=unit.value,
        value=value,
        period=period,
        value_text=format_value(value, unit),
        target=kpi.target,
        target_text=format_value(kpi.target, unit),
        status=snap.status,
        week_before=week_before,
        week_change_text=week_change,
        previous=previous if value is not None else None,
        previous_change_text=format_change(value, previous, unit),
        sparkline=sparkline(snap.values, SPARK_WIDTH),
        owner=agent.name if agent else UNASSIGNED,
        projected=_projected(kpi, snap, projection, later),
    )


def shortfall_text(kpi: Kpi, fraction: float) -> str:
    side = {Direction.HIGHER: "below", Direction.LOWER: "above", Direction.BAND: "away from"}
    return f"{fraction * 100:.1f} % {side[kpi.direction]} target"


def _path(kpi: Kpi, graph: LineageGraph, tree: Tree) -> tuple[tuple[PathStep, ...], float]:
    """The roll-up path from a KPI up to its CEO KPI, and the product of the weights on it."""
    chain = graph.chain_up(kpi.id)
    steps: list[PathStep] = []
    weight = 1.0
    below = kpi
    for parent in chain:
        edge = tree.edges.get(below.id)
        kind = edge.kind if edge is not None else EdgeKind.WEIGHT
        steps.append(PathStep(below.id, below.name, below.weight, kind.value, below.sensitivity))
        weight *= below.weight
        below = parent
    steps.append(PathStep(below.id, below.name, None))
    return tuple(steps), weight


def exact_impact(
    kpi: Kpi, top: Kpi, tree: Tree, current: Mapping[str, float | None]
) -> tuple[float, float, str]:
    """The CEO KPI's gain were ``kpi`` back on target, as a fraction of the CEO KPI's
    target, its change in its own units, and the model's note; :class:`ScenarioError`
    when the what-if model cannot say (a value missing on the way, a tracked KPI)."""
    outcome = simulate(tree, [Lever(kpi.id, Change.SET, target_of(kpi))], current)
    moved = outcome.of(top.id)
    if moved is None:
        raise ScenarioError(f"{kpi.id} does not move {top.id}")
    gain = performance(top, moved.projected) - performance(top, moved.current)
    return gain, moved.change, outcome.note


def _sources(kpi: Kpi, catalog: Catalog) -> tuple[Source, ...]:
    fields: dict[str, list[str]] = {}
    for link in kpi.lineage:
        for field_id in link.fields:
            system, table, name = split_field_id(field_id)
            wanted = fields.setdefault(system, [])
            if f"{table}.{name}" not in wanted:
                wanted.append(f"{table}.{name}")
    return tuple(
        Source(
            system,
            catalog.systems[system].name if system in catalog.systems else system,
            tuple(names),
        )
        for system, names in fields.items()
    )


def rank_risks(
    kpi_ids: Iterable[str],
    lines: Mapping[str, KpiLine],
    catalog: Catalog,
    graph: LineageGraph,
) -> list[Risk]:
    """Every off-target (warning or critical) KPI among ``kpi_ids``, by impact on its CEO
    KPI (largest first; ties in catalog order)."""
    position = {kpi_id: index for index, kpi_id in enumerate(catalog.kpis)}
    tree = Tree(catalog)
    current = {kpi_id: line.value for kpi_id, line in lines.items()}
    found: list[tuple[float, int, Risk]] = []
    for kpi_id in kpi_ids:
        line = lines[kpi_id]
        if line.status not in (Status.WARNING, Status.CRITICAL) or line.value is None:
            continue
        kpi = catalog.kpis[kpi_id]
        gap = shortfall(kpi, line.value)
        path, weight = _path(kpi, graph, tree)
        impact = gap * weight
        top = catalog.kpis[path[-1].id]
        change: float | None = None
        change_text: str | None = None
        model = MODEL_NOTE
        if any(step.kind not in (None, EdgeKind.WEIGHT.value) for step in path):
            try:
                impact, change, model = exact_impact(kpi, top, tree, current)
                change_text = signed_in_unit(change, top.unit)
            except ScenarioError:
                impact, change = 0.0, None  # nothing to rank it by; shown last
                change_text = "not computable (a value is missing on the way)"
        agent = owning_agent(kpi, catalog)
        risk = Risk(
            rank=0,
            kpi=line,
            shortfall=_round(gap) or 0.0,
            shortfall_text=shortfall_text(kpi, gap),
            path_weight=_round(weight) or 0.0,
            impact=_round(impact) or 0.0,
            ceo_id=top.id,
            ceo_name=top.name,
            path=path,
            sources=_sources(kpi, catalog),
            agent_id=agent.id if agent else None,
            agent_name=agent.name if agent else UNASSIGNED,
            rules=agent.rules if agent else (),
            impact_change=_round(change),
            impact_change_text=change_text,
            model=model,
        )
        found.append((risk.impact, position[kpi_id], risk))
    found.sort(key=lambda item: (-item[0], item[1]))
    return [replace(risk, rank=rank) for rank, (_, _, risk) in enumerate(found, start=1)]


def _headline(
    kpi_ids: Sequence[str],
    lines: Mapping[str, KpiLine],
    open_alerts: Sequence[Alert],
    silenced: frozenset[int],
) -> Headline:
    statuses = [lines[k].status for k in kpi_ids]
    return Headline(
        total=len(statuses),
        ok=statuses.count(Status.OK),
        warning=statuses.count(Status.WARNING),
        critical=statuses.count(Status.CRITICAL),
        stale=statuses.count(Status.STALE),
        no_data=statuses.count(Status.NO_DATA),
        tracked=statuses.count(Status.TRACKED),
        open_alerts=len(open_alerts),
        firing=sum(1 for a in open_alerts if a.needs_attention and a.id not in silenced),
        grouped=sum(
            1 for a in open_alerts if a.state is State.FIRING and a.parent_alert_id is not None
        ),
        acknowledged=sum(1 for a in open_alerts if a.state is State.ACKNOWLEDGED),
        snoozed=sum(1 for a in open_alerts if a.state is State.SNOOZED),
        silenced=sum(1 for a in open_alerts if a.needs_attention and a.id in silenced),
    )


def _change(event: Event, alert: Alert | None, catalog: Catalog) -> AlertChange:
    return AlertChange(
        at=event.at,
        alert_id=event.alert_id,
        subject=subject_name(alert, catalog) if alert else f"alert {event.alert_id}",
        kpi_id=alert.kpi_id if alert else None,
        system_id=alert.system_id if alert else None,
        rule=alert.rule if alert else "",
        severity=alert.severity.value if alert else "",
        action=ACTIONS.get(event.action, event.action),
        actor=event.actor,
        from_state=event.from_state.value if event.from_state else None,
        to_state=event.to_state.value,
        note=event.note or "",
    )


def _open_alert(alert: Alert, catalog: Catalog) -> OpenAlert:
    return OpenAlert(
        id=alert.id,
        subject=subject_name(alert, catalog),
        rule=alert.rule,
        severity=alert.severity.value,
        state=alert.state.value,
        opened_at=alert.opened_at,
        acknowledgement=acknowledgement_text(alert),
    )


def _stale_systems(
    facts: BriefFacts, snaps: Mapping[str, KpiSnapshot], scope: set[str] | None
) -> tuple[StaleSystem, ...]:
    catalog, graph = facts.catalog, facts.graph
    stale = {k for k, s in snaps.items() if s.status is Status.STALE}
    with_data = {k for k, s in snaps.items() if s.status is not Status.NO_DATA}
    found = stale_sources(graph.kpis_by_system, stale, with_data)
    systems = []
    for system_id in sorted(found):
        fed = found[system_id]
        if scope is not None and not scope.intersection(fed):
            continue
        ceo = dict.fromkeys(graph.ceo_kpi_of(k).id for k in fed)
        system = catalog.systems.get(system_id)
        systems.append(
            StaleSystem(
                id=system_id,
                name=system.name if system else system_id,
                feeds=tuple((k, catalog.kpis[k].name) for k in fed),
                ceo_kpis=tuple((k, catalog.kpis[k].name) for k in ceo),
            )
        )
    return tuple(systems)


def _routed_to(alert: Alert | None, agent_id: str, catalog: Catalog, graph: LineageGraph) -> bool:
    """Whether the alert is routed to the agent: the same routes as ``alerts --agent`` and
    the agents view, so an agent's brief counts what they list."""
    if alert is None:
        return False
    found = routes(alert.kpi_id, alert.system_id, catalog, graph)
    return any(route.agent_id == agent_id for route in found)


def build_brief(facts: BriefFacts, agent_id: str | None = None) -> Brief:
    """The CEO brief, or the brief of one agent (the CEO agent's is the CEO brief);
    raises :class:`BriefError` for an agent the catalog does not know."""
    catalog, graph, as_of = facts.judged, facts.graph, facts.as_of
    agent: Agent | None = None
    if agent_id is not None:
        agent = catalog.agents.get(agent_id)
        if agent is None:
            known = ", ".join(sorted(catalog.agents)) or "none"
            raise BriefError(f"unknown agent {agent_id!r}; the catalog's agents: {known}")
        if is_ceo_agent(agent, catalog):
            agent = None
    snaps = snapshots(catalog, facts.windows, as_of)
    lines = {
        kpi.id: kpi_line(
            kpi,
            snaps[kpi.id],
            as_of,
            catalog,
            facts.projections.get(kpi.id),
            facts.later(kpi.id),
        )
        for kpi in catalog.kpis.values()
    }
    events = sorted(
        (e for e in facts.events if in_week(e.at, as_of)),
        key=lambda e: (e.at, e.alert_id or 0),
    )
    scope: set[str] | None = None  # the agent's KPIs; None: the whole catalog (CEO)
    agent_part: AgentPart | None = None
    if agent is None:
        scope_ids = list(catalog.kpis)
        ceo_ids = [k.id for k in catalog.ceo_kpis()]
        open_alerts = list(facts.open_alerts)
        changes = [_change(e, facts.alerts.get(e.alert_id or -1), catalog) for e in events]
    else:
        owns = owned_kpis(agent, catalog)
        supports = supported_kpis(agent, catalog)
        scope = set(owns) | set(supports)
        scope_ids = [k for k in catalog.kpis if k in scope]
        moved = {graph.ceo_kpi_of(k).id for k in scope_ids}
        ceo_ids = [k.id for k in catalog.ceo_kpis() if k.id in moved]
        open_alerts = [a for a in facts.open_alerts if _routed_to(a, agent.id, catalog, graph)]
        changes = [
            _change(e, alert, catalog)
            for e in events
            if _routed_to(alert := facts.alerts.get(e.alert_id or -1), agent.id, catalog, graph)
        ]
        function = catalog.functions.get(agent.function or "")
        agent_part = AgentPart(
            id=agent.id,
            name=agent.name,
            function=function.name if function else agent.function,
            rules=agent.rules,
            owns=tuple(lines[k] for k in owns),
            supports=tuple(lines[k] for k in supports),
        )
    risks = rank_risks(scope_ids, lines, catalog, graph)
    return Brief(
        as_of=as_of,
        week_start=week_start(as_of),
        headline=_headline(scope_ids, lines, open_alerts, frozenset(facts.silenced)),
        ceo_kpis=tuple(lines[k] for k in ceo_ids),
        changes=tuple(changes),
        # The CEO brief lists no open alerts of its own: its risks and changes say it.
        open_alerts=() if agent is None else tuple(_open_alert(a, catalog) for a in open_alerts),
        risks=tuple(risks[:TOP_RISKS]),
        off_target=len(risks),
        stale_systems=_stale_systems(facts, snaps, scope),
        scenarios=scenario_changes(facts.scenarios, lambda at: in_week(at, as_of), scope),
        agent=agent_part,
        why=why_section(catalog, lines, ceo_ids, facts.explanations, facts.week_before),
        actions=actions_section(
            catalog, lines, ceo_ids, facts.recommendations, agent.id if agent else None
        ),
    )
