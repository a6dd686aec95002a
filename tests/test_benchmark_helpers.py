"""The benchmark's own helpers (benchmarks/run.py): a store is copied whole, as SQLite sees
it, and a child process it starts leaves nothing running behind it."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import run  # benchmarks/run.py

ROWS = 300  # rows written after the last checkpoint: they are only in the log


def wal_store(path: Path) -> sqlite3.Connection:
    """A store in WAL mode whose last ROWS rows are still only in its write-ahead log: the
    connection stays open (closing the last one would checkpoint) and never checkpoints."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE observations (id INTEGER PRIMARY KEY, value TEXT)")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the table is in the file itself
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO observations (value) VALUES (?)", ((f"{i:04d}" * 64,) for i in range(ROWS))
    )
    conn.execute("COMMIT")
    return conn


def count(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0])


def test_a_copy_of_a_store_holds_what_is_still_in_its_write_ahead_log(tmp_path):
    source = tmp_path / "store.db"
    writer = wal_store(source)
    try:
        assert Path(f"{source}-wal").stat().st_size > 0  # frames not checkpointed
        # The file's bytes alone have the table but none of the rows.
        by_bytes = tmp_path / "bytes.db"
        by_bytes.write_bytes(source.read_bytes())
        assert count(by_bytes) == 0
        copy = tmp_path / "copy.db"
        run.copy_store(source, copy)
        assert count(copy) == ROWS
        with contextlib.closing(sqlite3.connect(copy)) as conn:
            (last,) = conn.execute(
                "SELECT value FROM observations WHERE id = ?", (ROWS,)
            ).fetchone()
        assert last == f"{ROWS - 1:04d}" * 64
        # The source is as it was: still readable, its log still there, not checkpointed.
        assert count(source) == ROWS
        assert Path(f"{source}-wal").stat().st_size > 0
    finally:
        writer.close()


def gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie waiting for its reaper counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def wait_until(condition, what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {limit:.0f} s")
        time.sleep(0.01)


# A child that starts a grandchild, writes the grandchild's pid, and waits forever.
PARENT = """
import subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
with open(sys.argv[1] + ".tmp", "w") as out:
    out.write(str(grandchild.pid))
import os; os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(3600)
"""


def test_a_child_that_fails_in_the_benchmark_leaves_nothing_running(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    argv = [sys.executable, "-c", PARENT, str(pid_file)]
    with pytest.raises(RuntimeError, match="measurement failed"), run.child(argv) as process:
        wait_until(pid_file.exists, "the child did not start its grandchild")
        grandchild = int(pid_file.read_text())
        raise RuntimeError("the measurement failed")
    assert process.returncode is not None  # reaped
    assert os.getpgid(os.getpid()) != process.pid  # it had a group of its own
    wait_until(lambda: gone(grandchild), "the grandchild still runs")


@pytest.mark.slow  # waits out a 5-second timeout of a real process tree
def test_a_child_that_runs_over_its_time_is_killed_with_its_group(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    with pytest.raises(subprocess.TimeoutExpired):
        # The child never ends by itself; the timeout leaves it ample time to start its
        # grandchild first.
        run.run_child([sys.executable, "-c", PARENT, str(pid_file)], timeout=5)
    assert pid_file.exists(), "the child had not started its grandchild in 5 s"
    grandchild = int(pid_file.read_text())
    wait_until(lambda: gone(grandchild), "the grandchild still runs")
