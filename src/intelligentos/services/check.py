"""Evaluation: run the detection rules over the store and move alerts through their
lifecycle, in one short write transaction. Shared by the CLI and the cockpit.

No SQL here (the store does that) and no Textual.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from intelligentos.domain.agents import routes
from intelligentos.domain.alert_actions import add_note, assign, resolve, unacknowledge
from intelligentos.domain.alerts import (
    Alert,
    Event,
    LifecycleError,
    acknowledge,
    open_alert,
    reconcile,
    regroup,
    rejudge,
    snooze,
)
from intelligentos.domain.catalog.models import Catalog, Kpi
from intelligentos.domain.clock import parse_stamp, period_upper_bound, utc_naive
from intelligentos.domain.derived import DerivedRun
from intelligentos.domain.detection import (
    ANOMALY_WINDOW,
    DRIFT_BASELINE,
    DRIFT_RECENT,
    Finding,
    Rule,
    Severity,
    cleared,
    evaluate_kpi,
    present,
    stale_sources,
    target_band,
)
from intelligentos.domain.incidents import Incident
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.okr.targets import judged_on, kpi_in
from intelligentos.services.derived import compute_pending
from intelligentos.services.incidents import file_alerts
from intelligentos.store import Store

if TYPE_CHECKING:
    from intelligentos.domain.routing_policy import AgentAttention

KPI_RULES = (Rule.TARGET, Rule.ANOMALY, Rule.DRIFT, Rule.STALE, Rule.FORECAST)


def evaluation_window(catalog: Catalog) -> int:
    """Points per KPI the rules need: the anomaly window or drift baseline, plus the latest."""
    need = ANOMALY_WINDOW + 1
    for kpi in catalog.kpis.values():
        overrides = kpi.detection
        need = max(
            need,
            (overrides.anomaly_window or ANOMALY_WINDOW) + 1,
            (overrides.drift_baseline or DRIFT_BASELINE) + DRIFT_RECENT,
        )
    return need


@dataclass
class EvaluationResult:
    opened: list[Alert] = field(default_factory=list)
    transitions: int = 0
    open_alerts: list[Alert] = field(default_factory=list)
    seconds: float = 0.0
    derived: DerivedRun = field(default_factory=DerivedRun)  # computed before the rules ran
    # Each incident the evaluation touched, as it was (None: new) and as it is.
    incidents: list[tuple[Incident | None, Incident]] = field(default_factory=list)


def redefined(alert: Alert, kpi: Kpi, later: Kpi | None = None) -> bool:
    """Whether an open alert was judged under another target than the one in force (the
    catalog was re-synced since, or a quarter with another target began): the target rule
    expects ``kpi``'s target (judged on the day of judgement), the forecast rule the target
    in force on its horizon's date (``later``; ``kpi`` when not given)."""
    if alert.expected is None:
        return False
    if alert.rule == Rule.TARGET.value:
        return alert.expected != kpi.target
    if alert.rule == Rule.FORECAST.value:
        return alert.expected != (later or kpi).target
    return False


