"""The strategy map, KPI pyramid and agents screens, and agent focus, driven with Pilot."""

from __future__ import annotations

import pytest
from textual.command import CommandList
from textual.widgets import DataTable

from intelligentos.config.state import load_state, remember_agent
from intelligentos.domain.views import AgentFocus
from intelligentos.tui.screens.agents import AgentsScreen
from intelligentos.tui.screens.alerts import AlertsScreen
from intelligentos.tui.screens.dashboard import DashboardScreen
from intelligentos.tui.screens.lineage import LineageScreen
from intelligentos.tui.screens.pyramid import PyramidScreen
from intelligentos.tui.screens.strategy import StrategyScreen
from intelligentos.tui.widgets.engine_panel import EnginePanel
from intelligentos.tui.widgets.kpi_table import KpiTable
from intelligentos.tui.widgets.kpi_tree import KpiTree

from .tui_helpers import make_app, settle

SIZE = (120, 40)
VIEWS = [("M", StrategyScreen), ("P", PyramidScreen), ("G", AgentsScreen)]


@pytest.fixture
def app(demo_store, tmp_path):
    return make_app(demo_store, tmp_path / "config")


async def palette(pilot, text: str) -> None:
    """Open the palette, type ``text`` and run the first hit."""
    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*text)
    for _ in range(100):  # the palette searches in the background: wait for its hits
        hits = pilot.app.screen.query(CommandList)
        if hits and hits.first().option_count:
            break
        await pilot.pause(0.02)
    await pilot.press("enter")
    await settle(pilot)


@pytest.mark.parametrize(("key", "kind"), VIEWS, ids=[k.__name__ for _, k in VIEWS])
async def test_each_view_opens_with_its_key_and_closes_with_escape(app, key, kind):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        assert isinstance(app.screen, kind)
        # Pressing it again does not stack a second copy; another view replaces it.
        await pilot.press(key)
        await settle(pilot)
        assert sum(isinstance(s, kind) for s in app.screen_stack) == 1
        await pilot.press("escape")
        await settle(pilot)
        if not isinstance(app.screen, DashboardScreen):
            await pilot.press("escape")  # from the members/playbook pane, then the list
            await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


async def test_views_replace_each_other(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key, kind in VIEWS:
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, kind)
        # The dashboard and the last view only.
        assert [type(s) for s in app.screen_stack[-2:]] == [DashboardScreen, AgentsScreen]


@pytest.mark.parametrize(
    ("name", "kind"),
    [("Strategy map", StrategyScreen), ("KPI pyramid", PyramidScreen), ("Agents", AgentsScreen)],
)
async def test_each_view_opens_from_the_palette(app, name, kind):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await palette(pilot, name)
        assert isinstance(app.screen, kind)


async def test_strategy_map_shows_the_tree_and_drills_into_a_kpi(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("M")
        await settle(pilot)
        tree = app.screen.query_one(KpiTree)
        shown = tree.kpi_ids()
        assert shown[:4] == ["revenue_growth", "arr", "mql_to_sql", "feature_adoption"]
        assert {k.id for k in app.data.catalog.ceo_kpis()} <= set(shown)
        # Enter on a theme folds it; on a KPI it opens the KPI's lineage.
        assert tree.cursor_node is not None and tree.cursor_node.data is None
        assert tree.select_kpi("mql_to_sql")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LineageScreen)
        assert app.screen.kpi_id == "mql_to_sql"
        # Back is the strategy map.
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, StrategyScreen)


async def test_pyramid_lists_a_layers_members_and_drills_in(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("P")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PyramidScreen)
        layers = screen.query_one("#pyramid-layers", DataTable)
        members = screen.query_one("#pyramid-members", DataTable)
        assert layers.row_count == 7
        assert members.row_count == 10  # the CEO KPIs, listed at once
        # Down to the functional KPIs: their members are listed; Enter goes to them.
        await pilot.press("down")
        await settle(pilot)
        assert members.row_count == 41
        await pilot.press("enter")
        await settle(pilot)
        assert screen.focused is members
        member = screen.selected_member()
        assert member is not None
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LineageScreen)
        assert app.screen.kpi_id == member.kpi_id


