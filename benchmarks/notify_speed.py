"""``ack`` and ``unack`` while a notification sink hangs, as a person runs them: each command
in a fresh process, timed from outside (spawn to exit), against the same commands with no
sink configured, run in turn with them.

The sink is a webhook on this machine that accepts the connection, reads the request and never
answers (until the benchmark ends). Every ``ack`` of an incident's firing alert makes an
"acknowledge" notice for it and every ``unack`` a "firing again" one, so each command has a
delivery to attempt. A command waits at most a second for its deliveries (what is left stays
queued in the store for ``notify run`` or the cockpit): the target is the figure without a sink
plus one second.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from statistics import median
from typing import Any

RunChild = Callable[..., tuple[int, bytes, bytes]]
MakeFigure = Callable[..., Any]
CopyStore = Callable[[Path, Path], None]

BUDGET_MS = 1000.0  # what a command may wait for its deliveries


@contextmanager
def hanging_webhook() -> Iterator[str]:
    """A webhook URL whose server reads each request and answers only when the block ends."""
    released = threading.Event()

    class Hang(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            released.wait(120)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hang)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        released.set()
        server.shutdown()
        server.server_close()


def _config(directory: Path, webhook: str | None) -> dict[str, str]:
    """A config directory (with the hanging sink, or none) and the environment naming it."""
    directory.mkdir(parents=True, exist_ok=True)
    sink = f'[[notify]]\nwebhook = "{webhook}"\nformat = "slack"\ndemo = true\n'
    (directory / "config.toml").write_text(sink if webhook else "", encoding="utf-8")
    return {
        **os.environ,
        "INTELLIGENTOS_CONFIG_DIR": str(directory),
        "INTELLIGENTOS_STATE_DIR": str(directory / "state"),
    }


def _firing(store: Path) -> int:
    """An open incident with a firing alert."""
    with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as conn:
        row = conn.execute(
            "SELECT incident_id FROM alerts WHERE state = 'firing' AND incident_id IS NOT NULL "
            "ORDER BY incident_id LIMIT 1"
        ).fetchone()
    if row is None:
        raise RuntimeError(f"{store} has no firing incident to acknowledge")
    return int(row[0])


def _timed(run_child: RunChild, argv: Sequence[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    status, _, err = run_child(list(argv), timeout=120, env=env)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"{argv[3]} exited {status}:\n{err.decode(errors='replace')}")
    return elapsed * 1000


def measure_notify(
    store: Path,
    scratch: Path,
    reps: int,
    label: str,
    *,
    run_child: RunChild,
    copy_store: CopyStore,
    figure: MakeFigure,
    named: Callable[..., str],
) -> list[Any]:
    """The figures: ``ack --incident`` and ``unack --incident`` with a hanging sink, each
    against the same command without a sink."""
    copy = scratch / f"{label}-notify.db"
    copy_store(store, copy)
    cli = [sys.executable, "-m", "intelligentos"]
    with hanging_webhook() as url:
        quiet = _config(scratch / f"{label}-quiet", None)
        incident = ["--incident", str(_firing(copy)), "--db", str(copy), "--note", "benchmark"]
        ack = [*cli, "ack", *incident]
        unack = [*cli, "unack", *incident]
        _timed(run_child, ack, quiet)  # untimed: bytecode, page cache
        _timed(run_child, unack, quiet)
        times: dict[str, list[float]] = {"ack": [], "unack": [], "ack0": [], "unack0": []}
        for run in range(max(reps, 5)):
            hanging = _config(scratch / f"{label}-hanging-{run}", f"{url}?run={run}")
            times["ack"].append(_timed(run_child, ack, hanging))
            times["unack"].append(_timed(run_child, unack, hanging))
            times["ack0"].append(_timed(run_child, ack, quiet))
            times["unack0"].append(_timed(run_child, unack, quiet))
    copy.unlink()
    figures = []
    for command in ("ack", "unack"):
        floor = times[f"{command}0"]
        figures.append(
            figure(
                named(
                    f"{command} --incident with a sink that never answers",
                    "command, from outside",
                ),
                label,
                times[command],
                "ms",
                f"≤ no sink + {BUDGET_MS:.0f} ms",
                floor,
                absolute_target=median(floor) + BUDGET_MS,
            )
        )
    return figures