def evaluate_store(
    store: Store,
    catalog: Catalog,
    now: datetime,
    graph: LineageGraph | None = None,
    redefined_kpis: Collection[str] = (),
    *,
    wants: Mapping[str, AgentAttention] | None = None,
) -> EvaluationResult:
    """Evaluate every rule for every KPI and persist the lifecycle changes atomically;
    each alert opened is stored with its routes (:func:`intelligentos.domain.agents.routes`).

    The open alerts of ``redefined_kpis`` (a re-synced catalog changed how they are
    judged), and any alert judged under another target, are judged again as if new:
    the new expectation and severity, or resolved (:func:`intelligentos.domain.alerts.rejudge`).

    The derived values of the periods whose inputs were written since they were last
    computed are computed first, in the same transaction (see
    :func:`intelligentos.services.derived.compute_pending`).

    Each KPI is judged against the target in force on ``now``'s day, its forecast against
    the target in force on the forecast horizon's date (``catalog`` is the catalog as read:
    it is judged here).

    Each incident change worth a notification is logged as a notice in the same
    transaction (:func:`intelligentos.services.notices.record_notices`), routed by what each
    agent ``wants`` (None: as ``config.toml``'s ``[routing]`` says).

    Read-only stores are evaluated for display only: nothing is written.
    """
    started = time.perf_counter()
    stored = catalog
    catalog = judged_on(stored, utc_naive(now).date())
    graph = graph or LineageGraph(catalog)
    result = EvaluationResult()
    if store.readonly:
        result.open_alerts = store.open_alerts()
        return result
    with store.transaction():
        incidents_before = {i.id: i for i in store.incidents(open_only=True) if i.id}
        # Derived values first, for the periods whose inputs another process wrote.
        result.derived = compute_pending(store, catalog, now)
        # A row dated after today is not a value yet (stray_observations reports it).
        windows = store.latest_windows(
            evaluation_window(catalog), until=period_upper_bound(utc_naive(now).date())
        )
        projections = store.projections()
        # Each KPI as judged on its forecast's horizon (itself when no target changes there).
        later = {
            kpi_id: kpi_in(stored.kpis[kpi_id], projection.period)
            for kpi_id, projection in projections.items()
            if kpi_id in stored.kpis
        }
        findings: dict[str, dict[Rule, Finding]] = {}
        with_data: set[str] = set()
        for kpi in catalog.kpis.values():
            points = windows.get(kpi.id, [])
            if present(points):
                with_data.add(kpi.id)
            findings[kpi.id] = evaluate_kpi(
                kpi, points, now, projections.get(kpi.id), later.get(kpi.id)
            )
        stale_kpis = {k for k, found in findings.items() if Rule.STALE in found}
        sources = stale_sources(graph.kpis_by_system, stale_kpis, with_data)
        open_by_key = {alert.key: alert for alert in store.open_alerts()}

        def apply(before: Alert | None, after: Alert, event: Event | None) -> Alert:
            if after == before and event is None:
                return after  # nothing moved: an evaluation without news writes nothing
            if event is not None:
                result.transitions += 1
            # A new alert is routed as it opens, in the same transaction; its routes stay
            # (a catalog re-sync re-routes the open alerts).
            routed = (
                routes(after.kpi_id, after.system_id, catalog, graph) if before is None else None
            )
            return store.record(after, event, routed)

        event: Event | None
        source_alert_ids: dict[str, int] = {}
        alerting_systems = {system for _, system, _ in open_by_key if system is not None}
        for system_id in sorted(set(sources) | alerting_systems):
            key = (None, system_id, Rule.STALE_SOURCE.value)
            alert = open_by_key.get(key)
            fed = sources.get(system_id)
            system = catalog.systems.get(system_id)
            finding: Finding | None = None
            if fed:
                finding = Finding(
                    Rule.STALE_SOURCE,
                    Severity.WARNING,
                    None,
                    None,
                    float(len(fed)),
                    f"{system.name if system else system_id}: every KPI it feeds is stale "
                    f"({', '.join(fed)})",
                )
            if alert is None and finding is not None:
                new, event = open_alert(finding, now, system_id=system_id)
                saved = apply(None, new, event)
                result.opened.append(saved)
            elif alert is not None:
                new, event = reconcile(alert, finding, finding is None, now)
                saved = apply(alert, new, event)
            else:
                continue
            if saved.is_open and saved.id is not None:
                source_alert_ids[system_id] = saved.id

        for kpi in catalog.kpis.values():
            points = windows.get(kpi.id, [])
            group = next(
                (source_alert_ids[s] for s in graph.systems_of(kpi.id) if s in source_alert_ids),
                None,
            )
            for rule in KPI_RULES:
                finding = findings[kpi.id].get(rule)
                alert = open_by_key.get((kpi.id, None, rule.value))
                if alert is None:
                    if finding is not None:
                        new, event = open_alert(finding, now, kpi_id=kpi.id, parent_alert_id=group)
                        result.opened.append(apply(None, new, event))
                    continue
                horizon = later.get(kpi.id)
                if kpi.id in redefined_kpis or redefined(alert, kpi, horizon):
                    if finding is None and rule is Rule.TARGET:
                        # A stale KPI is judged on staleness alone; its target alert still
                        # needs the new target's verdict on the last value.
                        finding = target_band(kpi, points)
                    # Without hysteresis: the value did not move, the definition did.
                    may_resolve = finding is None and (
                        rule is not Rule.FORECAST
                        or cleared(kpi, rule, points, False, projections.get(kpi.id), horizon)
                    )
                    new, event = rejudge(alert, finding, may_resolve, now)
                else:
                    may_resolve = cleared(
                        kpi, rule, points, finding is not None, projections.get(kpi.id), horizon
                    )
                    new, event = reconcile(alert, finding, may_resolve, now)
                if new.is_open:
                    new = regroup(new, group, now)
                apply(alert, new, event)
        result.incidents = file_alerts(store, incidents_before)
        if result.incidents:
            # Imported when first needed: the cockpit's first screen waits for neither
            # the routing policy nor the messages.
            from intelligentos.services.notices import attention, record_notices

            wanted = attention() if wants is None else wants
            record_notices(store, result.incidents, catalog, now, graph=graph, wants=wanted)
        if store.silences():
            # A silence that ended may have held back an incident that still fires.
            from intelligentos.services.notices import release_held

            release_held(store, catalog, now, graph=graph, wants=wants)
        result.open_alerts = store.open_alerts()
    result.seconds = time.perf_counter() - started
    return result


