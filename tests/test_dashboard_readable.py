"""Pilot tests of a dashboard that reads right: numbers labelled for what they are, names that
stay distinguishable, alerts that show with and without motion or colour, and a filter that
never eats keys or leaves an unexplained empty screen."""

from __future__ import annotations

import pytest
from rich.style import Style
from textual import events
from textual.color import Color
from textual.errors import NoWidget
from textual.geometry import Region
from textual.widgets import Input, Static

from intelligentos.tui.screens import dashboard
from intelligentos.tui.widgets.ceo_card import CeoCard
from intelligentos.tui.widgets.engine_panel import EnginePanel
from intelligentos.tui.widgets.kpi_table import KpiTable
from intelligentos.tui.widgets.selection_card import SelectionCard

from .tui_helpers import make_app, settle

SIZE = (120, 40)

Cell = tuple[str, Style]


async def settle_quietly(pilot) -> None:
    """Settle, then dismiss the toasts: they float over the bottom right of the screen, and
    on a slow machine the start-up toast is still there when these tests read the cells."""
    await settle(pilot)
    pilot.app.clear_notifications()
    await pilot.pause()
    await pilot.pause()


def screen_cells(app) -> list[list[Cell]]:
    """What the terminal is sent, cell by cell, after Textual's own filters (NO_COLOR): at
    each cell, the line of the widget on top there, as :meth:`Screen.get_style_at` finds it."""
    screen = app.screen
    width, height = app.size
    rows = []
    for y in range(height):
        row: list[Cell] = []
        lines: dict[tuple[object, Region], list[Cell]] = {}
        for x in range(width):
            try:
                widget, region = screen.get_widget_at(x, y)
            except NoWidget:
                row.append((" ", Style()))
                continue
            if (widget, region) not in lines:
                strips = widget.render_lines(Region(0, y - region.y, region.width, 1))
                lines[widget, region] = [
                    (char, segment.style or Style())
                    for strip in strips[:1]
                    for segment in strip
                    for char in segment.text
                ]
            cells = lines[widget, region]
            row.append(cells[x - region.x] if x - region.x < len(cells) else (" ", Style()))
        rows.append(row)
    return rows


def screen_text(app) -> list[str]:
    return ["".join(char for char, _ in row) for row in screen_cells(app)]


def panel(app, engine: str) -> EnginePanel:
    return app.screen.query_one(f"#panel-{engine}", EnginePanel)


def table(app, engine: str) -> KpiTable:
    return app.screen.query_one(f"#table-{engine}", KpiTable)


def selection_text(app) -> str:
    return str(app.screen.query_one(SelectionCard).render())


def subtitle(app, engine: str) -> str:
    return str(panel(app, engine).border_subtitle)


async def move_to(pilot, kpi_id: str, *, panels: int = 0) -> None:
    """From the first panel's first row: ``l`` across ``panels`` panels, then ``j`` down."""
    await pilot.press(*["l"] * panels)
    focused = pilot.app.focused
    assert isinstance(focused, KpiTable)
    for _ in range(focused.row_count):
        if focused.selected_kpi_id() == kpi_id:
            break
        await pilot.press("j")
    assert focused.selected_kpi_id() == kpi_id
    await pilot.pause()


# --- 7. numbers that do not mislead --------------------------------------------------------


async def test_selection_card_labels_the_change_and_the_gap_to_target(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle_quietly(pilot)
        # MQL→SQL Conversion: higher is better, 21.5% against 30.0%, 31.3% the period before.
        card = selection_text(app)
        assert "MQL→SQL Conversion" in card
        assert "−9.8 pt vs previous period" in card
        assert "8.5 pt below target 30.0%" in card
        assert "warning when 8% below target (under 27.6%)" in card
        assert "critical when 18% below (under 24.6%)" in card
        assert "beyond" not in card and "adverse" not in card

        await move_to(pilot, "turnover", panels=3)  # Employee Turnover: lower is better
        card = selection_text(app)
        assert "2.1 pt above target 12.0%" in card
        assert "warning when 10% above target (over 13.2%)" in card
        assert "critical when 25% above (over 15.0%)" in card

        await pilot.press("h")  # Billable Utilization: a band around its target
        await move_to(pilot, "utilization")
        card = selection_text(app)
        assert "target 75.0%" in card
        assert "warning when 7% away from target (outside 69.8%–80.2%)" in card
        assert "critical when 15% away (outside 63.8%–86.2%)" in card


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_truncated_names_stay_distinguishable(demo_store, tmp_path, size):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=size) as pilot:
        await settle_quietly(pilot)
        await pilot.press("l", "l", "l")  # the People panel: Leadership Trust / Diversity
        await pilot.pause()
        groups = []
        for engine_panel in app.screen.query(EnginePanel):
            rows = engine_panel.table.snaps
            shown = [engine_panel.table.get_row(s.kpi.id)[1].plain for s in rows]
            groups.append(list(zip([s.kpi.display_name for s in rows], shown, strict=True)))
        cards = list(app.screen.query(CeoCard))
        groups.append([(c.kpi.display_name, c.render().plain.split("\n")[0]) for c in cards])
        people = dict(groups[3])
        assert people["Leadership Trust"] != people["Leadership Diversity"]
        for group in groups:
            for name, text in group:
                if not text.endswith("…"):
                    assert text == name
                    continue
                stem = text[:-1]
                others = [other for other, _ in group if other != name]
                # A cut name must not read as the start of another name in the same panel.
                assert not [o for o in others if o.startswith(stem)], (text, others)


