"""What each incident and alert reads as on the alerts screen: the cells of its row, what
the text filter looks in, what each column sorts by, and the rows in order."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from rich.text import Text

from intelligentos.domain.agents import Route
from intelligentos.domain.alerts import (
    Alert,
    acknowledgement_text,
    breach_start,
    deviation_text,
    expected_text,
    owner_name,
    subject_name,
    value_text,
)
from intelligentos.domain.catalog.models import Kpi
from intelligentos.domain.formatting import format_age, literal, plural
from intelligentos.domain.incidents import Incident
from intelligentos.domain.silences import Silence
from intelligentos.services.snapshots import CockpitData
from intelligentos.tui.widgets.incident_table import (
    CHILD,
    COLLAPSED,
    EXPANDED,
    SEVERITY_GLYPH,
    SILENCED_MARK,
    Line,
    Sort,
    incident_key,
    sorted_by,
)


@dataclass
class IncidentRows:
    """The rows of one paint of the table, from what the screen holds."""

    data: CockpitData | None
    routes: dict[int, list[Route]]
    silenced: dict[int, Silence]  # the silence holding each silenced alert
    expanded: set[str]  # row keys of the incidents shown with their alerts
    state_filter: str
    sort: Sort
    # When each alert's breach began (see :meth:`breach_starts`).
    began: dict[int | None, datetime | None] = field(default_factory=dict)

    def kpi(self, alert: Alert) -> Kpi | None:
        data = self.data
        return data.catalog.kpis.get(alert.kpi_id or "") if data else None

    def breach_starts(self, alerts: list[Alert]) -> dict[int | None, datetime | None]:
        """When each alert's breach began; a stale source's follows the alerts under it."""
        starts = {a.id: breach_start(a, self.kpi(a)) for a in alerts}
        grouped: dict[int, list[datetime | None]] = {}
        for alert in alerts:
            if alert.parent_alert_id is not None:
                grouped.setdefault(alert.parent_alert_id, []).append(starts[alert.id])
        for alert in alerts:
            if alert.id in grouped:
                starts[alert.id] = breach_start(alert, self.kpi(alert), grouped[alert.id])
        return starts

    def owner(self, alert: Alert) -> str:
        data = self.data
        if data is None:
            return owner_name(alert, None)
        fed = data.graph.kpis_by_system.get(alert.system_id or "", []) if alert.system_id else []
        return owner_name(alert, data.catalog, fed)

    def routes_of(self, alert: Alert) -> list[Route]:
        return self.routes.get(alert.id or 0, [])

    def agent_name(self, agent_id: str) -> str:
        agent = self.data.catalog.agents.get(agent_id) if self.data else None
        return agent.name if agent else agent_id

    def subject(self, alert: Alert) -> str:
        return subject_name(alert, self.data.catalog if self.data else None)

    def members(self, incident: Incident) -> list[Alert]:
        """The alerts an expanded incident lists: its open ones (all, when resolved ones
        are asked for)."""
        if self.state_filter in ("resolved", "all") or not incident.open_alerts:
            return list(incident.alerts)
        return incident.open_alerts

    def incident_silence(self, incident: Incident) -> Silence | None:
        """The silence holding every open alert of the incident (the face's), if one does."""
        live = incident.open_alerts or list(incident.alerts)
        if all(a.id in self.silenced for a in live):
            return self.silenced.get(incident.face.id or 0)
        return None

    def age(self, began: datetime | None, now: datetime) -> str:
        return "—" if began is None else format_age((now - began).total_seconds())

    def cells(self, alert: Alert, now: datetime) -> dict[str, str]:
        """Every column's text for one alert, made literal (user text is never markup)."""
        kpi = self.kpi(alert)
        silenced = SILENCED_MARK + " " if alert.id in self.silenced else ""
        return {
            "severity": SEVERITY_GLYPH.get(alert.severity, "●"),
            "id": str(alert.id),
            "subject": CHILD + literal(self.subject(alert)),
            "rule": literal(alert.rule),
            "state": silenced + alert.state.value,
            "value": value_text(alert, kpi),
            "expected": expected_text(alert, kpi),
            "deviation": literal(deviation_text(alert, kpi)),
            "age": self.age(self.began.get(alert.id), now),
            "owner": literal(self.owner(alert)),
            "routed": literal(" ".join(r.agent_id for r in self.routes_of(alert))),
            "ack": literal(acknowledgement_text(alert)),
            "message": literal(" ".join(alert.message.split())),
        }

    def incident_began(self, incident: Incident) -> datetime | None:
        starts = [self.began.get(a.id) for a in self.members(incident)]
        return min((s for s in starts if s is not None), default=None)

    def incident_cells(self, incident: Incident, now: datetime) -> dict[str, str]:
        face = incident.face
        cells = self.cells(face, now)
        count = len(self.members(incident))
        mark = EXPANDED if incident_key(incident) in self.expanded else COLLAPSED
        more = f" ({count} alerts)" if count > 1 else ""
        silenced = SILENCED_MARK + " " if self.incident_silence(incident) else ""
        cells.update(
            severity=SEVERITY_GLYPH.get(incident.severity, "●"),
            id="—" if incident.id is None else str(incident.id),
            subject=f"{mark} {literal(self.subject(face))}{more}",
            state=silenced + incident.state.value,
            age=self.age(self.incident_began(incident), now),
            ack=next((literal(t) for a in incident.alerts if (t := acknowledgement_text(a))), ""),
        )
        return cells

    def haystack(self, incident: Incident) -> str:
        """What the text filter looks in: subjects, rules, owners, states, assignees."""
        words = [incident.state.value]
        for alert in incident.alerts:
            words += [self.subject(alert), alert.rule, self.owner(alert), alert.state.value]
            if alert.assignee:
                words += [alert.assignee, self.agent_name(alert.assignee)]
        return "\n".join(words).casefold()

    def sort_value(self, line: Line, key: str) -> object:
        """What a row sorts by in column ``key`` (None: nothing to sort by, last)."""
        alert = line.alert
        if key == "severity":
            return (line.incident.severity if line.is_incident else alert.severity).rank
        if key == "id":
            return line.incident.id if line.is_incident else alert.id
        if key == "age":
            began = (
                self.incident_began(line.incident) if line.is_incident else self.began.get(alert.id)
            )
            return None if began is None else -began.timestamp()
        if key == "value":
            return alert.value
        text = line.cells[key].removeprefix(CHILD).lstrip(COLLAPSED + EXPANDED + " ")
        return text.removeprefix(SILENCED_MARK + " ").casefold() or None

    def lines(self, incidents: list[Incident], now: datetime) -> list[Line]:
        """The rows: each incident, sorted, with its alerts (sorted the same way) under it
        when expanded. The default order (most severe, then oldest) breaks ties."""

        def rank(
            began: datetime | None, severity_rank: int, number: int | None
        ) -> tuple[int, datetime, int]:
            return (-severity_rank, began or datetime.max, number or 0)

        heads = [
            Line(
                incident_key(i),
                i,
                i.face,
                True,
                self.incident_cells(i, now),
                self.incident_silence(i) is not None,
            )
            for i in sorted(
                incidents,
                key=lambda i: rank(self.incident_began(i), i.severity.rank, i.id),
            )
        ]
        rows: list[Line] = []
        for head in sorted_by(heads, self.sort, self.sort_value):
            rows.append(head)
            if head.key not in self.expanded:
                continue
            members = sorted(
                self.members(head.incident),
                key=lambda a: rank(self.began.get(a.id), a.severity.rank, a.id),
            )
            children = [
                Line(str(a.id), head.incident, a, False, self.cells(a, now), a.id in self.silenced)
                for a in members
            ]
            rows += sorted_by(children, self.sort, self.sort_value)
        return rows

    def detail(self, line: Line, now: datetime, driver: Callable[[Text, Alert], None]) -> Text:
        """Everything about a row's incident or alert, whatever the table has room for;
        ``driver`` appends what drove the alert's move."""
        alert = line.alert
        kpi = self.kpi(alert)
        began = self.began.get(alert.id)
        text = Text()
        if line.is_incident:
            incident = line.incident
            rules = ", ".join(dict.fromkeys(a.rule for a in self.members(incident)))
            text.append(
                f"Incident {incident.id or '(not filed yet)'} · {incident.severity.value} · "
                f"{incident.state.value} · {plural(len(incident.alerts), 'alert')} "
                f"({literal(rules)}); "
                "its face:\n",
                style="dim",
            )
        text.append(f"#{alert.id} ", style="bold")
        text.append(literal(self.subject(alert)), style="bold")
        text.append(f" · {literal(alert.rule)} · {alert.severity.value} · {alert.state.value}")
        text.append(f"  {value_text(alert, kpi)}")
        if alert.expected is not None:
            text.append(f" (expected {expected_text(alert, kpi)})")
        text.append(f": {literal(deviation_text(alert, kpi))}")
        driver(text, alert)
        if began is not None:
            since = f"{began:%Y-%m-%d %H:%M}".removesuffix(" 00:00")
            text.append(f" · since {since} ({format_age((now - began).total_seconds())})")
        text.append(f" · owner {literal(self.owner(alert))}")
        # On an incident's row the pane below names every routed agent, and why it was or
        # was not notified.
        routes = [] if line.is_incident else self.routes_of(alert)
        if routes:
            # Agent names and reasons are user text (the catalog's): appended, never markup.
            text.append("\nrouted to ", style="dim")
            for index, route in enumerate(routes):
                if index:
                    text.append(" · ", style="dim")
                text.append(literal(self.agent_name(route.agent_id)))
                text.append(f" ({literal(route.reason)})", style="dim")
        if alert.assignee:
            text.append("\nassigned to ", style="dim")
            text.append(literal(self.agent_name(alert.assignee)))
        acknowledged = acknowledgement_text(alert)
        if acknowledged:
            text.append("\nacknowledged by ", style="dim")
            text.append(literal(acknowledged))
        if alert.message:
            text.append("\n")
            text.append(literal(alert.message))
        return text

    def title(
        self,
        visible: list[Incident],
        total: int,
        agent: str | None,
        needle: str,
        keys: Mapping[str, str],
    ) -> Text:
        """How many incidents are shown of how many, by which filters and sort; how many
        of their alerts are unacknowledged (a silenced one does not count); the keys the
        footer has no room for (``keys``: by binding id, as the keymap binds them)."""
        loud = [
            a for i in visible for a in i.alerts if a.needs_attention and a.id not in self.silenced
        ]
        title = Text(f" Incidents: {len(visible)} of {total} ({self.state_filter}")
        title.stylize("bold")  # the counts; what follows is not
        if agent is not None:
            title.append(" · routed to ")
            title.append(literal(agent))
        if needle:
            title.append(" · matching “")
            title.append(literal(needle))
            title.append("”")
        title.append(f") · sorted by {self.sort.describe()} · ⚑ {len(loud)} unacknowledged")
        hints = [
            ("alerts-find", "filter"),
            ("alerts-sort", "sort"),
            ("alerts-expand", "alerts"),
            ("alerts-expand-all", "all"),
            ("alerts-agent", "agent filter"),
            ("alerts-silence", f"silence {SILENCED_MARK}"),
            ("alerts-unacknowledge", "unack"),
            ("alerts-note", "note"),
            ("alerts-assign", "assign"),
            ("alerts-resolve", "resolve"),
        ]
        title.append("\n " + "  ".join(f"{keys[k]}: {what}" for k, what in hints), style="dim")
        return title
