"""Notices: each notified change of an incident, logged in the transaction that made it,
and the message a sink receives for one.

:func:`record_notices` runs inside an evaluation's or a person's transaction
(:mod:`intelligentos.services.check`): it keeps with each notice what its message will say
(a snapshot of the incident), whom the routing policy notifies and why
(:func:`intelligentos.domain.routing_policy.decisions_for`), and the silence that holds it
back, if any. :func:`render` makes a sink's body from a stored notice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from intelligentos.domain.agents import owning_agent
from intelligentos.domain.alerts import SYSTEM_ACTOR, Alert, State, subject_name
from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.clock import stamp
from intelligentos.domain.detection import Severity
from intelligentos.domain.incidents import Incident, IncidentState, Notice, notice
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.messages import (
    IncidentMessage,
    json_body,
    pagerduty_body,
    slack_body,
    text_body,
)
from intelligentos.domain.notify import NotifySink, encode
from intelligentos.domain.outbox import StoredNotice
from intelligentos.domain.routing_policy import AgentAttention, decisions_for
from intelligentos.domain.silences import silencing
from intelligentos.domain.templates import TemplateProblem, render_headline
from intelligentos.store import Store

Changes = Sequence[tuple[Incident | None, Incident]]


def attention() -> dict[str, AgentAttention]:
    """What each agent wants to be notified of, as the user's ``config.toml`` says."""
    from intelligentos.config.settings import CockpitSettings

    return dict(CockpitSettings.load().routing.agents)


def alert_fields(alert: Alert) -> dict[str, Any]:
    """An alert as a notice's snapshot keeps it (JSON values)."""
    fields = asdict(alert)
    fields["severity"] = alert.severity.value
    fields["state"] = alert.state.value
    return fields


def alert_of(fields: Mapping[str, Any]) -> Alert:
    """The alert a snapshot kept (:func:`alert_fields`)."""
    known = set(Alert.__dataclass_fields__)
    kept = {key: value for key, value in fields.items() if key in known}
    kept["severity"] = Severity(kept["severity"])
    kept["state"] = State(kept["state"])
    return Alert(**kept)


def owner_name(face: Alert, catalog: Catalog, first_routed: str | None) -> str:
    """Who owns what the incident is about, by name: the KPI's owning agent; for a stale
    source, its first routed agent."""
    kpi = catalog.kpis.get(face.kpi_id or "")
    agent = owning_agent(kpi, catalog) if kpi is not None else None
    if agent is None and first_routed is not None:
        agent = catalog.agents.get(first_routed)
    return agent.name if agent is not None else "no owner"


