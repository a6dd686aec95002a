"""Who is notified of an incident, and why or why not.

An incident's face alert is **routed** to agents with a reason (:mod:`intelligentos.domain.agents`:
the owner, the owners of what it rolls up to, ...). Routing says who may care; this policy says
whom a notification is worth interrupting:

* by default the **owner** is notified of everything on its KPIs (and a stale source's agents
  of its staleness), and every **other** routed agent only of critical incidents and of those
  on CEO KPIs;
* an agent may say what it wants instead (``[routing.agents.<id>]`` in ``config.toml``): the
  least severity (``min_severity``), the rules (``rules = ["target", "forecast"]``) and the
  KPIs (``kpis = "routed"`` for every routed one, ``"owned"`` for its own only, ``"ceo"`` for
  CEO KPIs only).

Each decision keeps its reason, shown on the alerts screen and stored with the notice.

Pure Python: no SQL, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from intelligentos.domain.agents import Route, routes
from intelligentos.domain.alerts import Alert
from intelligentos.domain.catalog.models import Catalog, Level
from intelligentos.domain.detection import Rule, Severity
from intelligentos.domain.lineage import LineageGraph

OWNER = "owner"
# A stale source's route: the agents whose KPIs it feeds; they are its owners here.
_OWNER_PREFIXES = ("fed by ",)

KpiScope = Literal["routed", "owned", "ceo"]


class AgentAttention(BaseModel):
    """What one agent wants to be notified of (``[routing.agents.<id>]``); a key left out
    keeps the default's behaviour for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_severity: Literal["info", "warning", "critical"] | None = None
    rules: tuple[Rule, ...] | None = None
    kpis: KpiScope | None = None


@dataclass(frozen=True)
class Subject:
    """What the policy needs to know of an incident: its face's rule, the incident's
    severity, and whether it is about a CEO KPI."""

    rule: str  # a Rule's value, or a rule another tool wrote into the public alerts table
    severity: Severity
    ceo_kpi: bool


@dataclass(frozen=True)
class Decision:
    """One routed agent: notified or not, and the sentence that says why."""

    agent_id: str
    route: str  # the routing reason: "owner", "rolls up to Revenue", ...
    notified: bool
    why: str


def is_owner(route: Route) -> bool:
    """Whether the route is the subject's owner's (a KPI's, or an agent fed by a source)."""
    return route.reason == OWNER or route.reason.startswith(_OWNER_PREFIXES)


def decide_one(route: Route, subject: Subject, wants: AgentAttention | None) -> Decision:
    """Whether the agent behind ``route`` is notified of ``subject``, with the reason."""
    owner = is_owner(route)
    wants = wants or AgentAttention()
    if wants.rules is not None and subject.rule not in wants.rules:
        chosen = ", ".join(r.value for r in wants.rules) or "none"
        why = f"wants only {chosen} alerts, not {subject.rule}"
        return Decision(route.agent_id, route.reason, False, why)
    scope = wants.kpis
    if scope == "owned" and not owner:
        return Decision(route.agent_id, route.reason, False, "wants only its own KPIs")
    if scope == "ceo" and not subject.ceo_kpi:
        return Decision(route.agent_id, route.reason, False, "wants only CEO KPIs")
    if wants.min_severity is not None:
        least = Severity(wants.min_severity)
        if subject.severity.rank < least.rank:
            why = f"wants {least.value} or worse, this is {subject.severity.value}"
            return Decision(route.agent_id, route.reason, False, why)
        return Decision(
            route.agent_id, route.reason, True, f"{route.reason}; wants {least.value} or worse"
        )
    if owner or scope is not None:
        return Decision(route.agent_id, route.reason, True, route.reason)
    if subject.severity is Severity.CRITICAL:
        return Decision(route.agent_id, route.reason, True, f"{route.reason}; critical")
    if subject.ceo_kpi:
        return Decision(route.agent_id, route.reason, True, f"{route.reason}; a CEO KPI")
    why = f"{route.reason}; not the owner, and {subject.severity.value} on a non-CEO KPI"
    return Decision(route.agent_id, route.reason, False, why)


def decide(
    routes: Iterable[Route], subject: Subject, wants: Mapping[str, AgentAttention] | None = None
) -> list[Decision]:
    """A decision per routed agent, in routing order (the owner first)."""
    wants = wants or {}
    return [decide_one(route, subject, wants.get(route.agent_id)) for route in routes]


def notified(decisions: Iterable[Decision]) -> list[str]:
    """The agents notified, in order."""
    return [d.agent_id for d in decisions if d.notified]


def subject_of(face: Alert, severity: Severity, catalog: Catalog) -> Subject:
    """The policy's view of an incident whose face is ``face`` and whose severity is
    ``severity``."""
    kpi = catalog.kpis.get(face.kpi_id or "")
    return Subject(face.rule, severity, kpi is not None and kpi.level is Level.CEO)


def decisions_for(
    face: Alert,
    severity: Severity,
    catalog: Catalog,
    graph: LineageGraph,
    wants: Mapping[str, AgentAttention] | None = None,
) -> list[Decision]:
    """Who is notified of an incident (its face and severity), routed as the catalog says
    now, and why or why not: what the sender and the alerts screen both use."""
    found = routes(face.kpi_id, face.system_id, catalog, graph)
    return decide(found, subject_of(face, severity, catalog), wants)
