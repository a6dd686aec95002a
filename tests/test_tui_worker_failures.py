"""Background work that fails never vanishes: the user is told what failed and why, and the
cockpit goes on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from intelligentos.domain.alerts import State
from intelligentos.store import Store, StoreError
from intelligentos.tui.screens.alerts import AlertsScreen
from intelligentos.tui.screens.dialogs import EventsDialog, PromptDialog

from .tui_helpers import make_app, open_alerts, settle

SIZE = (120, 40)


async def wait_for(pilot, condition, what: str) -> None:
    """Let the app run until ``condition()`` holds (a bounded number of turns)."""
    for _ in range(400):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


def toasts(app) -> list[tuple[str, str, str]]:
    return [(n.title, n.message, n.severity) for n in app.notices]


async def test_a_screen_worker_that_fails_is_reported_and_the_cockpit_goes_on(
    demo_store, tmp_path, monkeypatch
):
    real_events = Store.alert_events
    broken = True

    def alert_events(self: Store, alert_id: int | None = None):
        if broken:
            raise StoreError(f"{self.path} [bold]could not[/bold] be read (disk I/O error).")
        return real_events(self, alert_id)

    monkeypatch.setattr(Store, "alert_events", alert_events)
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        await pilot.press("e")
        failed = ("Reading the alert's history failed", "error")
        await wait_for(pilot, lambda: any((t[0], t[2]) == failed for t in toasts(app)), "the toast")
        message = next(t[1] for t in toasts(app) if (t[0], t[2]) == failed)
        # Literally, markup and all: the text is the user's (a path may hold brackets).
        assert message == f"{demo_store} [bold]could not[/bold] be read (disk I/O error)."
        assert app.screen is screen and app.is_running

        broken = False
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsDialog), "the events")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "back to the alerts")
        await pilot.press("ctrl+r")  # a refresh still runs to its end
        await settle(pilot)
        assert not app.refresher.running and app.data is not None


async def test_a_refresh_that_fails_unexpectedly_lets_the_next_one_run(
    demo_store, tmp_path, monkeypatch
):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls = []

        def check_integrity(self) -> str | None:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("the integrity check broke")
            return None

        monkeypatch.setattr(type(app.services), "check_integrity", check_integrity)
        await pilot.press("ctrl+r")
        await wait_for(
            pilot,
            lambda: (
                ("Refreshing the cockpit failed", "the integrity check broke", "error")
                in toasts(app)
            ),
            "the toast",
        )
        await wait_for(pilot, lambda: not app.refresher.running, "the refresh to end")
        await pilot.press("ctrl+r")
        await wait_for(
            pilot, lambda: len(calls) >= 2 and not app.refresher.running, "a new refresh"
        )


REFUSE_ACKNOWLEDGEMENTS = """
CREATE TRIGGER refuse_acknowledgements BEFORE UPDATE OF state ON alerts
WHEN NEW.state = 'acknowledged'
BEGIN SELECT RAISE(ABORT, 'simulated database failure'); END
"""


async def test_an_acknowledgement_that_meets_a_database_error_says_so(demo_store, tmp_path):
    """A real error from SQLite underneath (a trigger of the store refuses the change):
    the user is told it was not saved, and the alert stays as it was."""
    conn = sqlite3.connect(demo_store)
    conn.execute(REFUSE_ACKNOWLEDGEMENTS)
    conn.close()
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_alerts(pilot)
        assert isinstance(screen, AlertsScreen)
        first = screen.selected()
        assert first.state is State.FIRING
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptDialog), "the note dialog")
        await pilot.press(*"looking into it", "enter")
        await wait_for(pilot, lambda: any(t[0] == "Not saved" for t in toasts(app)), "the toast")
        message = next(t[1] for t in toasts(app) if t[0] == "Not saved")
        assert "simulated database failure" in message and str(demo_store) in message
        await settle(pilot)
        assert app.screen is screen and screen.selected().state is State.FIRING
    with Store.open(Path(demo_store)) as store:
        stored = store.alert(first.id)
    assert stored is not None and stored.state is State.FIRING and stored.ack_note is None


async def test_a_watcher_that_cannot_read_the_store_says_live_refresh_stopped(
    demo_store, tmp_path, monkeypatch
):
    app = make_app(demo_store, tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)

        def data_version(self: Store) -> int:
            raise StoreError(f"{self.path} could not be read (disk I/O error).")

        monkeypatch.setattr(Store, "data_version", data_version)
        await wait_for(
            pilot,
            lambda: any(t[0] == "Watching the store for changes failed" for t in toasts(app)),
            "the toast",
        )
        assert app.is_running
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AlertsScreen), "the alerts")
