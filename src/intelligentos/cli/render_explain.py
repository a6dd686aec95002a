"""The output of ``explain`` and ``recommend``: why a KPI moved, as a sentence, a table of
contributions and its root causes; what to do about it, as action sentences and a plan with
the ``whatif`` command that reproduces it. The JSON records are built here, and only here
(:func:`explanation_record`, :func:`recommendations_record`). Beside
:mod:`intelligentos.cli.render`, whose consoles it writes to."""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from intelligentos.cli.render import line, out
from intelligentos.cli.render_whatif import precise_value, signed_change
from intelligentos.domain.catalog.models import Direction, Kpi, Unit
from intelligentos.domain.explain.actions import sigma_text
from intelligentos.domain.formatting import format_value, literal, plural

if TYPE_CHECKING:
    from intelligentos.domain.catalog.models import Agent
    from intelligentos.domain.explain.model import Contribution, Explanation, RootCause
    from intelligentos.domain.explain.recommend import (
        Plan,
        PlanStep,
        Recommendation,
        Recommendations,
    )

MAX_ROWS = 15  # contributions a table shows; --json lists them all
BAR_WIDTH = 12
PROGRAM = "intelligentos-tui"


def number(value: float | None) -> float | None:
    """A float for JSON: ``None`` for a value that is not a finite number."""
    return value if value is not None and math.isfinite(value) else None


def amount(change: float, unit: Unit) -> str:
    """The size of a change in a KPI's unit, unsigned: points for percentages and scores."""
    size = abs(change)
    if unit in (Unit.PERCENT, Unit.SCORE):
        return f"{size:.2f} pt" if 0 < size < 0.1 else f"{size:.1f} pt"
    return precise_value(size, unit) if size < 1 else format_value(size, unit)


def signed_amount(change: float, unit: Unit) -> str:
    if change == 0:
        return amount(0.0, unit)
    return ("+" if change > 0 else "−") + amount(change, unit)


def share_text(share: float | None) -> str:
    if share is None or not math.isfinite(share):
        return "—"
    if round(share * 100) == 0:
        return "0 %"
    return f"{share * 100:+.0f} %".replace("-", "−")


def _agent(agent: Agent | None) -> dict[str, Any]:
    return {
        "owner_agent": agent.id if agent else None,
        "owner_agent_name": agent.name if agent else None,
    }


# --- explain -------------------------------------------------------------------------------


def contribution_record(c: Contribution) -> dict[str, Any]:
    return {
        "id": c.kpi.id,
        "name": c.kpi.name,
        "level": c.kpi.level.value,
        "unit": c.kpi.unit.value,
        "depth": c.depth,
        "parent": c.parent_id,
        "edge": c.edge.value,
        "path": list(c.path),
        "path_weight": number(c.path_weight),
        "value_from": c.value_from,
        "value_to": c.value_to,
        "delta_p": number(c.delta_p),
        "contribution_p": number(c.contribution_p),
        "contribution": number(c.contribution),
        "share": number(c.share),
        "residual_p": number(c.residual_p),
    }


def root_cause_record(cause: RootCause) -> dict[str, Any]:
    return {
        "id": cause.kpi.id,
        "name": cause.kpi.name,
        "level": cause.kpi.level.value,
        **_agent(cause.agent),
        "workflow": cause.workflow,
        "workflow_id": cause.workflow_id,
        "step": cause.step,
        "step_id": cause.step_id,
        "source_system": cause.system,
        "source_system_id": cause.system_id,
        "stale": cause.stale,
        "contribution_p": number(cause.contribution_p),
        "share": number(cause.share),
    }


def explanation_record(explanation: Explanation, days: tuple[date | None, date]) -> dict[str, Any]:
    """``explain --json``: the move (or the gap), every contribution (the largest
    |contribution_p| first), the residual and the root causes."""
    e, kpi = explanation, explanation.kpi
    start, end = days
    return {
        "kpi": kpi.id,
        "name": kpi.name,
        "unit": kpi.unit.value,
        "direction": kpi.direction.value,
        "target": kpi.target,
        "basis": e.basis.value,
        "from": start.isoformat() if start else None,
        "to": end.isoformat(),
        "period_from": e.period_from,
        "period_to": e.period_to,
        "depth": e.depth,
        "value_from": e.value_from,
        "value_to": e.value_to,
        "delta_p": number(e.delta_p),
        "explained_p": number(e.explained_p),
        "residual_p": number(e.residual_p),
        "residual": number(e.residual),
        "contributions": [contribution_record(c) for c in e.contributions],
        "root_causes": [root_cause_record(r) for r in e.root_causes],
        "notes": list(e.notes),
    }