def change_alert(
    store: Store,
    alert_id: int,
    transition: Callable[[Alert], tuple[Alert, Event]],
    *,
    catalog: Catalog | None = None,
    wants: Mapping[str, AgentAttention] | None = None,
) -> Alert:
    """Apply a person's lifecycle transition to one alert and log it, in one transaction
    (the CLI and the cockpit share this); raises :class:`LifecycleError` (see
    :func:`change_alerts`)."""
    saved, refused = change_alerts(store, [alert_id], transition, catalog=catalog, wants=wants)
    if refused:
        raise refused[0]
    return saved[0]


def change_alerts(
    store: Store,
    alert_ids: Iterable[int],
    transition: Callable[[Alert], tuple[Alert, Event]],
    *,
    catalog: Catalog | None = None,
    wants: Mapping[str, AgentAttention] | None = None,
) -> tuple[list[Alert], list[LifecycleError]]:
    """Apply a person's lifecycle transition to each alert and log it, all in one
    transaction: the alerts saved, and the transitions refused (the others still apply).

    The alerts' incidents are filed again in the same transaction, once, and what that
    changes for each is logged as a notice with the person's name and note (acknowledging
    an incident's last firing alert acknowledges it, resolving its last open alert resolves
    it): an incident acted on whole is one notice, and no evaluation comes between its
    alerts. Notices are routed by what each agent ``wants`` (None: as ``config.toml``'s
    ``[routing]`` says) over ``catalog`` (None: the store's)."""
    from intelligentos.services.notices import attention, record_notices

    catalog = catalog if catalog is not None else store.read_catalog()
    wanted = attention() if wants is None else wants
    saved: list[Alert] = []
    refused: list[LifecycleError] = []
    with store.transaction():
        before = {i.id: i for i in store.incidents(open_only=True) if i.id}
        last: Event | None = None
        for alert_id in alert_ids:
            alert = store.alert(alert_id)
            try:
                if alert is None:
                    raise LifecycleError(f"there is no alert {alert_id}")
                changed, last = transition(alert)
            except LifecycleError as error:
                refused.append(error)
                continue
            saved.append(store.record(changed, last))
        changes = file_alerts(store, before) if last is not None else []
        if changes and last is not None:
            record_notices(
                store,
                changes,
                catalog,
                parse_stamp(last.at),
                wants=wanted,
                actor=last.actor,
                note=last.note,
            )
    return saved, refused


def acknowledge_alert(
    store: Store,
    alert_id: int,
    actor: str,
    note: str,
    now: datetime,
    *,
    wants: Mapping[str, AgentAttention] | None = None,
) -> Alert:
    return change_alert(
        store, alert_id, lambda alert: acknowledge(alert, actor, note, now), wants=wants
    )


def snooze_alert(
    store: Store,
    alert_id: int,
    duration: timedelta,
    actor: str,
    note: str | None,
    now: datetime,
    *,
    wants: Mapping[str, AgentAttention] | None = None,
) -> Alert:
    return change_alert(
        store, alert_id, lambda alert: snooze(alert, duration, actor, note, now), wants=wants
    )


# --- who did what: a person's other actions (domain.alert_actions) -------------------------


def unacknowledge_alert(store: Store, alert_id: int, actor: str, note: str, now: datetime) -> Alert:
    return change_alert(store, alert_id, lambda alert: unacknowledge(alert, actor, note, now))


def note_alert(store: Store, alert_id: int, actor: str, note: str, now: datetime) -> Alert:
    return change_alert(store, alert_id, lambda alert: add_note(alert, actor, note, now))


def assign_alert(store: Store, alert_id: int, agent_id: str, actor: str, now: datetime) -> Alert:
    """Assign to one of the catalog's agents (as the store holds it)."""
    agents = store.agent_ids()
    return change_alert(store, alert_id, lambda alert: assign(alert, agent_id, agents, actor, now))


def resolve_alert(store: Store, alert_id: int, actor: str, note: str, now: datetime) -> Alert:
    return change_alert(store, alert_id, lambda alert: resolve(alert, actor, note, now))
