"""Who is notified of an incident: the default policy and each key of
``[routing.agents.<id>]``, decisions written by hand; the demo catalog's leading indicator
drifting a little reaches only its owner; the settings keep every good key and name each bad
one; a table naming an agent the catalog lacks is a warning."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.config.paths import builtin_catalog_dir
from intelligentos.config.settings import CockpitSettings
from intelligentos.domain.agents import Route
from intelligentos.domain.alerts import Alert, State
from intelligentos.domain.detection import Rule, Severity
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.routing_policy import (
    AgentAttention,
    Decision,
    Subject,
    decide,
    decisions_for,
    notified,
)
from intelligentos.services.catalog import load_catalog
from intelligentos.services.routing_policy import check_routing

runner = CliRunner()

# An owner, an agent above it in the roll-up, and one supporting it.
ROUTES = [
    Route("cmo", "owner"),
    Route("ceo", "rolls up to Revenue Growth Rate"),
    Route("cfo", "supports Revenue Growth Rate"),
]
WARNING_DRIFT = Subject(Rule.DRIFT, Severity.WARNING, ceo_kpi=False)


@pytest.fixture(scope="module")
def demo():
    catalog = load_catalog(builtin_catalog_dir())
    return catalog, LineageGraph(catalog)


# --- the defaults -----------------------------------------------------------------------------


def test_by_default_the_owner_hears_everything_and_the_others_nothing_small():
    assert decide(ROUTES, WARNING_DRIFT) == [
        Decision("cmo", "owner", True, "owner"),
        Decision(
            "ceo",
            "rolls up to Revenue Growth Rate",
            False,
            "rolls up to Revenue Growth Rate; not the owner, and warning on a non-CEO KPI",
        ),
        Decision(
            "cfo",
            "supports Revenue Growth Rate",
            False,
            "supports Revenue Growth Rate; not the owner, and warning on a non-CEO KPI",
        ),
    ]


def test_by_default_everyone_routed_hears_a_critical_incident():
    critical = Subject(Rule.TARGET, Severity.CRITICAL, ceo_kpi=False)
    assert [(d.agent_id, d.notified, d.why) for d in decide(ROUTES, critical)] == [
        ("cmo", True, "owner"),
        ("ceo", True, "rolls up to Revenue Growth Rate; critical"),
        ("cfo", True, "supports Revenue Growth Rate; critical"),
    ]


def test_by_default_everyone_routed_hears_of_a_ceo_kpi():
    on_ceo = Subject(Rule.ANOMALY, Severity.INFO, ceo_kpi=True)
    assert [(d.agent_id, d.notified, d.why) for d in decide(ROUTES, on_ceo)] == [
        ("cmo", True, "owner"),
        ("ceo", True, "rolls up to Revenue Growth Rate; a CEO KPI"),
        ("cfo", True, "supports Revenue Growth Rate; a CEO KPI"),
    ]


def test_a_stale_sources_agents_are_its_owners():
    fed = [Route("cio", "fed by CRM: Win Rate"), Route("cro", "fed by CRM: Pipeline")]
    stale = Subject(Rule.STALE_SOURCE, Severity.WARNING, ceo_kpi=False)
    assert notified(decide(fed, stale)) == ["cio", "cro"]


# --- each key -------------------------------------------------------------------------------


def test_min_severity_holds_back_what_is_less_severe_even_for_the_owner():
    wants = {"cmo": AgentAttention(min_severity="critical")}
    [owner, *_] = decide(ROUTES, WARNING_DRIFT, wants)
    assert owner == Decision("cmo", "owner", False, "wants critical or worse, this is warning")
    critical = Subject(Rule.DRIFT, Severity.CRITICAL, ceo_kpi=False)
    [owner, *_] = decide(ROUTES, critical, wants)
    assert owner == Decision("cmo", "owner", True, "owner; wants critical or worse")


def test_min_severity_lets_a_non_owner_hear_what_the_default_would_hold_back():
    # info ≤ warning: the CFO asks for everything from info up, so a warning reaches it.
    wants = {"cfo": AgentAttention(min_severity="info")}
    assert notified(decide(ROUTES, WARNING_DRIFT, wants)) == ["cmo", "cfo"]
    [*_, cfo] = decide(ROUTES, WARNING_DRIFT, wants)
    assert cfo.why == "supports Revenue Growth Rate; wants info or worse"


def test_rules_keep_only_the_rules_named():
    wants = {"cmo": AgentAttention(rules=(Rule.TARGET, Rule.FORECAST))}
    [owner, *_] = decide(ROUTES, WARNING_DRIFT, wants)
    assert owner == Decision("cmo", "owner", False, "wants only target, forecast alerts, not drift")
    target = Subject(Rule.TARGET, Severity.WARNING, ceo_kpi=False)
    assert notified(decide(ROUTES, target, wants)) == ["cmo"]


def test_no_rules_at_all_means_nothing():
    wants = {"cmo": AgentAttention(rules=())}
    [owner, *_] = decide(ROUTES, WARNING_DRIFT, wants)
    assert (owner.notified, owner.why) == (False, "wants only none alerts, not drift")


def test_kpis_owned_is_only_its_own():
    critical = Subject(Rule.TARGET, Severity.CRITICAL, ceo_kpi=True)
    wants = {"cfo": AgentAttention(kpis="owned"), "cmo": AgentAttention(kpis="owned")}
    decisions = decide(ROUTES, critical, wants)
    assert [(d.agent_id, d.notified) for d in decisions] == [
        ("cmo", True),
        ("ceo", True),
        ("cfo", False),
    ]
    assert decisions[2].why == "wants only its own KPIs"


def test_kpis_ceo_is_only_ceo_kpis_whatever_the_severity():
    wants = {"ceo": AgentAttention(kpis="ceo")}
    critical_elsewhere = Subject(Rule.TARGET, Severity.CRITICAL, ceo_kpi=False)
    [_, ceo, _] = decide(ROUTES, critical_elsewhere, wants)
    assert ceo == Decision("ceo", "rolls up to Revenue Growth Rate", False, "wants only CEO KPIs")
    info_on_ceo = Subject(Rule.ANOMALY, Severity.INFO, ceo_kpi=True)
    [_, ceo, _] = decide(ROUTES, info_on_ceo, wants)
    assert (ceo.notified, ceo.why) == (True, "rolls up to Revenue Growth Rate")


def test_kpis_routed_is_every_routed_kpi_whatever_the_severity():
    wants = {"cfo": AgentAttention(kpis="routed")}
    assert notified(decide(ROUTES, WARNING_DRIFT, wants)) == ["cmo", "cfo"]


def test_the_ceo_agent_only_for_ceo_kpis_and_critical_incidents(demo):
    # The guide's example: kpis = "ceo" would drop a critical incident elsewhere, so the
    # CEO agent keeps the default (critical, or a CEO KPI) and asks for no drift.
    catalog, graph = demo
    wants = {"ceo": AgentAttention(rules=(Rule.TARGET, Rule.ANOMALY, Rule.FORECAST))}
    face = alert("mqls", Rule.TARGET, Severity.CRITICAL)
    ceo = by_agent(decisions_for(face, Severity.CRITICAL, catalog, graph, wants))["ceo"]
    assert (ceo.notified, ceo.why) == (True, "rolls up to Revenue Growth Rate; critical")
    face = alert("mqls", Rule.TARGET, Severity.WARNING)
    ceo = by_agent(decisions_for(face, Severity.WARNING, catalog, graph, wants))["ceo"]
    assert not ceo.notified
    face = alert("revenue_growth", Rule.DRIFT, Severity.CRITICAL)
    ceo = by_agent(decisions_for(face, Severity.CRITICAL, catalog, graph, wants))["ceo"]
    wanted = "wants only target, anomaly, forecast alerts, not drift"
    assert (ceo.notified, ceo.why) == (False, wanted)


# --- the demo catalog -----------------------------------------------------------------------


def alert(kpi_id: str, rule: Rule, severity: Severity) -> Alert:
    return Alert(
        rule=rule.value,
        severity=severity,
        state=State.FIRING,
        opened_at="2026-12-07T09:00:00Z",
        updated_at="2026-12-07T09:00:00Z",
        kpi_id=kpi_id,
        id=1,
        message="0.2 σ below centre",
    )


def by_agent(decisions: list[Decision]) -> dict[str, Decision]:
    return {d.agent_id: d for d in decisions}


def test_a_small_drift_on_a_leading_indicator_reaches_only_its_owner(demo):
    catalog, graph = demo
    # MQLs: a leading indicator the CMO owns, routed to seven agents (the owner, the CEO
    # agent above it, five supporting Revenue Growth Rate).
    face = alert("mqls", Rule.DRIFT, Severity.WARNING)
    decisions = decisions_for(face, Severity.WARNING, catalog, graph)
    assert len(decisions) == 7
    assert notified(decisions) == ["cmo"]
    assert by_agent(decisions)["cfo"].why == (
        "supports Revenue Growth Rate; not the owner, and warning on a non-CEO KPI"
    )


def test_a_critical_drift_there_reaches_all_seven(demo):
    catalog, graph = demo
    face = alert("mqls", Rule.DRIFT, Severity.CRITICAL)
    assert notified(decisions_for(face, Severity.CRITICAL, catalog, graph)) == [
        "cmo",
        "ceo",
        "cpo",
        "cro",
        "cco",
        "cio",
        "cfo",
    ]


# --- settings -------------------------------------------------------------------------------


def write_config(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.toml").write_text(text, encoding="utf-8")
    return directory


def test_each_bad_routing_key_costs_only_itself(tmp_path):
    directory = write_config(
        tmp_path / "config",
        """