def _verb(kpi: Kpi, before: float, after: float, better: bool) -> str:
    verb = "rose" if after > before else "fell" if after < before else "held"
    if kpi.direction is Direction.HIGHER or after == before:
        return verb
    return f"{verb} ({'better' if better else 'worse'})"


def headline(explanation: Explanation, days: tuple[date | None, date]) -> str:
    """The move (or the gap) in a sentence, and how much the KPIs below it explain."""
    e, kpi = explanation, explanation.kpi
    unit = kpi.unit
    start, end = days
    change = e.value_to - e.value_from
    if start is None:  # against target
        where = "above" if change > 0 else "below" if change < 0 else "on"
        side = "" if change == 0 else f"{amount(change, unit)} {where} "
        verdict = "" if change == 0 else (" (better)" if e.delta_p > 0 else " (short)")
        first = (
            f"{kpi.name} stands at {format_value(e.value_to, unit)} on {end.isoformat()}, "
            f"{side}its target {format_value(e.value_from, unit)}{verdict}"
        )
    else:
        size = "" if change == 0 else f" {amount(change, unit)}"
        first = (
            f"{kpi.name} {_verb(kpi, e.value_from, e.value_to, e.delta_p > 0)}{size} from "
            f"{start.isoformat()} to {end.isoformat()} ({format_value(e.value_from, unit)} → "
            f"{format_value(e.value_to, unit)})"
        )
    if not e.contributions:
        if e.delta_p == 0 and change == 0:
            return f"{first}: nothing to explain."
        return f"{first}; no KPI below it explains any of it: the move is its own."
    below = "its inputs" if kpi.derived else "the KPIs below it"
    if kpi.derived and e.residual == 0:
        return f"{first}; its inputs explain all of it."
    own = "the residual" if kpi.derived else "its own data"
    explained = change - e.residual
    return (
        f"{first}; {below} explain {signed_amount(explained, unit)}, "
        f"{own} {signed_amount(e.residual, unit)}."
    )


def _key(c: Contribution) -> tuple[str, ...]:
    return (*c.path, c.kpi.id)


def shown_rows(contributions: Sequence[Contribution], limit: int = MAX_ROWS) -> list[Contribution]:
    """The largest ``limit`` contributions with the ones above them on their paths, in tree
    order: each under the KPI it moves, siblings the largest first."""
    by_key = {_key(c): c for c in contributions}
    chosen: set[tuple[str, ...]] = set()
    for c in contributions:  # the largest first
        if len(chosen) >= limit:
            break
        key = _key(c)
        ancestors = [key[:n] for n in range(2, len(key)) if key[:n] in by_key]
        chosen.update([key, *ancestors])
    rank = {_key(c): index for index, c in enumerate(contributions)}
    below: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for key in chosen:
        below.setdefault(key[:-1], []).append(key)
    ordered: list[Contribution] = []

    def visit(parent: tuple[str, ...]) -> None:
        for key in sorted(below.get(parent, ()), key=rank.__getitem__):
            ordered.append(by_key[key])
            visit(key)

    roots = {key[:-1] for key in chosen if len(key) == 2}
    for root in roots:
        visit(root)
    return ordered


def _bar(part: float, largest: float) -> Text:
    cells = round(abs(part) / largest * BAR_WIDTH) if largest > 0 else 0
    if cells == 0:
        return Text("")
    return Text("█" * cells, style="green" if part > 0 else "red")


