"""What the ``okr`` commands and ``review`` print: tables, text and their JSON records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from intelligentos.cli.render import id_width, line, out, print_json
from intelligentos.domain.catalog import Catalog, Level
from intelligentos.domain.catalog.models import Direction
from intelligentos.domain.formatting import format_value, literal, plural
from intelligentos.domain.okr.grade import colour
from intelligentos.services.okr.grade import KpiGrade, QuarterGrades

if TYPE_CHECKING:
    from intelligentos.domain.catalog.models import Kpi
    from intelligentos.domain.okr.cascade import CascadeLink
    from intelligentos.domain.okr.propose import Proposal
    from intelligentos.services.okr.accept import Accepted
    from intelligentos.services.okr.propose import Proposals


# --- okr propose -------------------------------------------------------------------------------


def probability_text(probability: float | None) -> Text:
    """``62% ██████····``: the probability as a whole percentage and a bar coloured as a
    grade is."""
    if probability is None:
        return Text("—")
    return Text(f"{probability * 100:3.0f}% ") + _grade_bar(probability)


def percent(probability: float | None) -> str:
    return "—" if probability is None else f"{probability * 100:.0f}%"


def proposal_record(proposal: Proposal) -> dict[str, Any]:
    kpi = proposal.kpi
    outlook = proposal.outlook
    record: dict[str, Any] = {
        "id": kpi.id,
        "name": kpi.name,
        "direction": kpi.direction.value,
        "current_target": proposal.current_target,
        "forecast_mean": None if outlook is None else outlook.mean,
        "p_hit_current": proposal.p_hit_current,
        "commit": proposal.commit,
        "p_hit_commit": proposal.p_hit_commit,
        "stretch": proposal.stretch,
        "p_hit_stretch": proposal.p_hit_stretch,
        "model": proposal.model,
        "reliable": proposal.reliable,
    }
    if outlook is None:
        record["reason"] = proposal.reason
    return record


def cascade_record(link: CascadeLink) -> dict[str, Any]:
    record: dict[str, Any] = {
        "parent": link.parent_id,
        "parent_target": link.parent_target,
        "implied_target": link.implied_target,
        "gap_p": link.gap_p,
        "consistent": link.consistent,
    }
    if link.implied_target is None:
        record["reason"] = link.reason
    return record


def proposals_record(found: Proposals) -> dict[str, Any]:
    return {
        "quarter": str(found.quarter),
        "proposals": [proposal_record(p) for p in found.proposals],
        "cascade": [cascade_record(link) for link in found.cascade],
    }


def print_proposals(found: Proposals, catalog: Catalog, commit: float, stretch: float) -> None:
    """The proposals with numbers as a table, then the KPIs without, with why, then the
    cascade the commit targets give."""
    with_numbers = [p for p in found.proposals if p.outlook is not None]
    without = [p for p in found.proposals if p.outlook is None]
    quarter = found.quarter
    if with_numbers:
        table = Table(
            title=Text(
                f"Targets proposed for {quarter} (to {quarter.end.isoformat()}): commit hit "
                f"with {percent(commit)}, stretch with {percent(stretch)}"
            ),
            title_justify="left",
        )
        table.add_column("KPI", overflow="fold", min_width=12)
        table.add_column("direction", no_wrap=True)
        for column in ("target now", "forecast"):
            table.add_column(column, justify="right", no_wrap=True)
        table.add_column("P(hit)", no_wrap=True)
        for column in ("commit", "P", "stretch", "P"):
            table.add_column(column, justify="right", no_wrap=True)
        table.add_column("model", no_wrap=True)
        for proposal in with_numbers:
            kpi = proposal.kpi
            assert proposal.outlook is not None
            table.add_row(
                Text(literal(kpi.name), style="bold" if kpi.level is Level.CEO else ""),
                kpi.direction.value,
                _value(proposal.current_target, kpi),
                _value(proposal.outlook.mean, kpi),
                probability_text(proposal.p_hit_current),
                _value(proposal.commit, kpi),
                percent(proposal.p_hit_commit),
                _value(proposal.stretch, kpi),
                percent(proposal.p_hit_stretch),
                Text(literal(proposal.model or "—")),
            )
        out.print(table)
        if any(p.kpi.direction is Direction.BAND for p in with_numbers):
            out.print(
                Text(
                    "A band KPI keeps its target: P is the chance of ending within its band.",
                    style="dim",
                )
            )
    else:
        out.print(Text(f"No KPI has a reliable forecast reaching the end of {quarter}."))
    if without:
        out.print(Text(f"Without a proposal ({plural(len(without), 'KPI')}):", style="bold"))
        for proposal in without:
            out.print(
                Text(literal(f"  {proposal.kpi.name} ({proposal.kpi.id}): {proposal.reason}"))
            )
    print_cascade(found.cascade, catalog, f"The cascade for {quarter}, with the commit targets")


def _value(value: float | None, kpi: Kpi) -> str:
    from intelligentos.cli.render_whatif import precise_value

    return "—" if value is None else precise_value(value, kpi.unit)


def gap_text(gap_p: float) -> str:
    """A gap in percentage points of the parent's performance, signed: ``+7.5 pp``."""
    return f"{gap_p * 100:+.1f} pp".replace("-", "−")


