"""The brief's "Why it moved" and "Recommended actions": which CEO KPIs they cover, what they
say, and how they read in Markdown and JSON.

* **Why it moved** lists each CEO KPI that, over the brief's week (its latest value before
  the week began against its latest value as of the date), moved by at least its warning
  band, or changed status. The warning band is the fraction of the target its warning
  threshold uses: a KPI with a 5 % warning and a target of 40 % is listed when it moved
  by 2.0 pt or more (by 5 % of 1 when its target is zero). A KPI without a target is never
  listed; one with no new value this week did not move this week. For each: its three
  largest direct contributors (signed, in its unit, and as a share of the move: a negative
  share pulled against it), what its own data moved it by (the residual: what the KPIs
  below do not explain), and its first two root causes, from the explanation of the same
  two dates.
* **Recommended actions** lists, for each CEO KPI off target (warning or critical) as of
  the date, the first three levers of its least-effort plan as actions
  (:mod:`intelligentos.domain.explain.actions`), and whether the plan lands on target.

An agent's brief covers the CEO KPIs it moves (as its CEO KPI table does); its actions are
the plans' levers it owns.

Pure Python: no SQL, no Textual.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from intelligentos.domain.brief.contents import (
    Brief,
    Cause,
    Contributor,
    KpiActions,
    KpiLine,
    Moved,
)
from intelligentos.domain.brief.markup import md
from intelligentos.domain.catalog.models import Catalog, Kpi, Unit
from intelligentos.domain.detection import Status, target_status
from intelligentos.domain.explain.actions import (
    PLAN_ACTIONS,
    UNASSIGNED,
    Action,
    plan_actions,
    plan_outcome,
)
from intelligentos.domain.explain.model import Explanation
from intelligentos.domain.explain.recommend import Recommendations
from intelligentos.domain.formatting import format_change, format_value

CONTRIBUTORS = 3  # the largest direct contributors listed per KPI
CAUSES = 2  # the root causes listed per KPI
OFF_TARGET = (Status.WARNING, Status.CRITICAL)
_ROUNDING = 1e-9  # of the band: a move this close to it counts as reaching it


def signed_in_unit(change: float, unit: Unit) -> str:
    """A change in a KPI's own unit: ``+1.0 pt`` for percentages and scores, ``−€12.0K``."""
    if unit in (Unit.PERCENT, Unit.SCORE):
        text = f"{change:+.1f} pt"
    else:
        text = ("+" if change >= 0 else "-") + format_value(abs(change), unit)
    return text.replace("-", "−")


def share_text(share: float | None) -> str:
    """``67 %``, ``−20 %`` of the move; ``—`` when it did not move."""
    if share is None:
        return "—"
    return f"{share * 100:.0f} %".replace("-", "−")


# --- which KPIs ---------------------------------------------------------------------------


def week_reason(
    kpi: Kpi, before: float | None, after: float | None, kpi_before: Kpi | None = None
) -> str | None:
    """Why the KPI is in "Why it moved" (it moved by its warning band or more, its status
    changed), or None when it is not. ``kpi_before``: the KPI judged on the day before the
    week (its status then is judged with the target in force then; ``kpi`` when not given)."""
    if before is None or after is None or kpi.target is None or before == after:
        return None
    band = kpi.warning * (abs(kpi.target) or 1.0)
    reasons = []
    if abs(after - before) >= band * (1 - _ROUNDING):
        reasons.append(f"beyond its warning band (±{signed_in_unit(band, kpi.unit)[1:]})")
    status_from, status_to = target_status(kpi_before or kpi, before), target_status(kpi, after)
    if status_from is not status_to:
        reasons.append(f"status {status_from.value} → {status_to.value}")
    return "; ".join(reasons) or None


def moved_ids(
    catalog: Catalog,
    lines: Mapping[str, KpiLine],
    ceo_ids: Sequence[str],
    week_before: Catalog | None = None,
) -> list[str]:
    """The CEO KPIs "Why it moved" covers, in ``ceo_ids`` order (``week_before``: the
    catalog judged on the day before the week; ``catalog`` when not given)."""
    before = week_before or catalog
    return [
        k
        for k in ceo_ids
        if week_reason(catalog.kpis[k], lines[k].week_before, lines[k].value, before.kpis[k])
        is not None
    ]


def off_target_ids(lines: Mapping[str, KpiLine], ceo_ids: Sequence[str]) -> list[str]:
    """The CEO KPIs "Recommended actions" covers (off target as of the date)."""
    return [k for k in ceo_ids if lines[k].status in OFF_TARGET and lines[k].value is not None]


# --- the sections ---------------------------------------------------------------------------


def _cause(kpi: Kpi, explanation: Explanation, index: int) -> Cause:
    cause = explanation.root_causes[index]
    return Cause(
        id=cause.kpi.id,
        name=cause.kpi.name,
        share=cause.share,
        own=cause.kpi.id == kpi.id,
        agent_id=cause.agent.id if cause.agent else None,
        agent_name=cause.agent.name if cause.agent else UNASSIGNED,
        workflow=cause.workflow,
        step=cause.step,
        system=cause.system,
        stale=cause.stale,
    )


