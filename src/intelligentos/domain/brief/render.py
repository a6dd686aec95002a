"""A :class:`~intelligentos.domain.brief.contents.Brief` as Markdown, self-contained HTML or JSON.

Every format lays out the same figures; none reads a clock, so the same brief gives the same
bytes. Markdown tables are GitHub-flavoured pipe tables. User text (names, notes, actors,
scenario names, levers) is escaped for Markdown, so a ``|`` or ``<script>`` in a note shows as
written and cannot break a table; the HTML is that Markdown rendered by markdown-it-py with
raw HTML disabled, in one file with its CSS inline and no network fetches.

Pure Python: no SQL, no Textual.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from intelligentos.domain.brief.contents import (
    AlertChange,
    Brief,
    KpiLine,
    OpenAlert,
    Risk,
    StaleSystem,
)
from intelligentos.domain.brief.markup import code, md, table
from intelligentos.domain.brief.why import actions_lines, actions_record, why_lines, why_record
from intelligentos.domain.detection import Status
from intelligentos.domain.formatting import literal
from intelligentos.domain.whatif.scenarios import ScenarioChange

FORMATS = ("md", "html", "json")
MAX_EVENTS_SHOWN = 40  # rows of the week's alert log in Markdown (the JSON has every one)


def _status(status: Status | str) -> str:
    status = Status(status)
    return f"{status.glyph} {status.value}"


def _when(stamp: str) -> str:
    """``2026-11-25T09:30:00Z`` → ``2026-11-25 09:30``."""
    return md(stamp.removesuffix("Z").replace("T", " ")[:16])


def _spark(line: KpiLine) -> str:
    return f"`{line.sparkline}`" if line.sparkline.strip() else "—"


def _kpi_table(lines: Sequence[KpiLine]) -> str:
    rows = [
        [
            f"{md(line.name)} ({code(line.id)})",
            line.value_text,
            md(line.week_change_text),
            line.previous_change_text,
            line.target_text,
            _status(line.status),
            _spark(line),
            md(line.projected.text) if line.projected else "—",
        ]
        for line in lines
    ]
    return table(
        [
            "KPI",
            "value",
            "this week",
            "vs previous period",
            "target",
            "status",
            "trend",
            "projected (reliable forecast)",
        ],
        ["l", "r", "r", "r", "r", "l", "l", "l"],
        rows,
    )


def _headline(brief: Brief) -> list[str]:
    h = brief.headline
    scope = "KPIs" if brief.agent is None else "KPIs it owns or supports"
    counts = (
        f"**{h.total} {scope}:** {h.ok} on target · {h.warning} warning · "
        f"{h.critical} critical · {h.stale} stale"
    )
    if h.no_data:
        counts += f" · {h.no_data} without data"
    if h.tracked:
        counts += f" · {h.tracked} tracked (no target)"
    alerts = (
        f"**{h.open_alerts} open alert{'' if h.open_alerts == 1 else 's'}:** "
        f"{h.firing} firing unacknowledged · "
        + (f"{h.grouped} grouped under a stale source · " if h.grouped else "")
        + (f"{h.silenced} silenced · " if h.silenced else "")
        + f"{h.acknowledged} acknowledged · {h.snoozed} snoozed"
    )
    parts = [counts + ".", alerts + "."]
    if brief.risks:
        top = brief.risks[0]
        parts.append(
            f"**Top risk:** {md(top.kpi.name)}, {_status(top.kpi.status)}, "
            f"{top.shortfall_text} (impact on {md(top.ceo_name)}: "
            f"{md(top.impact_summary)})."
        )
    return ["## Headline", "", *(f"- {part}" for part in parts)]


def _change_row(change: AlertChange) -> list[str]:
    move = f"{change.from_state or '—'} → {change.to_state}"
    return [
        _when(change.at),
        str(change.alert_id) if change.alert_id is not None else "—",
        md(change.subject),
        md(change.rule),
        f"{md(change.action)} ({move})",
        md(change.actor),
        md(change.note) if change.note else "—",
    ]


def _changes(brief: Brief) -> list[str]:
    counts = brief.change_counts()
    out = ["## What changed this week", ""]
    summary = " · ".join(f"{action} {count}" for action, count in counts.items())
    out.append(summary[:1].upper() + summary[1:])
    if not brief.changes:
        out += ["", "No alert changed this week."]
        return out
    shown = brief.changes[-MAX_EVENTS_SHOWN:]
    out += [
        "",
        table(
            ["when (UTC)", "alert", "about", "rule", "change", "who", "note"],
            ["l", "r", "l", "l", "l", "l", "l"],
            (_change_row(c) for c in shown),
        ),
    ]
    hidden = len(brief.changes) - len(shown)
    if hidden:
        out += ["", f"The {len(shown)} latest of {len(brief.changes)} events; the JSON has all."]
    return out


def _open_alerts(alerts: Sequence[OpenAlert]) -> list[str]:
    out = ["## Open alerts", ""]
    if not alerts:
        return [*out, "None."]
    rows = [
        [
            str(a.id) if a.id is not None else "—",
            md(a.subject),
            md(a.rule),
            md(a.severity),
            md(a.state),
            _when(a.opened_at),
            md(a.acknowledgement) if a.acknowledgement else "—",
        ]
        for a in alerts
    ]
    return [
        *out,
        table(
            ["alert", "about", "rule", "severity", "state", "opened (UTC)", "acknowledgement"],
            ["r", "l", "l", "l", "l", "l", "l"],
            rows,
        ),
    ]


def _path_text(risk: Risk) -> str:
    steps = []
    for step in risk.path:
        if step.kind == "formula":
            how = " (formula)"
        elif step.kind == "sensitivity" and step.sensitivity is not None:
            how = f" (sensitivity {step.sensitivity:+g})"
        else:
            how = f" (× {step.weight:g})" if step.weight is not None else ""
        steps.append(f"{md(step.name)}{how}")
    return " → ".join(steps)


def _impact_text(risk: Risk) -> str:
    if risk.impact_change_text is None:
        return (
            f"{risk.impact * 100:.1f} % of its target "
            f"(shortfall {risk.shortfall * 100:.1f} % × path weight {risk.path_weight:g})"
        )
    return f"{md(risk.impact_summary)} ({md(risk.model)})"


def _risk(risk: Risk) -> list[str]:
    kpi = risk.kpi
    sources = "; ".join(
        f"{md(source.name)} ({code(source.id)}): " + ", ".join(code(f) for f in source.fields)
        for source in risk.sources
    )
    out = [
        f"### {risk.rank}. {md(kpi.name)}: {_status(kpi.status)}, {risk.shortfall_text}",
        "",
        f"- **Value:** {kpi.value_text} (target {kpi.target_text}); "
        f"{kpi.previous_change_text} vs previous period; this week: {md(kpi.week_change_text)}",
        f"- **Impact on {md(risk.ceo_name)}:** {_impact_text(risk)}",
        f"- **Rolls up:** {_path_text(risk)}",
        f"- **Lineage:** {sources or 'no source recorded'}",
        f"- **Owner:** {md(risk.agent_name)}",
    ]
    out += [f"  - {md(rule)}" for rule in risk.rules]
    return out


def _risks(brief: Brief) -> list[str]:
    out = ["## Top risks", ""]
    if not brief.risks:
        return [*out, "No KPI is off target."]
    shown = len(brief.risks)
    count = f"{brief.off_target} KPI{'' if brief.off_target == 1 else 's'} off target"
    top = "" if shown == brief.off_target else f"; the top {shown}"
    how = "shortfall × the roll-up weights up to it"
    if any(risk.impact_change_text is not None for risk in brief.risks):
        how = (
            "what it would gain were the KPI back on target: exact through formulas and "
            "sensitivities, shortfall × the roll-up weights otherwise"
        )
    out.append(f"{count}{top}, ranked by impact on their CEO KPI ({how}).")
    for risk in brief.risks:
        out += ["", *_risk(risk)]
    return out


def _stale(systems: Sequence[StaleSystem]) -> list[str]:
    out = ["## Stale source systems", ""]
    if not systems:
        return [*out, "None: every source system has fresh data."]
    rows = [
        [
            f"{md(s.name)} ({code(s.id)})",
            ", ".join(md(name) for _, name in s.feeds),
            ", ".join(md(name) for _, name in s.ceo_kpis),
        ]
        for s in systems
    ]
    return [*out, table(["system", "feeds (stale)", "CEO KPIs"], ["l", "l", "l"], rows)]


def _scenarios(scenarios: Sequence[ScenarioChange]) -> list[str]:
    out = ["## Scenarios changed this week", ""]
    if not scenarios:
        return [*out, "None."]
    return [*out, scenarios_table(scenarios)]


def scenarios_table(scenarios: Sequence[ScenarioChange]) -> str:
    """Saved scenarios created or updated: name, levers, change, who, when and note."""
    rows = [
        [
            md(s.name),
            ", ".join(code(lever) for lever in s.levers) or "—",
            s.change,
            md(s.by),
            _when(s.at),
            md(s.note) if s.note else "—",
        ]
        for s in scenarios
    ]
    return table(["scenario", "levers", "change", "by", "when (UTC)", "note"], ["l"] * 6, rows)


def to_markdown(brief: Brief) -> str:
    out = [f"# {md(brief.title)}", ""]
    out.append(
        f"Week {brief.week_start.isoformat()} – {brief.as_of.isoformat()}; values as of the "
        f"end of {brief.as_of.isoformat()} (UTC)."
    )
    agent = brief.agent
    if agent is not None:
        function = f" ({md(agent.function)})" if agent.function else ""
        out += ["", f"Agent {code(agent.id)}{function}."]
    out += ["", *_headline(brief)]
    if agent is not None:
        out += ["", "## Its rules", ""]
        out += [f"- {md(rule)}" for rule in agent.rules] or ["None recorded."]
        out += ["", "## KPIs it owns", ""]
        out += [_kpi_table(agent.owns) if agent.owns else "None."]
        if agent.supports:
            out += ["", "## KPIs it supports", "", _kpi_table(agent.supports)]
        out += ["", "## CEO KPIs it moves", ""]
    else:
        out += ["", "## CEO KPIs", ""]
    out += [_kpi_table(brief.ceo_kpis) if brief.ceo_kpis else "None."]
    out += ["", *_changes(brief)]
    if agent is not None:
        out += ["", *_open_alerts(brief.open_alerts)]
    out += ["", *why_lines(brief)]
    out += ["", *_risks(brief)]
    out += ["", *actions_lines(brief)]
    out += ["", *_stale(brief.stale_systems)]
    out += ["", *_scenarios(brief.scenarios)]
    return "\n".join(out) + "\n"


# --- HTML --------------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #1f2328; background: #fff; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px; }
h1 { font-size: 1.6em; border-bottom: 2px solid #1f2328; padding-bottom: 4px; }
h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 1.05em; margin-bottom: 0.3em; }
table { border-collapse: collapse; width: 100%; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #d0d7de; padding: 3px 6px; vertical-align: top; }
th { background: #f6f8fa; text-align: left; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: 0.95em; background: #f6f8fa; padding: 0 3px; border-radius: 3px; }
ul { padding-left: 1.4em; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  h2, h3 { break-after: avoid; }
  tr, li { break-inside: avoid; }
  th { background: none; }
}
""".strip()


