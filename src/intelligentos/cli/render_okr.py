"""What the ``okr`` commands and ``review`` print: tables, text and their JSON records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from intelligentos.cli.render import id_width, out
from intelligentos.domain.catalog import Catalog
from intelligentos.domain.formatting import format_value, literal
from intelligentos.domain.okr.grade import colour
from intelligentos.services.okr.grade import KpiGrade, QuarterGrades

# --- okr propose -------------------------------------------------------------------------------


# --- okr accept --------------------------------------------------------------------------------


# --- okr grade ---------------------------------------------------------------------------------

GRADE_BAR = 10  # cells of a score's bar: one per 0.1


def _grade_text(value: float | None) -> Text:
    """A score as ``0.75`` in its colour (red, yellow, green), or a dash."""
    if value is None:
        return Text("—", style="dim")
    return Text(f"{value:.2f}", style=f"bold {colour(value).value}")


def _grade_bar(value: float | None) -> Text:
    if value is None:
        return Text("")
    filled = round(value * GRADE_BAR)
    bar = Text("█" * filled, style=colour(value).value)
    bar.append("·" * (GRADE_BAR - filled), style="dim")
    return bar


def _mean_record(key: str, name: str, value: float | None) -> dict[str, Any]:
    return {
        "id": key,
        "name": name,
        "score": value,
        "colour": None if value is None else colour(value).value,
    }


def grades_record(grades: QuarterGrades, catalog: Catalog) -> dict[str, Any]:
    """``okr grade --json``: each KPI's grade, then each agent's and engine's mean."""
    kpis = []
    for grade in grades.grades:
        kpi = grade.kpi
        kpis.append(
            {
                "id": kpi.id,
                "name": kpi.name,
                "agent": kpi.owner_agent,
                "engine": kpi.engine,
                "unit": kpi.unit.value,
                "direction": kpi.direction.value,
                "target": grade.target,
                "start": grade.start,
                "start_period": grade.start_period,
                "actual": grade.actual,
                "actual_period": grade.actual_period,
                "score": grade.score,
                "colour": None if grade.score is None else colour(grade.score).value,
                "reason": grade.reason or None,
            }
        )
    agents = catalog.agents
    engines = catalog.engines
    return {
        "quarter": str(grades.quarter),
        "as_of": grades.as_of.isoformat(),
        "running": grades.running,
        "kpis": kpis,
        "agents": [
            _mean_record(a, agents[a].name if a in agents else a, v)
            for a, v in sorted(grades.by_agent.items())
        ],
        "engines": [
            _mean_record(e, engines[e].name if e in engines else e, v)
            for e, v in sorted(grades.by_engine.items())
        ],
    }


def _grade_table(title: str, grades: Sequence[KpiGrade]) -> Table:
    table = Table(title=Text(literal(title)), title_justify="left")
    table.add_column("KPI", overflow="ellipsis")
    table.add_column("id", no_wrap=True, overflow="ellipsis", max_width=id_width())
    for column in ("target", "start", "actual", "score"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    for grade in grades:
        kpi = grade.kpi
        bar = _grade_bar(grade.score) if grade.score is not None else Text(literal(grade.reason))
        table.add_row(
            Text(literal(kpi.name)),
            Text(literal(kpi.id)),
            format_value(grade.target, kpi.unit),
            format_value(grade.start, kpi.unit),
            format_value(grade.actual, kpi.unit),
            _grade_text(grade.score),
            bar,
        )
    return table


def _means_table(title: str, means: Mapping[str, float | None], names: Mapping[str, str]) -> Table:
    table = Table(title=Text(literal(title)), title_justify="left")
    table.add_column("name", overflow="ellipsis")
    table.add_column("id", no_wrap=True, overflow="ellipsis", max_width=id_width())
    table.add_column("mean", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    for key, value in sorted(means.items()):
        table.add_row(
            Text(literal(names.get(key, key))),
            Text(literal(key)),
            _grade_text(value),
            _grade_bar(value),
        )
    return table


def print_grades(grades: QuarterGrades, catalog: Catalog) -> None:
    """``okr grade``: a table per engine (in catalog order), then the agents' and the
    engines' means."""
    head = f"{grades.quarter} graded at its end, {grades.as_of.isoformat()}"
    if grades.running:
        head = f"{grades.quarter} (running: graded as of {grades.as_of.isoformat()})"
    out.print(Text(head, style="bold"))
    if not grades.grades:
        out.print(Text("No KPI with a target to grade."))
        return
    by_engine: dict[str, list[KpiGrade]] = {}
    for grade in grades.grades:
        by_engine.setdefault(grade.kpi.engine, []).append(grade)
    for engine_id, found in by_engine.items():
        engine = catalog.engines.get(engine_id)
        name = f"{engine.name} ({engine_id})" if engine else engine_id
        out.print(_grade_table(name, found))
    if grades.by_agent:
        names = {a: agent.name for a, agent in catalog.agents.items()}
        out.print(_means_table("Agents (mean of the KPIs each owns)", grades.by_agent, names))
    names = {e: engine.name for e, engine in catalog.engines.items()}
    out.print(_means_table("Engines (mean of their KPIs)", grades.by_engine, names))


# --- review ------------------------------------------------------------------------------------
