"""Where the cockpit's start-up time goes: a timeline of one launch, phase by phase.

    python benchmarks/startup_phases.py --db STORE [--runs N]

Runs the real launcher (``python -m intelligentos --db STORE``) in a 120×40
pseudo-terminal, N times after an untimed one (Python's bytecode cached, as for an
installed cockpit), with timestamps taken inside the process at the boundaries of
each phase: interpreter up, Textual imported, the cockpit's own modules imported, the app
built, the store opened, the catalog and the values read (in the worker thread), the
dashboard composed and its values shown (on the event loop), the first paint with values
handed to the terminal, and then what start-up left for later (the validated settings,
the integrity check, the first evaluation). Each mark also carries the process's CPU time:
start-up is single-threaded in effect (Python's GIL), so CPU time is what a phase costs.

The marks wrap the cockpit's methods from outside (nothing in the product knows about
them); the medians of the phase lengths are printed. The figure a person sees, from the
terminal's side, is ``benchmarks/run.py``'s startup; this says where it goes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from terminal import Terminal  # benchmarks/, beside this file

HERE = Path(__file__).resolve().parent

# Run in the child: marks go to the file named by PHASES_OUT as JSON lines.
CHILD = r"""
import json, os, sys, threading, time

def process_start() -> float:
    # Seconds on the monotonic clock at which this process was exec'd.
    with open("/proc/self/stat") as stat:
        ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as uptime:
        up = float(uptime.read().split()[0])
    return time.monotonic() - (up - ticks / os.sysconf("SC_CLK_TCK"))

START = process_start()
MARKS = []

def mark(what):
    MARKS.append((what, time.monotonic() - START, time.process_time(),
                  threading.current_thread().name))

mark("interpreter up")
import textual.app  # noqa: E402
mark("Textual imported")
import intelligentos.launch as launch  # noqa: E402
from intelligentos.services.snapshots import DataService  # noqa: E402
from intelligentos.tui import app as cockpit  # noqa: E402
from intelligentos.tui.screens import dashboard  # noqa: E402
mark("cockpit modules imported")

def around(owner, name, before, after):
    original = getattr(owner, name)
    def wrapped(*args, **kwargs):
        if before:
            mark(before)
        result = original(*args, **kwargs)
        if after:
            mark(after)
        return result
    setattr(owner, name, wrapped)

around(cockpit.CockpitApp, "__init__", None, "app built")
around(DataService, "open", "store: open", "store: opened")
around(DataService, "read_catalog", None, "catalog read")
around(DataService, "read", None, "values read")
around(dashboard.DashboardScreen, "_show_data", "dashboard: laid out", "dashboard: values shown")
around(DataService, "check_integrity", "later: settings loaded", "later: integrity checked")
around(DataService, "evaluate_and_read", None, "later: first evaluation")

original_painted = cockpit.CockpitApp.values_painted
def painted(self):
    mark("first values painted")
    original_painted(self)
    def finish():
        if self.data is not None and self.data.evaluated:
            self.exit()
        else:
            self.set_timer(0.02, finish)
    finish()
cockpit.CockpitApp.values_painted = painted

sys.argv = ["intelligentos-tui", "--db", sys.argv[1]]
try:
    launch.main()
except SystemExit:
    pass
with open(os.environ["PHASES_OUT"], "w") as out:
    for what, wall, cpu, thread in MARKS:
        out.write(json.dumps({"what": what, "wall": wall, "cpu": cpu, "thread": thread}) + "\n")
"""


def one_launch(store: Path, bytecode: Path) -> list[dict]:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "phases.jsonl"
        environment: dict[str, str | None] = {
            "PYTHONDONTWRITEBYTECODE": None,
            # Bytecode cached (as an installed cockpit has it), not compiled on every launch.
            "PYTHONPYCACHEPREFIX": str(bytecode),
            "PHASES_OUT": str(out),
            "INTELLIGENTOS_CONFIG_DIR": str(Path(scratch) / "config"),
            "INTELLIGENTOS_STATE_DIR": str(Path(scratch) / "state"),
            "INTELLIGENTOS_COCKPIT__FORECASTS": "false",
        }
        # A real terminal of its own (its output emulated, then dropped), in a session of
        # its own: closing the terminal ends the launch and anything it started.
        terminal = Terminal([sys.executable, "-c", CHILD, str(store)], env=environment)
        try:
            status = terminal.process.wait(timeout=120)
        finally:
            terminal.close()
        if status != 0:
            terminal.catch_up()  # what it wrote, on the emulated screen
            raise RuntimeError(f"the launch exited {status}:\n{terminal.dump()}")
        return [json.loads(line) for line in out.read_text().splitlines()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="the KPI store")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the medians here")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as bytecode:
        one_launch(options.db, Path(bytecode))  # untimed: caches the bytecode
        runs = [one_launch(options.db, Path(bytecode)) for _ in range(options.runs)]
    names = list(dict.fromkeys(mark["what"] for mark in runs[0]))  # first of each
    print(f"{'phase ends':34} {'at (wall)':>10} {'phase':>8} {'CPU':>8}")
    rows = []
    previous_wall = previous_cpu = 0.0
    for name in names:
        found = [
            next(m for m in run if m["what"] == name)
            for run in runs
            if any(m["what"] == name for m in run)
        ]
        wall = statistics.median(m["wall"] for m in found) * 1000
        cpu = statistics.median(m["cpu"] for m in found) * 1000
        rows.append({"phase": name, "wall_ms": wall, "cpu_ms": cpu})
        print(
            f"{name:34} {wall:8.0f} ms {wall - previous_wall:5.0f} ms {cpu - previous_cpu:5.0f} ms"
        )
        previous_wall, previous_cpu = wall, cpu
    if options.json:
        options.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