async def test_pyramid_drills_from_a_workflow_to_the_lineage_with_it_selected(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("P")
        await settle(pilot)
        screen = app.screen
        screen.select_layer("workflow")
        await settle(pilot)
        member = screen.selected_member()
        assert member is not None and member.select == member.member_id
        await pilot.press("enter")
        await settle(pilot)
        lineage = app.screen
        assert isinstance(lineage, LineageScreen)
        assert lineage.kpi_id == member.kpi_id
        node = lineage.query_one("#lineage-tree").cursor_node
        assert node is not None and node.data.id == member.member_id


async def test_agents_playbook_and_drill(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("G")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AgentsScreen)
        table = screen.query_one("#agents-table", DataTable)
        assert table.row_count == len(app.data.catalog.agents)
        table.move_cursor(row=table.get_row_index("cro"), animate=False)
        await settle(pilot)
        tree = screen.query_one("#playbook", KpiTree)
        shown = tree.kpi_ids()
        assert {"win_rate", "arr", "revenue_growth"} <= set(shown)
        labels = [str(node.label) for node in tree.root.children]
        assert labels[0].endswith("Owns (8)")  # ARR and the MRR it is computed from among them
        assert labels[1:3] == ["Supports (3)", "Rules (2)"]
        # The demo's planted Win Rate deviation is routed to its owner.
        routed = tree.root.children[3]
        assert any("Win Rate" in str(n.label) and "owner" in str(n.label) for n in routed.children)
        await pilot.press("enter")  # from the list to the playbook
        await settle(pilot)
        assert screen.focused is tree
        assert tree.select_kpi("win_rate")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LineageScreen)
        assert app.screen.kpi_id == "win_rate"


async def test_views_wait_for_the_store(app):
    async with app.run_test(size=SIZE) as pilot:
        app.data = None
        app.navigator.strategy_map()
        await pilot.pause()
        assert not isinstance(app.screen, StrategyScreen)


# --- agent focus ----------------------------------------------------------------------------------


def panel_order(app, engine_id: str) -> list[str]:
    table = app.screen.query_one(f"#panel-{engine_id}", EnginePanel).query_one(KpiTable)
    return [snap.kpi.id for snap in table.snaps]