theme = "nord"
[routing.agents.cfo]
min_severity = "critcal"
kpis = "owned"
[routing.agents.ceo]
min_sevrity = "critical"
rules = ["target", "driftt"]
kpis = "ceo"
[routing.agents.cmo]
rules = "drift"
""",
    )
    settings = CockpitSettings.load(directory, state_directory=tmp_path / "state")
    path = directory / "config.toml"
    assert settings.theme == "nord"
    assert settings.routing.agents == {
        "cfo": AgentAttention(kpis="owned"),
        "ceo": AgentAttention(kpis="ceo"),
        "cmo": AgentAttention(rules=(Rule.DRIFT,)),
    }
    assert settings.problems == [
        f"Ignored routing.agents.cfo.min_severity in {path}, which has a bad value (input "
        "should be 'info', 'warning' or 'critical'); its default is used.",
        f"Ignored routing.agents.ceo.rules in {path}, which has a bad value (input should be "
        "'target', 'anomaly', 'drift', 'stale', 'stale-source' or 'forecast'); its default "
        "is used.",
        f"Ignored routing.agents.ceo.min_sevrity in {path}, which is not a setting there "
        "(misspelt?); it is left out.",
    ]


def test_a_misspelt_routing_table_is_named(tmp_path):
    directory = write_config(tmp_path / "config", '[routing.agent.cfo]\nkpis = "owned"\n')
    settings = CockpitSettings.load(directory, state_directory=tmp_path / "state")
    assert settings.routing.agents == {}
    assert settings.problems == [
        f"Ignored routing.agent in {directory / 'config.toml'}, which is not a setting there "
        "(misspelt?); it is left out."
    ]


def test_a_routing_table_naming_an_unknown_agent_is_a_warning(demo):
    catalog, _ = demo
    agents = {"cfo": AgentAttention(kpis="owned"), "cf0": AgentAttention(kpis="owned")}
    [warning] = check_routing(agents, catalog, "config.toml")
    assert warning.startswith(
        "[routing.agents.cf0] in config.toml names an agent the catalog does not know, so it "
        "applies to no one (known: ceo, "
    )


def test_validate_warns_of_a_routing_table_naming_an_unknown_agent(monkeypatch, tmp_path):
    directory = write_config(tmp_path / "config", '[routing.agents.cf0]\nkpis = "owned"\n')
    monkeypatch.setenv("INTELLIGENTOS_CONFIG_DIR", str(directory))
    result = runner.invoke(app, ["validate"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "warning: [routing.agents.cf0] in " in result.output
    assert "names an agent the catalog does not know" in result.output
    # The demo catalog's own warning (a division by MQLs) and this one: 1 + 1.
    assert "(2 warnings above)" in result.output


def test_check_warns_of_a_routing_table_naming_an_unknown_agent(monkeypatch, tmp_path, demo_store):
    directory = write_config(tmp_path / "config", '[routing.agents.cf0]\nkpis = "owned"\n')
    monkeypatch.setenv("INTELLIGENTOS_CONFIG_DIR", str(directory))
    result = runner.invoke(app, ["check", "--db", str(demo_store)], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output  # whatever fires: it ran
    assert "Warning: [routing.agents.cf0] in " in result.stderr
