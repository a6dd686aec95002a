"""Pilot tests: every binding and flow of the cockpit, pressing real keys on a real store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from textual.widgets import Tooltip

from intelligentos.config.state import state_file
from intelligentos.domain.detection import Status
from intelligentos.services.bootstrap import init_store
from intelligentos.tui.screens.dashboard import DashboardScreen
from intelligentos.tui.screens.help import HelpScreen
from intelligentos.tui.screens.lineage import LineageScreen, LineageTree
from intelligentos.tui.widgets.ceo_card import CeoCard
from intelligentos.tui.widgets.engine_panel import EnginePanel
from intelligentos.tui.widgets.header import CockpitHeader
from intelligentos.tui.widgets.kpi_table import KpiTable

from .conftest import DEMO_END, MINI_CATALOG, write_catalog
from .tui_helpers import make_app, settle, wait_until

SIZE = (120, 40)


@pytest.fixture
def app(demo_store: Path, tmp_path: Path):
    return make_app(demo_store, tmp_path / "config")


def focused_table(app) -> KpiTable:
    assert isinstance(app.focused, KpiTable), app.focused
    return app.focused


async def test_dashboard_shows_ceo_strip_and_five_engine_panels(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        cards = list(screen.query(CeoCard))
        assert len(cards) == 10
        assert all(card.snap is not None for card in cards)
        panels = list(screen.query(EnginePanel))
        assert [p.engine_id for p in panels] == [
            "growth",
            "retention",
            "efficiency",
            "people",
            "brand",
        ]
        for panel in panels:
            assert panel.table.row_count == len(app.data.catalog.kpis_of_engine(panel.engine_id))
        header = screen.query_one(CockpitHeader).render().plain
        assert "demo.db" in header and "as of 2026-11-27" in header and "09:30" in header
        assert focused_table(app).engine_id == "growth"


async def test_only_visible_windows_are_loaded(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert max(len(s.window) for s in app.data.snaps.values()) == 30


async def test_rows_and_panels_navigate_with_arrows_and_hjkl(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = focused_table(app)
        await pilot.press("down", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("right")
        assert focused_table(app).engine_id == "retention"
        await pilot.press("l")
        assert focused_table(app).engine_id == "efficiency"
        await pilot.press("h", "left")
        assert focused_table(app).engine_id == "growth"
        assert focused_table(app).cursor_row == 1
        await pilot.press("tab")
        assert focused_table(app).engine_id == "retention"
        await pilot.press("shift+tab")
        assert focused_table(app).engine_id == "growth"


async def test_up_from_the_first_row_reaches_the_ceo_strip(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("up")
        assert isinstance(app.focused, CeoCard)
        assert app.focused.kpi.id == "revenue_growth"
        await pilot.press("right", "l")
        assert app.focused.kpi.id == "ebitda_margin"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LineageScreen)
        assert app.screen.kpi_id == "ebitda_margin"
        await pilot.press("escape")
        assert app.focused.kpi.id == "ebitda_margin"
        await pilot.press("down")
        assert isinstance(app.focused, KpiTable)


async def test_selection_card_follows_the_cursor(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = focused_table(app)
        await pilot.press("down")
        await pilot.pause()
        selected = app.data.catalog.kpis[table.selected_kpi_id()]
        card_text = str(app.screen.query_one("#selection").render())
        assert selected.name in card_text
        assert selected.formula[:20] in card_text


async def drill_to(pilot, predicate) -> None:
    screen = pilot.app.screen
    node = screen.reveal(predicate)
    assert node is not None
    screen.query_one(LineageTree).move_cursor(node, animate=False)
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)


async def test_drill_down_three_levels_back_and_history(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*["down"] * 5)  # Feature Adoption %, below MQL→SQL and its parts
        row_before = focused_table(app).cursor_row
        kpi_id = focused_table(app).selected_kpi_id()
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LineageScreen) and screen.kpi_id == kpi_id
        # Level 2: a child KPI that rolls up into it.
        child = app.data.graph.children[kpi_id][0]
        await drill_to(pilot, lambda n: n.kind == "kpi" and n.id == child.id)
        assert screen.kpi_id == child.id
        # Level 3: back up to the CEO KPI from the child's upward context.
        ceo = app.data.graph.ceo_kpi_of(child.id)
        await drill_to(pilot, lambda n: n.kind == "kpi" and n.id == ceo.id)
        assert screen.trail == [kpi_id, child.id, ceo.id] and screen.position == 2
        crumbs = str(screen.query_one("#breadcrumbs").render())
        assert crumbs.startswith("Dashboard › ")
        assert crumbs.count("›") == 3
        await pilot.press("left_square_bracket")
        assert screen.kpi_id == child.id
        await pilot.press("right_square_bracket")
        assert screen.kpi_id == ceo.id
        await pilot.press("escape")
        assert screen.kpi_id == child.id
        await pilot.press("escape")
        assert screen.kpi_id == kpi_id
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        assert focused_table(app).cursor_row == row_before


async def test_data_fields_are_one_key_away_and_details_show(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        tree = screen.query_one(LineageTree)
        leaves = [n for n in screen.tree_nodes() if n.data and n.data.kind == "field"]
        assert leaves and all(n.parent.is_expanded for n in leaves)
        await pilot.press("f")
        await settle(pilot)
        field = tree.cursor_node.data
        assert field.kind == "field" and " · " in field.label
        details = str(screen.query_one("#details-text").render())
        assert "KPIs that depend on it" in details


async def test_kpi_details_show_formula_owner_rules_and_chart(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        kpi = app.data.catalog.kpis[screen.kpi_id]
        details = str(screen.query_one("#details-text").render())
        assert kpi.formula[:30] in details
        agent = app.data.catalog.agents[kpi.owner_agent]
        assert agent.name in details and agent.rules[0][:30] in details
        plot = str(screen.query_one("#forecast-plot").render())
        assert "━" in plot  # the target line
        key = str(screen.query_one("#chart-key").render())
        assert "target" in key and "critical" in key
        assert len(screen.history) == 90
        await pilot.press("z")
        await settle(pilot)
        assert len(screen.history) == 365


async def test_follow_the_red_jumps_to_a_deviating_node(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.navigator.open_lineage("brand_health")
        await settle(pilot)
        screen = app.screen
        await pilot.press("r")
        await settle(pilot)
        node = screen.query_one(LineageTree).cursor_node.data
        assert screen.status.own(node) in (Status.WARNING, Status.CRITICAL, Status.STALE)
        first = node
        await pilot.press("r")
        await settle(pilot)
        assert screen.query_one(LineageTree).cursor_node.data is not first


async def test_palette_jumps_to_a_kpi_by_fuzzy_name(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"uptime")
        from textual.command import CommandList

        def best_hit() -> str:
            hits = app.screen.query(CommandList)
            if not hits or not hits.first().option_count:
                return ""
            return str(hits.first().get_option_at_index(0).prompt)

        # The palette searches the whole catalog in the background and lists hits as they
        # come, slowly on a loaded machine: Enter acts once the KPI's hit leads the list.
        await wait_until(pilot, lambda: best_hit().startswith("KPI: Uptime"))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LineageScreen)
        assert app.screen.kpi_id == "uptime"


async def test_palette_jumps_to_a_system(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.navigator.jump_to("system", "social_listening")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LineageScreen)
        assert screen.query_one(LineageTree).cursor_node.data.id == "social_listening"


async def test_slash_filters_rows_by_name_and_escape_clears(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"rate")
        await pilot.pause()
        tables = [t for t in app.screen.query(KpiTable) if t.parent.display]
        names = [app.data.catalog.kpis[k.value].name for t in tables for k in t.rows]
        assert len(names) > 3 and all("rate" in n.lower() for n in names)
        assert not app.screen.query_one("#panel-brand").display
        await pilot.press("escape")
        await pilot.pause()
        total = sum(t.row_count for t in app.screen.query(KpiTable))
        assert total == sum(1 for k in app.data.catalog.kpis.values() if k.level.value != "ceo")


async def test_window_keys_switch_sparkline_period(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert app.window == 90
        assert len(app.data.snaps["uptime"].window) == 90
        await pilot.press("3")
        await settle(pilot)
        assert len(app.data.snaps["uptime"].window) == 365
        await pilot.press("w")
        await settle(pilot)
        assert app.window == 30


USERS_CONFIG = """# My cockpit. Keep these comments.
theme = "intelligentos-dark"  # the one I configured