def moved(
    kpi: Kpi,
    line: KpiLine,
    explanation: Explanation | str | None,
    kpi_before: Kpi | None = None,
) -> Moved:
    """One KPI of "Why it moved": its week, and its explanation (or why there is none);
    ``kpi_before``: the KPI judged on the day before the week."""
    before, after = line.week_before, line.value
    assert before is not None and after is not None
    base = Moved(
        id=kpi.id,
        name=kpi.name,
        value_from_text=format_value(before, kpi.unit),
        value_to_text=line.value_text,
        change_text=line.week_change_text,
        status_from=target_status(kpi_before or kpi, before),
        status_to=target_status(kpi, after),
        reason=week_reason(kpi, before, after, kpi_before) or "",
    )
    if not isinstance(explanation, Explanation):
        problem = explanation or "it was not explained"
        return replace(base, problem=problem)
    contributors = tuple(
        Contributor(
            id=c.kpi.id,
            name=c.kpi.name,
            value_from_text=format_value(c.value_from, c.kpi.unit),
            value_to_text=format_value(c.value_to, c.kpi.unit),
            change_text=format_change(c.value_to, c.value_from, c.kpi.unit),
            contribution=c.contribution,
            contribution_text=signed_in_unit(c.contribution, kpi.unit),
            share=c.share,
        )
        for c in explanation.children[:CONTRIBUTORS]
    )
    delta_p = explanation.delta_p
    residual_share = explanation.residual_p / delta_p if delta_p else None
    return replace(
        base,
        period_from=explanation.period_from,
        period_to=explanation.period_to,
        contributors=contributors,
        residual=explanation.residual,
        residual_text=signed_in_unit(explanation.residual, kpi.unit),
        residual_share=residual_share,
        causes=tuple(
            _cause(kpi, explanation, i) for i in range(min(CAUSES, len(explanation.root_causes)))
        ),
    )


def why_section(
    catalog: Catalog,
    lines: Mapping[str, KpiLine],
    ceo_ids: Sequence[str],
    explanations: Mapping[str, Explanation | str],
    week_before: Catalog | None = None,
) -> tuple[Moved, ...]:
    before = week_before or catalog
    return tuple(
        moved(catalog.kpis[k], lines[k], explanations.get(k), before.kpis[k])
        for k in moved_ids(catalog, lines, ceo_ids, week_before)
    )


def actions_section(
    catalog: Catalog,
    lines: Mapping[str, KpiLine],
    ceo_ids: Sequence[str],
    recommendations: Mapping[str, Recommendations | str],
    agent_id: str | None = None,
) -> tuple[KpiActions, ...]:
    """Each off-target CEO KPI's first plan levers; for an agent, only the levers it owns
    (and only the KPIs where it has some)."""
    found = []
    for kpi_id in off_target_ids(lines, ceo_ids):
        kpi, line = catalog.kpis[kpi_id], lines[kpi_id]
        base = KpiActions(kpi.id, kpi.name, line.value_text, line.target_text, line.status)
        answer = recommendations.get(kpi_id)
        if not isinstance(answer, Recommendations):
            if agent_id is None:
                found.append(replace(base, problem=answer or "no recommendation"))
            continue
        actions: list[Action] = plan_actions(answer, None)
        if agent_id is not None:
            actions = [a for a in actions if a.agent_id == agent_id]
            if not actions:
                continue
        plan = answer.plan
        found.append(
            replace(
                base,
                actions=tuple(actions[:PLAN_ACTIONS]),
                outcome=plan_outcome(answer),
                lands=plan is not None and plan.lands,
            )
        )
    return tuple(found)


# --- Markdown -------------------------------------------------------------------------------


def _cause_text(cause: Cause, kpi_name: str) -> str:
    share = share_text(cause.share)
    if cause.own:
        return f"{md(kpi_name)}'s own data ({share} of the move)"
    where = " → ".join(md(p) for p in (cause.workflow, cause.step) if p)
    parts = [md(cause.agent_name), where, md(cause.system or "")]
    if cause.stale:
        parts.append("its data is stale")
    return f"{md(cause.name)} ({share} of the move): " + ", ".join(p for p in parts if p)