def print_cascade(links: Sequence[CascadeLink], catalog: Catalog, title: str) -> None:
    """The parents whose target disagrees with what their children's targets imply, first
    and one per row; those that agree as a count."""
    from intelligentos.domain.okr.cascade import TOLERANCE_P

    if not links:
        out.print(Text(f"{title}: no KPI has KPIs below it with targets."))
        return
    off = [link for link in links if not link.consistent]
    if off:
        table = Table(title=Text(literal(title)), title_justify="left")
        table.add_column("parent", overflow="fold", min_width=12)
        for column in ("its target", "implied", "gap"):
            table.add_column(column, justify="right", no_wrap=True)
        table.add_column("reading", overflow="fold")
        for link in off:
            parent = catalog.kpis[link.parent_id]
            name = Text(literal(f"{parent.name} ({parent.id})"))
            if link.gap_p is None:
                table.add_row(
                    name,
                    _value(link.parent_target, parent),
                    "—",
                    "—",
                    Text(literal(link.reason)),
                )
                continue
            reading = (
                "asks more than its children's targets deliver"
                if link.gap_p > 0
                else "asks less than its children's targets deliver"
            )
            table.add_row(
                name,
                _value(link.parent_target, parent),
                _value(link.implied_target, parent),
                gap_text(link.gap_p),
                reading,
            )
        out.print(table)
    agree = len(links) - len(off)
    summary = (
        f"{plural(agree, 'parent')} of {len(links):,} consistent (the target its children "
        f"imply within {TOLERANCE_P * 100:g} pp of performance)."
    )
    out.print(Text(literal(summary if off else f"{title}: {summary}")))


# --- okr accept --------------------------------------------------------------------------------


def _shown(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


def accept_record(accepted: Accepted) -> dict[str, Any]:
    """``okr accept --json``: the targets (before and after), the KPIs skipped, each file's
    diff, the quarter's cascade with the targets accepted and its warnings."""
    plan = accepted.plan
    return {
        "quarter": str(accepted.quarter),
        "written": accepted.written,
        "catalog": str(plan.catalog_dir),
        "targets": [
            {
                "id": t.kpi_id,
                "before": t.before,
                "after": t.after,
                "changed": t.changed,
                "source": t.source.value,
                "file": t.file,
            }
            for t in accepted.targets
        ],
        "skipped": [{"id": s.kpi_id, "reason": s.reason} for s in accepted.skipped],
        "files": [{"file": f.relative, "diff": f.diff} for f in accepted.files],
        "cascade": [
            {
                "parent": link.parent_id,
                "parent_target": link.parent_target,
                "implied_target": link.implied_target,
                "gap_p": link.gap_p,
                "consistent": link.consistent,
            }
            for link in accepted.cascade
        ],
        "warnings": accepted.warnings,
    }


def print_accepted(accepted: Accepted, *, as_json: bool = False) -> None:
    """What ``okr accept`` changed (or, for a dry run, would change, with each file's diff),
    one line per KPI as ``sync-catalog`` reports a change; the KPIs skipped; the warnings."""
    if as_json:
        print_json(accept_record(accepted))
        return
    plan = accepted.plan
    quarter = str(accepted.quarter)
    changed = [t for t in accepted.targets if t.changed]
    where = f"the store and the catalog at {plan.catalog_dir}"
    if accepted.written:
        head = f"Targets for {quarter} accepted into {where}: {plural(len(changed), 'change')}."
    else:
        head = (
            f"Dry run: nothing was written. Accepting would make "
            f"{plural(len(changed), 'change')} to {where}."
        )
    line(head)
    if plan.adopt is not None:
        line(
            "  The built-in catalog is part of the program and is not edited: "
            + ("it was copied to " if accepted.written else "it would be copied to ")
            + f"{plan.adopt}, which this store follows from now on (edit it there, then "
            "sync-catalog)."
        )
    for target in accepted.targets:
        what = (
            f"{_shown(target.before)} → {_shown(target.after)}"
            if target.changed
            else f"{_shown(target.after)} (unchanged)"
        )
        line(f"  {target.kpi_id}: target {quarter} {what} ({target.file})")
    if accepted.skipped:
        # Grouped by the reason's first clause; --json gives each KPI's whole reason.
        grouped: dict[str, list[str]] = {}
        for skipped in accepted.skipped:
            grouped.setdefault(skipped.reason.split(": ", 1)[0], []).append(skipped.kpi_id)
        line(f"Skipped ({plural(len(accepted.skipped), 'KPI')} without a target to accept):")
        for reason, kpi_ids in grouped.items():
            line(f"  {reason}: {', '.join(kpi_ids)}")
    if not accepted.written:
        for edit in accepted.files:
            for text in edit.diff.splitlines():
                line(text)
    for warning in accepted.warnings:
        line(warning)


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
