"""Another process holds the store's write lock: readers go on, the cockpit stays correct,
and quitting never waits for the lock."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from intelligentos.store import Store, StoreError
from intelligentos.tui.screens.lineage import LineageScreen, LineageTree

from .processes import communicate, running
from .tui_helpers import make_app

HOLD_WRITE_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()  # hold it until the test closes our stdin
"""


@pytest.fixture
def write_locked(demo_store: Path) -> Iterator[Path]:
    """The demo store while another process holds its write lock."""
    Store.open(demo_store).close()  # in WAL mode before the other process locks it
    with running(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(demo_store)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield demo_store
        communicate(holder, timeout=30)  # it ends when its stdin closes


def test_readers_go_on_while_a_writer_waits_and_closing_ends_the_wait(write_locked):
    store = Store.open(write_locked)
    assert not store.writer_busy
    outcome: list[BaseException | None] = []

    def write() -> None:
        try:
            with store.transaction():
                pass
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    deadline = time.monotonic() + 5
    while not store.writer_busy and time.monotonic() < deadline:
        time.sleep(0.01)  # until the writer has started waiting for the other process
    assert writer.is_alive() and store.writer_busy
    windows = store.latest_windows(30)  # another thread's read is not held up by the wait:
    assert writer.is_alive()  # it came back while the writer still waits
    assert len(windows["uptime"]) == 30
    store.close()
    # The writer would wait a minute for the other process; closing ends the wait at once.
    writer.join(timeout=30)
    assert not writer.is_alive()
    assert isinstance(outcome[0], StoreError) and "closed" in str(outcome[0])


async def test_cockpit_drills_correctly_and_quits_at_once_while_the_store_is_locked(
    write_locked, tmp_path
):
    app = make_app(write_locked, tmp_path / "config")
    async with app.run_test(size=(120, 40)) as pilot:
        # The values are read and painted; the rules wait for the lock in the background.
        # Until the lineage screen is prewarmed (its chart module imported, the screen
        # pushed and popped): a key pressed meanwhile would go to the hidden screen.
        for _ in range(100):
            prewarming = any(w.group == "prewarm" and not w.is_finished for w in app.workers)
            if app.data is not None and app.navigator.lineage_screen is not None and not prewarming:
                break
            await pilot.pause(0.05)
        assert app.data is not None and not app.data.evaluated
        refresh = [w for w in app.workers if w.group == "refresh" and w.is_running]
        assert refresh, "the evaluation should be waiting for the write lock"

        await pilot.press("enter")  # drill into the first KPI of the first panel
        for _ in range(100):
            if isinstance(app.screen, LineageScreen) and app.screen.history_kpi:
                break
            await pilot.pause(0.05)
        screen = app.screen
        assert isinstance(screen, LineageScreen)
        first = screen.kpi_id
        assert screen.history_kpi == first
        # Move down to its CEO KPI (first under "Rolls up to"): details and chart follow.
        tree = screen.query_one(LineageTree)
        ceo = app.data.graph.ceo_kpi_of(first).id
        assert ceo is not None and ceo != first
        for _ in range(20):
            node = tree.cursor_node
            if node is not None and node.data is not None and node.data.id == ceo:
                break
            await pilot.press("down")
        assert tree.cursor_node is not None and tree.cursor_node.data.id == ceo
        for _ in range(100):
            if screen.history_kpi == ceo:
                break
            await pilot.pause(0.05)
        assert screen.history_kpi == ceo
        title = str(screen.query_one("#chart-title").render())
        key = str(screen.query_one("#chart-key").render())
        target = app.data.catalog.kpis[ceo].target
        assert "History" in title and f"target {target:g}"[:9] in key

        await pilot.press("q")
        # The other process holds the lock throughout (a minute's patience for a writer):
        # the workers end long before, or quitting waited for the lock.
        deadline = time.monotonic() + 30
        while any(w.is_running for w in app.workers) and time.monotonic() < deadline:
            await pilot.pause(0.01)
        assert not any(w.is_running for w in app.workers), "quitting waited for the lock"
