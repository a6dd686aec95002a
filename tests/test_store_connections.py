"""The store's connections: every one it opens is closed, by its thread's end or by
:meth:`Store.close`, whatever the garbage collector does; and a store left behind by a
process that has closed it cannot be corrupted by what happens to its file afterwards."""

from __future__ import annotations

import gc
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from intelligentos.domain.observations import Observation
from intelligentos.store import Store, StoreError

from .stores import copy_store, open_descriptors

CHILD_TIMEOUT = 120


def run_child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A Python child in its own session, killed with its group if it overruns."""
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@pytest.fixture
def no_gc() -> Iterator[None]:
    """As in the cockpit, which turns the cyclic collector off and freezes what it has."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_on_a_thread(store: Store) -> None:
    thread = threading.Thread(target=store.forecast_bases)
    thread.start()
    thread.join()


def test_a_finished_thread_closes_its_reader_without_the_garbage_collector(demo_store, no_gc):
    with Store.open(demo_store) as store:
        store.upsert_observations([Observation("uptime", "2030-01-01", 99.0, "test")])
        read_on_a_thread(store)
        # SQLite may keep a closed connection's descriptor of the file for its next
        # connection (closing it would drop the locks of the others): count after one.
        after_one = len(open_descriptors(demo_store))
        for _ in range(5):
            read_on_a_thread(store)
        # Had the ended threads' connections stayed open, each would hold the file.
        assert len(open_descriptors(demo_store)) == after_one
    assert open_descriptors(demo_store) == []


def test_close_closes_the_readers_of_threads_still_running(demo_store, no_gc):
    store = Store.open(demo_store)
    opened = threading.Event()
    go_on = threading.Event()
    outcome: list[BaseException | None] = []

    def hold() -> None:
        store.forecast_bases()
        opened.set()
        go_on.wait(timeout=CHILD_TIMEOUT)
        try:
            store.forecast_bases()
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=hold)
    thread.start()
    assert opened.wait(timeout=CHILD_TIMEOUT)
    store.close()
    assert open_descriptors(demo_store) == []
    go_on.set()
    thread.join()
    assert isinstance(outcome[0], StoreError) and "closed" in str(outcome[0])


CLOSE_WHILE_READING = """
import sys, threading
from intelligentos.store import Store, StoreError

QUERY = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
QUERY += "SELECT count(*) AS c FROM n"
for attempt in range(int(sys.argv[2])):
    store = Store.open(sys.argv[1], readonly=True)
    reading = threading.Event()

    def read():
        try:
            while True:
                store.query(QUERY)
                reading.set()
        except StoreError:
            reading.set()

    thread = threading.Thread(target=read)
    thread.start()
    reading.wait()
    store.close()
    thread.join()
print("ok")
"""


def test_closing_a_store_while_another_thread_reads_it_is_safe(demo_store):
    """Closing a connection while another thread is inside a statement on it crashes
    CPython 3.11 (the connection's handle is read again as the statement returns); the
    store closes a reader only when its user is out of it. A child process does it many
    times: a crash there is a failed test, not a lost test run."""
    Store.open(demo_store).close()
    result = run_child(CLOSE_WHILE_READING, str(demo_store), "200")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


CHILD_WRITES_AND_CLOSES = """
import sys
from datetime import date, timedelta
from intelligentos.domain.observations import Observation
from intelligentos.store import Store

first = date(int(sys.argv[3]), 1, 1)
with Store.open(sys.argv[1]) as store:
    store.upsert_observations(
        Observation(kpi, (first + timedelta(days=day)).isoformat(), day * 0.5, sys.argv[2])
        for kpi in ("uptime", "mrr", "win_rate", "activation_rate")
        for day in range(1000)
    )
"""

INTEGRITY = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
print(conn.execute("PRAGMA integrity_check").fetchone()[0])
print(conn.execute("SELECT count(*) FROM observations WHERE source LIKE 'child%'")
      .fetchone()[0])
conn.close()
"""


def test_a_closed_store_stays_intact_whatever_happens_to_its_file(demo_store, tmp_path, no_gc):
    """How a benchmark once damaged a store. A process reads a store on a thread that ends
    and closes the store; if a connection were left open, reading the file's bytes (which
    drops every POSIX lock this process holds on it) would let another process believe it
    is the last user: it checkpoints and deletes the WAL and its index, and this process's
    next connection reads through the frozen index of the one left open, and writes a file
    that is then damaged for everyone."""
    with Store.open(demo_store) as store:
        store.upsert_observations(
            [Observation("uptime", f"2030-01-{day:02d}", 95.0, "parent") for day in range(1, 29)]
        )
        read_on_a_thread(store)
    assert open_descriptors(demo_store) == []

    # The hazard guarded against: this process opening and closing the file by another
    # descriptor (as a byte copy does) drops every POSIX lock the process holds on it.
    with demo_store.open("rb"):
        pass
    for child, year in (("child1", "2040"), ("child2", "2050")):
        # The first child's closing deletes the WAL and its index; the second makes new
        # ones, and grows the file.
        result = run_child(CHILD_WRITES_AND_CLOSES, str(demo_store), child, year)
        assert result.returncode == 0, result.stderr[-2000:]
        assert not Path(f"{demo_store}-wal").exists()  # each child was the last user, rightly

    with Store.open(demo_store) as store:
        assert store.history("uptime")[-1] == ("2052-09-26", 499.5)
        store.upsert_observations([Observation("uptime", "2060-01-01", 97.0, "parent")])
        assert store.history("uptime")[-1] == ("2060-01-01", 97.0)
    check = run_child(INTEGRITY, str(demo_store))
    assert check.returncode == 0, check.stderr[-2000:]
    assert check.stdout.split() == ["ok", str(2 * 4 * 1000)]


def test_the_suites_copies_hold_what_is_still_in_the_wal(demo_store, tmp_path):
    with Store.open(demo_store) as store:
        store.upsert_observations([Observation("uptime", "2032-03-01", 42.5, "wal-only")])
        assert Path(f"{demo_store}-wal").stat().st_size > 0  # not yet in the main file
        copied = copy_store(demo_store, tmp_path / "copy.db")
        expected = store.table_counts()
    assert copied == tmp_path / "copy.db"
    assert not Path(f"{copied}-wal").exists()
    conn = sqlite3.connect(copied)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        row = conn.execute(
            "SELECT value FROM observations WHERE source = 'wal-only' AND period = '2032-03-01'"
        ).fetchone()
    finally:
        conn.close()
    assert row == (42.5,)
    with Store.open(copied) as copy:
        assert copy.table_counts() == expected
