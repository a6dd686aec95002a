"""Messages a person reads: the headline and each sink format, worked by hand."""

from __future__ import annotations

from dataclasses import replace

from intelligentos.domain.alerts import Alert, State
from intelligentos.domain.catalog.models import Direction, Frequency, Kpi, Level, Unit
from intelligentos.domain.detection import Severity
from intelligentos.domain.incidents import IncidentState, Notice
from intelligentos.domain.messages import (
    SCHEMA,
    IncidentMessage,
    dedup_key,
    gap_text,
    headline,
    json_body,
    pagerduty_body,
    slack_body,
    slack_escape,
    text_body,
)

MARGIN = Kpi(
    id="gross_margin",
    name="Gross Margin %",
    level=Level.CEO,
    unit=Unit.PERCENT,
    direction=Direction.HIGHER,
    target=72.0,
    frequency=Frequency.MONTHLY,
    formula="(revenue − COGS) ÷ revenue",
    engine="finance",
)
TARGET = Alert(
    id=41,
    rule="target",
    severity=Severity.CRITICAL,
    state=State.FIRING,
    opened_at="2026-12-07T09:00:00Z",
    updated_at="2026-12-07T09:00:00Z",
    kpi_id="gross_margin",
    value=63.8,
    expected=72.0,
    deviation=0.1139,
)
ANOMALY = replace(
    TARGET, id=42, rule="anomaly", severity=Severity.WARNING, expected=71.5, deviation=-3.2
)
OPENED = IncidentMessage(
    incident_id=7,
    notice=Notice.OPENED,
    state=IncidentState.FIRING,
    face=TARGET,
    subject="Gross Margin %",
    kpi=MARGIN,
    owner="CFO Agent",
    at="2026-12-07T09:00:00Z",
    actor="intelligentos",
    alerts=(TARGET, ANOMALY),
    driver="driven by COGS, +2.1 pt",
    link="intelligentos-tui lineage gross_margin",
    routed_to=("cfo", "ceo"),
)
MINUS = "\N{MINUS SIGN}"


def test_the_headline_reads_as_a_sentence_with_numbers_by_unit():
    # (63.8 − 72.0) / 72.0 = −0.11389 → −11.4 %
    assert headline(OPENED) == (
        f"■ Gross Margin % critical: 63.8% vs target 72.0% ({MINUS}11.4%), owner CFO Agent"
    )
    assert gap_text(replace(TARGET, value=21.005000000000003, expected=20.0)) == "+5.0%"
    anomaly = replace(OPENED, face=ANOMALY)
    assert (
        headline(anomaly) == "▲ Gross Margin % warning: 63.8% (3.2 σ below median), owner CFO Agent"
    )


def test_each_notice_says_what_happened_first():
    acked = replace(OPENED, notice=Notice.ACKNOWLEDGED, actor="ana")
    assert headline(acked).startswith("Acknowledged by ana: ■ Gross Margin % critical")
    assert headline(replace(OPENED, notice=Notice.RESOLVED)).startswith("Resolved: ■")
    assert headline(replace(OPENED, notice=Notice.ESCALATED)).startswith("Escalated: ■")
    assert headline(replace(OPENED, notice=Notice.REFIRED)).startswith("Firing again: ■")


def test_the_text_format_is_a_line_each():
    assert text_body(OPENED) == (
        f"■ Gross Margin % critical: 63.8% vs target 72.0% ({MINUS}11.4%), owner CFO Agent\n"
        "driven by COGS, +2.1 pt\n"
        "2 alerts: target (critical), anomaly (warning)\n"
        "intelligentos-tui lineage gross_margin\n"
    )


def test_slack_gets_blocks_and_user_text_stays_literal():
    body = slack_body(replace(OPENED, subject="<!channel> & Co", link=""))
    assert body["text"].startswith("■ &lt;!channel&gt; &amp; Co critical")
    assert body["blocks"][0] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": f"*{body['text']}*"},
    }
    assert [e["text"] for e in body["blocks"][1]["elements"]] == [
        "driven by COGS, +2.1 pt",
        "2 alerts: target (critical), anomaly (warning)",
    ]
    assert len(body["blocks"]) == 2  # no link, no link block
    assert slack_escape("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_pagerduty_triggers_acknowledges_and_resolves_one_incident():
    trigger = pagerduty_body(OPENED, "R0UTING", "store-1")
    key = "intelligentos/store-1/incident/7"
    assert dedup_key("store-1", 7) == key
    assert trigger["event_action"] == "trigger" and trigger["dedup_key"] == key
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["summary"] == headline(OPENED)
    assert trigger["payload"]["component"] == "gross_margin"
    assert "links" not in trigger  # the link is a command, not a URL
    acked = pagerduty_body(replace(OPENED, notice=Notice.ACKNOWLEDGED), "R0UTING", "store-1")
    assert acked == {"routing_key": "R0UTING", "event_action": "acknowledge", "dedup_key": key}
    resolved = pagerduty_body(replace(OPENED, notice=Notice.RESOLVED), "R0UTING", "store-1")
    assert resolved["event_action"] == "resolve" and resolved["dedup_key"] == key
    # An escalation re-triggers the same incident.
    assert (
        pagerduty_body(replace(OPENED, notice=Notice.ESCALATED), "R", "store-1")["dedup_key"] == key
    )


def test_json_is_versioned_and_keeps_every_alert():
    body = json_body(OPENED)
    assert body["schema"] == SCHEMA
    assert body["incident"]["id"] == 7 and body["incident"]["severity"] == "critical"
    assert [a["id"] for a in body["alerts"]] == [41, 42]
    assert body["change"] == {
        "notice": "open",
        "at": "2026-12-07T09:00:00Z",
        "actor": "intelligentos",
        "note": None,
    }