async def test_ceo_strip_shows_changes_whole_or_not_at_all(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle_quietly(pilot)
        await pilot.press("k")  # up to the CEO strip
        await pilot.pause()
        for card in app.screen.query(CeoCard):
            snap = card.snap
            assert snap is not None
            line = card.render().plain.split("\n")[1]
            whole = f"{snap.status.glyph} {snap.value_text}"
            assert line in (whole, f"{whole} {snap.change_text}"), line
            assert len(line) <= card.size.width


async def test_alerting_rows_out_of_view_are_announced_on_the_border(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle_quietly(pilot)
        # Growth shows 8 of 17 rows: New ARR, Win Rate, Pipeline Coverage and Sales Cycle
        # Length alert below the fold.
        assert "↓ 4 alerting below" in subtitle(app, "growth")
        assert "↓ 1 alerting below" in subtitle(app, "efficiency")  # IT Ticket Backlog
        assert "alerting" not in subtitle(app, "people")  # Employee Turnover is in view
        await move_to(pilot, "crm_hygiene")  # the last row: the view scrolls down
        await pilot.pause()
        # Out of view above: MQL→SQL Conversion, SQLs and Activation Rate.
        text = subtitle(app, "growth")
        assert "below" not in text and "↑ 3 alerting above" in text
        lines = screen_text(app)
        assert any("↑ 3 alerting above" in line for line in lines)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_scrollbar_is_set_apart_from_the_sparklines(demo_store, tmp_path, size):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=size) as pilot:
        await settle_quietly(pilot)
        await pilot.press("j")
        await pilot.pause()
        cells = screen_cells(app)
        scrolled = [t for t in app.screen.query(KpiTable) if t.show_vertical_scrollbar]
        assert scrolled
        for kpi_table in scrolled:
            region = kpi_table.region
            bar = region.right - kpi_table.scrollbar_size_vertical
            top = region.y + (1 if kpi_table.show_header else 0)
            for y in range(top, region.bottom):
                # The cell left of the scrollbar is a blank gap, never a sparkline bar.
                assert cells[y][bar - 1][0] == " ", (kpi_table.id, "".join(c for c, _ in cells[y]))


async def test_sparklines_use_the_width_they_have(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=(200, 60)) as pilot:
        await settle_quietly(pilot)
        await pilot.press("3")  # 365 periods
        await settle_quietly(pilot)
        efficiency = table(app, "efficiency")
        trend = efficiency.get_row("uptime")[-1].plain.strip()
        assert len(trend) >= 12
        for snap in efficiency.snaps:  # the names keep their room
            assert efficiency.get_row(snap.kpi.id)[1].plain == snap.kpi.display_name
        await pilot.press("1")  # 30 periods: never wider than the points it has
        await settle_quietly(pilot)
        for kpi_table in app.screen.query(KpiTable):
            for snap in kpi_table.snaps:
                trend = kpi_table.get_row(snap.kpi.id)[-1].plain
                assert len(trend.strip()) <= len(snap.window)


# --- 8. the ⚑ flag and the heavy border ----------------------------------------------------


def assert_flagged(app, engine: str) -> None:
    flagged = panel(app, engine)
    assert "⚑" in str(flagged.border_title)
    assert flagged.styles.border_top[0] == "heavy"
    region = flagged.region
    corner = screen_text(app)[region.y][region.x]
    assert corner == "┏", corner


async def filter_and_clear(pilot, text: str) -> None:
    await pilot.press("slash", *text)
    await pilot.pause()
    assert not panel(pilot.app, "growth").display  # nothing in Growth matches
    await pilot.press("escape")
    await settle(pilot)


@pytest.fixture
def quick_beats(monkeypatch) -> float:
    """A beat of the pulse every 50 ms instead of 0.8 s: the tests wait for beats, not time."""
    monkeypatch.setattr(dashboard, "PULSE_SECONDS", 0.05)
    return 0.05


async def test_alert_flag_and_heavy_border_with_reduced_motion(demo_store, tmp_path, quick_beats):
    app = make_app(demo_store, tmp_path / "config")
    assert app.animation_level == "none"
    async with app.run_test(size=SIZE) as pilot:
        await settle_quietly(pilot)
        await pilot.pause(3 * quick_beats)  # longer than a beat: it stays put
        assert_flagged(app, "growth")
        assert "⚑" not in str(panel(app, "brand").border_title)
        assert panel(app, "brand").styles.border_top[0] != "heavy"
        await filter_and_clear(pilot, "uptime")
        assert_flagged(app, "growth")


async def test_alert_flag_survives_filtering_after_the_pulse_settles(
    demo_store, tmp_path, quick_beats
):
    app = make_app(demo_store, tmp_path / "config")
    app.animation_level = "full"
    async with app.run_test(size=SIZE) as pilot:
        await settle_quietly(pilot)
        await pilot.pause(3 * quick_beats)  # beats while the alerts are new
        now = app.alerts.announcer.clock()
        app.alerts.announcer.clock = lambda: now + 3600  # every alert is old now: the pulse ends
        for _ in range(200):  # until a beat has settled it on the highlight
            if panel(app, "growth").pulse_on:
                break
            await pilot.pause(quick_beats)
        assert not app.pulsing_kpis()
        assert "⚑" in str(panel(app, "growth").border_title)
        await filter_and_clear(pilot, "uptime")
        await pilot.pause(3 * quick_beats)
        assert "⚑" in str(panel(app, "growth").border_title)
        assert "reverse" in str(panel(app, "growth").border_title)  # steady highlight
        assert_flagged(app, "growth")


# --- 9. no colour, light theme ---------------------------------------------------------------


async def test_without_colour_critical_is_bold_reverse_and_never_the_dimmest(
    demo_store, tmp_path, monkeypatch
):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle_quietly(pilot)
        await pilot.press("j", "k")
        await pilot.pause()
        assert app.no_color
        cells = [cell for row in screen_cells(app) for cell in row]
        critical = [style for char, style in cells if char == "■"]
        ok = [style for char, style in cells if char == "●"]
        assert len(critical) >= 3 and ok  # CEO card, panel rows, selected card

        def ink(style: Style) -> float:
            assert style.color is not None
            return Color.from_rich_color(style.color).brightness

        for style in critical:
            assert style.bold and style.reverse and not style.dim, style
            assert ink(style) >= max(ink(s) for s in ok)
        # The alerting CEO card (Gross Margin, critical) is not dimmer than a calm one.
        lines = screen_text(app)
        y = next(i for i, line in enumerate(lines) if "Gross Margin" in line)
        x = lines[y].index("Gross Margin")
        calm = lines[y].index("EBITDA")
        assert ink(screen_cells(app)[y][x][1]) >= ink(screen_cells(app)[y][calm][1])


def contrast(first: Color, second: Color) -> float:
    """WCAG 2 contrast ratio."""

    def luminance(colour: Color) -> float:
        def channel(value: int) -> float:
            c = value / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(colour.r) + 0.7152 * channel(colour.g) + 0.0722 * channel(colour.b)

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def test_light_theme_panel_borders_are_visible(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle_quietly(pilot)
        await pilot.press("t")  # dark → light
        await settle_quietly(pilot)
        assert app.theme == "intelligentos-light"
        await pilot.press("j")
        await pilot.pause()
        calm = [panel(app, "retention"), panel(app, "brand"), app.screen.query_one(SelectionCard)]
        for widget in calm:
            _, colour = widget.styles.border_top
            behind = widget.background_colors[1]
            # WCAG 1.4.11: user-interface boundaries need 3:1 against what is behind them.
            assert contrast(behind, behind + colour) >= 3.0, (widget.id, colour)


# --- the filter -----------------------------------------------------------------------------


async def test_a_filter_without_matches_says_so(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle_quietly(pilot)
        await pilot.press("slash", *"xyz")
        await pilot.pause()
        assert not any(p.display for p in app.screen.query(EnginePanel))
        note = app.screen.query_one("#filter-empty", Static)
        assert note.display and "No KPI matches 'xyz'" in str(note.render())
        assert any("No KPI matches 'xyz'" in line for line in screen_text(app))
        await pilot.press("backspace", "backspace", "backspace", *"win")
        await pilot.pause()
        assert not note.display
        await pilot.press("escape")
        await pilot.pause()
        assert not note.display


async def test_keys_typed_right_after_slash_all_go_into_the_filter(demo_store, tmp_path):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle_quietly(pilot)
        await pilot.press("slash", *"win")
        assert app.screen.query_one("#filter", Input).value == "win"
        await pilot.press("escape")
        await settle_quietly(pilot)
        # A terminal delivers a burst at once: no pause between "/" and the next keys.
        for key in ("slash", "w", "i", "n"):
            event = events.Key(key, "/" if key == "slash" else key)
            event.set_sender(app)
            app.post_message(event)
        await settle_quietly(pilot)
        assert app.screen.query_one("#filter", Input).value == "win"
        assert app.window == 30  # "w" did not cycle the window
        await pilot.press("escape", "slash", *"p1/p2")  # in the box, "/" is a character
        await pilot.pause()
        assert app.screen.query_one("#filter", Input).value == "p1/p2"