def print_explanation(explanation: Explanation, days: tuple[date | None, date]) -> None:
    e, kpi = explanation, explanation.kpi
    unit = kpi.unit
    line(headline(e, days))
    if e.contributions:
        rows = shown_rows(e.contributions)
        largest = max([abs(c.contribution_p) for c in rows] + [abs(e.residual_p)])
        table = Table(title_justify="left")
        table.add_column("KPI", overflow="fold", min_width=12)
        table.add_column("edge", no_wrap=True)
        for column in ("from", "to", "contribution", "share"):
            table.add_column(column, justify="right", no_wrap=True)
        table.add_column("", no_wrap=True)
        for c in rows:
            table.add_row(
                Text("  " * (c.depth - 1) + literal(c.kpi.name)),
                c.edge.value,
                format_value(c.value_from, c.kpi.unit),
                format_value(c.value_to, c.kpi.unit),
                signed_change(c.contribution, unit),
                share_text(c.share),
                _bar(c.contribution_p, largest),
            )
        own = "residual" if kpi.derived else "own data (residual)"
        table.add_row(
            Text(literal(f"{kpi.name}: {own}"), style="italic"),
            "",
            "",
            "",
            signed_change(e.residual, unit),
            share_text(e.residual_p / e.delta_p if e.delta_p else None),
            _bar(e.residual_p, largest),
        )
        out.print(table)
        hidden = len(e.contributions) - len(rows)
        if hidden > 0:
            out.print(Text(f"… {hidden:,} more: --json lists all.", style="dim"))
    if e.root_causes:
        out.print(Text("Root causes", style="bold"))
        for cause in e.root_causes:
            line("  " + root_cause_text(cause, "gap" if days[0] is None else "move"))
    for note in e.notes:
        out.print(Text(literal(f"{note}."), style="dim"))


def root_cause_text(cause: RootCause, what: str = "move") -> str:
    """``Win Rate (win_rate), −57 % of the move: CRO Agent · Opportunity Management → Close
    won or lost · Salesforce CRM (stale)``."""
    parts = [cause.agent.name if cause.agent else "no owning agent"]
    if cause.workflow:
        parts.append(f"{cause.workflow} → {cause.step}" if cause.step else cause.workflow)
    if cause.system:
        parts.append(cause.system + (" (stale)" if cause.stale else ""))
    return (
        f"{cause.kpi.name} ({cause.kpi.id}), {share_text(cause.share)} of the {what}: "
        + " · ".join(parts)
    )


# --- recommend -----------------------------------------------------------------------------


def recommendation_record(r: Recommendation) -> dict[str, Any]:
    return {
        "lever": r.lever.id,
        "name": r.lever.name,
        "unit": r.lever.unit.value,
        **_agent(r.agent),
        "workflow": r.workflow,
        "workflow_id": r.workflow_id,
        "step": r.step,
        "step_id": r.step_id,
        "current": r.current,
        "required": number(r.required),
        "change": number(r.change),
        "sigma": number(r.sigma.value),
        "sigma_changes": r.sigma.changes,
        "sigma_note": r.sigma.reason or None,
        "change_sigma": number(r.change_sigma),
        "reachable": r.reachable,
        "reason": r.reason,
        "path_weight": number(r.path_weight),
        "in_plan": r.in_plan,
        "rules": list(r.rules),
    }


def plan_step_record(step: PlanStep) -> dict[str, Any]:
    return {
        "lever": step.lever.id,
        "name": step.lever.name,
        "current": step.current,
        "value": step.value,
        "change": step.change,
        "sigma": step.sigma,
        "change_sigma": step.change_sigma,
        "at_limit": step.at_limit,
    }


def plan_record(plan: Plan) -> dict[str, Any]:
    return {
        "levers": [plan_step_record(s) for s in plan.steps],
        "projected": number(plan.projected),
        "effort": number(plan.effort),
        "lands": plan.lands,
        "reason": plan.reason or None,
        "whatif": plan.levers,
    }


def recommendations_record(found: Recommendations, as_of: date) -> dict[str, Any]:
    """``recommend --json``: the gap, each lever (the easiest first) and the plan (null
    when the KPI is on target)."""
    goal = found.goal
    return {
        "kpi": goal.id,
        "name": goal.name,
        "unit": goal.unit.value,
        "as_of": as_of.isoformat(),
        "target": found.target,
        "aim": found.aim,
        "current": found.current,
        "gap_p": number(found.gap_p),
        "met": found.met,
        "recommendations": [recommendation_record(r) for r in found.recommendations],
        "plan": None if found.plan is None else plan_record(found.plan),
    }


