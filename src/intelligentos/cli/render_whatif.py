"""What the ``whatif`` command prints: a scenario's projections and a goal seek's answer,
as tables, sentences and JSON records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from intelligentos.cli.render import id_width, out
from intelligentos.domain.catalog import Level
from intelligentos.domain.catalog.models import Unit
from intelligentos.domain.detection import Status
from intelligentos.domain.formatting import format_value, literal

if TYPE_CHECKING:
    from intelligentos.domain.whatif.model import GoalSeek, Outcome, Projection


def precise_value(value: float, unit: Unit) -> str:
    """``format_value``, but a count keeps two decimals (a lever of 12.7 is not 13)."""
    if unit is Unit.COUNT and abs(value) < 10_000:
        return f"{value:,.2f}"
    return format_value(value, unit)


def signed_change(change: float, unit: Unit, precise: bool = False) -> str:
    """A change in the KPI's unit: points for percentages and scores."""
    if unit in (Unit.PERCENT, Unit.SCORE):
        text = f"{change:+.2f} pt"
    else:
        shown = precise_value if precise else format_value
        text = ("+" if change >= 0 else "-") + shown(abs(change), unit)
    return text.replace("-", "−")


def status_change(before: Status, after: Status) -> Text:
    text = Text(f"{before.glyph} {before.value}")
    if after is not before:
        text.append(f" → {after.glyph} {after.value}", style="bold")
    return text


def projection_record(projection: Projection) -> dict[str, Any]:
    return {
        "id": projection.kpi.id,
        "name": projection.kpi.name,
        "current": projection.current,
        "projected": projection.projected,
        "status": projection.status.value,
        "projected_status": projection.projected_status.value,
        "clamped": projection.clamped,
        "lever": projection.is_lever,
        "moved_by": [kind.value for kind in projection.moved_by],
        "implausible": projection.implausible,
    }


def scenario_record(levers: Sequence[str], outcome: Outcome, as_of: date) -> dict[str, Any]:
    return {
        "model": outcome.note,
        "as_of": as_of.isoformat(),
        "levers": list(levers),
        "kpis": [projection_record(p) for p in outcome.kpis],
    }


def print_scenario(levers: Sequence[str], outcome: Outcome, as_of: date) -> None:
    from intelligentos.domain.whatif.model import MODEL_NOTE

    levers_text = ", ".join(levers)
    table = Table(
        title=Text(literal(f"What if {levers_text} ({outcome.note}), as of {as_of.isoformat()}")),
        title_justify="left",
    )
    with_ids = out.width >= 110  # ids join when there is room; names always show
    if with_ids:
        table.add_column("id", no_wrap=True, overflow="ellipsis", max_width=id_width())
    # Names wrap between words, never inside one, however narrow the terminal.
    table.add_column("KPI", overflow="fold", min_width=12)
    for column in ("current", "projected", "change"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("status", overflow="fold")
    table.add_column("note", overflow="fold")
    for projection in outcome.kpis:
        kpi = projection.kpi
        notes = (
            (["lever"] if projection.is_lever else [])
            + (["clamped"] if projection.clamped else [])
            + (["implausible"] if projection.implausible else [])
        )
        if projection.moved_by and outcome.note != MODEL_NOTE:
            # Which edges moved it, once the scenario is not weights alone.
            notes.append("by " + " + ".join(kind.value for kind in projection.moved_by))
        cells: list[str | Text] = [
            Text(literal(kpi.name), style="bold" if kpi.level is Level.CEO else ""),
            format_value(projection.current, kpi.unit),
            format_value(projection.projected, kpi.unit),
            signed_change(projection.change, kpi.unit),
            status_change(projection.status, projection.projected_status),
            ", ".join(notes),
        ]
        if with_ids:
            cells.insert(0, Text(literal(kpi.id)))
        table.add_row(*cells)
    out.print(table)
    if any(p.clamped for p in outcome.kpis):
        out.print(Text("clamped: the model's value left the unit's plausible range.", style="dim"))
    if any(p.implausible for p in outcome.kpis):
        out.print(
            Text(
                "implausible: the expression's exact value lies outside the unit's plausible "
                "range (shown as it is).",
                style="dim",
            )
        )


def goal_seek_record(seek: GoalSeek, goal_now: float | None, as_of: date) -> dict[str, Any]:
    record: dict[str, Any] = {
        "model": seek.note,
        "as_of": as_of.isoformat(),
        "goal": seek.goal.id,
        "goal_current": goal_now,
        "target": seek.goal.target,
        "lever": seek.lever.id,
        "current": seek.current,
        "required": seek.required,
        "change": seek.change,
        "reachable": seek.reachable,
        "met": seek.met,
        "reason": seek.reason,
    }
    if seek.required is None:
        del record["required"], record["change"]
    return record


def goal_seek_sentence(seek: GoalSeek, goal_now: float | None, as_of: date) -> str:
    """A goal seek's answer when the lever must move (``seek.required`` is set)."""
    goal, lever = seek.goal, seek.lever
    assert seek.required is not None
    change = signed_change(seek.required - seek.current, lever.unit, precise=True)
    return (
        f"Goal seek ({seek.note}), as of {as_of.isoformat()}: {goal.name} "
        f"({format_value(goal_now, goal.unit)} now) reaches its target "
        f"{format_value(goal.target, goal.unit)} when {lever.name} moves from "
        f"{precise_value(seek.current, lever.unit)} to "
        f"{precise_value(seek.required, lever.unit)} ({change}; {seek.reason})."
    )


# --- catalog re-sync -----------------------------------------------------------------------
