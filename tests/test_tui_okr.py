"""The OKR screen, driven with Pilot on a real store: proposals from stored forecasts, accepting
a target with a note (refused blank, refused in the past), the new target on the dashboard,
the cascade's gaps, the running quarter's grades; and the selection card's quarter target."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from textual.command import CommandList
from textual.widgets import Input, Static

from intelligentos.domain.clock import stamp
from intelligentos.domain.okr.targets import QuarterTarget, TargetSource
from intelligentos.domain.quarters import Quarter
from intelligentos.services.bootstrap import init_store
from intelligentos.store import Store, StoreError
from intelligentos.tui.screens.dashboard import DashboardScreen
from intelligentos.tui.screens.dialogs import PromptDialog
from intelligentos.tui.screens.okr import OkrScreen
from intelligentos.tui.widgets.ceo_card import CeoCard
from intelligentos.tui.widgets.kpi_table import KpiTable
from intelligentos.tui.widgets.proposal_table import probability_bar
from intelligentos.tui.widgets.selection_card import SelectionCard

from .conftest import DEMO_END
from .tui_helpers import FIXED_NOW, make_app, settle, store_weekly_forecast, wait_until

SIZE = (130, 42)
BUNDLED_CATALOG = Path(__file__).parents[1] / "data" / "catalog"
NEXT = Quarter(2027, 1)  # FIXED_NOW is 2026-11-27, in 2026Q4


@pytest.fixture
def store(tmp_path) -> Path:
    """A demo store built from a copy of the catalog: accepting writes the catalog's files."""
    catalog = shutil.copytree(BUNDLED_CATALOG, tmp_path / "catalog")
    path = tmp_path / "okr.db"
    init_store(path, catalog, end=DEMO_END)
    return path


async def open_okr(pilot) -> OkrScreen:
    await settle(pilot)
    await pilot.press("O")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, OkrScreen)
    await wait_until(pilot, lambda: screen.loaded is not None)
    return screen


def row_text(screen: OkrScreen, kpi_id: str) -> list[str]:
    return [cell.plain for cell in screen.table.get_row(kpi_id)]


async def select(pilot, screen: OkrScreen, kpi_id: str) -> None:
    screen.table.move_cursor(row=screen.table.get_row_index(kpi_id), animate=False)
    await pilot.pause()


def card_text(app) -> str:
    return str(app.screen.query_one(SelectionCard).render())


async def select_on_dashboard(pilot, kpi_id: str) -> None:
    table = pilot.app.screen.query_one("#table-growth", KpiTable)
    table.focus()
    table.move_cursor(row=table.get_row_index(kpi_id), animate=False)
    await settle(pilot)


async def test_propose_accept_with_a_note_and_see_the_target_on_the_dashboard(store, tmp_path):
    # Win Rate: higher is better, target 28 %. Its forecast at the end of 2027Q1: mean 31,
    # 80 % interval [29, 33], so σ below = σ above = 2 / 1.28155 = 1.56061.
    # P(hit 28) = 1 − Φ((28 − 31) / 1.56061) = 1 − Φ(−1.92233) = 1 − 0.02728 = 97 %.
    # Commit (hit with P 0.9): the 10 % quantile = the interval's low end, 29.0.
    # Stretch (P 0.35): the 65 % quantile = 31 + 0.38532 × 1.56061 = 31.601.
    store_weekly_forecast(store, "win_rate", 31.0, 29.0, 33.0)
    app = make_app(store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_okr(pilot)
        assert screen.quarter == NEXT
        cells = row_text(screen, "win_rate")
        assert cells[1:4] == ["Win Rate", "28.0%", "31.0%"]
        assert cells[4] == probability_bar(0.97272) and cells[4].endswith(" 97%")
        assert cells[5:] == ["29.0%", "90%", "31.6%", "35%"]
        # A KPI without a forecast: no numbers, under why.
        assert row_text(screen, "revenue_growth")[2:] == ["40.0%", "", "", "", "", "", ""]
        assert "/no forecast" in screen.table.rows

        await select(pilot, screen, "win_rate")
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, PromptDialog)
        await pilot.press(*"board plan 2027", "enter")
        await settle(pilot)
        await wait_until(pilot, lambda: any("Accepted 1 target" in n.message for n in app.notices))
        with Store.open(store) as opened:
            (row,) = opened.quarter_targets(["win_rate"])
        assert (row.quarter, row.value, row.source) == (NEXT, 29.0, TargetSource.PROPOSAL)
        assert (row.who, row.note) == ("tester", "board plan 2027")
        # The catalog stays the source of truth: its file has the target too.
        sales = (tmp_path / "catalog" / "kpis" / "sales.toml").read_text(encoding="utf-8")
        assert '[kpi.win_rate.targets]\n"2027Q1" = 29.0' in sales

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        await select_on_dashboard(pilot, "win_rate")
        await wait_until(pilot, lambda: "29.0% from 1 Jan 2027 (2027Q1)" in card_text(app))
        assert "Target 28.0% (default) · 29.0% from 1 Jan 2027 (2027Q1)" in card_text(app)