def to_html(brief: Brief) -> str:
    return html_page(brief.title, to_markdown(brief))


def html_page(title: str, markdown: str) -> str:
    """One self-contained page: the Markdown rendered (raw HTML off, so user text stays
    text), print-friendly CSS inline, and a policy that forbids any fetch or script."""
    from markdown_it import MarkdownIt  # imported here: only HTML needs it

    renderer = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
        ["table", "strikethrough"]
    )
    body = renderer.render(markdown)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(literal(title))}</title>\n"
        f"<style>\n{_CSS}\n</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n"
    )


# --- JSON --------------------------------------------------------------------------------------


def _kpi_record(line: KpiLine) -> dict[str, Any]:
    projected = line.projected
    return {
        "id": line.id,
        "name": line.name,
        "level": line.level,
        "unit": line.unit,
        "value": line.value,
        "value_text": line.value_text,
        "period": line.period,
        "target": line.target,
        "target_text": line.target_text,
        "status": line.status.value,
        "changes": {
            "week": {"from": line.week_before, "text": line.week_change_text},
            "previous_period": {"from": line.previous, "text": line.previous_change_text},
        },
        "sparkline": line.sparkline,
        "owner": line.owner,
        "projected": None
        if projected is None
        else {
            "period": projected.period,
            "mean": projected.mean,
            "lo80": projected.lo80,
            "hi80": projected.hi80,
            "model": projected.model,
            "status": projected.status.value,
            "text": projected.text,
        },
    }


