"""Helpers for driving the cockpit in tests: a fixed clock and waiting for workers."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from textual.pilot import Pilot

from intelligentos.domain.clock import stamp
from intelligentos.domain.forecast import Backtest, Forecast, ForecastPoint
from intelligentos.store import Store
from intelligentos.tui.app import CockpitApp

from .processes import run

__all__ = [
    "FIXED_NOW",
    "Notice",
    "RecordingCockpit",
    "fixed_clock",
    "insert_from_another_process",
    "make_app",
    "open_alerts",
    "select_alert",
    "settle",
    "store_weekly_forecast",
]

FIXED_NOW = datetime(2026, 11, 27, 9, 30, 0)


def fixed_clock() -> datetime:
    return FIXED_NOW


async def settle(pilot: Pilot) -> None:
    """Wait for every worker but the store watcher (it lives as long as the app)."""
    for _ in range(3):
        busy = [w for w in pilot.app.workers if w.group != "watch"]
        if busy:  # an empty list would mean "wait for every worker"
            await pilot.app.workers.wait_for_complete(busy)
        await pilot.pause()


@dataclass(frozen=True)
class Notice:
    """A notification the cockpit showed."""

    message: str
    title: str
    severity: str


class RecordingCockpit(CockpitApp):
    """The cockpit, keeping every notification it shows in :attr:`notices` (Textual keeps
    only the ones still on screen, and not publicly): a toast goes away after a few seconds,
    a test may look after that."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.notices: list[Notice] = []

    def notify(self, message: str, *, title: str = "", severity="information", **options) -> None:
        self.notices.append(Notice(str(message), title, severity))
        super().notify(message, title=title, severity=severity, **options)


def store_weekly_forecast(path: Path, kpi_id: str, mean: float, lo80: float, hi80: float) -> None:
    """A reliable weekly forecast of ``kpi_id`` from its latest observation, 20 weeks on (past
    the end of 2027Q1), every point with the same mean and 80 % interval."""
    with Store.open(path) as store:
        based_on = store.history(kpi_id, 1)[0][0]
        start = date.fromisoformat(based_on[:10])
        points = tuple(
            ForecastPoint(
                (start + timedelta(weeks=i)).isoformat(), mean, lo80, hi80, lo80 - 1, hi80 + 1
            )
            for i in range(1, 21)
        )
        forecast = Forecast(
            kpi_id,
            "ets",
            True,
            len(points),
            None,
            based_on,
            points,
            Backtest(4, 0.6, 0.8, {"ets": 0.6}),
            "beats seasonal naive by 40 %",
        )
        store.save_forecasts([forecast], stamp(FIXED_NOW))


def make_app(store: Path, config: Path, **kwargs) -> RecordingCockpit:
    """The cockpit on a fixed clock (``clock=`` for another), recording its notifications.
    Background forecasting is off unless asked for (``forecasts=True``): forecasts a test
    needs are stored by the test."""
    kwargs.setdefault("forecasts", False)
    kwargs.setdefault("clock", fixed_clock)
    app = RecordingCockpit(store, config_path=config, user="tester", **kwargs)
    app.animation_level = "none"  # steady highlights: deterministic frames
    return app


_INSERT = """
import json, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=10)
conn.executemany(
    "INSERT INTO observations (kpi_id, period, value, source) VALUES (?, ?, ?, 'other-process')",
    json.loads(sys.argv[2]),
)
conn.commit()
"""


def insert_from_another_process(store: Path, rows: list[tuple[str, str, float]]) -> None:
    """Observations (kpi_id, period, value) committed by a separate process, as a cron job or
    `sqlite-utils insert` would."""
    run([sys.executable, "-c", _INSERT, str(store), json.dumps(rows)], check=True, timeout=60)


async def open_alerts(pilot):
    """Press `a` on a settled cockpit: the alerts screen, shown."""
    from intelligentos.tui.screens.alerts import AlertsScreen

    await settle(pilot)
    await pilot.press("a")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, AlertsScreen)
    return screen


async def select_alert(pilot, alert_id: int | None) -> None:
    """Move the alerts table's cursor to one alert, expanding its incident (→) first when
    its alerts are not shown."""
    from textual.widgets import DataTable

    from intelligentos.tui.widgets.incident_table import incident_key

    screen = pilot.app.screen
    table = screen.query_one(DataTable)
    if str(alert_id) not in table.rows:
        incident = next(i for i in screen.incidents if any(a.id == alert_id for a in i.alerts))
        table.move_cursor(row=table.get_row_index(incident_key(incident)), animate=False)
        await pilot.pause()
        await pilot.press("right")
        await wait_until(pilot, lambda: str(alert_id) in table.rows)
    table.move_cursor(row=table.get_row_index(str(alert_id)), animate=False)
    await pilot.pause()


async def wait_until(pilot, condition, *, timeout: float = 10.0) -> None:
    """Pause until ``condition()`` holds, or fail after ``timeout`` seconds: on a loaded
    machine the pilot can see the app idle before a pressed key has been handled."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {condition}")
        await pilot.pause(0.02)


def header_text(app) -> str:
    """What the cockpit's header says on the screen shown (its counts)."""
    from intelligentos.tui.widgets.header import CockpitHeader

    return app.screen.query_one(CockpitHeader).render().plain