async def test_agent_focus_orders_panels_and_filters_alerts(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config", agent="cro")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        focus = app.agent_focus
        assert isinstance(focus, AgentFocus) and focus.agent_id == "cro"
        data = app.data
        for engine_id in data.catalog.engines:
            order = panel_order(app, engine_id)
            ranks = [focus.rank(k) for k in order]
            assert ranks == sorted(ranks), engine_id
        growth = panel_order(app, "growth")
        assert growth[: len(focus.owned & set(growth))] == [
            k.id for k in data.catalog.kpis_of_engine("growth") if k.id in focus.owned
        ]
        # Only the alerts routed to the CRO agent: in the count and on the alerts screen.
        routed = focus.alerts(data.attention, data.catalog, data.graph)
        assert 0 < len(routed) < len(data.attention)
        assert app.attention_count == len(routed)
        assert "focus CRO Agent" in str(app.screen.query_one("#header").render())
        await pilot.press("a")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        # The incidents with an alert routed to the agent, each with all its alerts.
        assert screen.incidents and all(
            focus.alerts(list(i.alerts), data.catalog, data.graph) for i in screen.incidents
        )
        assert {a.id for a in routed} <= set(screen.shown)


async def test_agent_focus_from_the_palette_and_cleared(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        everyone = app.attention_count
        unfocused = panel_order(app, "efficiency")
        await palette(pilot, "Focus on agent")
        await palette_pick(pilot, "CFO Agent")
        focus = app.agent_focus
        assert focus is not None and focus.agent_id == "cfo"
        assert app.attention_count is not None and app.attention_count < everyone
        await settle(pilot)
        focused = panel_order(app, "efficiency")
        assert focused != unfocused
        assert focused == [k.id for k in focus.order(app.data.catalog.kpis_of_engine("efficiency"))]
        await palette(pilot, "Clear agent focus")
        assert app.agent_focus is None
        assert app.attention_count == everyone
        await settle(pilot)
        assert panel_order(app, "efficiency") == unfocused


async def test_the_focus_picked_is_remembered_and_restored_at_the_next_launch(
    demo_store, tmp_path, monkeypatch
):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await palette(pilot, "Focus on agent")
        await palette_pick(pilot, "CFO Agent")
        assert app.agent_focus is not None and app.agent_focus.agent_id == "cfo"
    assert load_state()[0].agent == "cfo"
    started = fake_cockpits(monkeypatch)
    assert launch("--db", str(demo_store)).exit_code == 0
    assert launch("--db", str(demo_store), "--agent", "cro").exit_code == 0  # for this run
    assert started == ["cfo", "cro"]
    assert load_state()[0].agent == "cfo"  # --agent is not remembered


async def test_a_cleared_focus_is_remembered_too(demo_store, tmp_path, monkeypatch):
    remember_agent("cfo")
    app = make_app(demo_store, tmp_path / "config", agent="cfo")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await palette(pilot, "Clear agent focus")
        assert app.agent_focus is None
    assert load_state()[0].agent is None
    started = fake_cockpits(monkeypatch)
    assert launch("--db", str(demo_store)).exit_code == 0
    assert started == [None]


def test_a_remembered_agent_gone_from_the_catalog_is_dropped_quietly(demo_store, monkeypatch):
    remember_agent("nobody")
    started = fake_cockpits(monkeypatch)
    result = launch("--db", str(demo_store))
    assert result.exit_code == 0 and result.output == ""
    assert started == [None]


async def palette_pick(pilot, text: str) -> None:
    """Type into a palette already open (the agent picker) and run the first hit."""
    await pilot.press(*text)
    for _ in range(100):
        hits = pilot.app.screen.query(CommandList)
        if hits and hits.first().option_count:
            break
        await pilot.pause(0.02)
    await pilot.press("enter")
    await settle(pilot)


# --- --agent on the cockpit's launch --------------------------------------------------------------


def launch(*args: str):
    from typer.testing import CliRunner

    from intelligentos.cli.main import app as cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def fake_cockpits(monkeypatch) -> list[str | None]:
    """Launches from now on only note the agent their cockpit would be focused on."""
    started: list[str | None] = []

    class FakeCockpit:
        return_code = 0

        def __init__(self, path, **kwargs):
            started.append(kwargs["agent"])

        def run(self):
            pass

    monkeypatch.setattr("intelligentos.tui.app.CockpitApp", FakeCockpit)
    return started


def test_launch_passes_a_known_agent(demo_store, monkeypatch):
    started = fake_cockpits(monkeypatch)
    result = launch("--db", str(demo_store), "--agent", "cro")
    assert result.exit_code == 0, result.output
    assert started == ["cro"]
    unknown = launch("--db", str(demo_store), "--agent", "nobody")
    assert unknown.exit_code == 1
    assert unknown.output.startswith("Error: unknown agent 'nobody'; the catalog's agents: cco,")
    assert len(unknown.output.strip().splitlines()) == 1
    assert started == ["cro"]


def test_agent_before_a_command_without_it_is_refused(demo_store):
    result = launch("--agent", "cro", "kpis", "--db", str(demo_store))
    assert result.exit_code == 1
    assert result.output.strip() == "Error: --agent applies to the cockpit, not to `kpis`."


def test_agent_before_alerts_applies_to_it(demo_store):
    before = launch("--agent", "cro", "alerts", "--db", str(demo_store), "--json")
    after = launch("alerts", "--agent", "cro", "--db", str(demo_store), "--json")
    assert before.exit_code == after.exit_code == 0
    assert before.output == after.output


async def test_an_agent_gone_from_the_catalog_clears_the_focus(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config", agent="nobody")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.agent_focus is None and app.focusing.agent_id is None
        assert app.attention_count == len(app.data.attention)


async def test_agent_names_keep_a_bracket_that_fits(demo_store, tmp_path):
    import sqlite3

    conn = sqlite3.connect(demo_store)
    conn.execute("UPDATE agents SET name = 'Finance (Lee)' WHERE id = 'cfo'")
    conn.commit()
    conn.close()
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("G")
        await settle(pilot)
        table = app.screen.query_one("#agents-table", DataTable)
        names = {key.value: str(table.get_row(key)[1]) for key in table.rows}
        assert names["cfo"] == "Finance (Lee)"
        assert names["cro"] == "CRO Agent"  # "(Chief Revenue Officer)" does not fit
