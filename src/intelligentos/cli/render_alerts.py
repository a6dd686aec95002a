"""``alerts`` by incident: each incident's line (its face, severity, state, when it opened,
how many alerts) with its alerts indented below it, and its JSON record."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from intelligentos.cli.render import alert_cells, alert_columns, alert_table, out
from intelligentos.domain.alerts import Event, subject_name
from intelligentos.domain.catalog import Catalog
from intelligentos.domain.formatting import literal, plural
from intelligentos.domain.incidents import Incident


def incident_record(
    incident: Incident, listed: list[dict[str, Any]], catalog: Catalog
) -> dict[str, Any]:
    """An incident as JSON: its face (the most severe open alert), severity, state, when it
    opened, how many alerts it has, and ``alert_ids``: those of its alerts the listing
    shows (the filters may leave some out), in the listing's order."""
    face = incident.face
    return {
        "id": incident.id,
        "group": incident.group,
        "face_id": face.id,
        "subject": subject_name(face, catalog),
        "rule": face.rule,
        "severity": incident.severity.value,
        "state": incident.state.value,
        "opened_at": incident.opened_at,
        "alert_count": len(incident.alerts),
        "alert_ids": [r["id"] for r in listed if r["incident_id"] == incident.id],
    }


def print_incidents(
    incidents: list[dict[str, Any]], records: list[dict[str, Any]], title: str
) -> None:
    """Each incident's line, then its listed alerts indented; alerts in no incident (written
    by another tool) last."""
    columns = alert_columns()
    table = alert_table(title, columns)
    by_id = {r["id"]: r for r in records}
    shown: set[int] = set()
    for incident in incidents:
        opened = incident["opened_at"].removesuffix("Z").replace("T", " ")[:16]
        cells: dict[str, str | Text] = {
            "id": f"#{incident['id']}",
            "severity": incident["severity"],
            "state": incident["state"],
            "subject": Text(literal(incident["subject"]), style="bold"),
            "rule": Text(literal(incident["rule"])),
            "value": Text(plural(incident["alert_count"], "alert")),
            "deviation": Text(f"opened {opened} UTC"),
        }
        table.add_row(*(cells.get(column, "") for column in columns), style="bold")
        for alert_id in incident["alert_ids"]:
            shown.add(alert_id)
            alert = alert_cells(by_id[alert_id], indent="  ")
            table.add_row(*(alert[column] for column in columns))
        table.add_section()
    for r in records:
        if r["id"] not in shown:
            alert = alert_cells(r)
            table.add_row(*(alert[column] for column in columns))
    out.print(table)


def print_events(events: list[Event], title: str) -> None:
    """An alert's event log, oldest first: when, who, what, the state it moved, the note."""
    table = Table(title=Text(title), title_justify="left")
    for column in ("at", "actor", "action", "state", "note"):
        table.add_column(column, overflow="fold", no_wrap=column == "at")
    for event in events:
        moved = (
            event.to_state.value
            if event.from_state in (None, event.to_state)
            else f"{event.from_state.value} → {event.to_state.value}"
        )
        table.add_row(
            event.at,
            Text(literal(event.actor)),
            event.action,
            moved,
            Text(literal(event.note or "")),
        )
    out.print(table)
