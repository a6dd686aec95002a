"""Agent focus: the cockpit as one agent sees it, its KPIs first in every panel and only the
alerts routed to it. Resolved against each refresh's catalog (a re-sync may rename or drop
the agent)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.command import SimpleCommand
from textual.markup import escape

from intelligentos.domain.alerts import Alert
from intelligentos.domain.formatting import literal
from intelligentos.services.snapshots import CockpitData
from intelligentos.tui.base import Cockpit

if TYPE_CHECKING:  # imported when an agent is first focused, off the launch path
    from intelligentos.domain.views import AgentFocus


class AgentFocusing:
    def __init__(self, app: Cockpit, agent_id: str | None) -> None:
        self.app = app
        self.agent_id = agent_id  # the agent asked for (``None``: everyone's view)
        self.focus: AgentFocus | None = None  # that agent, resolved in the data shown

    def resolve(self, data: CockpitData) -> None:
        app = self.app
        agent_id = self.agent_id
        agent = data.catalog.agents.get(agent_id) if agent_id else None
        if agent_id and agent is None:
            app.notify(
                f"No agent {agent_id!r} in the catalog: agent focus cleared.",
                severity="warning",
                markup=False,
            )
            self.agent_id = None
        if agent:
            from intelligentos.domain.views import AgentFocus

            focus = AgentFocus.of(agent, data.catalog)
        else:
            focus = None
        if focus != self.focus:
            self.focus = focus
        app.focus_text = focus.short_name if focus else ""
        app.attention_count = len(self.focused_alerts(data.attention))

    def focus_agent(self, agent_id: str | None) -> None:
        """Show the cockpit as ``agent_id`` sees it (``None``: everyone's), and remember it
        for the next launch."""
        self.agent_id = agent_id
        app = self.app
        try:
            app.settings.remember_agent(agent_id)
        except OSError as error:
            app.notify(f"Could not remember the focus: {error}", severity="warning", markup=False)
        data = app.data
        if data is None:
            return
        self.resolve(data)
        app.data_changed()
        focus = self.focus
        app.notify(
            literal(f"Focus: {focus.name}" if focus else "Agent focus cleared."),
            timeout=3,
            markup=False,
        )

    def focused_alerts(self, alerts: list[Alert]) -> list[Alert]:
        """The alerts routed to the focused agent; all of them without a focus."""
        focus, data = self.focus, self.app.data
        if focus is None or data is None:
            return alerts
        return focus.alerts(alerts, data.catalog, data.graph)

    def palette_commands(self) -> Iterator[SystemCommand]:
        yield SystemCommand(
            "Focus on agent…",
            "An agent's KPIs first in every panel, and only the alerts routed to it",
            self._pick_agent,
        )
        if self.focus is not None:
            yield SystemCommand(
                "Clear agent focus",
                "Every KPI in catalog order, every alert",
                partial(self.focus_agent, None),
            )

    def _pick_agent(self) -> None:
        app = self.app
        data = app.data
        if data is None:
            app.notify("The store is still loading.", timeout=3)
            return
        app.search_commands(
            [
                SimpleCommand(
                    escape(literal(agent.name)),
                    partial(self.focus_agent, agent.id),
                    escape(literal(f"{agent.id}: its KPIs first, only its routed alerts")),
                )
                for agent in data.catalog.agents.values()
            ],
            placeholder="Focus on which agent…",
        )
