"""What a person reads when an incident is notified, in each sink's format.

**The headline** is one line: the status glyph, the subject, the severity, the value against
what was expected with the gap in percent, and the owner:
``■ Gross Margin % critical: 63.8% vs target 72.0% (−11.4%), owner CFO Agent``. Numbers are
formatted by the KPI's unit (never ``21.005000000000003``). A notice other than the opening
says what happened first (``Acknowledged by ana: …``, ``Resolved: …``).

**Formats** (a sink's ``format``):

* ``text``: the headline, then what drove it, the incident's alerts and the link, a line
  each;
* ``slack``: a Slack incoming-webhook body: ``text`` (the headline, for notifications) and
  ``blocks`` (the headline as a section, a context line with the driver and the alerts, and the
  link), every piece of user text escaped so that Slack shows it as written;
* ``pagerduty``: an Events API v2 event: ``trigger`` when the incident opens or its severity
  changes, ``acknowledge``, ``resolve``, all with the incident's stable ``dedup_key`` (PagerDuty
  folds them into one incident, and a retried delivery changes nothing);
* ``json``: the incident and its alerts, versioned by ``schema``.

Pure Python: no SQL, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from intelligentos.domain.alerts import Alert, deviation_text, number_text
from intelligentos.domain.catalog.models import Kpi
from intelligentos.domain.detection import Rule, Severity
from intelligentos.domain.incidents import IncidentState, Notice

SCHEMA = "intelligentos.incident/1"
# PagerDuty's limit on a summary.
SUMMARY_LIMIT = 1024
MINUS = "\N{MINUS SIGN}"
_GLYPHS = {Severity.CRITICAL: "■", Severity.WARNING: "▲", Severity.INFO: "●"}
_PAGERDUTY_SEVERITY = {Severity.CRITICAL: "critical", Severity.WARNING: "warning"}


class Format(StrEnum):
    TEXT = "text"
    SLACK = "slack"
    PAGERDUTY = "pagerduty"
    JSON = "json"


@dataclass(frozen=True)
class IncidentMessage:
    """Everything a message says about one notified change of one incident."""

    incident_id: int
    notice: Notice
    state: IncidentState
    face: Alert  # the incident's most severe open alert (its last one, once resolved)
    subject: str  # the KPI's or the source system's name
    kpi: Kpi | None
    owner: str
    at: str  # when the change happened (a UTC stamp)
    actor: str
    note: str | None = None
    alerts: tuple[Alert, ...] = ()
    driver: str = ""  # "driven by Win Rate, −13.6 pt" (explain), or ""
    link: str = ""  # where to look (the cockpit's command, a dashboard URL)
    routed_to: tuple[str, ...] = field(default_factory=tuple)


def gap_text(alert: Alert) -> str:
    """The value's gap to what was expected, in percent of it with its sign (``−11.4%``);
    "" when there is nothing to compare."""
    if alert.value is None or alert.expected is None or alert.expected == 0:
        return ""
    gap = (alert.value - alert.expected) / abs(alert.expected) * 100
    if not math.isfinite(gap):
        return ""
    text = f"{abs(gap):.1f}%"
    return f"{MINUS}{text}" if gap < 0 else f"+{text}"


def _measure(message: IncidentMessage) -> str:
    face, kpi = message.face, message.kpi
    if face.rule in (Rule.TARGET, Rule.FORECAST) and face.expected is not None:
        what = "projected" if face.rule == Rule.FORECAST else ""
        value = number_text(face.value, kpi)
        expected = number_text(face.expected, kpi)
        gap = gap_text(face)
        shown = f"{what} {value}".strip()
        return f"{shown} vs target {expected}" + (f" ({gap})" if gap else "")
    if face.value is not None:
        return f"{number_text(face.value, kpi)} ({deviation_text(face, kpi)})"
    return deviation_text(face, kpi)


def headline(message: IncidentMessage) -> str:
    """The one line a person reads first."""
    face = message.face
    line = (
        f"{_GLYPHS.get(face.severity, '●')} {message.subject} {face.severity.value}: "
        f"{_measure(message)}, owner {message.owner}"
    )
    if message.notice is Notice.ACKNOWLEDGED:
        return f"Acknowledged by {message.actor}: {line}"
    if message.notice is Notice.RESOLVED:
        return f"Resolved: {line}"
    if message.notice is Notice.ESCALATED:
        return f"Escalated: {line}"
    if message.notice is Notice.REFIRED:
        return f"Firing again: {line}"
    if message.notice is Notice.DE_ESCALATED:
        return f"Eased: {line}"
    return line


def _details(message: IncidentMessage) -> list[str]:
    lines = []
    if message.driver:
        lines.append(message.driver)
    if message.note:
        lines.append(f"Note: {message.note}")
    if len(message.alerts) > 1:
        rules = ", ".join(f"{a.rule} ({a.severity.value})" for a in message.alerts)
        lines.append(f"{len(message.alerts)} alerts: {rules}")
    return lines


def text_body(message: IncidentMessage, title: str | None = None) -> str:
    """The ``text`` format: the headline (or ``title``, a template's), then a line each."""
    lines = [title or headline(message), *_details(message)]
    if message.link:
        lines.append(message.link)
    return "\n".join(lines) + "\n"


def slack_escape(text: str) -> str:
    """User text as Slack shows it literally: its three control characters escaped (Slack
    would otherwise read ``<…>`` as a link or a mention)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(message: IncidentMessage, title: str | None = None) -> dict[str, Any]:
    """The ``slack`` format: an incoming-webhook body (``text`` and ``blocks``)."""
    first = slack_escape(title or headline(message))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{first}*"}}
    ]
    details = _details(message)
    if details:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": slack_escape(d)} for d in details],
            }
        )
    if message.link:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": slack_escape(message.link)}],
            }
        )
    return {"text": first, "blocks": blocks}


def dedup_key(namespace: str, incident_id: int) -> str:
    """The incident's key at PagerDuty: the same for every message about it, different for
    every incident of every store (``namespace`` names the store)."""
    return f"intelligentos/{namespace}/incident/{incident_id}"


def pagerduty_body(
    message: IncidentMessage, routing_key: str, namespace: str, title: str | None = None
) -> dict[str, Any]:
    """The ``pagerduty`` format: an Events API v2 event."""
    key = dedup_key(namespace, message.incident_id)
    if message.notice is Notice.ACKNOWLEDGED:
        return {"routing_key": routing_key, "event_action": "acknowledge", "dedup_key": key}
    if message.notice is Notice.RESOLVED:
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": key}
    face = message.face
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {
            "summary": (title or headline(message))[:SUMMARY_LIMIT],
            "source": "intelligentos",
            "severity": _PAGERDUTY_SEVERITY.get(face.severity, "info"),
            "timestamp": message.at,
            "component": face.kpi_id or face.system_id or "",
            "class": face.rule,
            "custom_details": {
                "owner": message.owner,
                "routed_to": list(message.routed_to),
                "driven_by": message.driver or None,
                "alerts": [a.rule for a in message.alerts],
            },
        },
    }
    if message.link.startswith(("http://", "https://")):
        event["links"] = [{"href": message.link, "text": "Open in the cockpit"}]
    return event


def json_body(message: IncidentMessage) -> dict[str, Any]:
    """The ``json`` format: the incident, its change and its alerts, versioned."""
    return {
        "schema": SCHEMA,
        "incident": {
            "id": message.incident_id,
            "state": message.state.value,
            "severity": message.face.severity.value,
            "subject": message.subject,
            "kpi_id": message.face.kpi_id,
            "system_id": message.face.system_id,
            "owner": message.owner,
            "routed_to": list(message.routed_to),
            "headline": headline(message),
            "driven_by": message.driver or None,
        },
        "change": {
            "notice": message.notice.value,
            "at": message.at,
            "actor": message.actor,
            "note": message.note,
        },
        "alerts": [
            {
                "id": a.id,
                "rule": a.rule,
                "severity": a.severity.value,
                "state": a.state.value,
                "value": a.value,
                "expected": a.expected,
                "message": a.message,
            }
            for a in message.alerts
        ],
    }