def record_notices(
    store: Store,
    changes: Changes,
    catalog: Catalog,
    now: datetime,
    *,
    graph: LineageGraph | None = None,
    wants: Mapping[str, AgentAttention] | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> list[int]:
    """Log a notice for each incident change worth one
    (:func:`intelligentos.domain.incidents.notice`); call inside the transaction that made
    the changes. ``actor`` and ``note``: the person's (None: the evaluation's). The ids
    logged."""
    graph = graph or LineageGraph(catalog)
    at = stamp(now)
    silences = store.silences(include_ended_before=at)
    logged = []
    for before, after in changes:
        kind = notice(before, after)
        if kind is None or after.id is None:
            continue
        face = after.face
        decisions = decisions_for(face, after.severity, catalog, graph, wants)
        systems = graph.systems_of(face.kpi_id) if face.kpi_id in catalog.kpis else []
        held = silencing(silences, face, now, [d.agent_id for d in decisions], systems)
        first = decisions[0].agent_id if decisions else None
        snapshot = {
            "state": after.state.value,
            "subject": subject_name(face, catalog),
            "owner": owner_name(face, catalog, first),
            "face": alert_fields(face),
            "alerts": [alert_fields(a) for a in after.alerts if a.is_open or not after.open_alerts],
        }
        logged.append(
            store.add_notice(
                after.id,
                kind.value,
                at,
                actor or SYSTEM_ACTOR,
                note,
                after.severity,
                face.rule,
                held.id if held is not None else None,
                snapshot,
                [asdict(d) for d in decisions],
            )
        )
    return logged


def cockpit_link(store_path: object) -> str:
    """The default link line: the command that lists the store's incidents."""
    import shlex

    return f"intelligentos-tui alerts --db {shlex.quote(str(store_path))}"


def message_of(
    stored: StoredNotice, catalog: Catalog | None, driver: str = "", link: str = ""
) -> IncidentMessage:
    """The message of a stored notice; ``catalog`` (as it is now) gives the KPI's unit;
    ``link`` is its link line unless a sink's ``link`` template says otherwise."""
    snapshot = stored.snapshot
    face = alert_of(snapshot["face"])
    kpi = catalog.kpis.get(face.kpi_id or "") if catalog is not None else None
    return IncidentMessage(
        incident_id=stored.incident_id,
        notice=Notice(stored.kind),
        state=IncidentState(snapshot["state"]),
        face=face,
        subject=snapshot["subject"],
        kpi=kpi,
        owner=snapshot["owner"],
        at=stored.at,
        actor=stored.actor,
        note=stored.note,
        alerts=tuple(alert_of(a) for a in snapshot["alerts"]),
        driver=driver,
        link=link,
        routed_to=tuple(stored.notified),
    )


def render(
    sink: NotifySink,
    message: IncidentMessage,
    namespace: str,
    warn: Callable[[str], None],
    notice_id: int | None = None,
) -> bytes:
    """The body ``sink`` receives for ``message``, in its format (the ``json`` one carries
    ``notice_id`` as ``change.id``: the same for a retried delivery, so a receiver can drop a
    repeat). A headline template that fails to render gives way to the default headline,
    and ``warn`` is told why."""
    if sink.link is not None:
        try:
            message = replace(message, link=render_headline(sink.link, message, "link"))
        except TemplateProblem as problem:
            warn(
                f"The link template of the [[notify]] sink {sink.label} could not be used "
                f"({problem}); its messages carry the default link."
            )
    title = None
    if sink.headline is not None:
        try:
            title = render_headline(sink.headline, message)
        except TemplateProblem as problem:
            warn(
                f"The headline template of the [[notify]] sink {sink.label} could not be used "
                f"({problem}); its messages carry the default headline."
            )
    if sink.format == "text":
        return text_body(message, title).encode("utf-8")
    if sink.format == "slack":
        return encode(slack_body(message, title))
    if sink.format == "pagerduty":
        return encode(pagerduty_body(message, sink.routing_key or "", namespace, title))
    document = json_body(message)
    document["change"]["id"] = notice_id
    if title is not None:
        document["incident"]["headline"] = title
    return encode(document)


def release_held(
    store: Store,
    catalog: Catalog,
    now: datetime,
    *,
    graph: LineageGraph | None = None,
    wants: Mapping[str, AgentAttention] | None = None,
) -> list[int]:
    """Log an opening notice for each open incident that still fires and whose last notice
    a silence held back, once that silence holds no more: nobody was told of it, and the
    problem outlived the maintenance window. Call inside the evaluation's transaction;
    ``wants`` None: as ``config.toml`` says. The ids logged."""
    ended = {s.id for s in store.silences() if not s.active(now)}
    if not ended:
        return []
    firing = [
        i
        for i in store.incidents(open_only=True)
        if i.id is not None and i.state is IncidentState.FIRING
    ]
    last = store.last_notices(i.id for i in firing if i.id is not None)
    released = [
        i for i in firing if (n := last.get(i.id or 0)) is not None and n.silence_id in ended
    ]
    if not released:
        return []
    wanted = attention() if wants is None else wants
    # As if it opened now: another silence holding it now holds this notice too.
    return record_notices(
        store, [(None, i) for i in released], catalog, now, graph=graph, wants=wanted
    )
