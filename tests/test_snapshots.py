"""Snapshot tests of each screen at fixed size, clock and seeded demo data.

Refresh after an intentional UI change with ``pytest tests/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import pytest

from .tui_helpers import make_app, settle, store_weekly_forecast


@pytest.fixture
def snap(snap_compare):
    """``snap_compare`` with the toasts cleared before the picture: a toast lives for a span
    of wall-clock time, and a loaded machine would take the picture after it left (what the
    toasts say is tested on its own, in test_announcer.py)."""

    def compare(app, *, terminal_size, run_before=settle):
        async def then_without_toasts(pilot):
            await run_before(pilot)
            pilot.app.clear_notifications()
            await pilot.pause()

        return snap_compare(app, terminal_size=terminal_size, run_before=then_without_toasts)

    return compare


@pytest.fixture
def cockpit(demo_store, tmp_path):
    return make_app(demo_store, tmp_path / "config")


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard(snap, cockpit, size):
    assert snap(cockpit, terminal_size=size, run_before=settle)


def test_lineage(snap, cockpit):
    async def open_lineage(pilot):
        await settle(pilot)
        pilot.app.navigator.open_lineage("win_rate")
        await settle(pilot)

    assert snap(cockpit, terminal_size=(120, 40), run_before=open_lineage)


def test_lineage_narrow(snap, cockpit):
    async def drill(pilot):
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)

    assert snap(cockpit, terminal_size=(80, 24), run_before=drill)


def test_why_pane(snap, cockpit):
    async def why(pilot):
        await settle(pilot)
        pilot.app.navigator.open_lineage("revenue_growth")
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)

    assert snap(cockpit, terminal_size=(120, 40), run_before=why)


def test_help(snap, cockpit):
    async def show_help(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap(cockpit, terminal_size=(120, 40), run_before=show_help)


@pytest.mark.parametrize("theme", ["intelligentos-light", "intelligentos-contrast"])
def test_themes(snap, demo_store, tmp_path, theme):
    app = make_app(demo_store, tmp_path / "config", theme_name=theme)
    assert snap(app, terminal_size=(120, 40), run_before=settle)


def test_scenario(snap, cockpit):
    async def what_if(pilot):
        await settle(pilot)
        pilot.app.navigator.scenario("win_rate")
        await settle(pilot)
        await pilot.press(*"3, mql_to_sql=20", "enter")
        await settle(pilot)

    assert snap(cockpit, terminal_size=(120, 40), run_before=what_if)


@pytest.mark.parametrize("key", ["M", "P", "G"], ids=["strategy_map", "pyramid", "agents"])
def test_view(snap, cockpit, key):
    async def open_view(pilot):
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)

    assert snap(cockpit, terminal_size=(120, 40), run_before=open_view)


def test_okr(snap, demo_store, tmp_path):
    # Two reliable forecasts reaching the end of 2027Q1, the other KPIs without numbers.
    store_weekly_forecast(demo_store, "win_rate", 31.0, 29.0, 33.0)
    store_weekly_forecast(demo_store, "pipeline_coverage", 2.9, 2.5, 3.4)
    app = make_app(demo_store, tmp_path / "config")

    async def open_okr(pilot):
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)

    assert snap(app, terminal_size=(120, 40), run_before=open_okr)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_alerts(snap, cockpit, size):
    async def open_incidents(pilot):
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("right")  # the first incident, expanded to its alerts
        await settle(pilot)

    assert snap(cockpit, terminal_size=size, run_before=open_incidents)
