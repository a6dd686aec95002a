"""Cross-functional alert routing (issue 14): the pure rules on the demo catalog, routes
stored with the alert in one transaction, the version-4 migration, a catalog re-sync, the
``routed_to`` / ``--agent`` of ``alerts`` and ``check``, and the alerts screen's agent filter.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.config.paths import builtin_catalog_dir
from intelligentos.domain.agents import Route, ceo_agent, routes
from intelligentos.domain.alerts import open_alert
from intelligentos.domain.clock import utc_today
from intelligentos.domain.detection import Finding, Rule, Severity
from intelligentos.domain.lineage import LineageGraph
from intelligentos.services import check as evaluation
from intelligentos.services.bootstrap import open_store
from intelligentos.services.catalog import load_catalog
from intelligentos.services.check import evaluate_store
from intelligentos.services.snapshots import DataService
from intelligentos.store import Store
from intelligentos.store.schema import SCHEMA_VERSION

from .stores import copy_store, make_version_4
from .tui_helpers import make_app, open_alerts, select_alert, settle

NOW = datetime(2026, 11, 27, 9, 30)
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def demo():
    catalog = load_catalog(builtin_catalog_dir())
    return catalog, LineageGraph(catalog)


def agents_of(found: list[Route]) -> list[str]:
    return [route.agent_id for route in found]


# --- the rules, on the demo catalog -----------------------------------------------------------


def test_a_functional_kpi_routes_to_its_owner_the_ceo_kpis_owner_and_the_supporters(demo):
    catalog, graph = demo
    found = routes("win_rate", None, catalog, graph)
    assert found[0] == Route("cro", "owner")
    reasons = dict((r.agent_id, r.reason) for r in found)
    assert reasons["ceo"] == "rolls up to Revenue Growth Rate"  # the CEO KPI's owner
    # Every agent supporting the CEO KPI it rolls up to (and none twice).
    supporters = [a.id for a in catalog.agents.values() if "revenue_growth" in a.supports]
    assert {s for s in supporters if s not in ("cro", "ceo")} <= set(reasons)
    assert all(reasons[s] == "supports Revenue Growth Rate" for s in supporters if s != "cro")
    assert len(agents_of(found)) == len(set(agents_of(found)))


def test_a_kpi_supported_directly_names_it(demo):
    catalog, graph = demo
    reasons = {r.agent_id: r.reason for r in routes("pipeline_coverage", None, catalog, graph)}
    assert reasons["cro"] == "owner"
    assert reasons["cmo"] == "supports New ARR"  # the CMO supports new_arr, above it


def test_a_ceo_kpi_alert_routes_to_the_ceo_agent(demo):
    catalog, graph = demo
    ceo = ceo_agent(catalog)
    assert ceo is not None and ceo.id == "ceo"
    assert routes("revenue_growth", None, catalog, graph)[0] == Route("ceo", "owner")
    # A CEO KPI owned by a function's agent still reaches the CEO agent.
    owned_elsewhere = next(
        k
        for k in catalog.kpis.values()
        if k.level.value == "ceo" and k.id not in ("revenue_growth", "brand_health")
    )
    found = routes(owned_elsewhere.id, None, catalog, graph)
    assert found[0].reason == "owner" and found[0].agent_id != "ceo"
    assert "ceo" in agents_of(found)


def test_a_stale_source_routes_to_every_agent_whose_kpis_it_feeds(demo):
    catalog, graph = demo
    found = routes(None, "social_listening", catalog, graph)
    assert set(agents_of(found)) == {"ceo", "cmo"}
    reasons = {r.agent_id: r.reason for r in found}
    assert reasons["ceo"] == "fed by Brandwatch: Brand Health"
    assert reasons["cmo"].startswith("fed by Brandwatch: ")


def test_an_unknown_subject_routes_nowhere(demo):
    catalog, graph = demo
    assert routes("no_such_kpi", None, catalog, graph) == []
    assert routes(None, None, catalog, graph) == []


# --- stored with the alert ---------------------------------------------------------------------


@pytest.fixture
def store(demo_store: Path):
    with Store.open(demo_store) as opened:
        yield opened


def test_every_opened_alert_is_stored_with_its_routes(store):
    catalog = store.read_catalog()
    graph = LineageGraph(catalog)
    result = evaluate_store(store, catalog, NOW)
    assert result.opened
    stored = store.routes_of(a.id for a in result.opened)
    for alert in result.opened:
        assert stored[alert.id] == routes(alert.kpi_id, alert.system_id, catalog, graph)
    source = next(a for a in result.opened if a.system_id == "social_listening")
    assert set(agents_of(stored[source.id])) == {"ceo", "cmo"}
    # alerts(agent=...) lists exactly the alerts routed to the agent.
    for agent in ("cro", "chro"):
        listed = {a.id for a in store.alerts(agent=agent)}
        assert listed == {i for i, found in stored.items() if agent in agents_of(found)}
    assert {a.id for a in store.open_alerts("chro")} <= {a.id for a in store.open_alerts()}
    # A second evaluation opens nothing and leaves the routes as they were.
    evaluate_store(store, catalog, NOW)
    assert store.routes_of(stored) == stored


def test_a_failure_inside_the_transaction_leaves_neither_alert_nor_routes(store):
    catalog = store.read_catalog()
    graph = LineageGraph(catalog)
    finding = Finding(Rule.TARGET, Severity.WARNING, 1.0, 2.0, 0.5, "test")
    alert, event = open_alert(finding, NOW, kpi_id="win_rate")
    with pytest.raises(RuntimeError), store.transaction():
        saved = store.record(alert, event, routes("win_rate", None, catalog, graph))
        assert agents_of(store.routes_of([saved.id])[saved.id])[0] == "cro"
        raise RuntimeError("boom")
    assert store.alerts() == []
    assert store.query("SELECT count(*) AS n FROM alert_routes")[0]["n"] == 0


def test_an_evaluation_that_fails_midway_stores_no_alert_and_no_route(store, monkeypatch):
    catalog = store.read_catalog()
    calls = []

    def failing(*args):
        calls.append(args)
        if len(calls) == 3:  # after two alerts were recorded with their routes
            raise RuntimeError("boom")
        return routes(*args)

    monkeypatch.setattr(evaluation, "routes", failing)
    with pytest.raises(RuntimeError):
        evaluate_store(store, catalog, NOW)
    assert len(calls) == 3
    assert store.alerts() == []
    assert store.query("SELECT count(*) AS n FROM alert_routes")[0]["n"] == 0


# --- the version-4 migration -------------------------------------------------------------------


def make_version_3(path: Path) -> None:
    """The store as version 3 wrote it (its alerts unrouted): no alert_routes or deliveries."""
    make_version_4(path)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE deliveries")
    conn.execute("DROP TABLE alert_routes")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()


def test_a_version_3_store_migrates_and_routes_its_alerts_resolved_ones_too(demo_store):
    with Store.open(demo_store) as store:
        catalog = store.read_catalog()
        evaluate_store(store, catalog, NOW)
        expected = store.routes_of()
        alerts = store.alerts()
        with store.transaction() as conn:  # one alert resolved before the upgrade
            conn.execute("UPDATE alerts SET state = 'resolved' WHERE id = ?", (alerts[-1].id,))
    make_version_3(demo_store)
    with open_store(demo_store) as store:
        assert store.query("PRAGMA user_version")[0]["user_version"] == SCHEMA_VERSION
        assert store.alerts() != [] and len(store.alerts()) == len(alerts)
        assert store.routes_of() == expected
        owner = expected[alerts[-1].id][0].agent_id
        assert alerts[-1].id in {a.id for a in store.alerts(["resolved"], owner)}
        assert store.query("SELECT count(*) AS n FROM deliveries")[0]["n"] == 0


def test_the_stores_migration_changes_only_the_schema_and_routes_nothing(demo_store):
    with Store.open(demo_store) as store:
        evaluate_store(store, store.read_catalog(), NOW)
        assert store.routes_of()
    make_version_3(demo_store)
    with Store.open(demo_store) as store:
        assert store.query("PRAGMA user_version")[0]["user_version"] == SCHEMA_VERSION
        assert store.alerts() and store.routes_of() == {}


def test_the_command_line_and_the_cockpit_upgrade_a_version_3_store_with_its_routes(
    today_store, tmp_path
):
    db = str(today_store)
    run("check", "--db", db)
    before = json.loads(run("alerts", "--db", db, "--json").stdout)["alerts"]
    assert before and all(record["routed_to"] for record in before)
    cockpit_copy = tmp_path / "cockpit.db"
    copy_store(today_store, cockpit_copy)
    make_version_3(today_store)
    make_version_3(cockpit_copy)
    assert json.loads(run("alerts", "--db", db, "--json").stdout)["alerts"] == before
    data = DataService(cockpit_copy, clock=lambda: NOW)
    try:
        store = data.open()
        routed = store.routes_of()
        with Store.open(today_store) as upgraded:
            assert routed == upgraded.routes_of() != {}
    finally:
        if data.store is not None:
            data.store.close()


def test_a_migrated_store_has_the_same_alert_routes_table_as_a_new_one(demo_store, tmp_path):
    fresh = tmp_path / "fresh.db"
    copy_store(demo_store, fresh)
    make_version_3(demo_store)

    def columns(path: Path) -> list[tuple]:
        with Store.open(path) as store:
            return [tuple(r.values()) for r in store.query("PRAGMA table_info(alert_routes)")]

    assert columns(demo_store) == columns(fresh)


# --- a catalog re-sync ---------------------------------------------------------------------------


def test_sync_catalog_routes_the_open_alerts_anew(today_store, tmp_path):
    db = str(today_store)
    run("check", "--db", db)
    with Store.open(today_store) as store:
        # Win rate's alerts, and those of the sales cycle, which rolls up to it.
        below = ("win_rate", "sales_cycle_length")
        before = store.routes_of(a.id for a in store.open_alerts() if a.kpi_id in below)
    assert before and all("chro" not in agents_of(found) for found in before.values())
    directory = tmp_path / "catalog"
    shutil.copytree(builtin_catalog_dir(), directory)
    org = directory / "organisation.toml"
    text = org.read_text(encoding="utf-8")
    old = 'supports = ["customer_retention", "ebitda_margin"]'
    assert old in text
    org.write_text(
        text.replace(old, 'supports = ["customer_retention", "ebitda_margin", "win_rate"]'),
        encoding="utf-8",
    )
    result = run("sync-catalog", "--db", db, "--catalog", str(directory))
    assert result.exit_code == 0, result.output
    noun = "open alert" if len(before) == 1 else "open alerts"
    assert f"{len(before)} {noun} routed anew" in result.output
    with Store.open(today_store) as store:
        after = store.routes_of(before)
        assert all(Route("chro", "supports Win Rate") in found for found in after.values())
        assert set(before) <= {a.id for a in store.alerts(agent="chro")}


# --- the command line ----------------------------------------------------------------------------


def test_alerts_and_check_json_carry_routed_to_on_every_alert(today_store):
    db = str(today_store)
    checked = json.loads(run("check", "--db", db, "--json").stdout)
    listed = json.loads(run("alerts", "--db", db, "--json").stdout)["alerts"]
    assert checked["open"] and listed
    for record in checked["open"] + listed:
        assert record["routed_to"] == [r["agent_id"] for r in record["routes"]]
        assert record["routed_to"], record["subject"]
    win_rate = next(r for r in listed if r["kpi_id"] == "win_rate" and r["rule"] == "target")
    assert win_rate["routed_to"][:2] == ["cro", "ceo"]
    assert win_rate["routes"][0] == {
        "agent_id": "cro",
        "agent": "CRO Agent (Chief Revenue Officer)",
        "reason": "owner",
    }
    source = next(r for r in listed if r["system_id"] == "social_listening")
    assert sorted(source["routed_to"]) == ["ceo", "cmo"]


def test_alerts_and_check_with_agent_list_only_its_alerts(today_store):
    db = str(today_store)
    everything = json.loads(run("check", "--db", db, "--json").stdout)["open"]
    result = run("check", "--db", db, "--json", "--agent", "chro")
    report = json.loads(result.stdout)
    assert report["agent"] == "chro"
    expected = [r["id"] for r in everything if "chro" in r["routed_to"]]
    assert [r["id"] for r in report["open"]] == expected and 0 < len(expected) < len(everything)
    listed = json.loads(run("alerts", "--db", db, "--json", "--agent", "chro").stdout)["alerts"]
    assert [r["id"] for r in listed] == expected
    text = run("check", "--db", db, "--agent", "chro").stdout
    assert f"Open alerts routed to chro: {len(expected)}" in text
    assert "Alerts routed to chro:" in run("alerts", "--db", db, "--agent", "chro").stdout
    # As of a past day: the alerts of then, filtered by their routes too.
    day = utc_today().isoformat()
    past = run("alerts", "--db", db, "--json", "--agent", "chro", "--as-of", day)
    assert past.exit_code == 0, past.output
    assert [r["id"] for r in json.loads(past.stdout)["alerts"]] == expected


def test_check_with_agent_exits_by_that_agents_alerts_only(today_store):
    db = str(today_store)
    assert run("check", "--db", db).exit_code == 1
    report = json.loads(run("check", "--db", db, "--json", "--agent", "chro").stdout)
    assert report["firing_unacknowledged"] > 0
    assert run("check", "--db", db, "--agent", "chro").exit_code == 1
    for record in report["open"]:
        if record["needs_attention"]:
            acked = run("ack", str(record["id"]), "--note", "on it", "--db", db)
            assert acked.exit_code == 0, acked.output
    assert run("check", "--db", db, "--agent", "chro").exit_code == 0
    assert run("check", "--db", db).exit_code == 1  # the others' alerts still fire


@pytest.mark.parametrize("command", ["alerts", "check"])
def test_an_unknown_agent_is_one_error_line(today_store, command):
    result = run(command, "--db", str(today_store), "--agent", "[b]nobody[/b]")
    assert result.exit_code == (2 if command == "check" else 1)  # check: 1 is "firing"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: unknown agent '[b]nobody[/b]'")
    assert "cro" in lines[0] and result.stdout == ""


def test_the_wide_table_has_a_routed_to_column(today_store):
    # Captured output is not a terminal: the table has every column (see test_cli).
    text = run("alerts", "--db", str(today_store), "--agent", "cmo").stdout
    assert "routed to" in text and "cmo" in text


# --- the alerts screen -------------------------------------------------------------------------


async def test_the_alerts_screen_shows_routes_and_filters_by_agent(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(200, 40)) as pilot:
        screen = await open_alerts(pilot)
        assert screen.agent_filter is None and screen.shown
        everything = set(screen.shown)
        source = next(a for a in screen.shown.values() if a.system_id == "social_listening")
        await select_alert(pilot, source.id)
        detail = screen.query_one("#alerts-detail").render()
        assert "routed to CEO Agent (fed by Brandwatch: Brand Health)" in str(detail)
        assert "CMO Agent (Chief Marketing Officer) (fed by Brandwatch: " in str(detail)
        table = screen.query_one("#alerts-table")
        assert "routed" in [str(c.key.value) for c in table.columns.values()]
        row = table.get_row(str(source.id))
        assert any(cell.plain in ("ceo cmo", "cmo ceo") for cell in row)
        title = str(screen.query_one("#alerts-title").render())
        assert "g: agent filter" in title
        # g: the catalog's first agent (the CEO agent), then the next.
        await pilot.press("g")
        await settle(pilot)
        first = next(iter(app.data.catalog.agents))
        assert screen.agent_filter == first
        assert "routed to CEO Agent" in str(screen.query_one("#alerts-title").render())
        assert set(screen.shown) <= everything
        # Every incident shown has an alert routed to it.
        assert all(
            any(first in [r.agent_id for r in screen.routes[a.id]] for a in incident.alerts)
            for incident in screen.incidents
        )
        while screen.agent_filter != "chro":
            await pilot.press("g")
            await settle(pilot)
        chro = set(screen.shown)
        assert chro and chro < everything
        with Store.open(demo_store) as store:
            assert chro == {a.id for a in store.open_alerts("chro")}
        # The state filter keeps the agent filter.
        await pilot.press("f")
        await settle(pilot)
        assert screen.agent_filter == "chro" and set(screen.shown) <= chro
        while screen.state_filter != "open":
            await pilot.press("f")
            await settle(pilot)
        # Past the last agent: every alert again.
        while screen.agent_filter is not None:
            await pilot.press("g")
            await settle(pilot)
        assert set(screen.shown) == everything


async def test_agent_names_and_reasons_are_shown_literally(demo_store, tmp_path):
    with Store.open(demo_store) as store:
        evaluate_store(store, store.read_catalog(), NOW)
        alert = store.open_alerts("cro")[0]
        with store.transaction():
            store.save_routes(alert.id, [Route("[b]x[/b]", "[red]because[/red] \x1b[31m")])
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_alerts(pilot)
        await select_alert(pilot, alert.id)
        detail = str(screen.query_one("#alerts-detail").render())
        assert "[b]x[/b] ([red]because[/red] \\x1b[31m)" in detail
