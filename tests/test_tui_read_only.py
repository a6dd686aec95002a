"""A store the cockpit cannot write: the header says read-only, and every write action
(acknowledge, snooze, save or delete a scenario) is refused before it asks for anything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from intelligentos.services.check import evaluate_store
from intelligentos.store import Store
from intelligentos.store import store as store_module
from intelligentos.tui.screens.dialogs import PromptDialog
from intelligentos.tui.screens.whatif import ScenarioScreen
from intelligentos.tui.widgets.header import CockpitHeader
from intelligentos.tui.widgets.kpi_table import KpiTable

from .stores import overwrite, settled_copy
from .tui_helpers import FIXED_NOW, make_app, open_alerts, select_alert, settle

REFUSAL = "read-only: nothing can be saved"


def header(app) -> str:
    return app.screen.query_one(CockpitHeader).render().plain


def messages(app) -> list[str]:
    return [n.message for n in app.notices]


@pytest.fixture
def read_only_store(demo_store: Path, monkeypatch) -> Path:
    """The demo store with its alerts evaluated, then without write permission for this
    process (as a file of another user would be; the suite may run as root, whom file
    modes do not stop, so the permission check itself answers no)."""
    with Store.open(demo_store) as store:
        evaluate_store(store, store.read_catalog(), FIXED_NOW)
    real_access = os.access

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and Path(path).resolve() == demo_store.resolve():
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(store_module.os, "access", access)
    return demo_store


def store_events(path: Path) -> int:
    with Store.open(path, readonly=True) as store:
        return len(store.alert_events())


async def test_the_header_says_read_only_and_ack_is_refused_before_the_note(
    read_only_store, tmp_path
):
    before = store_events(read_only_store)
    app = make_app(read_only_store, tmp_path / "config")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.services.store is not None and app.services.store.readonly
        assert "read-only" in header(app), header(app)
        # The alerts are shown (evaluated for display only) and can be selected.
        assert app.data is not None and app.data.attention
        app.screen.query_one("#table-growth", KpiTable).focus()
        await pilot.press("A")
        await settle(pilot)
        assert not isinstance(app.screen, PromptDialog)
        assert f"Not acknowledged: {read_only_store.name} is {REFUSAL}." in messages(app)

        screen = await open_alerts(pilot)
        await select_alert(pilot, app.data.attention[0].id)
        await pilot.press("s")
        await settle(pilot)
        assert app.screen is screen
        assert f"Not snoozed: {read_only_store.name} is {REFUSAL}." in messages(app)
    assert store_events(read_only_store) == before


async def test_a_scenario_is_not_offered_a_name_on_a_read_only_store(read_only_store, tmp_path):
    app = make_app(read_only_store, tmp_path / "config")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.navigator.scenario("win_rate")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ScenarioScreen)
        screen.query_one("#scenario-levers", Input).value = "win_rate+=3"
        await pilot.press("enter")
        await settle(pilot)
        screen.query_one("#scenario-levers", Input).blur()
        await pilot.press("s")
        await settle(pilot)
        assert app.screen is screen
        said = str(screen.query_one("#scenario-message", Static).render())
        assert f"Not saved: {read_only_store.name} is {REFUSAL}." in said


async def test_a_store_found_damaged_turns_read_only_in_the_header(demo_store, tmp_path):
    """The cockpit's integrity pass finds the damage: from then on the store is read-only,
    and the header says so, whatever the width."""
    damaged = settled_copy(demo_store, tmp_path / "damaged.db")
    # A page a third into the file: old observations, so the cockpit still starts on it.
    middle = damaged.stat().st_size // 3 // 4096 * 4096
    overwrite(damaged, middle, b"\xde\xad\xbe\xef" * 1024)
    app = make_app(damaged, tmp_path / "config")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for _ in range(50):
            if app.read_only:
                break
            await pilot.pause(0.1)
        await settle(pilot)
        assert "read-only" in header(app), header(app)
        assert any("is damaged" in m for m in messages(app))