def gap_sentence(found: Recommendations, as_of: date) -> str:
    goal, unit = found.goal, found.goal.unit
    now = format_value(found.current, unit)
    target = format_value(found.target, unit)
    if found.met:
        return (
            f"{goal.name} is on target as of {as_of.isoformat()} ({now}, target {target}): "
            "nothing to recommend."
        )
    if found.aim != found.target:
        return (
            f"{goal.name} is on target as of {as_of.isoformat()} ({now}, target {target}), but "
            f"its forecast ends short of it: the plan aims at {format_value(found.aim, unit)} "
            f"({signed_amount(found.aim - found.current, unit)})."
        )
    return (
        f"{goal.name} is {amount(found.target - found.current, unit)} off its target as of "
        f"{as_of.isoformat()} ({now}, target {target})."
    )


def _who(r: Recommendation) -> str:
    who = r.agent.name if r.agent else "No owning agent"
    if r.workflow:
        who += f": {r.workflow} → {r.step}" if r.step else f": {r.workflow}"
    return who


def action_sentence(r: Recommendation, goal: Kpi) -> str:
    """``CRO Agent: Opportunity Management → Close won or lost: Win Rate 18.4% → 21.0% (+0.6
    σ). Rule: …``; a lever that cannot do it alone says why, one without σ says so."""
    lever, unit = r.lever, r.lever.unit
    if not r.reachable or r.required is None:
        return f"{_who(r)}: {lever.name} alone cannot bring {goal.name} there ({r.reason})."
    move = f"{precise_value(r.current, unit)} → {precise_value(r.required, unit)}"
    effort = r.change_sigma
    size = f"no σ: {r.sigma.reason}" if effort is None else sigma_text(effort)
    text = f"{_who(r)}: {lever.name} {move} ({size})."
    if r.rules:
        text += f" Rule: {r.rules[0]}"
        text += "" if r.rules[0].endswith((".", "!", "?")) else "."
    return text


def whatif_command(plan: Plan, as_of: date, db: Path | None) -> str:
    """The ``whatif`` command line that projects the plan, copy-pasteable in a shell."""
    words = [PROGRAM, "whatif", *plan.levers, "--as-of", as_of.isoformat()]
    if db is not None:
        words += ["--db", str(db)]
    return shlex.join(words)


def print_recommendations(found: Recommendations, as_of: date, db: Path | None) -> None:
    goal = found.goal
    line(gap_sentence(found, as_of))
    if found.met or found.plan is None:
        return
    if not found.recommendations:
        line(f"No KPI below {goal.name} can move it: act on it directly.")
        return
    out.print(Text("Levers, the smallest change against its own history first", style="bold"))
    for r in found.recommendations:
        line("  " + action_sentence(r, goal))
    plan = found.plan
    print_plan(plan, goal, found, as_of, db)


def print_plan(plan: Plan, goal: Kpi, found: Recommendations, as_of: date, db: Path | None) -> None:
    if not plan.steps:
        line(f"No plan: {plan.reason or 'no lever with a σ can move it'}.")
        return
    title = "Least-effort plan" + ("" if plan.lands else " (does not reach the aim)")
    table = Table(title=Text(title), title_justify="left")
    table.add_column("lever", overflow="fold", min_width=12)
    for column in ("now", "to", "change", "effort"):
        table.add_column(column, justify="right", no_wrap=True)
    limits = any(step.at_limit for step in plan.steps)
    if limits:
        table.add_column("note", overflow="fold")
    for step in plan.steps:
        unit = step.lever.unit
        cells: list[str | Text] = [
            Text(literal(step.lever.name)),
            precise_value(step.current, unit),
            precise_value(step.value, unit),
            signed_change(step.change, unit, precise=True),
            sigma_text(step.change_sigma),
        ]
        if limits:
            cells.append("at its limit" if step.at_limit else "")
        table.add_row(*cells)
    out.print(table)
    unit = goal.unit
    landing = (
        f"{goal.name} projected: {format_value(plan.projected, unit)} "
        f"(aim {format_value(found.aim, unit)}); effort Σ (change / σ)² = {plan.effort:.1f} "
        f"over {plural(len(plan.steps), 'lever')}."
    )
    line(landing)
    if not plan.lands:
        line(f"It falls short: {plan.reason}.")
    line("Try it: " + whatif_command(plan, as_of, db))