def _moved_lines(item: Moved) -> list[str]:
    out = [
        f"### {md(item.name)}: {item.value_from_text} → {item.value_to_text} "
        f"({md(item.change_text)})",
        "",
        f"- **Listed:** {md(item.reason)}",
    ]
    if item.problem is not None:
        return [*out, f"- **Not explained:** {md(item.problem)}"]
    if item.period_from and item.period_to:
        out.append(f"- **Compared:** {md(item.period_from)} with {md(item.period_to)}")
    if item.contributors:
        out.append("- **Top contributors:**")
        out += [
            f"  - {md(c.name)}: {c.contribution_text} ({share_text(c.share)} of the move); "
            f"itself {c.value_from_text} → {c.value_to_text} ({md(c.change_text)})"
            for c in item.contributors
        ]
        if item.residual_share is not None and abs(item.residual_share) >= 0.005:
            out.append(
                f"- **Its own data** (what the KPIs below do not explain): "
                f"{item.residual_text} ({share_text(item.residual_share)} of the move)"
            )
    else:
        out.append("- **Top contributors:** none: no KPI below it explains it, the move is its own")
    if item.causes:
        out.append(
            "- **Root causes:** " + "; ".join(_cause_text(c, item.name) for c in item.causes)
        )
    return out


def why_lines(brief: Brief) -> list[str]:
    out = ["## Why it moved", ""]
    if not brief.why:
        return [*out, "No CEO KPI moved by its warning band or changed status this week."]
    out.append(
        "The CEO KPIs that moved this week by at least their warning band (the fraction of "
        "the target their warning threshold uses) or changed status, each split among the "
        "KPIs below it; `explain KPI_ID` gives the whole answer."
    )
    for item in brief.why:
        out += ["", *_moved_lines(item)]
    return out


def _kpi_actions_lines(item: KpiActions) -> list[str]:
    out = [
        f"### {md(item.name)}: {item.value_text}, target {item.target_text} "
        f"({item.status.glyph} {item.status.value})",
        "",
    ]
    if item.problem is not None:
        return [*out, f"No recommendation: {md(item.problem)}"]
    if not item.actions:
        out.append("No lever with a σ can move it.")
    out += [f"{index}. {md(a.sentence)}" for index, a in enumerate(item.actions, start=1)]
    return [*out, "", md(item.outcome)]


def actions_lines(brief: Brief) -> list[str]:
    out = ["## Recommended actions", ""]
    if brief.agent is not None:
        if not brief.actions:
            return [*out, "No lever of the off-target CEO KPIs' plans is its own."]
        out.append(
            "The levers it owns in the least-effort plans that bring the off-target CEO KPIs "
            "it moves back to target (the largest change first, in σ: the standard deviation "
            "of the lever's period-to-period changes over the last year)."
        )
    else:
        if not brief.actions:
            return [*out, "No CEO KPI is off target."]
        out.append(
            "For each off-target CEO KPI, the first three levers of the least-effort plan "
            "that brings it back to target (the largest change first, in σ: the standard "
            "deviation of the lever's period-to-period changes over the last year); "
            "`recommend KPI_ID` gives every lever."
        )
    for item in brief.actions:
        out += ["", *_kpi_actions_lines(item)]
    return out


# --- JSON -----------------------------------------------------------------------------------


def why_record(brief: Brief) -> list[dict[str, Any]]:
    return [
        {
            "id": m.id,
            "name": m.name,
            "from": m.value_from_text,
            "to": m.value_to_text,
            "change": m.change_text,
            "status": {"from": m.status_from.value, "to": m.status_to.value},
            "reason": m.reason,
            "periods": {"from": m.period_from, "to": m.period_to},
            "contributors": [
                {
                    "id": c.id,
                    "name": c.name,
                    "from": c.value_from_text,
                    "to": c.value_to_text,
                    "change": c.change_text,
                    "contribution": _round(c.contribution),
                    "contribution_text": c.contribution_text,
                    "share": _round(c.share),
                }
                for c in m.contributors
            ],
            "residual": _round(m.residual),
            "residual_share": _round(m.residual_share),
            "root_causes": [
                {
                    "id": c.id,
                    "name": c.name,
                    "share": _round(c.share),
                    "own_data": c.own,
                    "agent": {"id": c.agent_id, "name": c.agent_name},
                    "workflow": c.workflow,
                    "step": c.step,
                    "system": c.system,
                    "stale": c.stale,
                }
                for c in m.causes
            ],
            "problem": m.problem,
        }
        for m in brief.why
    ]


def actions_record(brief: Brief) -> list[dict[str, Any]]:
    return [
        {
            "id": k.id,
            "name": k.name,
            "value": k.value_text,
            "target": k.target_text,
            "status": k.status.value,
            "actions": [
                {
                    "text": a.sentence,
                    "agent": {"id": a.agent_id, "name": a.agent_name},
                    "workflow": a.workflow,
                    "step": a.step,
                    "lever": a.lever_id,
                    "name": a.lever_name,
                    "current": _round(a.current),
                    "value": _round(a.value),
                    "change_sigma": _round(a.change_sigma),
                    "at_limit": a.at_limit,
                }
                for a in k.actions
            ],
            "outcome": k.outcome,
            "lands": k.lands,
            "problem": k.problem,
        }
        for k in brief.actions
    ]


def _round(value: float | None, digits: int = 6) -> float | None:
    """Fixed precision, so the JSON never carries float noise."""
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits) + 0.0  # + 0.0: never a negative zero
