"""Pilot tests of the what-if screen, pressing real keys on the seeded demo store: open from
a KPI, type levers, goal seek, save, reopen, compare, delete, bad input, the palette."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.widgets import DataTable, Footer, Input, Static

from intelligentos.store import Store
from intelligentos.tui.screens.dialogs import PromptDialog
from intelligentos.tui.screens.lineage import LineageScreen
from intelligentos.tui.screens.whatif import TYPING_PAUSE, ScenarioScreen
from intelligentos.tui.screens.whatif_dialogs import ComparisonDialog, ConfirmDialog, ScenarioPicker

from .tui_helpers import make_app, settle

SIZE = (120, 40)


@pytest.fixture
def app(demo_store: Path, tmp_path: Path):
    return make_app(demo_store, tmp_path / "config")


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def rows(screen) -> list[str]:
    table = screen.query_one("#scenario-table", DataTable)
    return [key.value for key in table.rows]


def cells(screen, kpi_id: str) -> list[str]:
    table = screen.query_one("#scenario-table", DataTable)
    return [str(cell) for cell in table.get_row(kpi_id)]


def contents(store: Path) -> tuple:
    """Everything a scenario must never change."""
    conn = sqlite3.connect(store)
    try:
        return tuple(
            conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("observations", "alerts", "alert_events")
        )
    finally:
        conn.close()


def saved(store: Path) -> list[dict]:
    with Store.open(store, readonly=True) as opened:
        return opened.query("SELECT * FROM scenarios ORDER BY id")


async def open_on(pilot, kpi_id: str) -> ScenarioScreen:
    await settle(pilot)
    pilot.app.navigator.scenario(kpi_id)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ScenarioScreen)
    return screen


async def levers(pilot, text: str) -> None:
    """Replace the levers with ``text`` and press Enter."""
    screen = pilot.app.screen
    await pilot.press("e")  # back to the levers, whatever has focus
    box = screen.query_one("#scenario-levers", Input)
    box.value = ""
    await pilot.press(*text, "enter")
    await settle(pilot)


async def answer(pilot, text: str) -> None:
    """Type into the open prompt dialog (replacing its value) and press Enter."""
    dialog = pilot.app.screen
    assert isinstance(dialog, PromptDialog)
    dialog.query_one(Input).value = ""
    await pilot.press(*text, "enter")
    await settle(pilot)


async def test_s_on_a_dashboard_kpi_opens_what_if_with_its_lever_started(app, demo_store):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = contents(demo_store)  # after the cockpit's own evaluation
        kpi_id = app.screen.selected_kpi_id()
        assert kpi_id is not None
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ScenarioScreen)
        box = screen.query_one("#scenario-levers", Input)
        assert box.value == f"{kpi_id}+=" and app.focused is box
        assert box.cursor_position == len(box.value)
        await pilot.press("3", "enter")
        await settle(pilot)
        chain = screen.service.baseline(app.data).tree.chain(kpi_id)
        assert rows(screen) == [kpi_id, *chain]
        ceo = text_of(screen, "#scenario-ceo")
        assert "catalog weights, linear" in ceo and "others unchanged" in ceo
        assert app.data.catalog.kpis[chain[-1]].short_name in ceo
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ScenarioScreen)
        assert contents(demo_store) == before


async def test_levers_project_up_to_the_ceo_kpi_with_glyphs_and_units(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, "win_rate")
        await levers(pilot, "win_rate+=3")
        assert rows(screen) == ["win_rate", "revenue_growth"]
        # 13.62 % + 3 pt; revenue growth moves by 0.1 × 3/28 of its target 40 % (+0.43 pt):
        # 35.74 % → 36.17 %, back inside its warning band (10 % short: 36 %).
        lever = cells(screen, "win_rate")
        assert lever[1:] == ["■ 13.6%", "■ 16.6%", "+3.0 pt", "lever"]
        ceo = cells(screen, "revenue_growth")
        assert ceo[1:] == ["▲ 35.7%", "● 36.2%", "+0.4 pt", "CEO"]
        ceo_line = text_of(screen, "#scenario-ceo")
        assert "Revenue Growth 35.7% → ● 36.2%" in ceo_line
        # The scenario moved by weights alone; the title says what the demo catalog's model
        # does, which holds formulas and sensitivities too.
        assert "catalog weights, linear" in ceo_line
        title = text_of(screen, "#scenario-title")
        assert "formulas exact; sensitivities and weights linear" in title


async def test_typing_recomputes_after_a_pause_without_enter(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, "win_rate")
        await pilot.press(*"3, mql_to_sql=20")
        await pilot.pause(TYPING_PAUSE + 0.2)
        assert rows(screen) == ["win_rate", "mql_to_sql", "revenue_growth"]
        assert screen.query_one("#scenario-levers", Input).has_focus


async def test_clamped_projections_are_flagged(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, "win_rate")
        await levers(pilot, "win_rate+=200")
        assert cells(screen, "win_rate")[2:] == ["● 100.0%", "+86.4 pt", "lever clamped"]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("nope+=3", "unknown KPI 'nope'"),
        ("win_rate+=3 win_rate-=1", "KPI 'win_rate' has more than one lever"),
        ("win_rate+=abc", "is not a number"),
        ("win_rate+=nan", "finite number"),
        ("[bold]x[/]", "cannot read lever '[bold]x[/]'"),
        ("win_rate=5%", "a percentage applies to += or -= only"),
    ],
)
async def test_bad_levers_say_why_inline_and_write_nothing(app, demo_store, typed, message):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, "win_rate")
        before = contents(demo_store)
        await levers(pilot, typed)
        assert isinstance(app.screen, ScenarioScreen)
        assert message in text_of(screen, "#scenario-message")
        assert rows(screen) == []
        await pilot.press("s")  # typed into the box, which keeps focus: no save
        await settle(pilot)
        assert isinstance(app.screen, ScenarioScreen)
        assert contents(demo_store) == before
    assert saved(demo_store) == []


async def test_a_kpi_without_a_value_is_refused_inline(app, demo_store):
    with Store.open(demo_store) as store, store.transaction() as conn:
        conn.execute(
            "INSERT INTO observations (kpi_id, period, value) "
            "VALUES ('win_rate', '2026-11-26', NULL)"
        )
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, "win_rate")
        await levers(pilot, "win_rate+=3")
        assert "has no value to start from" in text_of(screen, "#scenario-message")


async def test_goal_seek_for_the_selected_kpi_and_its_round_trip(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, "pipeline_coverage")
        await levers(pilot, "pipeline_coverage+=0.1")
        assert rows(screen)[0] == "pipeline_coverage"
        assert app.focused is screen.query_one(DataTable)
        await pilot.press("g")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, PromptDialog)
        assert dialog.query_one(Input).value == "revenue_growth"  # its CEO KPI
        await pilot.press("enter")
        await settle(pilot)
        goal = text_of(screen, "#scenario-goal")
        # Revenue growth 35.74 → 40 is +4.26/40 = 0.1065 of its target; through new ARR
        # (weight 1) at weight 0.2 coverage must rise 0.1065 / 0.2 × 3 = 1.5975 of its target
        # 3, from 2.37 to 3.9675.
        assert "pipeline_coverage must reach 3.97" in goal
        assert "for revenue_growth to reach 40.0%" in goal
        result = screen.service.goal_seek(app.data, "revenue_growth", "pipeline_coverage")
        assert result.reachable and result.required == pytest.approx(3.9675, abs=1e-4)
        # Setting the lever to what goal seek asks brings the goal to its target.
        await levers(pilot, f"pipeline_coverage={result.required!r}")
        assert cells(screen, "revenue_growth")[2].endswith("40.0%")


async def test_goal_seek_says_a_sensitivity_cannot_reach_the_target(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, "infra_cost_ratio")
        await levers(pilot, "infra_cost_ratio-=1")
        await pilot.press("g")
        await settle(pilot)
        await answer(pilot, "gross_margin")
        # -1 pt of gross margin per pt of infrastructure cost: 63.79 → 72 % needs the ratio
        # at 7.68 - 8.21 = -0.53 %, which no cost ratio can be.
        goal = text_of(screen, "#scenario-goal")
        assert "infra_cost_ratio cannot bring gross_margin to 72.0%" in goal
        assert "would have to reach -0.53, outside its plausible range" in goal


async def test_goal_seek_says_why_not(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, "win_rate")
        await levers(pilot, "win_rate+=1")
        await pilot.press("g")
        await settle(pilot)
        await answer(pilot, "nps_nope")
        assert isinstance(app.screen, PromptDialog)  # an unknown goal is refused in the dialog
        await answer(pilot, "gross_margin")
        assert "win_rate does not roll up to gross_margin" in text_of(screen, "#scenario-goal")


async def test_goal_seek_already_met_agrees_with_the_cli_and_goes_when_the_levers_change(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, "renewal_rate")
        await levers(pilot, "renewal_rate+=1")
        await pilot.press("g")
        await settle(pilot)
        await answer(pilot, "customer_retention")
        line = text_of(screen, "#scenario-goal")
        assert "customer_retention already meets its target 92.0% (94.7%)" in line
        assert "it would stay there with renewal_rate at" in line
        await levers(pilot, "renewal_rate+=2")
        assert text_of(screen, "#scenario-goal") == ""


async def test_save_reopen_compare_and_delete(app, demo_store):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, "win_rate")
        before = contents(demo_store)
        await levers(pilot, "win_rate+=3")
        await pilot.press("s")
        await settle(pilot)
        await answer(pilot, "[b]Win[/b] more")
        (row,) = saved(demo_store)
        assert row["name"] == "[b]Win[/b] more" and row["levers"] == '["win_rate+=3"]'
        assert (row["created_by"], row["created_at"]) == ("tester", "2026-11-27T09:30:00Z")
        assert "Saved scenario '[b]Win[/b] more'" in text_of(screen, "#scenario-message")
        await pilot.pause(0.5)  # the save's commit wakes a refresh: the message stays
        await settle(pilot)
        assert "Saved scenario '[b]Win[/b] more'" in text_of(screen, "#scenario-message")
        assert "[b]Win[/b] more" in text_of(screen, "#scenario-title")

        await levers(pilot, "mql_to_sql=20, new_arr+=5%")
        await pilot.press("s")
        await settle(pilot)
        assert app.screen.query_one(Input).value == "[b]Win[/b] more"  # the name it came from
        await answer(pilot, "Pipeline")
        assert [r["name"] for r in saved(demo_store)] == ["[b]Win[/b] more", "Pipeline"]

        # Reopen: the list is by name; Enter loads the levers.
        await pilot.press("o")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, ScenarioPicker)
        table = picker.query_one(DataTable)
        assert [k.value for k in table.rows] == ["[b]Win[/b] more", "Pipeline"]
        assert str(table.get_row("[b]Win[/b] more")[1]) == "[b]Win[/b] more"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert screen.query_one("#scenario-levers", Input).value == "win_rate+=3"
        assert rows(screen) == ["win_rate", "revenue_growth"]

        # Compare: mark two, see every CEO KPI under both.
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ScenarioPicker)
        await pilot.press("enter", "down", "enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ComparisonDialog)
        compared = dialog.query_one(DataTable)
        assert compared.row_count == len(app.data.catalog.ceo_kpis())
        revenue = [str(c) for c in compared.get_row_at(0)]
        assert revenue[0] == "Revenue Growth" and revenue[1] == "▲ 35.7%"
        assert revenue[2].startswith("● 36.2%") and revenue[3].startswith("▲")
        assert revenue[2] != revenue[3]
        margin = [str(c) for c in compared.get_row_at(1)]
        assert margin[2:] == ["unchanged", "unchanged"]
        await pilot.press("escape")
        await settle(pilot)

        # Delete, after confirmation (n keeps it).
        await pilot.press("o")
        await settle(pilot)
        await pilot.press("down", "d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(pilot)
        assert len(saved(demo_store)) == 2
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, ScenarioPicker)
        assert [k.value for k in picker.query_one(DataTable).rows] == ["[b]Win[/b] more"]
        assert "Deleted Pipeline" in str(picker.query_one("#picker-message", Static).render())
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert contents(demo_store) == before
    assert [r["name"] for r in saved(demo_store)] == ["[b]Win[/b] more"]


async def test_saving_bad_levers_is_refused_before_asking_a_name(app, demo_store):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, "win_rate")
        await levers(pilot, "win_rate+=3")
        screen.query_one("#scenario-levers", Input).value = "win_rate+=3 nope=1"
        await pilot.press("s")
        await settle(pilot)
        assert app.screen is screen
        assert "Not saved: unknown KPI 'nope'" in text_of(screen, "#scenario-message")
    assert saved(demo_store) == []


async def test_compare_needs_two_saved_scenarios(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, "win_rate")
        await levers(pilot, "win_rate+=3")
        await pilot.press("c")
        await settle(pilot)
        assert app.screen is screen
        assert "Save two scenarios" in text_of(screen, "#scenario-message")


async def test_s_in_the_lineage_opens_what_if_for_its_kpi(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.navigator.open_lineage("win_rate")
        await settle(pilot)
        assert isinstance(app.screen, LineageScreen)
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ScenarioScreen)
        assert screen.query_one("#scenario-levers", Input).value == "win_rate+="
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LineageScreen)


async def palette(pilot, command: str) -> None:
    from textual.command import CommandList

    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*command)
    for _ in range(100):  # the palette searches in the background: wait for its hits
        hits = pilot.app.screen.query(CommandList)
        if hits and hits.first().option_count:
            break
        await pilot.pause(0.02)
    await pilot.press("enter")
    await settle(pilot)


async def test_the_palette_opens_what_if_and_the_saved_scenarios(app, demo_store):
    with Store.open(demo_store) as store:
        store.save_scenario("Saved before", ["win_rate+=3"], "ana", "2026-11-26T10:00:00Z")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        kpi_id = app.screen.selected_kpi_id()
        await palette(pilot, "What-if scenario")
        screen = app.screen
        assert isinstance(screen, ScenarioScreen)
        assert screen.query_one("#scenario-levers", Input).value == f"{kpi_id}+="
        await pilot.press("escape")
        await settle(pilot)
        await palette(pilot, "Scenarios")
        assert isinstance(app.screen, ScenarioPicker)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ScenarioScreen)
        assert screen.query_one("#scenario-levers", Input).value == "win_rate+=3"
        assert rows(screen) == ["win_rate", "revenue_growth"]


async def test_the_footer_fits_120_columns_and_help_lists_the_keys(app):
    from intelligentos.tui.screens.help import binding_rows, cockpit_bindings

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, "win_rate")
        footer = screen.query_one(Footer)
        # Typing in the box, letters are text: the footer offers only the other keys.
        assert "Goal seek" not in " ".join(str(i.render()) for i in footer.query("FooterKey"))
        await levers(pilot, "win_rate+=3")  # Enter moves to the table, where keys act
        await settle(pilot)
        used = sum(item.size.width for item in footer.query("FooterKey"))
        labels = " ".join(str(item.render()) for item in footer.query("FooterKey"))
        assert used <= 118, labels
        assert "Goal seek" in labels and "Quit" in labels
    listed = {(where, key, action) for where, key, action in binding_rows(cockpit_bindings(), {})}
    assert {("Dashboard", "s", "What-if"), ("Lineage", "s", "What-if")} <= listed
    assert {("What-if", "g", "Goal seek"), ("Saved scenarios", "d", "Delete")} <= listed


async def test_a_refresh_projects_from_the_new_current_values(app, demo_store):
    from .tui_helpers import insert_from_another_process

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_on(pilot, "win_rate")
        await levers(pilot, "win_rate+=3")
        insert_from_another_process(demo_store, [("win_rate", "2026-11-27", 20.0)])
        for _ in range(40):
            await pilot.pause(0.1)
            if cells(screen, "win_rate")[1] == "■ 20.0%":
                break
        assert cells(screen, "win_rate")[1:3] == ["■ 20.0%", "▲ 23.0%"]