def _risk_record(risk: Risk) -> dict[str, Any]:
    return {
        "rank": risk.rank,
        "kpi": _kpi_record(risk.kpi),
        "shortfall": risk.shortfall,
        "shortfall_text": risk.shortfall_text,
        "path_weight": risk.path_weight,
        "impact": risk.impact,
        "impact_change": risk.impact_change,
        "model": risk.model,
        "ceo_kpi": {"id": risk.ceo_id, "name": risk.ceo_name},
        "path": [
            {"id": s.id, "name": s.name, "weight": s.weight, "edge": s.kind} for s in risk.path
        ],
        "sources": [{"id": s.id, "name": s.name, "fields": list(s.fields)} for s in risk.sources],
        "agent": {"id": risk.agent_id, "name": risk.agent_name, "rules": list(risk.rules)},
    }


def to_record(brief: Brief) -> dict[str, Any]:
    h = brief.headline
    agent = brief.agent
    return {
        "brief": "ceo" if agent is None else "agent",
        "title": brief.title,
        "as_of": brief.as_of.isoformat(),
        "week": {"from": brief.week_start.isoformat(), "to": brief.as_of.isoformat()},
        "agent": None
        if agent is None
        else {
            "id": agent.id,
            "name": agent.name,
            "function": agent.function,
            "rules": list(agent.rules),
            "owns": [_kpi_record(line) for line in agent.owns],
            "supports": [_kpi_record(line) for line in agent.supports],
        },
        "headline": {
            "kpis": h.total,
            "ok": h.ok,
            "warning": h.warning,
            "critical": h.critical,
            "stale": h.stale,
            "no_data": h.no_data,
            "tracked": h.tracked,
            "open_alerts": h.open_alerts,
            "firing": h.firing,
            "grouped": h.grouped,
            "acknowledged": h.acknowledged,
            "snoozed": h.snoozed,
            "silenced": h.silenced,
        },
        "ceo_kpis": [_kpi_record(line) for line in brief.ceo_kpis],
        "changes": {
            "counts": brief.change_counts(),
            "events": [
                {
                    "at": c.at,
                    "alert_id": c.alert_id,
                    "subject": c.subject,
                    "kpi_id": c.kpi_id,
                    "system_id": c.system_id,
                    "rule": c.rule,
                    "severity": c.severity,
                    "action": c.action,
                    "actor": c.actor,
                    "from_state": c.from_state,
                    "to_state": c.to_state,
                    "note": c.note,
                }
                for c in brief.changes
            ],
        },
        "open_alerts": [
            {
                "id": a.id,
                "subject": a.subject,
                "rule": a.rule,
                "severity": a.severity,
                "state": a.state,
                "opened_at": a.opened_at,
                "acknowledgement": a.acknowledgement,
            }
            for a in brief.open_alerts
        ],
        "why_it_moved": why_record(brief),
        "risks": {
            "off_target": brief.off_target,
            "top": [_risk_record(risk) for risk in brief.risks],
        },
        "recommended_actions": actions_record(brief),
        "stale_systems": [
            {
                "id": s.id,
                "name": s.name,
                "feeds": [{"id": k, "name": n} for k, n in s.feeds],
                "ceo_kpis": [{"id": k, "name": n} for k, n in s.ceo_kpis],
            }
            for s in brief.stale_systems
        ],
        "scenarios": [scenario_record(s) for s in brief.scenarios],
    }


def scenario_record(s: ScenarioChange) -> dict[str, Any]:
    return {
        "name": s.name,
        "levers": list(s.levers),
        "change": s.change,
        "by": s.by,
        "at": s.at,
        "note": s.note,
    }


def to_json(brief: Brief) -> str:
    return json.dumps(to_record(brief), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render(brief: Brief, fmt: str) -> str:
    """The brief in ``md``, ``html`` or ``json``."""
    if fmt == "md":
        return to_markdown(brief)
    if fmt == "html":
        return to_html(brief)
    if fmt == "json":
        return to_json(brief)
    raise ValueError(f"unknown format {fmt!r}; use md, html or json")


def format_for_path(name: str) -> str:
    """The format a file name asks for: ``.html``/``.htm`` HTML, ``.json`` JSON, else
    Markdown."""
    lower = name.lower()
    if lower.endswith((".html", ".htm")):
        return "html"
    if lower.endswith(".json"):
        return "json"
    return "md"