async def test_a_blank_note_is_refused_and_nothing_is_written(store, tmp_path):
    store_weekly_forecast(store, "win_rate", 31.0, 29.0, 33.0)
    app = make_app(store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_okr(pilot)
        await select(pilot, screen, "win_rate")
        await pilot.press("c", *"   ", "enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, PromptDialog)
        assert "a note is required" in str(dialog.query_one("#error", Static).render())
        assert dialog.query_one(Input).value == "   "
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
    with Store.open(store) as opened:
        assert opened.quarter_targets() == [] and opened.target_changes() == []


async def test_accepting_is_refused_in_the_past_before_asking_anything(store, tmp_path):
    store_weekly_forecast(store, "win_rate", 31.0, 29.0, 33.0)
    app = make_app(store, tmp_path / "config", as_of=date(2026, 11, 20))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_okr(pilot)
        await select(pilot, screen, "win_rate")
        for key in ("c", "S"):
            await pilot.press(key)
            await settle(pilot)
            assert app.screen is screen  # no dialog
        refusals = [n for n in app.notices if n.title == "Viewing the past"]
        assert len(refusals) == 2
        assert refusals[0].message.startswith("Not accepted: the cockpit shows 2026-11-20")
    with Store.open(store) as opened:
        assert opened.quarter_targets() == []


async def test_the_palette_opens_the_screen(store, tmp_path):
    app = make_app(store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"OKRs")
        await wait_until(
            pilot,
            lambda: (
                bool(app.screen.query(CommandList))
                and app.screen.query_one(CommandList).option_count > 0
            ),
        )
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, OkrScreen)


async def test_a_failing_read_is_reported_and_the_cockpit_goes_on(store, tmp_path, monkeypatch):
    def broken(self, day, kpi_ids=None):
        raise StoreError(f"{self.path} could not be read (disk I/O error).")

    app = make_app(store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        monkeypatch.setattr(Store, "forecasts_at", broken)
        await pilot.press("O")
        await wait_until(
            pilot, lambda: any(n.title == "Reading the OKR proposals failed" for n in app.notices)
        )
        notice = next(n for n in app.notices if n.title == "Reading the OKR proposals failed")
        assert notice.severity == "error" and "disk I/O error" in notice.message
        assert isinstance(app.screen, OkrScreen) and app.is_running


async def test_an_inconsistent_parent_is_marked(store, tmp_path):
    # Revenue Growth's own 2027Q1 target set far above what its KPIs' targets imply (their
    # defaults: they imply its default, 40 %).
    with Store.open(store) as opened, opened.transaction():
        opened.set_quarter_targets([QuarterTarget("revenue_growth", NEXT, 60.0)])
    app = make_app(store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_okr(pilot)
        assert row_text(screen, "revenue_growth")[0] == "≠"
        assert row_text(screen, "win_rate")[0] == ""
        cascade = str(screen.query_one("#okr-cascade", Static).render())
        assert "Revenue Growth: target 60.0%, its KPIs' targets imply 40.0%" in cascade
        # The quarter before: nothing set, nothing marked.
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: screen.loaded is not None)
        assert screen.quarter == Quarter(2026, 4)
        assert row_text(screen, "revenue_growth")[0] == ""
        # And no earlier: 2026Q3 has ended.
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert screen.quarter == Quarter(2026, 4)


async def test_the_running_quarter_shows_each_kpis_grade(store, tmp_path):
    app = make_app(store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_okr(pilot)
        assert "grade" not in screen.table.columns  # 2027Q1 has not started
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: screen.loaded is not None)
        assert screen.quarter == Quarter(2026, 4)
        theme = app.current_theme
        grades = {
            kpi_id: screen.table.get_row(kpi_id)[-1]
            for kpi_id in ("churn_rate", "activation_rate", "at_risk_arr")
        }
        # The demo's values before 2026Q4 and on 2026-11-27:
        # churn_rate (lower, target 5.0): 5.11 → 5.08: (5.11 − 5.08) / (5.11 − 5.0) = 0.27.
        # activation_rate (higher, target 60, band 5 % = 3): 64.23, met at the start, now
        # 58.29: 1 − (60 − 58.29) / 3 = 0.43.
        # at_risk_arr (lower, target 2.4M): 2,428,339 → 2,405,302:
        # 23,037 / 28,339 = 0.81.
        assert {k: cell.plain for k, cell in grades.items()} == {
            "churn_rate": "0.27",
            "activation_rate": "0.43",
            "at_risk_arr": "0.81",
        }
        # Red below 0.4, yellow below 0.7, else green.
        assert theme.error in str(grades["churn_rate"].style)
        assert theme.warning in str(grades["activation_rate"].style)
        assert theme.success in str(grades["at_risk_arr"].style)


def test_the_probability_bar_counts_eighths_of_a_cell():
    # 8 cells of bar, a space, the percent in 4 cells.
    # 0.62 × 8 cells = 4.96 cells = 39.68 eighths → 40 eighths: 5 full cells, 3 blank.
    assert probability_bar(0.62) == "█████" + " " * 3 + " " + " 62%"
    # 0.5 × 8 = 4 cells exactly; 0.03 × 64 = 1.92 → 2 eighths: "▎", 7 blank.
    assert probability_bar(0.5) == "████" + " " * 4 + " " + " 50%"
    assert probability_bar(0.03) == "▎" + " " * 7 + " " + "  3%"
    assert probability_bar(1.0) == "████████" + " " + "100%"


async def test_the_selection_card_shows_the_quarters_target_and_the_next_change(store, tmp_path):
    with Store.open(store) as opened, opened.transaction():
        opened.set_quarter_targets(
            [
                QuarterTarget("win_rate", Quarter(2026, 3), 26.0),
                QuarterTarget("win_rate", Quarter(2026, 4), 27.0),
                QuarterTarget("win_rate", NEXT, 30.0),
            ]
        )
    app = make_app(store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_on_dashboard(pilot, "win_rate")
        assert "Target 27.0% (2026Q4) · 30.0% from 1 Jan 2027 (2027Q1)" in card_text(app)
    # Under time travel the as-of day decides: 15 August 2026 is in 2026Q3.
    app = make_app(store, tmp_path / "config", as_of=date(2026, 8, 15))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_on_dashboard(pilot, "win_rate")
        assert "Target 26.0% (2026Q3) · 27.0% from 1 Oct 2026 (2026Q4)" in card_text(app)


def test_forecasting_through_a_quarter_reaches_its_end(mini_catalog, tmp_path):
    from intelligentos.domain.forecast.periods import horizon_through
    from intelligentos.domain.okr.propose import point_at_end
    from intelligentos.services.okr.reach import forecast_through, short_of

    path = tmp_path / "mini.db"
    catalog = init_store(path, mini_catalog, end=DEMO_END)
    monthly, weekly = catalog.kpis["revenue_growth"], catalog.kpis["win_rate"]
    # From November 2026 to the end of 2027Q1: December, January, February, March = 4.
    assert horizon_through(monthly, date(2027, 3, 31), DEMO_END, "2026-11-01") == 4
    # Weeks after Monday 23 Nov 2026 starting on or before 31 Mar 2027: 30 Nov … 29 Mar,
    # (29 Mar − 30 Nov) = 119 days = 17 weeks on, so 18 periods.
    assert horizon_through(weekly, date(2027, 3, 31), DEMO_END, "2026-11-23") == 18
    with Store.open(path) as store:
        assert [k.id for k in short_of(store, catalog, NEXT)] == ["revenue_growth", "win_rate"]
        saved = forecast_through(store, catalog, NEXT, DEMO_END, stamp(FIXED_NOW), background=False)
        assert saved == 2 and short_of(store, catalog, NEXT) == []
        # Their forecasts start in December 2026: none reaches back into 2026Q3's end, and
        # forecasting further would not help: not short of it.
        assert short_of(store, catalog, Quarter(2026, 3)) == []
        for stored in store.forecasts():
            kpi = catalog.kpis[stored.forecast.kpi_id]
            assert point_at_end(stored.forecast.points, kpi.frequency, NEXT) is not None


async def test_the_dashboard_marks_a_parent_its_kpis_targets_do_not_add_up_to(store, tmp_path):
    # The 2026Q4 targets (the quarter of FIXED_NOW) of Win Rate and Revenue Growth far above
    # what the targets of the KPIs below them imply (their defaults: 28 % and 40 %).
    with Store.open(store) as opened, opened.transaction():
        opened.set_quarter_targets(
            [
                QuarterTarget("win_rate", Quarter(2026, 4), 40.0),
                QuarterTarget("revenue_growth", Quarter(2026, 4), 60.0),
            ]
        )
    app = make_app(store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#table-growth", KpiTable)

        def marked() -> set[str]:
            rows = (table.get_row_at(i) for i in range(table.row_count))
            return {
                table.coordinate_to_cell_key((i, 0)).row_key.value
                for i, row in enumerate(rows)
                if row[4].plain.startswith("≠ ")
            }

        await wait_until(pilot, lambda: marked() == {"win_rate"})
        card = app.screen.query_one("#ceo-revenue_growth", CeoCard)
        assert card.render().plain.startswith("≠ Revenue")
        await select_on_dashboard(pilot, "win_rate")
        assert "≠ the targets below it imply 28.0% in 2026Q4" in card_text(app)


async def test_without_quarterly_targets_the_dashboard_checks_no_cascade(
    store, tmp_path, monkeypatch
):
    import intelligentos.domain.okr.cascade as cascade_module

    checked = []
    real = cascade_module.cascade
    monkeypatch.setattr(
        cascade_module, "cascade", lambda *args: checked.append(args) or real(*args)
    )
    app = make_app(store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert checked == []
        table = app.screen.query_one("#table-growth", KpiTable)
        assert not table.get_row("win_rate")[4].plain.startswith("≠")
        card = app.screen.query_one("#ceo-revenue_growth", CeoCard)
        assert not card.render().plain.startswith("≠")


def test_a_forecast_made_to_a_later_quarters_end_is_not_forecast_again(store):
    from intelligentos.services.forecast import outdated

    with Store.open(store) as opened:
        catalog = opened.read_catalog()
        last = opened.history("gross_margin", 1)[-1][0]
    kpi = catalog.kpis["gross_margin"]
    latest = {"gross_margin": last}
    # Monthly, latest 2026-11-01; on 2026-11-27 the default horizon reaches the end of
    # 2026Q4: December, 1 period. To the end of 2027Q1: 4 periods.
    assert last == "2026-11-01"
    assert kpi not in outdated(catalog, latest, {"gross_margin": (last, 1)}, DEMO_END)
    assert kpi not in outdated(catalog, latest, {"gross_margin": (last, 4)}, DEMO_END)
    # Made from October: November has come since.
    assert kpi in outdated(catalog, latest, {"gross_margin": ("2026-10-01", 4)}, DEMO_END)
    # On 10 Feb 2027 the default reaches March 2027 (4 periods): 1 stops short.
    assert kpi in outdated(catalog, latest, {"gross_margin": (last, 1)}, date(2027, 2, 10))
