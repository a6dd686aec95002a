"""Real processes: concurrent imports and acknowledgements, and SIGKILL in the middle of an
import. Nothing is lost, "database is locked" never reaches the user, and a killed import
leaves either none or all of its rows."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from intelligentos.store import Store

from .processes import communicate, kill_group, popen, run
from .stores import copy_store

CLI = [sys.executable, "-m", "intelligentos"]
IMPORT_KPIS = ("mrr", "win_rate", "activation_rate", "at_risk_arr")


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def write_csv(path: Path, kpis: tuple[str, ...], rows: int, start: date) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("kpi_id,period,value,source\n")
        for i in range(rows):
            day = (start + timedelta(days=i // len(kpis))).isoformat()
            # Plausible for every unit (a percentage stays under 10,000 %).
            handle.write(f"{kpis[i % len(kpis)]},{day},{(i % 20_000) * 0.5},{path.stem}\n")
    return path


@pytest.fixture
def store(demo_store: Path) -> Path:
    Store.open(demo_store).close()  # first open switches the fresh file to WAL
    return demo_store


def test_concurrent_imports_and_acknowledgements_lose_nothing(store, tmp_path):
    checked = run([*CLI, "check", "--db", str(store)], capture_output=True, text=True, timeout=120)
    assert checked.returncode in (0, 1), checked.stderr
    firing = [
        i for (i,) in query(store, "SELECT id FROM alerts WHERE state = 'firing' ORDER BY id")
    ]
    assert len(firing) >= 6, firing
    ack_plan = {"p1": firing[0:6:2], "p2": firing[1:6:2]}  # different alerts per user

    files = [
        write_csv(tmp_path / f"import{n}.csv", (kpi,), 2_000, date(2030 + 6 * n, 1, 1))
        for n, kpi in enumerate(IMPORT_KPIS)
    ]
    results: list[tuple[str, subprocess.CompletedProcess]] = []
    lock = threading.Lock()

    def run_one(label: str, args: list[str]) -> None:
        done = run([*CLI, *args, "--db", str(store)], capture_output=True, text=True, timeout=120)
        with lock:
            results.append((label, done))

    def acknowledger(user: str, ids: list[int]) -> None:
        for alert_id in ids:
            run_one(
                f"ack {alert_id} by {user}",
                ["ack", str(alert_id), "--note", f"{user} owns it", "--user", user],
            )

    threads = [
        threading.Thread(target=run_one, args=(f"import {f.name}", ["import", str(f)]))
        for f in files
    ] + [threading.Thread(target=acknowledger, args=item) for item in ack_plan.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == len(files) + sum(map(len, ack_plan.values()))
    for label, done in results:
        assert done.returncode == 0, (label, done.stdout, done.stderr)
        text = (done.stdout + done.stderr).lower()
        assert "database is locked" not in text and "traceback" not in text, (label, text)
        if label.startswith("import"):
            assert "2,000 were inserted" in done.stdout, (label, done.stdout)

    for n, kpi in enumerate(IMPORT_KPIS):
        rows = query(
            store,
            "SELECT count(*) FROM observations WHERE kpi_id = ? AND source = ?",
            (kpi, f"import{n}"),
        )
        assert rows == [(2_000,)], (kpi, rows)
    for user, ids in ack_plan.items():
        for alert_id in ids:
            state = query(
                store, "SELECT state, acked_by, ack_note FROM alerts WHERE id = ?", (alert_id,)
            )
            assert state == [("acknowledged", user, f"{user} owns it")], (alert_id, state)
            events = query(
                store,
                "SELECT count(*) FROM alert_events WHERE alert_id = ? AND actor = ? "
                "AND to_state = 'acknowledged'",
                (alert_id, user),
            )
            assert events == [(1,)], (alert_id, events)
    assert query(store, "PRAGMA integrity_check") == [("ok",)]


# --- crash safety --------------------------------------------------------------------------

CRASH_ROWS = 300_000


def rows_of_the_import(db: Path) -> int:
    return query(db, "SELECT count(*) FROM observations WHERE source = 'crash'")[0][0]


@pytest.mark.slow  # seven imports of 300,000 rows, six of them killed part way
def test_sigkill_during_a_large_import_leaves_none_or_all_rows(store, tmp_path):
    big = write_csv(tmp_path / "crash.csv", IMPORT_KPIS, CRASH_ROWS, date(2100, 1, 1))

    def trial(name: str, kill_after: float | None) -> tuple[str, float, int, str, int]:
        db = copy_store(store, tmp_path / f"{name}.db")
        process = popen(
            [*CLI, "import", str(big), "--db", str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started = time.monotonic()
        if kill_after is None:
            communicate(process, timeout=300)
        else:
            try:
                process.communicate(timeout=kill_after)
            except subprocess.TimeoutExpired:
                kill_group(process)  # SIGKILL, mid-import
                process.communicate()
        elapsed = time.monotonic() - started
        integrity = query(db, "PRAGMA integrity_check")[0][0]
        return name, elapsed, rows_of_the_import(db), integrity, process.returncode

    outcomes = [trial("complete", None)]
    full = outcomes[0][1]
    assert outcomes[0][2] == CRASH_ROWS and outcomes[0][4] == 0, outcomes
    moments = [0.2, 0.6, 1.0, 1.5, 0.85 * full, 0.95 * full]  # the last two aim at the merge
    outcomes += [trial(f"kill_at_{m:.2f}s", m) for m in moments]

    report = "\n".join(
        f"{name}: ran {elapsed:.2f} s, exit {code}, {rows:,} rows, integrity {ok}"
        for name, elapsed, rows, ok, code in outcomes
    )
    for _name, _elapsed, rows, integrity, _code in outcomes:
        assert integrity == "ok", report
        assert rows in (0, CRASH_ROWS), report
    killed = [o for o in outcomes[1:] if o[4] == -signal.SIGKILL]
    assert killed, "no trial was killed before it finished:\n" + report

    # A killed import leaves nothing locked behind: the next import goes through.
    last = tmp_path / f"{outcomes[-1][0]}.db"
    small = write_csv(tmp_path / "after.csv", ("mrr",), 10, date(2200, 1, 1))
    again = run(
        [*CLI, "import", str(small), "--db", str(last)], capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    print(report)