[[notify]]
webhook = "https://hooks.example.com/services/T0/B0/s3cret"  # never copied anywhere
"""


async def test_theme_key_switches_and_the_choice_persists_outside_the_users_config(
    demo_store, tmp_path
):
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text(USERS_CONFIG, encoding="utf-8")
    before = (config / "config.toml").read_bytes()
    app = make_app(demo_store, config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "intelligentos-dark"
        await pilot.press("t")
        await settle(pilot)
        chosen = app.theme
        assert chosen != "intelligentos-dark"
    assert (config / "config.toml").read_bytes() == before
    assert sorted(p.name for p in config.iterdir()) == ["config.toml"]
    state = json.loads(state_file().read_text(encoding="utf-8"))
    assert state["theme"] == {"name": chosen, "configured": "intelligentos-dark"}
    assert "s3cret" not in state_file().read_text(encoding="utf-8")
    again = make_app(demo_store, config)
    async with again.run_test(size=SIZE) as pilot:
        assert again.preferences.first_look.theme == chosen  # the first frame already
        await settle(pilot)
        assert again.theme == chosen
    assert (config / "config.toml").read_bytes() == before


async def test_theme_option_and_user_theme_files(demo_store, tmp_path):
    config = tmp_path / "config"
    (config / "themes").mkdir(parents=True)
    (config / "themes" / "mine.toml").write_text(
        'name = "acme"\nprimary = "#ff00ff"\ndark = true\n', encoding="utf-8"
    )
    (config / "themes" / "broken.toml").write_text("name = ", encoding="utf-8")
    app = make_app(demo_store, config, theme_name="acme")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "acme"
        assert "acme" in app.preferences.themes
        assert {"intelligentos-light", "intelligentos-contrast"} <= set(app.preferences.themes)


async def test_help_lists_every_binding(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        from textual.widgets import DataTable

        table = app.screen.query_one(DataTable)
        actions = {str(table.get_row_at(i)[2]) for i in range(table.row_count)}
        for expected in ("Follow the red", "Filter", "Theme", "History ←", "Window", "Quit"):
            assert expected in actions
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_mouse_click_selects_and_opens(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        card = app.screen.query_one("#ceo-nrr", CeoCard)
        await pilot.click(card)
        assert app.focused is card
        retention = app.screen.query_one("#table-retention", KpiTable)
        await pilot.click(retention, offset=(5, 2))
        await pilot.pause()
        assert app.focused is retention
        await pilot.click(retention, offset=(5, 2))
        await settle(pilot)
        assert isinstance(app.screen, LineageScreen)


async def test_quit_key(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


HOSTILE = "[bold red]Churn[/] \x1b[31m"
SHOWN = "[bold red]Churn[/] \\x1b[31m"


async def test_names_are_never_interpreted_as_markup(tmp_path):
    files = dict(MINI_CATALOG)
    files["kpis.toml"] = (
        files["kpis.toml"]
        .replace('"Win Rate"', '"[bold red]Churn[/] \\u001b[31m"')
        .replace('"Revenue Growth Rate"', '"[link=x]Rev[/link]"')
    )
    catalog = write_catalog(tmp_path / "c", files)
    store = tmp_path / "s.db"
    init_store(store, catalog, end=DEMO_END)
    conn = sqlite3.connect(store)
    assert conn.execute("SELECT name FROM kpis WHERE id='win_rate'").fetchone()[0] == HOSTILE
    conn.close()
    app = make_app(store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#table-growth", KpiTable)
        name_cell = table.get_row("win_rate")[1]
        assert name_cell.plain.startswith("[bold red]Churn[/]")
        # The only styling is the cockpit's own alert highlight, never the name's "markup".
        assert all(str(span.style).startswith("bold reverse #") for span in name_cell.spans)
        await pilot.press("down")
        selection = app.screen.query_one("#selection").render()
        assert SHOWN in selection.plain
        card = app.screen.query_one("#ceo-revenue_growth", CeoCard)
        assert "[link=x]Rev[/link]" in card.render().plain
        assert "\x1b" not in app.export_screenshot()
        await pilot.press("enter")
        await settle(pilot)
        tree = app.screen.query_one(LineageTree)
        assert SHOWN in tree.root.label.plain


async def test_hostile_engine_names_are_literal_in_tooltips_and_titles(tmp_path):
    """Tooltips are parsed as markup when given a plain string: a name must never be."""
    files = dict(MINI_CATALOG)
    files["org.toml"] = files["org.toml"].replace(
        'name = "Growth"\nowners', 'name = "Growth [/bold] ([link=x]Revenue[/link])"\nowners', 1
    )
    catalog = write_catalog(tmp_path / "c", files)
    store = tmp_path / "s.db"
    init_store(store, catalog, end=DEMO_END)
    app = make_app(store, tmp_path / "config")
    async with app.run_test(size=SIZE, tooltips=True) as pilot:
        await settle(pilot)
        panel = app.screen.query_one("#panel-growth", EnginePanel)
        await pilot.hover("#panel-growth", offset=(2, 0))
        for _ in range(100):  # the tooltip shows after a delay
            shown = app.screen.query(Tooltip)
            if shown and shown.first().display:
                break
            await pilot.pause(0.02)
        tooltip = panel.tooltip
        assert not isinstance(tooltip, str), "a str tooltip is parsed as markup"
        assert "[/bold]" in tooltip.plain and "[link=x]" in tooltip.plain
        shown = app.screen.query_one(Tooltip)
        assert shown.display and "[link=x]Revenue[/link]" in str(shown.render())
        assert app.return_code is None


async def test_keys_remapped_in_config_work_and_help_shows_them(demo_store, tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text(
        '[keymap]\nalerts = "x"\nlineage-follow-red = "R"\n', encoding="utf-8"
    )
    app = make_app(demo_store, config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)  # "a" no longer opens alerts
        await pilot.press("x")
        await settle(pilot)
        assert type(app.screen).__name__ == "AlertsScreen"
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        from textual.widgets import DataTable

        table = app.screen.query_one(DataTable)
        rows = {
            (str(r[1]), str(r[2])) for r in (table.get_row_at(i) for i in range(table.row_count))
        }
        assert ("x", "Alerts") in rows and ("R", "Follow the red") in rows
        assert ("a", "Alerts") not in rows


def test_help_lists_every_binding_the_cockpit_has():
    """Generated from the bindings themselves: each described binding of every screen and
    widget is in the help, and every binding has an id so that it can be remapped."""
    from intelligentos.tui.screens.help import binding_rows, cockpit_bindings

    owners = cockpit_bindings()
    rows = binding_rows(owners, {})
    described = [b for _, bindings in owners for b in bindings if b.description]
    assert len(rows) == len(described) >= 35
    ids = [b.id for _, bindings in owners for b in bindings]
    assert all(ids), [b for _, bindings in owners for b in bindings if not b.id]


async def test_stale_results_from_workers_are_dropped(app):
    """A refresh older than the one shown, data for another window, or a history for a KPI
    no longer selected never replace what is on the screen."""
    import dataclasses

    from intelligentos.tui.messages import DataLoaded, HistoryLoaded

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("p")  # no legitimate refresh may land while this test watches
        await settle(pilot)
        shown = app.data
        app.post_message(DataLoaded(dataclasses.replace(shown, snaps={}), 0))
        newer = app.refresher.applied_request + 1
        app.post_message(DataLoaded(dataclasses.replace(shown, window=365), newer))
        await pilot.pause()
        assert app.data is shown
        app.navigator.open_lineage("win_rate")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LineageScreen) and screen.history_kpi == "win_rate"
        history = screen.history
        screen.post_message(HistoryLoaded("uptime", screen.zoom, [("2026-01-01", 1.0)]))
        screen.post_message(HistoryLoaded("win_rate", 0, [("2026-01-01", 1.0)]))
        await pilot.pause()
        assert screen.history_kpi == "win_rate" and screen.history is history


async def test_footer_offers_resume_while_paused_and_find_once(app):
    from textual.widgets import Footer

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)

        def footer_text() -> str:
            footer = app.screen.query_one(Footer)
            return " ".join(str(item.render()) for item in footer.query("FooterKey"))

        assert "Pause live" in footer_text() and "Resume live" not in footer_text()
        assert footer_text().count("Find") == 1
        # Every footer entry fits at 120 columns: nothing is cut off at the right.
        footer = app.screen.query_one(Footer)
        assert sum(item.size.width for item in footer.query("FooterKey")) <= 120
        assert "Quit" in footer_text()
        await pilot.press("p")
        await wait_until(pilot, lambda: app.paused and "Resume live" in footer_text())
        assert "Pause live" not in footer_text()
        await pilot.press("p")
        await wait_until(pilot, lambda: not app.paused and "Pause live" in footer_text())


async def test_palette_theme_commands_offer_the_cockpits_themes(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Theme" not in titles
        assert {f"Theme: {name}" for name in app.preferences.themes} <= set(titles)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Theme: intelligentos-light")
        from textual.command import CommandList

        for _ in range(100):
            hits = app.screen.query(CommandList)
            if hits and hits.first().option_count:
                break
            await pilot.pause(0.02)
        await pilot.press("enter")
        await pilot.pause()
        assert app.theme == "intelligentos-light"


def test_help_writes_every_key_in_one_notation():
    from intelligentos.tui.screens.help import binding_rows, cockpit_bindings

    keys = [key for _, key, _ in binding_rows(cockpit_bindings(), {})]
    assert "Ctrl+R" in keys and "Ctrl+P" in keys and "Esc" in keys
    assert not [k for k in keys if "ctrl" in k or "^" in k or "escape" in k or "_" in k]


async def test_every_screens_footer_fits_120_columns_even_while_paused(app):
    from textual.widgets import Footer

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("p")  # "Resume live" is the longer label
        for keys in ((), ("enter",), ("escape", "a")):
            await pilot.press(*keys)
            await settle(pilot)
            footer = app.screen.query_one(Footer)
            used = sum(item.size.width for item in footer.query("FooterKey"))
            labels = " ".join(str(item.render()) for item in footer.query("FooterKey"))
            assert used <= 118, (type(app.screen).__name__, used, labels)
            assert "Quit" in labels and "Help" in labels


async def test_a_key_pressed_while_the_lineage_screen_is_prewarmed_reaches_the_dashboard(
    demo_store, tmp_path
):
    """Prewarming pushes and pops the lineage screen; a key pressed meanwhile would go to
    that hidden screen and be lost. It is held, then pressed again on the dashboard."""
    from intelligentos.tui.screens.dashboard import DashboardScreen
    from intelligentos.tui.screens.lineage import LineageScreen

    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        navigator = app.navigator
        navigator.held_keys = []  # as while prewarming
        await pilot.press("enter")
        assert [key.key for key in navigator.held_keys] == ["enter"]
        assert isinstance(app.screen, DashboardScreen)
        navigator.release_keys()
        await settle(pilot)
        assert isinstance(app.screen, LineageScreen)
        assert navigator.held_keys is None


BAD_COLOUR_THEME = 'primary = "not-a-colour"\n'


@pytest.mark.parametrize("how", ["cycle", "option", "config"])
async def test_a_broken_user_theme_is_skipped_with_a_notification_and_never_crashes(
    demo_store, tmp_path, how
):
    config = tmp_path / "config"
    (config / "themes").mkdir(parents=True)
    (config / "themes" / "mytheme.toml").write_text(BAD_COLOUR_THEME, encoding="utf-8")
    (config / "themes" / "badvar.toml").write_text(
        'primary = "#ff00ff"\nsecondary = 12\n', encoding="utf-8"
    )
    options = {"theme_name": "mytheme"} if how == "option" else {}
    if how == "config":
        (config / "config.toml").write_text('theme = "mytheme"\n', encoding="utf-8")
    app = make_app(demo_store, config, **options)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        skipped = [n.message for n in app.notices if n.title == "Theme file skipped"]
        mine = [m for m in skipped if str(config / "themes" / "mytheme.toml") in m]
        assert len(mine) == 1 and "primary" in mine[0] and "not-a-colour" in mine[0]
        [other] = [m for m in skipped if "badvar.toml" in m]
        assert "secondary" in other
        if how == "cycle":
            for _ in range(len(app.preferences.themes) + 1):
                await pilot.press("t")
                await settle(pilot)
        assert app.is_running
        assert "mytheme" not in app.preferences.themes and "badvar" not in app.preferences.themes
        assert app.theme in app.preferences.themes
    assert app.return_code in (None, 0)


async def test_the_cockpit_reports_rows_written_around_the_importer(demo_store, tmp_path):
    conn = sqlite3.connect(demo_store)
    conn.execute(
        "INSERT INTO observations (kpi_id, period, value) VALUES ('ghost_kpi', '2026-11-20', 1)"
    )
    conn.execute(
        "INSERT INTO observations (kpi_id, period, value) VALUES ('win_rate', '07/12/2026', 20)"
    )
    conn.commit()
    conn.close()
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        found = [n.message for n in app.notices if "ghost_kpi" in n.message]
        assert len(found) == 1 and "win_rate '07/12/2026'" in found[0]


async def test_a_lineage_label_cut_at_the_edge_says_so(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.navigator.open_lineage("grr")
        await settle(pilot)
        tree = app.screen.query_one(LineageTree)
        tree.root.expand_all()  # every node open: the deepest labels (data fields) drawn
        await settle(pilot)
        cut = 0
        for y in range(min(tree.size.height, tree.last_line + 1)):
            node = tree.get_node_at_line(tree.scroll_offset.y + y)
            assert node is not None
            line = tree.render_line(y).text.rstrip()
            if node.label.plain not in line:
                cut += 1
                assert line.endswith("…"), line
        assert cut > 0  # some field labels do not fit at 120 columns


async def test_a_long_name_is_whole_when_the_panel_has_room(demo_store, tmp_path):
    conn = sqlite3.connect(demo_store)
    conn.execute("UPDATE kpis SET name = 'Trial → Paid Conversion Rate' WHERE id = 'win_rate'")
    conn.commit()
    conn.close()
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(260, 60)) as pilot:
        await settle(pilot)
        [table] = [t for t in app.screen.query(KpiTable) if "win_rate" in t.name_index]
        layout = table.drawn_layout
        assert layout.spark >= 16  # the sparkline still has a useful width
        assert table.names[table.name_index["win_rate"]] == "Trial → Paid Conversion Rate"
