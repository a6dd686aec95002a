"""What ``[routing.agents.<id>]`` says, checked against the catalog it is used with (see
:mod:`intelligentos.domain.routing_policy`)."""

from __future__ import annotations

from collections.abc import Mapping

from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.routing_policy import AgentAttention


def check_routing(agents: Mapping[str, AgentAttention], catalog: Catalog, source: str) -> list[str]:
    """One warning sentence per ``[routing.agents.<id>]`` table of ``source`` naming an
    agent ``catalog`` does not know: it applies to no one (a misspelt id would leave the
    agent it meant on the defaults)."""
    known = tuple(catalog.agents)
    listed = ", ".join(known[:12]) + (", …" if len(known) > 12 else "")
    return [
        f"[routing.agents.{agent_id}] in {source} names an agent the catalog does not know, "
        f"so it applies to no one (known: {listed or 'none'})."
        for agent_id in agents
        if agent_id not in catalog.agents
    ]
