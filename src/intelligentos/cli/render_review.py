"""What ``review`` writes: an agent's performance review as Markdown, self-contained HTML or
JSON, laid out like the brief (its Markdown helpers and HTML page).

None reads a clock, so the same review gives the same bytes. User text (names, notes, who,
scenario names, levers) is escaped for Markdown, so it shows as written in every format.
"""

from __future__ import annotations

import json
from typing import Any

from intelligentos.domain.brief.markup import code, md, table
from intelligentos.domain.brief.render import html_page, scenario_record, scenarios_table
from intelligentos.domain.formatting import format_value
from intelligentos.domain.okr.grade import colour
from intelligentos.domain.okr.review import (
    Accuracy,
    AlertTiming,
    KpiReview,
    OpenAction,
    Review,
    Waits,
)
from intelligentos.domain.okr.targets import TargetChange

FORMATS = ("md", "html", "json")


def duration_text(seconds: float | None) -> str:
    """``45 min``, ``3 h 05 min``, ``2 d 4 h``; a dash for no duration."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _when(stamp: str | None) -> str:
    """``2026-11-25T09:30:00Z`` → ``2026-11-25 09:30``."""
    return md(stamp.removesuffix("Z").replace("T", " ")[:16]) if stamp else "—"


def _score(value: float | None, colour: str | None) -> str:
    return f"{value:.2f} ({colour})" if value is not None else "—"


def _number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f} %"


# --- Markdown ----------------------------------------------------------------------------------


def _kpis(review: Review) -> list[str]:
    out = ["## Its KPIs", ""]
    if not review.kpis:
        return [*out, "It owns no KPI with a target."]
    rows = [
        [
            f"{md(k.name)} ({code(k.id)})",
            k.target_text,
            k.start_text,
            k.actual_text,
            md(k.change_text),
            _score(k.score, k.colour) if k.score is not None else md(k.reason),
            f"`{k.sparkline}`" if k.sparkline.strip() else "—",
        ]
        for k in review.kpis
    ]
    out.append(
        table(
            ["KPI", "target", "start", "actual", "change", "grade", "trend"],
            ["l", "r", "r", "r", "r", "l", "l"],
            rows,
        )
    )
    out += [
        "",
        "Start: the latest value before the quarter; actual: the latest in it. The grade is "
        "the progress from start to target, clipped to 0–1 (a band KPI: how near its target "
        "it stayed); below 0.4 red, below 0.7 yellow, else green.",
    ]
    return out


def _waits_text(name: str, found: Waits, pending: str) -> str:
    if found.measured == 0:
        return f"**{name}:** none yet ({found.pending} {pending})."
    text = (
        f"**{name}:** median {duration_text(found.median)}, worst "
        f"{duration_text(found.worst)} (of {found.measured})"
    )
    return text + (f"; {found.pending} {pending}, not counted." if found.pending else ".")


def _alert_row(a: AlertTiming) -> list[str]:
    acked = (
        f"{_when(a.acknowledged_at)} by {md(a.acknowledged_by or '')}, after "
        f"{duration_text(a.to_acknowledge)}"
        if a.acknowledged_at
        else "not acknowledged"
    )
    resolved = (
        f"{_when(a.resolved_at)}, after {duration_text(a.to_resolve)}" if a.resolved_at else "open"
    )
    return [
        str(a.id) if a.id is not None else "—",
        md(a.subject),
        md(a.rule),
        md(a.severity),
        _when(a.opened_at),
        acked,
        resolved,
    ]


def _alerts(review: Review) -> list[str]:
    out = ["## Alerts routed to it", ""]
    if not review.alerts:
        return [*out, f"No alert routed to it was opened in {review.quarter}."]
    count = len(review.alerts)
    out += [
        f"{count} alert{'' if count == 1 else 's'} opened in {review.quarter}, timed from "
        "the alert log:",
        "",
        "- " + _waits_text("Time to acknowledge", review.to_acknowledge, "not acknowledged"),
        "- " + _waits_text("Time to resolve", review.to_resolve, "still open"),
        "",
        table(
            ["alert", "about", "rule", "severity", "opened (UTC)", "acknowledged", "resolved"],
            ["r", "l", "l", "l", "l", "l", "l"],
            (_alert_row(a) for a in review.alerts),
        ),
    ]
    return out


def _accuracy_row(a: Accuracy, unit: str) -> list[str]:
    made_from = md((a.based_on or "—")[:10])
    if a.mae is None:
        return [md(a.name), md(a.model), made_from, "0", "—", "—", "—", md(a.reason)]
    return [
        md(a.name),
        md(a.model),
        made_from,
        str(len(a.compared)),
        f"{a.mae:.1f} pt" if unit == "percent" else format_value(a.mae, unit),
        _number(a.mase),
        _percent(a.coverage80),
        "",
    ]


def _accuracy(review: Review) -> list[str]:
    out = ["## Its forecasts' accuracy, out of sample", ""]
    if not review.accuracy:
        return [*out, "None."]
    units = {k.id: k.unit for k in review.kpis}
    out += [
        f"Each KPI forecast from its values before {review.quarter.start.isoformat()} only, "
        f"scored on its values in {review.quarter}: the mean absolute error (MAE), the MASE "
        "(that error over the seasonal naive forecast's from the same data: below 1 beats "
        "it) and the share of values inside the forecast's 80 % interval.",
        "",
        table(
            ["KPI", "model", "made from", "values", "MAE", "MASE", "inside 80 %", "note"],
            ["l", "l", "l", "r", "r", "r", "r", "l"],
            (_accuracy_row(a, units.get(a.kpi_id, "count")) for a in review.accuracy),
        ),
    ]
    return out


def _scenarios(review: Review) -> list[str]:
    out = ["## Scenarios on its KPIs", ""]
    if not review.scenarios:
        return [*out, f"No saved scenario moving its KPIs changed in {review.quarter}."]
    return [*out, scenarios_table(review.scenarios)]


def _target(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


def _changes(review: Review) -> list[str]:
    out = ["## Target changes", ""]
    if not review.target_changes:
        return [*out, f"No target of its KPIs changed in {review.quarter}."]
    rows = [
        [
            _when(c.at),
            code(c.kpi_id),
            str(c.quarter),
            f"{_target(c.before)} → {_target(c.after)}",
            c.source.value,
            md(c.who) if c.who else "—",
            md(c.note) if c.note else "—",
        ]
        for c in review.target_changes
    ]
    return [
        *out,
        table(["when (UTC)", "KPI", "quarter", "target", "from", "who", "note"], ["l"] * 7, rows),
    ]


def _actions(review: Review) -> list[str]:
    out = ["## Its recommendations still open", ""]
    if not review.actions:
        return [*out, f"None: none of its KPIs is off target on {review.as_of.isoformat()}."]
    for item in review.actions:
        out += [f"### {md(item.name)}: {item.value_text} (target {item.target_text})", ""]
        if item.problem is not None:
            out += [f"No plan: {md(item.problem)}", ""]
            continue
        out += [f"- {md(task)}" for task in item.actions]
        out += ["", md(item.outcome), ""]
    return out[:-1] if out[-1] == "" else out


def to_markdown(review: Review) -> str:
    q = review.quarter
    span = f"{q.start.isoformat()} – {q.end.isoformat()}"
    when = (
        f"running: graded as of {review.as_of.isoformat()}"
        if review.running
        else f"graded at its end, {review.as_of.isoformat()}"
    )
    function = f" ({md(review.function)})" if review.function else ""
    graded = [k for k in review.kpis if k.score is not None]
    overall = (
        f"**Grade:** {_score(review.score, _colour_of(review))}, the mean of its "
        f"{len(graded)} graded KPI{'' if len(graded) == 1 else 's'}."
        if review.score is not None
        else "**Grade:** none: no KPI of its has a value in the quarter."
    )
    out = [
        f"# {md(review.title)}",
        "",
        f"Quarter {q} ({span}), {when} (UTC). Agent {code(review.agent_id)}{function}.",
        "",
        overall,
    ]
    for part in (_kpis, _alerts, _accuracy, _scenarios, _changes, _actions):
        out += ["", *part(review)]
    return "\n".join(out) + "\n"


def _colour_of(review: Review) -> str | None:
    return None if review.score is None else colour(review.score).value


def to_html(review: Review) -> str:
    return html_page(review.title, to_markdown(review))


# --- JSON --------------------------------------------------------------------------------------


def _kpi_record(k: KpiReview) -> dict[str, Any]:
    return {
        "id": k.id,
        "name": k.name,
        "unit": k.unit,
        "target": k.target,
        "start": k.start,
        "actual": k.actual,
        "score": k.score,
        "colour": k.colour,
        "reason": k.reason or None,
        "trend": {
            "sparkline": k.sparkline,
            "change_text": k.change_text,
            "values": [{"period": p, "value": v} for p, v in k.values],
        },
    }


def _waits_record(found: Waits) -> dict[str, Any]:
    return {
        "measured": found.measured,
        "pending": found.pending,
        "median_seconds": found.median,
        "worst_seconds": found.worst,
    }


def _alert_record(a: AlertTiming) -> dict[str, Any]:
    return {
        "id": a.id,
        "subject": a.subject,
        "kpi_id": a.kpi_id,
        "rule": a.rule,
        "severity": a.severity,
        "opened_at": a.opened_at,
        "acknowledged_at": a.acknowledged_at,
        "acknowledged_by": a.acknowledged_by,
        "resolved_at": a.resolved_at,
        "to_acknowledge_seconds": a.to_acknowledge,
        "to_resolve_seconds": a.to_resolve,
    }


def _accuracy_record(a: Accuracy) -> dict[str, Any]:
    return {
        "kpi_id": a.kpi_id,
        "name": a.name,
        "model": a.model,
        "based_on": a.based_on,
        "compared": [
            {"period": p, "forecast": mean, "actual": actual} for p, mean, actual in a.compared
        ],
        "mae": a.mae,
        "mase": a.mase,
        "coverage80": a.coverage80,
        "reason": a.reason or None,
    }


def _change_record(c: TargetChange) -> dict[str, Any]:
    return {
        "kpi_id": c.kpi_id,
        "quarter": str(c.quarter),
        "before": c.before,
        "after": c.after,
        "source": c.source.value,
        "who": c.who,
        "at": c.at,
        "note": c.note,
    }


def _action_record(a: OpenAction) -> dict[str, Any]:
    return {
        "kpi_id": a.kpi_id,
        "name": a.name,
        "value_text": a.value_text,
        "target_text": a.target_text,
        "actions": list(a.actions),
        "outcome": a.outcome or None,
        "problem": a.problem,
    }


def to_record(review: Review) -> dict[str, Any]:
    return {
        "review": "agent",
        "title": review.title,
        "quarter": str(review.quarter),
        "as_of": review.as_of.isoformat(),
        "running": review.running,
        "agent": {"id": review.agent_id, "name": review.agent_name, "function": review.function},
        "score": review.score,
        "colour": _colour_of(review),
        "kpis": [_kpi_record(k) for k in review.kpis],
        "alerts": {
            "to_acknowledge": _waits_record(review.to_acknowledge),
            "to_resolve": _waits_record(review.to_resolve),
            "routed": [_alert_record(a) for a in review.alerts],
        },
        "forecast_accuracy": [_accuracy_record(a) for a in review.accuracy],
        "scenarios": [scenario_record(s) for s in review.scenarios],
        "target_changes": [_change_record(c) for c in review.target_changes],
        "recommendations": [_action_record(a) for a in review.actions],
    }


def to_json(review: Review) -> str:
    return json.dumps(to_record(review), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render_review(review: Review, fmt: str) -> str:
    """The review in ``md``, ``html`` or ``json``."""
    renderers = {"md": to_markdown, "html": to_html, "json": to_json}
    return renderers[fmt](review)
