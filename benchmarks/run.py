"""Benchmarks of the cockpit on the demo store and an enterprise-scale store.

    python benchmarks/run.py [--json PATH] [--reps N] [--tiny]

Every figure with a floor is printed as a ratio against that floor, measured in the same
run, because absolute times on shared machines are noisy. ``--tiny`` runs everything on a
small store in a few seconds (the test suite does this so the benchmark never rots).

Start-up and drill-down are measured from outside, as a person sees them: the real
``intelligentos-tui`` command runs in a 120×40 pseudo-terminal, and every byte it writes
goes through a VT100 emulator (pyte, ``benchmarks/terminal.py``) whose screen is judged at
each whole frame (the emulated terminal supports synchronized output, so a frame the pty
delivers in pieces is never judged half drawn). What the screen must show is read from the
store (``benchmarks/screens.py``):

* *Start-up*: from spawning the command until the screen shows the whole dashboard with
  every panel's data: each engine panel's row count on its border ("484 KPIs"), each CEO
  card's status and value, and the selection card filled for the first row (its name and
  status, its value and change). The floor, a Textual app with one Static
  (``benchmarks/floor_app.py``), is timed the same way, run for run in turn with the
  cockpit (floor, cockpit, floor, …), after one untimed run of each (Python's bytecode
  cached in a scratch directory, as an installed cockpit has it; the cockpit's first
  evaluation stored). The figure is the ratio of the medians. A cockpit that comes up with
  no row selected (the selection card never filled) is run again, and counted.
* *Drill-down*: in a cockpit started the same way, once the dashboard is shown and the
  cockpit has settled (a second drawing nothing, under 10 % of a core), the three KPIs with
  the largest lineages, one after the other, each selected with the keys a person would
  press (the filter, or the CEO strip's arrows), then Enter: the time from writing the
  Enter until the screen shows the lineage screen whole: its tree, the KPI's details and
  its history chart (drawn once a worker has read the history; until then the pane still
  shows the chart of the KPI before). Escape goes back. The figure is over all of them;
  the largest lineage has its own (for reference: the tree alone, each other KPI, and the
  first drill-down of each process).
* *Memory*: the cockpit's peak resident memory (VmHWM), read from /proc from outside just
  before it is told to quit, after start-up and the drill-downs; during the catch-up, read
  while it forecasts until it quits.
* *Explain and recommend*: the ``explain`` and ``recommend`` commands for a CEO KPI, each in
  a fresh process timed from outside, against the floors of any command measured in turn
  with them (``python -c pass``, ``kpis --json``), and the service call alone timed inside a
  child process (``benchmarks/explain_speed.py``).
* *Proposing targets*: ``okr propose --json`` for the quarter after the store's last day, on a
  copy of the store where every KPI has a stored, reliable forecast reaching that quarter's
  end (synthetic, saved through the store: the figure times proposing, not forecasting), in
  a fresh process timed from outside against ``--help`` run in turn with it, and the service
  call alone in a child process (``benchmarks/okr_speed.py``).
* *Notifying*: ``ack --incident`` and ``unack --incident`` with a webhook sink that never
  answers, each in a fresh process timed from outside, against the same commands with no
  sink run in turn with them: the command waits less than a second for its sinks
  (``benchmarks/notify_speed.py``).
* *Live latency*: in a cockpit started the same way, another process writes a new value of
  a CEO KPI through the store and prints when its transaction committed; the time from
  that commit until the screen shows the CEO card with the new value.

Every child process (the cockpit, the commands, the writer) runs in a session of its own
and is killed with its whole process group on the way out, whatever happened. Stores are
copied with SQLite's backup API, never by their bytes (``copy_store``).

What only the inside can measure comes from ``benchmarks/probe.py``, a subclass of the app
run in a pseudo-terminal that watches it, and is labelled "in-app": idle CPU (its CPU time
over a window in the steady state) and, for reference, the start-up it reports itself (when
it has painted its first data, as the app sees it, not when a terminal shows it).

The cockpit keeps stored forecasts current in the background (``[cockpit] forecasts``). Its
figures are taken twice: *before* (the feature off, no forecasts stored: start-up,
drill-down, idle CPU, memory, live latency) and *after* (the feature on, once the
``forecast`` command has stored a current forecast for every KPI: start-up, drill-down,
idle CPU, memory). Between them, the *catch-up*: the feature on, no forecast stored, on a
copy of the store: the time until the cockpit has stored a forecast for every KPI (counted
from outside, read-only), the CPU of the cockpit's own process and of its forecast
processes meanwhile, its peak memory, then its idle CPU (in-app) once it has caught up.

Forecasting: the ``forecast`` command on every KPI of each store (a separate process, timed
from outside, its process tree's memory sampled from /proc), and the accuracy of the
product's forecasts, out of sample (each series' last points held out), on the demo store's
KPIs and on real public series (``benchmarks/forecast_accuracy.py``).

The command line's start: ``intelligentos-tui --db <store> kpis --json`` to a pipe, and
loading the command line alone, each from the spawn to its exit, against ``python -c pass``
as the floor, run for run in turn.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import fcntl
import json
import math
import os
import pty
import re
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Any, TypeVar

import explain_speed
import floor_app  # benchmarks/, beside this file
import forecast_accuracy
import notify_speed
import okr_speed
import screens
from terminal import ENTER, ESCAPE, ScreenTimeout, Terminal

from intelligentos.domain.lineage import LineageGraph
from intelligentos.services.bootstrap import init_store
from intelligentos.services.check import evaluate_store, evaluation_window
from intelligentos.store import Store

HERE = Path(__file__).resolve().parent
T = TypeVar("T")
# The stores end today, as a store fed every day does: a store that ended days ago would
# show most KPIs stale, and the panels' borders would count stale KPIs instead of their rows.
END = date.today()
NOW = datetime.combine(END, dt_time(9, 30))
COLUMNS, ROWS = 120, 40
# The cockpit's background forecasts, as its setting from the environment.
FORECASTS_SETTING = "INTELLIGENTOS_COCKPIT__FORECASTS"
OFF = "forecasts off"  # before: the feature off, no forecasts stored
ON = "forecasts on, current"  # after: the feature on, every stored forecast current
CATCH_UP_LIMIT = 600.0  # seconds the cockpit may take to forecast every KPI


@dataclass
class Scale:
    name: str
    kpis: int | None  # None: the built-in catalog
    days: int
    import_rows: int
    idle_seconds: float
    live_samples: int
    settle_seconds: float | None = None  # None: the cockpit's own flash period + 1 s
    accuracy: bool = False  # score the forecasts of this store's KPIs
    command_runs: int = 7  # runs of each command timed for the command's start


@dataclass
class Figure:
    name: str
    store: str
    samples: list[float]
    unit: str
    target: str
    floor: list[float] = field(default_factory=list)
    ratio_target: float | None = None  # measured / floor must be ≤ (or ≥ for rates)
    higher_is_better: bool = False
    absolute_target: float | None = None
    target_range: tuple[float, float] | None = None  # closed: low ≤ measured ≤ high
    reference: bool = False  # no target: shown for reference

    def __post_init__(self) -> None:
        if self.reference:
            self.target = "(reference)"

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def ratio(self) -> float | None:
        if not self.floor:
            return None
        return self.median / statistics.median(self.floor)

    @property
    def met(self) -> bool:
        if self.ratio_target is not None and self.ratio is not None:
            if self.higher_is_better:
                return self.ratio >= self.ratio_target
            return self.ratio <= self.ratio_target
        if self.absolute_target is not None:
            return self.median <= self.absolute_target
        if self.target_range is not None:
            low, high = self.target_range
            return low <= self.median <= high
        return True

    def as_dict(self) -> dict:
        return {
            "figure": self.name,
            "store": self.store,
            "unit": self.unit,
            "median": self.median,
            "samples": self.samples,
            "floor_median": statistics.median(self.floor) if self.floor else None,
            "ratio": self.ratio,
            "target": self.target,
            "met": None if self.reference else self.met,
        }


def named(name: str, *details: str) -> str:
    """``name (detail; detail)``: a figure's name with what it was measured under."""
    return f"{name} ({'; '.join(details)})" if details else name


# --- child processes -------------------------------------------------------------------------


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL ``process``'s process group (it was started in a session of its own, so the
    group is it and everything it started: forecast workers included), then reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def child(argv: list[str], **popen: Any) -> Iterator[subprocess.Popen]:
    """``argv`` started in a session of its own; whatever happens in the block, nothing of
    it is left running afterwards (its whole process group is killed on the way out)."""
    process = subprocess.Popen(argv, start_new_session=True, **popen)
    try:
        yield process
    finally:
        kill_group(process)


def run_child(
    argv: list[str], timeout: float, *, input: bytes | None = None, **popen: Any
) -> tuple[int, bytes, bytes]:
    """Run ``argv`` to its end in a session of its own, its output captured: (exit status,
    stdout, stderr). Over ``timeout`` seconds, or on any exception, its whole process group
    is killed and the error raised."""
    with child(
        argv,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,
    ) as process:
        out, err = process.communicate(input, timeout=timeout)
        return process.returncode, out, err


def copy_store(source: Path, target: Path) -> None:
    """A complete copy of a store, as SQLite sees it (its write-ahead log's frames
    included), through SQLite's backup API. Never by reading the file's bytes: that misses
    the log, and closing a file descriptor of the store drops every POSIX lock this process
    holds on it, which lets another process delete the log under a live connection."""
    with (
        contextlib.closing(read_only(source)) as origin,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        origin.backup(copy)


# --- processes in a pseudo-terminal ---------------------------------------------------------


# CSI sequences, OSC strings and two-character escapes: what a full-screen app writes.
ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-_])")


def terminal_text(raw: bytes, limit: int = 3000) -> str:
    """The end of what a child wrote to its terminal, as plain text."""
    return ESCAPES.sub("", raw.decode(errors="replace")).strip()[-limit:]


def run_in_pty(
    argv: list[str],
    env: dict[str, str | None] | None = None,
    timeout: float = 180,
    during: Callable[[subprocess.Popen], None] | None = None,
) -> float:
    """Run ``argv`` attached to a 120×40 pseudo-terminal, in a session of its own; return
    the wall-clock time just before the process was spawned (callers subtract it from the
    child's reported paint time). ``env`` adds to this process's environment (``None``
    removes a variable). ``during(process)``, if given, watches the process while it runs.
    However it ends (an exit, ``timeout``, ``during`` raising), its whole process group is
    killed before this returns or raises."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    environment = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLUMNS": str(COLUMNS),
        "LINES": str(ROWS),
    }
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    tail = bytearray()  # the end of the output: a failing child's traceback is there

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            tail.extend(chunk)
            del tail[:-65536]

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    spawned = time.time()
    try:
        process = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=environment,
            close_fds=True,
            start_new_session=True,  # its group: the cockpit and its forecast processes
        )
    except BaseException:
        os.close(slave)
        os.close(master)
        raise
    timed_out = False
    try:
        if during is not None:
            during(process)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        kill_group(process)  # whatever happened: nothing of it goes on running
        os.close(slave)
        reader.join(timeout=5)  # the child has gone: the read ends with EIO
        os.close(master)
    if timed_out or process.returncode != 0:
        ending = f"ran over {timeout:.0f} s" if timed_out else f"exited {process.returncode}"
        raise RuntimeError(f"{argv[:3]}… {ending}:\n{terminal_text(bytes(tail))}")
    return spawned


def cockpit_argv(
    store: Path,
    config: Path,
    report: Path,
    idle: float = 0.0,
    drill: str | None = None,
    settle: float | None = None,
    hold: Path | None = None,
) -> list[str]:
    """The real cockpit, run by the probe (benchmarks/probe.py), which measures it."""
    argv = [
        sys.executable,
        str(HERE / "probe.py"),
        "--db",
        str(store),
        "--config",
        str(config),
        "--report",
        str(report),
        "--idle",
        str(idle),
    ]
    if drill:
        argv += ["--drill", drill]
    if settle is not None:
        argv += ["--settle", str(settle)]
    if hold is not None:
        argv += ["--hold", str(hold)]
    return argv


def cockpit_run(
    store: Path,
    config: Path,
    idle: float = 0.0,
    drill: str | None = None,
    settle: float | None = None,
    *,
    forecasts: bool,
    bytecode: Path | None = None,
) -> tuple[float, dict]:
    """Seconds from spawning the cockpit to its first paint with data, and the probe's
    report. ``forecasts``: the cockpit's background forecasts, on or off; ``bytecode``:
    where Python caches its bytecode (see ``on_screen_env``), or as this environment says."""
    env: dict[str, str | None] = dict(cockpit_env(config, forecasts))
    if bytecode is not None:
        env = on_screen_env(config, forecasts, bytecode)
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        spawned = run_in_pty(cockpit_argv(store, config, report, idle, drill, settle), env=env)
        result = json.loads(report.read_text())
    if result.get("error"):
        raise RuntimeError(f"the probe failed: {result['error']}")
    if drill and not (result["drill_ms"] or 0) > 0:
        raise RuntimeError(f"the probe measured no drill-down: {result}")
    if idle > 0 and result["idle_cpu_percent"] is None:
        raise RuntimeError(f"the probe measured no idle window: {result}")
    return result["ready_epoch"] - spawned, result


def cockpit_env(config: Path, forecasts: bool) -> dict[str, str]:
    return {
        "INTELLIGENTOS_CONFIG_DIR": str(config),
        # Not the theme and the focus last picked by whoever runs the benchmarks.
        "INTELLIGENTOS_STATE_DIR": str(config / "state"),
        FORECASTS_SETTING: "true" if forecasts else "false",
    }


# --- the cockpit on screen, as a person sees it ------------------------------------------


QUIT = b"\x11"  # ctrl+q: Textual's quit, bound in the cockpit and the floor alike
SHOWN_LIMIT = 60.0  # seconds a screen may take to show what is waited for
# Settled: for this long the process used under this share of a core and drew nothing.
SETTLE_QUIET, SETTLE_CPU, SETTLE_LIMIT = 1.0, 0.1, 120.0
DRILLS_PER_PROCESS = 3  # drill-downs timed in each cockpit process, back with Escape between
STARTUP_TARGET = "≤ 2 × floor (moonshot 1.5 ×)"
SELECTION_LIMIT = 10.0  # seconds from the panels to the selection card showing a row
ATTEMPTS = 3  # starts tried per sample when the cockpit comes up with no row selected


def cockpit_command(store: Path) -> list[str]:
    """The command a person types: the console script beside this interpreter."""
    script = Path(sys.executable).parent / "intelligentos-tui"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "intelligentos"]
    return [*command, "--db", str(store)]


def on_screen_env(config: Path, forecasts: bool, bytecode: Path) -> dict[str, str | None]:
    """The cockpit's environment (``cockpit_env``), with Python's bytecode cached under
    ``bytecode`` whatever this environment says (PYTHONDONTWRITEBYTECODE would have every
    start compile the cockpit's modules again, which an installed cockpit never does)."""
    return {
        **cockpit_env(config, forecasts),
        "PYTHONDONTWRITEBYTECODE": None,
        "PYTHONPYCACHEPREFIX": str(bytecode),
    }


class NoRowSelected(RuntimeError):
    """The cockpit showed its panels, but never focused a row: the selection card still
    said "Select a KPI" (the first focus can be lost around the lineage screen's prewarm)."""


def shown_after(argv: list[str], env: dict[str, str | None], shows: screens.Shows) -> float:
    """Seconds from spawning ``argv`` in a 120×40 pseudo-terminal until the emulated screen
    shows ``shows``; then it is told to quit (killed if it does not) and reaped."""
    term = Terminal(argv, columns=COLUMNS, rows=ROWS, env=env)
    try:
        return term.wait_for(shows, SHOWN_LIMIT, str(shows)) - term.started
    finally:
        term.close(QUIT)


def dashboard_shown(term: Terminal, store: Path) -> float:
    """The stamp of the screen that first showed the whole dashboard with its data. Raises
    NoRowSelected if all of it but the selection card was shown and the card then stayed
    empty for SELECTION_LIMIT seconds."""
    panels = screens.dashboard(store, selection_card=False)
    whole = screens.dashboard(store)
    term.wait_for(panels, SHOWN_LIMIT, str(panels))
    try:
        return term.wait_for(whole, SELECTION_LIMIT, str(whole))
    except ScreenTimeout as error:
        if screens.NO_SELECTION in term.text:
            raise NoRowSelected(
                f"no row selected {SELECTION_LIMIT:.0f} s after the panels"
            ) from error
        raise


def startup_seconds(store: Path, env: dict[str, str | None]) -> float:
    """Seconds from spawning the cockpit until the screen showed the whole dashboard."""
    term = Terminal(cockpit_command(store), columns=COLUMNS, rows=ROWS, env=env)
    try:
        return dashboard_shown(term, store) - term.started
    finally:
        term.close(QUIT)


def retried(attempt: Callable[[], T], unselected: list[str]) -> T:
    """``attempt()``, tried again (up to ATTEMPTS times) when the cockpit came up with no
    row selected; each such start is noted in ``unselected``."""
    for _ in range(ATTEMPTS - 1):
        try:
            return attempt()
        except NoRowSelected as error:
            unselected.append(str(error))
            print(f"the cockpit started with no row selected, run again: {error}", flush=True)
    return attempt()


def settle(term: Terminal, *, silent: bool = True) -> None:
    term.wait_settled(SETTLE_QUIET, SETTLE_LIMIT, SETTLE_CPU, silent=silent)


def warm_up(argv: list[str], env: dict[str, str | None], shows: screens.Shows) -> None:
    """One untimed run, until the screen shows ``shows`` and the process has settled: the
    bytecode is cached, and the cockpit has stored its first evaluation's alerts, so every
    timed run starts from the same store."""
    term = Terminal(argv, columns=COLUMNS, rows=ROWS, env=env)
    try:
        term.wait_for(shows, SHOWN_LIMIT, str(shows))
        settle(term, silent=False)  # an alert's pulse may go on drawing: idle all the same
    finally:
        term.close(QUIT)


def floor_shows() -> screens.Shows:
    return screens.Shows("the floor app").text(floor_app.FLOOR_TEXT)


def measure_startup(
    store: Path,
    config: Path,
    reps: int,
    label: str,
    *,
    forecasts: bool,
    variant: str,
    bytecode: Path,
    unselected: list[str],
) -> Figure:
    """The cockpit's start-up as a person sees it: from spawning ``intelligentos-tui`` in a
    pseudo-terminal until the emulated screen shows the whole dashboard with every panel's
    data (``screens.dashboard``, read from the store). The floor, a Textual app with one
    Static, is timed the same way, run for run in turn with the cockpit. A start with no
    row selected is run again, and noted in ``unselected``."""
    env = on_screen_env(config, forecasts, bytecode)
    floor_argv = [sys.executable, str(HERE / "floor_app.py")]
    warm_up(floor_argv, env, floor_shows())
    warm_up(cockpit_command(store), env, screens.dashboard(store, selection_card=False))
    floors, samples = [], []
    for _ in range(reps):
        floors.append(shown_after(floor_argv, env, floor_shows()))
        samples.append(retried(lambda: startup_seconds(store, env), unselected))
    return Figure(
        named("startup", variant), label, samples, "s", STARTUP_TARGET, floors, ratio_target=2.0
    )


@dataclass
class Drill:
    """One drill-down, from the Enter: when the tree was shown, when the whole screen (the
    chart included), both in ms."""

    kpi: str
    tree_ms: float
    whole_ms: float


def measure_drill(
    store: Path,
    config: Path,
    processes: int,
    label: str,
    *,
    forecasts: bool,
    variant: str,
    bytecode: Path,
    unselected: list[str],
) -> tuple[list[Figure], dict]:
    """The drill-down as a person does it, into DRILLS_PER_PROCESS different KPIs in each
    cockpit (``drill_kpis``: the largest lineages of the store, so none reuses a screen
    built for another): in the cockpit started in a pseudo-terminal, once the dashboard is
    shown and the cockpit has settled (its first evaluation and the lineage screen's
    prewarm done, nothing drawn for a second), select the KPI with the keys
    (``screens.keys_to_select``), wait for the selection card to show it and for the
    cockpit to settle, press Enter, and time until the emulated screen shows the whole
    lineage screen: its tree, the KPI's details and its history chart
    (``screens.lineage_with_chart``). Then Escape back to the dashboard, settle, and the
    next KPI; in each of ``processes`` cockpits. The figure is over all of them, and the
    largest lineage has its own. For reference: the tree alone (painted a frame before the
    details pane), each other KPI, and the first drill-down of each cockpit (the lineage
    screen's first use). Also the cockpit's peak memory (VmHWM, read from /proc from
    outside just before it is told to quit: start-up, settling and the drill-downs). A
    cockpit that starts with no row selected is started again."""
    kpis = drill_kpis(store)
    env = on_screen_env(config, forecasts, bytecode)
    chosen = {kpi: screens.selected(store, kpi) for kpi, _ in kpis}
    tree = {kpi: screens.lineage_tree(store, kpi) for kpi, _ in kpis}
    # Each after the one before it in the cockpit: its chart replaces that one's.
    whole = {
        kpi: screens.lineage_with_chart(store, kpi, kpis[index - 1][0] if index else None)
        for index, (kpi, _) in enumerate(kpis)
    }
    peaks: list[float] = []

    def back(kpi: str) -> Callable[[str], bool]:
        return lambda screen: chosen[kpi](screen) and not tree[kpi](screen)

    def drills() -> list[Drill]:
        timed: list[Drill] = []
        term = Terminal(cockpit_command(store), columns=COLUMNS, rows=ROWS, env=env)
        try:
            dashboard_shown(term, store)
            settle(term)
            previous: str | None = None
            for kpi, _ in kpis:
                for key in screens.keys_to_select(store, kpi, after=previous):
                    term.send(key)
                    term.wait_settled(0.3, SETTLE_LIMIT, SETTLE_CPU)  # done with it
                term.wait_for(chosen[kpi], SHOWN_LIMIT, str(chosen[kpi]))
                settle(term)
                if not back(kpi)(term.text):
                    raise RuntimeError(f"not on the dashboard with {kpi} selected:\n{term.dump()}")
                pressed = term.send(ENTER)
                shown_tree = term.wait_for(tree[kpi], SHOWN_LIMIT, str(tree[kpi]))
                shown_whole = term.wait_for(whole[kpi], SHOWN_LIMIT, str(whole[kpi]))
                timed.append(
                    Drill(kpi, 1000 * (shown_tree - pressed), 1000 * (shown_whole - pressed))
                )
                settle(term)
                term.send(ESCAPE)
                term.wait_for(back(kpi), SHOWN_LIMIT, f"the dashboard again ({chosen[kpi]})")
                previous = kpi
            settle(term)
            peaks.append(_peak_kb(term.process.pid) / 1024)
        finally:
            term.close(QUIT)
        return timed

    cockpits = [retried(drills, unselected) for _ in range(processes)]
    timed = [drill for cockpit in cockpits for drill in cockpit]
    largest, size = kpis[0]
    drilled = ", ".join(f"{kpi} {nodes:,}" for kpi, nodes in kpis)
    figures = [
        Figure(
            named("drill-down", "whole screen, chart included", f"{len(kpis)} KPIs", variant),
            label,
            [d.whole_ms for d in timed],
            "ms",
            "≤ 100 ms",
            absolute_target=100,
        ),
        Figure(
            named("drill-down", f"largest lineage: {largest}, {size:,} nodes", variant),
            label,
            [d.whole_ms for d in timed if d.kpi == largest],
            "ms",
            "≤ 100 ms",
            absolute_target=100,
        ),
        Figure(
            named("drill-down", "tree only", f"{len(kpis)} KPIs", variant),
            label,
            [d.tree_ms for d in timed],
            "ms",
            "",
            reference=True,
        ),
        Figure(
            named("drill-down", "first after start-up", largest, variant),
            label,
            [cockpit[0].whole_ms for cockpit in cockpits],
            "ms",
            "",
            reference=True,
        ),
    ]
    figures += [
        Figure(
            named("drill-down", f"{kpi}, {nodes:,} nodes", variant),
            label,
            [d.whole_ms for d in timed if d.kpi == kpi],
            "ms",
            "",
            reference=True,
        )
        for kpi, nodes in kpis[1:]
    ]
    figures.append(
        Figure(
            named("memory", "peak RSS, from outside", "start-up and drill-downs", variant),
            label,
            peaks,
            "MB",
            "≤ 150 MB",
            absolute_target=150,
        )
    )
    return figures, {f"drill_kpis_nodes ({variant})": drilled}


def measure_evaluate(store_path: Path, reps: int, label: str) -> Figure:
    with Store.open(store_path) as store:
        catalog = store.read_catalog()
        graph = LineageGraph(catalog)
        size = evaluation_window(catalog)
        evaluate_store(store, catalog, NOW, graph)  # first run writes the alerts
        floor, samples = [], []
        for _ in range(reps):
            started = time.perf_counter()
            store.latest_windows(size)
            floor.append(time.perf_counter() - started)
            started = time.perf_counter()
            evaluate_store(store, catalog, NOW, graph)
            samples.append(time.perf_counter() - started)
    return Figure("evaluate", label, samples, "s", "≤ 3 × floor", floor, 3.0)


def measure_scenarios(store_path: Path, reps: int, label: str) -> list[Figure]:
    """A what-if recompute as the scenario screen does it after each edit: parse the levers
    and project them over the refresh's tree and values (built once per refresh, and timed
    as its own figure). Levers: the deepest KPI, and every child of the KPI with the most."""
    from intelligentos.services.snapshots import DataService
    from intelligentos.services.whatif import ScenarioService

    services = DataService(store_path, lambda: NOW)
    store = services.open()
    try:
        data = services.read(30)
        scenarios = ScenarioService(store)
        tree_start = time.perf_counter()
        tree = scenarios.baseline(data).tree
        first = time.perf_counter() - tree_start
        with_value = [k for k, snap in data.snaps.items() if snap.latest is not None]
        deepest = max(with_value, key=lambda k: len(tree.chain(k)))
        children: dict[str, list[str]] = {}
        for kpi_id in with_value:
            parent = tree.parents.get(kpi_id)
            if parent is not None:
                children.setdefault(parent, []).append(kpi_id)
        widest = max(children, key=lambda k: len(children[k]))
        cases = {
            "one lever": [f"{deepest}+=1%"],
            f"{len(children[widest])} levers": [f"{k}+=1%" for k in children[widest]],
        }
        figures = []
        for case, levers in cases.items():
            samples = []
            for _ in range(max(reps, 5)):
                started = time.perf_counter()
                scenarios.simulate(data, " ".join(levers))
                samples.append(time.perf_counter() - started)
            figures.append(
                Figure(
                    named("what-if recompute", case),
                    label,
                    [v * 1000 for v in samples],
                    "ms",
                    "≤ 50 ms",
                    absolute_target=50,
                )
            )
        figures.append(
            Figure(
                named("what-if tree and values", "once per refresh"),
                label,
                [first * 1000],
                "ms",
                "",
                reference=True,
            )
        )
        return figures
    finally:
        services.close()


def measure_brief(store: Path, reps: int, label: str) -> Figure:
    """The CEO weekly brief of the whole store, as an executive asks for it: the command in
    a fresh process (start-up, one read of the store as of the date, the Markdown), timed
    from outside."""
    argv = [sys.executable, "-m", "intelligentos", "brief", "--db", str(store)]
    argv += ["--as-of", END.isoformat()]
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        status, _, err = run_child(argv, timeout=120)
        samples.append(time.perf_counter() - started)
        if status != 0:
            raise RuntimeError(f"the brief exited {status}:\n{err.decode(errors='replace')}")
    return Figure("CEO brief", label, samples, "s", "≤ 3 s", absolute_target=3)


COMMAND_START_TARGET = 0.2  # s: a command that reads the store, as a script or a person waits


def measure_command_start(store: Path, reps: int, label: str, bytecode: Path) -> list[Figure]:
    """A command that reads the store, as a script runs it: ``intelligentos-tui --db <store>
    kpis --json`` (to a pipe), from the spawn to its exit; and, for reference, loading the
    command line alone (``import intelligentos.cli.main``). Floor: ``python -c pass``, run
    for run in turn with each, after one untimed run of each (bytecode cached, as an
    installed command has it)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(bytecode)
    argvs = {
        "kpis --json": [*cockpit_command(store), "kpis", "--json"],
        "import the command line": [sys.executable, "-c", "import intelligentos.cli.main"],
        "floor": [sys.executable, "-c", "pass"],
    }
    samples: dict[str, list[float]] = {name: [] for name in argvs}
    for rep in range(reps + 1):
        for name, argv in argvs.items():
            started = time.perf_counter()
            status, _, err = run_child(argv, timeout=60, env=env)
            if status != 0:
                raise RuntimeError(f"{name} exited {status}:\n{err.decode(errors='replace')}")
            if rep:  # the first round only caches the bytecode
                samples[name].append(time.perf_counter() - started)
    target = f"≤ {COMMAND_START_TARGET * 1000:.0f} ms"
    return [
        Figure(
            "command start (kpis --json, to a pipe)",
            label,
            samples["kpis --json"],
            "s",
            target,
            floor=samples["floor"],
            absolute_target=COMMAND_START_TARGET,
        ),
        Figure(
            "command start (import the command line)",
            label,
            samples["import the command line"],
            "s",
            "",
            floor=samples["floor"],
            reference=True,
        ),
    ]


# Another process writes one observation through the store, as a feed would, and prints
# the moment its transaction has committed (the monotonic clock: the same for every process).
WRITE = """
import sys, time
from intelligentos.domain.observations import Observation
from intelligentos.store import Store
kpi_id, period, value = sys.argv[2], sys.argv[3], float(sys.argv[4])
with Store.open(sys.argv[1]) as store:
    store.upsert_observations([Observation(kpi_id, period, value, "benchmark")])
    print(time.monotonic(), flush=True)
"""
LIVE_LIMIT = 10.0  # seconds a committed change may take to reach the screen


def measure_live(
    store: Path, config: Path, samples: int, label: str, bytecode: Path
) -> tuple[Figure, dict]:
    """Live latency as a person sees it: the cockpit runs in a pseudo-terminal (its
    background forecasts off), its dashboard shown and settled; another process writes a
    new latest observation of a CEO KPI, a value no card shows yet, and prints when its
    transaction committed; the latency is from that commit until the emulated screen shows
    the card with the new value. The CEO KPIs in turn, ``samples`` times; the cockpit
    settles between two."""
    if (
        time.get_clock_info("perf_counter").implementation
        != time.get_clock_info("monotonic").implementation
    ):
        raise RuntimeError("the terminal's stamps and the writer's clock differ here")
    env = on_screen_env(config, False, bytecode)
    # Measured CEO KPIs only: a value written for a derived one is computed again from its
    # inputs, so its card would never show the value written.
    cards = [(kpi, value) for kpi, value in screens.ceo_values(store) if not kpi.derived]
    if not cards:
        raise RuntimeError("no CEO KPI has a value: the live latency cannot be measured")
    latencies: list[float] = []
    term = Terminal(cockpit_command(store), columns=COLUMNS, rows=ROWS, env=env)
    try:
        term.wait_for(screens.dashboard(store, selection_card=False), SHOWN_LIMIT, "dashboard")
        settle(term, silent=False)  # an alert's pulse may go on drawing: idle all the same
        for index in range(samples):
            kpi, current = cards[index % len(cards)]
            value, shows = screens.card_change(kpi, current, term.text, up=index % 2 == 0)
            period = f"{END.isoformat()}T{12 + index // 60:02d}:{index % 60:02d}:00"
            argv = [sys.executable, "-c", WRITE, str(store), kpi.id, period, repr(value)]
            status, out, err = run_child(argv, timeout=60)
            if status != 0:
                raise RuntimeError(f"the writer exited {status}:\n{err.decode(errors='replace')}")
            committed = float(out.decode().strip())
            latencies.append(term.wait_for(shows, LIVE_LIMIT, str(shows)) - committed)
            cards[index % len(cards)] = (kpi, value)
            settle(term, silent=False)
    finally:
        term.close(QUIT)
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    figure = Figure(
        named("live latency", "p95", "commit to screen", OFF),
        label,
        [p95],
        "s",
        "≤ 1 s",
        absolute_target=1.0,
    )
    return figure, {"live_latency_median_seconds": statistics.median(latencies)}


def lineage_sizes(store_path: Path) -> list[tuple[str, int]]:
    """Every KPI with the number of nodes in its lineage tree, the largest first (ties by
    id: the same order on every run)."""
    with Store.open(store_path) as store:
        graph = LineageGraph(store.read_catalog())
    sizes = [(k, sum(1 for _ in graph.lineage_tree(k).walk())) for k in graph.catalog.kpis]
    return sorted(sizes, key=lambda pair: (-pair[1], pair[0]))


def largest_lineage(store_path: Path) -> str:
    return lineage_sizes(store_path)[0][0]


def drill_kpis(store_path: Path, count: int = DRILLS_PER_PROCESS) -> list[tuple[str, int]]:
    """The KPIs a cockpit drills into, in turn: the ``count`` largest lineages (the
    heaviest screens to build, each different), with their sizes in nodes."""
    return lineage_sizes(store_path)[:count]


def measure_idle_and_memory(
    store: Path,
    config: Path,
    reps: int,
    idle: float,
    label: str,
    settle: float | None,
    *,
    forecasts: bool,
    variant: str,
    bytecode: Path,
) -> tuple[list[Figure], dict]:
    """What the benchmark measures inside the cockpit, by the probe (benchmarks/probe.py),
    and labels "in-app": idle CPU (the process's CPU time over a window in the steady
    state, after the alert pulse) and, for reference, the start-up it reports itself (its
    first paint with data, as the app sees it). Its own peak memory (after a drill-down
    into the largest lineage) goes to the JSON; the memory figure is read from outside
    (``measure_drill``). Bytecode cached as for the on-screen runs."""
    kpi = largest_lineage(store)
    reported, idles, rss = [], [], []
    for _ in range(reps):
        ready, report = cockpit_run(
            store,
            config,
            idle=idle,
            drill=kpi,
            settle=settle,
            forecasts=forecasts,
            bytecode=bytecode,
        )
        reported.append(ready)
        idles.append(report["idle_cpu_percent"])
        rss.append(report["max_rss_mb"])
    figures = [
        Figure(
            named("idle CPU", "in-app", "steady", variant),
            label,
            idles,
            "% of a core",
            "< 2 %",
            absolute_target=2.0,
        ),
        Figure(
            named("startup", "in-app report", variant), label, reported, "s", "", reference=True
        ),
    ]
    return figures, {f"memory_in_app_peak_rss_mb ({variant})": max(rss)}


def write_csv(path: Path, kpi_ids: list[str], rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["kpi_id", "period", "value", "source"])
        for index in range(rows):
            day = index // len(kpi_ids)
            writer.writerow(
                [
                    kpi_ids[index % len(kpi_ids)],
                    f"2031-01-01T{day // 3600 % 24:02d}:{day // 60 % 60:02d}:{day % 60:02d}",
                    f"{index % 997 / 10:.1f}",
                    "bench",
                ]
            )


def import_floor(store_path: Path, csv_path: Path) -> float:
    """Plain sqlite3 executemany of the same rows, one transaction: the floor."""
    conn = sqlite3.connect(store_path)
    started = time.perf_counter()
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        conn.executemany(
            "INSERT INTO observations (kpi_id, period, value, source) VALUES (?, ?, ?, ?)",
            ((k, p, float(v), s) for k, p, v, s in reader),
        )
    conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


IMPORT_LIMIT = 600.0  # seconds the import command may take


def measure_import(store: Path, rows: int, reps: int, label: str) -> tuple[Figure, dict]:
    with Store.open(store) as opened:
        catalog = opened.read_catalog()
        # Derived KPIs take no imported values (the store computes them from their inputs).
        kpi_ids = [k for k in opened.latest_windows(1) if not catalog.kpis[k].derived]
    rates, floors, memory = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        csv_path = Path(scratch) / "rows.csv"
        write_csv(csv_path, kpi_ids, rows)
        for _ in range(reps):
            copy = Path(scratch) / "copy.db"
            floor_copy = Path(scratch) / "floor.db"
            copy_store(store, copy)
            copy_store(store, floor_copy)
            floors.append(rows / import_floor(floor_copy, csv_path))
            argv = [sys.executable, "-m", "intelligentos", "import", str(csv_path)]
            started = time.perf_counter()
            errors = Path(scratch) / "import.err"
            with (
                errors.open("wb") as err_file,
                child(
                    [*argv, "--db", str(copy)], stdout=subprocess.DEVNULL, stderr=err_file
                ) as importer,
            ):
                # Its own peak memory, sampled: its ru_maxrss would be at least this
                # process's (Linux carries the spawner's peak over the exec).
                peak = 0
                while importer.poll() is None:
                    if time.perf_counter() - started > IMPORT_LIMIT:
                        raise RuntimeError(f"the import ran over {IMPORT_LIMIT:.0f} s")
                    peak = max(peak, _peak_kb(importer.pid))
                    time.sleep(0.02)
                rates.append(rows / (time.perf_counter() - started))
                if importer.returncode != 0:
                    err = errors.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"the import exited {importer.returncode}:\n{err}")
            memory.append(peak / 1024)
            copy.unlink()
            floor_copy.unlink()
    figure = Figure(
        f"import ({rows:,} CSV rows)",
        label,
        rates,
        "rows/s",
        "≥ 0.5 × floor rows/s",
        floors,
        0.5,
        higher_is_better=True,
    )
    return figure, {"import_peak_rss_mb": max(memory)}


def _children(pids: set[int]) -> set[int]:
    """``pids`` and every live descendant (a scan of /proc: parent ids from each stat)."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # gone since the scan
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree = {p for p in pids if p in parents}
    grew = True
    while grew:
        found = {pid for pid, ppid in parents.items() if ppid in tree} - tree
        tree |= found
        grew = bool(found)
    return tree


def _peak_kb(pid: int) -> int:
    """A process's peak resident set size so far (VmHWM) in kB; 0 once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmHWM:"), 0)


def _memory_kb(pid: int) -> tuple[int, int, int]:
    """(VmRSS, VmHWM, Pss) of one process in kB; zeros once it has gone."""
    values = {"VmRSS": 0, "VmHWM": 0, "Pss": 0}
    for name in ("status", "smaps_rollup"):
        try:
            text = Path(f"/proc/{pid}/{name}").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"], values["Pss"]


def measure_forecast_speed(store: Path, label: str, kpis: int) -> tuple[list[Figure], dict]:
    """``intelligentos-tui forecast`` on every KPI of the store, a separate process timed
    from outside, its process tree's memory sampled from /proc every 50 ms."""
    started = time.perf_counter()
    stderr: list[bytes] = []
    with child(
        [sys.executable, "-m", "intelligentos", "forecast", "--db", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as command:
        pipe = command.stderr
        reader = threading.Thread(
            target=lambda: stderr.append(pipe.read() if pipe else b""), daemon=True
        )
        reader.start()
        peak_rss = peak_pss = 0
        hwm: dict[int, int] = {}  # each process's own peak RSS, the latest read while it lived
        seen: set[int] = {command.pid}
        deadline = time.time() + 600
        while command.poll() is None:
            if time.time() > deadline:
                raise RuntimeError("the forecast command ran over 600 s")  # its group killed
            tree = _children({command.pid})
            seen |= tree
            rss = pss = 0
            for pid in tree:
                resident, high, proportional = _memory_kb(pid)
                rss += resident
                pss += proportional
                if high:
                    hwm[pid] = high
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        reader.join(timeout=5)
    if command.returncode != 0:
        message = b"".join(stderr).decode(errors="replace")[-3000:]
        raise RuntimeError(f"the forecast command exited {command.returncode}:\n{message}")
    figures = [
        Figure(
            f"forecast all KPIs ({kpis:,})", label, [elapsed], "s", "≤ 60 s", absolute_target=60
        ),
        Figure(
            "forecast peak memory",
            label,
            [peak_rss / 1024],
            "MB",
            "≤ 500 MB",
            absolute_target=500,
        ),
    ]
    extras = {
        "forecast_processes": len(seen),
        "forecast_peak_pss_mb": peak_pss / 1024,
        "forecast_sum_of_process_peaks_mb": sum(hwm.values()) / 1024,
    }
    return figures, extras


# --- the cockpit's background forecasts -------------------------------------------------------


def read_only(store: Path) -> sqlite3.Connection:
    """A connection that cannot write (nor create) the store; autocommit, so no read
    transaction outlives its query."""
    return sqlite3.connect(f"{store.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)


def stored_forecasts(store: Path) -> dict[str, str]:
    """Each stored forecast's KPI and when it was made, read from outside."""
    with contextlib.closing(read_only(store)) as conn:
        return dict(conn.execute("SELECT kpi_id, made_at FROM forecasts").fetchall())


def kpis_with_data(store: Path) -> int:
    """The KPIs the cockpit forecasts: those with an observation."""
    with contextlib.closing(read_only(store)) as conn:
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM kpis AS k "
            "WHERE EXISTS (SELECT 1 FROM observations AS o WHERE o.kpi_id = k.id)"
        ).fetchone()
    return int(count)


TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_and_nice(pid: int) -> tuple[float, int] | None:
    """A process's CPU seconds so far (user + system) and its nice value; None once gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # from field 3, the state
    return (int(fields[11]) + int(fields[12])) / TICKS, int(fields[16])


@dataclass
class CatchUp:
    """What ``watch_catch_up`` saw of one cockpit forecasting every KPI."""

    target: int
    held: float = 0.0  # epoch: the first evaluation done, the probe's first report
    cockpit_cpu_held: float = 0.0
    done: float = 0.0  # epoch: a forecast stored for every KPI
    cockpit_cpu_done: float = 0.0
    workers_cpu: dict[int, float] = field(default_factory=dict)  # latest per descendant
    workers_cpu_held: dict[int, float] = field(default_factory=dict)
    nice: dict[int, int] = field(default_factory=dict)
    peak_kb: int = 0  # the cockpit process's VmHWM, the latest read while it lived


def watch_catch_up(
    report: Path, stop: Path, store: Path, watched: CatchUp
) -> Callable[[subprocess.Popen], None]:
    """While the probe runs: once it has evaluated (its first report), sample its own CPU
    and its descendants' (the forecast processes) every 0.1 s and count the stored forecasts
    from outside, until every KPI with data has one; then let it go on (the stop file). Its
    peak memory (VmHWM) is read all along, until it quits."""

    def during(process: subprocess.Popen) -> None:
        deadline = time.time() + CATCH_UP_LIMIT
        while watched.held == 0.0:
            if process.poll() is not None:
                return  # failed before the first evaluation: run_in_pty reports why
            if time.time() > deadline:
                raise RuntimeError("the cockpit did not evaluate its store")
            try:
                watched.held = float(json.loads(report.read_text())["held_epoch"])
            except (OSError, ValueError, KeyError, TypeError):
                time.sleep(0.02)
        own = _cpu_and_nice(process.pid)
        watched.cockpit_cpu_held = own[0] if own else 0.0
        for pid in _children({process.pid}) - {process.pid}:  # started before the window
            seen = _cpu_and_nice(pid)
            if seen is not None:
                watched.workers_cpu_held[pid] = seen[0]
        with contextlib.closing(read_only(store)) as conn:
            while True:
                now = time.time()
                own = _cpu_and_nice(process.pid)
                if own is None or process.poll() is not None:
                    raise RuntimeError("the cockpit ended before forecasting every KPI")
                for pid in _children({process.pid}) - {process.pid}:
                    seen = _cpu_and_nice(pid)
                    if seen is not None:
                        watched.workers_cpu[pid] = seen[0]
                        watched.workers_cpu_held.setdefault(pid, 0.0)
                        watched.nice[pid] = seen[1]
                watched.peak_kb = max(watched.peak_kb, _peak_kb(process.pid))
                (count,) = conn.execute("SELECT COUNT(*) FROM forecasts").fetchone()
                if count >= watched.target:
                    watched.done, watched.cockpit_cpu_done = now, own[0]
                    break
                if now > deadline:
                    raise RuntimeError(
                        f"the cockpit stored {count} of {watched.target} forecasts "
                        f"in {CATCH_UP_LIMIT:.0f} s"
                    )
                time.sleep(0.1)
        stop.touch()
        # Its peak memory over its whole life: it goes on (the idle window) until it quits.
        ends = time.time() + 120
        while process.poll() is None and time.time() < ends:
            watched.peak_kb = max(watched.peak_kb, _peak_kb(process.pid))
            time.sleep(0.05)

    return during


def measure_catch_up(
    store: Path, config: Path, label: str, idle: float, settle: float | None
) -> tuple[list[Figure], dict]:
    """The cockpit, background forecasts on, on a copy of the store with no forecast: the
    time from its spawn until it has stored a forecast for every KPI with data; the CPU of
    its own process (the probe's: the cockpit runs in it) from its first evaluation until
    then, and of its forecast processes (its descendants, summed); its peak memory, read
    from outside, against the cockpit's memory target; then its idle CPU, in the same
    process, once it has caught up (in-app: the probe's)."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "catch-up.db"
        copy_store(store, copy)
        if stored_forecasts(copy):
            raise RuntimeError("the catch-up needs a store with no forecast stored")
        watched = CatchUp(kpis_with_data(copy))
        report, stop = Path(scratch) / "report.json", Path(scratch) / "stop"
        argv = cockpit_argv(copy, config, report, idle=idle, settle=settle, hold=stop)
        spawned = run_in_pty(
            argv,
            env=cockpit_env(config, forecasts=True),
            timeout=CATCH_UP_LIMIT + 120,
            during=watch_catch_up(report, stop, copy, watched),
        )
        result = json.loads(report.read_text())
        stored = len(stored_forecasts(copy))
    if result.get("error"):
        raise RuntimeError(f"the probe failed: {result['error']}")
    if result["idle_cpu_percent"] is None:
        raise RuntimeError(f"the probe measured no idle window: {result}")
    window = watched.done - watched.held
    cockpit = 100 * (watched.cockpit_cpu_done - watched.cockpit_cpu_held) / window
    workers = sum(watched.workers_cpu.values()) - sum(watched.workers_cpu_held.values())
    kpis = f"{watched.target:,} KPIs"
    figures = [
        Figure(
            named("catch-up: every KPI forecast", "forecasts on, none stored", kpis),
            label,
            [watched.done - spawned],
            "s",
            "",
            reference=True,
        ),
        Figure(
            named("CPU during catch-up", "cockpit process"),
            label,
            [cockpit],
            "% of a core",
            "",
            reference=True,
        ),
        Figure(
            named("CPU during catch-up", "its forecast processes, summed"),
            label,
            [100 * workers / window],
            "% of a core",
            "",
            reference=True,
        ),
        Figure(
            named("memory", "peak RSS, from outside", "during catch-up"),
            label,
            [watched.peak_kb / 1024],
            "MB",
            "≤ 150 MB",
            absolute_target=150,
        ),
        Figure(
            named("idle CPU", "in-app", "steady; after its catch-up"),
            label,
            [result["idle_cpu_percent"]],
            "% of a core",
            "< 2 %",
            absolute_target=2.0,
        ),
    ]
    extras = {
        "catch_up_kpis": watched.target,
        "catch_up_forecasts_stored": stored,
        "catch_up_after_first_evaluation_seconds": window,
        "catch_up_processes": len(watched.workers_cpu),
        "catch_up_process_nice": sorted(set(watched.nice.values())),
        "catch_up_in_app_peak_rss_mb": result["max_rss_mb"],
    }
    return figures, extras


def cockpit_figures(
    store: Path,
    config: Path,
    reps: int,
    scale: Scale,
    label: str,
    *,
    forecasts: bool,
    variant: str,
    bytecode: Path,
) -> tuple[list[Figure], dict]:
    """The cockpit's own figures under one setting: start-up and drill-down on screen, then
    idle CPU and memory from the probe. Also how many of its starts showed no selected
    row (each run again)."""
    unselected: list[str] = []
    figures = [
        measure_startup(
            store,
            config,
            reps,
            label,
            forecasts=forecasts,
            variant=variant,
            bytecode=bytecode,
            unselected=unselected,
        )
    ]
    processes = max(1, reps // 2)
    found, drilled = measure_drill(
        store,
        config,
        processes,
        label,
        forecasts=forecasts,
        variant=variant,
        bytecode=bytecode,
        unselected=unselected,
    )
    figures += found
    found, in_app = measure_idle_and_memory(
        store,
        config,
        processes,
        scale.idle_seconds,
        label,
        scale.settle_seconds,
        forecasts=forecasts,
        variant=variant,
        bytecode=bytecode,
    )
    figures += found
    return figures, {
        f"starts_with_no_row_selected ({variant})": len(unselected),
        **drilled,
        **in_app,
    }


def measure_after(
    store: Path, config: Path, reps: int, scale: Scale, label: str, bytecode: Path
) -> tuple[list[Figure], dict]:
    """After: the cockpit's figures with its background forecasts on, every stored forecast
    current (the ``forecast`` command has just stored them, today). Checks from outside that
    the cockpit rewrote none of them."""
    before = stored_forecasts(store)
    figures, seen = cockpit_figures(
        store, config, reps, scale, label, forecasts=True, variant=ON, bytecode=bytecode
    )
    after = stored_forecasts(store)
    rewritten = sum(1 for kpi, made in after.items() if before.get(kpi) != made)
    if rewritten:
        print(
            f"[{label}] the cockpit rewrote {rewritten} of {len(before)} current forecasts",
            flush=True,
        )
    return figures, {
        **seen,
        "after_forecasts_stored": len(before),
        "after_forecasts_rewritten": rewritten,
    }


def accuracy_figures(label: str, summary: forecast_accuracy.Summary) -> list[Figure]:
    if summary.mean_mase is None or summary.worst_mase is None:
        raise RuntimeError(f"no forecast to score on {label}: every series was excluded")
    if summary.pooled_coverage is None:
        raise RuntimeError(f"no 80 % interval to score on {label}")
    low, high = forecast_accuracy.TARGET_COVERAGE
    return [
        Figure(
            "forecast accuracy (mean MASE vs seasonal naive)",
            label,
            [summary.mean_mase],
            "",
            f"≤ {forecast_accuracy.TARGET_MEAN_MASE}",
            absolute_target=forecast_accuracy.TARGET_MEAN_MASE,
        ),
        Figure(
            "forecast accuracy (worst MASE)",
            label,
            [summary.worst_mase],
            "",
            f"none > {forecast_accuracy.TARGET_WORST_MASE}",
            absolute_target=forecast_accuracy.TARGET_WORST_MASE,
        ),
        Figure(
            "forecast 80 % coverage (pooled)",
            label,
            [100 * summary.pooled_coverage],
            "%",
            f"{100 * low:.0f}–{100 * high:.0f} %",
            target_range=(100 * low, 100 * high),
        ),
        Figure(
            "forecast accuracy (median MASE)",
            label,
            [summary.median_mase if summary.median_mase is not None else math.nan],
            "",
            "",
            reference=True,
        ),
        Figure(
            "forecast 95 % coverage (pooled)",
            label,
            [100 * (summary.pooled_coverage95 or 0.0)],
            "%",
            "",
            reference=True,
        ),
    ]


def measure_forecast_accuracy(
    rows: list[forecast_accuracy.Row], label: str
) -> tuple[list[Figure], dict]:
    summary = forecast_accuracy.summarise(rows)
    print(
        f"[{label}] forecast accuracy, {summary.series} series "
        f"({summary.excluded} without a forecast, excluded):"
    )
    print(forecast_accuracy.table(rows), flush=True)
    report = {"summary": summary.as_dict(), "series": [asdict(r) for r in rows]}
    return accuracy_figures(label, summary), report


# --- driver ----------------------------------------------------------------------------------


def build_store(directory: Path, scale: Scale) -> tuple[Path, float]:
    path = directory / f"{scale.name}.db"
    started = time.perf_counter()
    init_store(path, end=END, scale_kpis=scale.kpis, history_days=scale.days)
    return path, time.perf_counter() - started


PUBLIC = "public series"


def run(scales: list[Scale], reps: int) -> dict:
    figures: list[Figure] = []
    extras: dict = {}
    accuracy: dict = {}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        config = root / "config"
        bytecode = root / "bytecode"  # the cockpit's and the floor's, for the on-screen runs
        for scale in scales:
            store, built = build_store(root, scale)
            with Store.open(store) as opened:
                counts = opened.table_counts()
            extras[scale.name] = {
                "build_seconds": built,
                "kpis": counts["kpis"],
                "observations": counts["observations"],
            }
            print(
                f"[{scale.name}] built in {built:.1f} s: {counts['kpis']} KPIs, "
                f"{counts['observations']:,} observations",
                flush=True,
            )
            extras[scale.name]["dashboard_shown_when"] = str(screens.dashboard(store))
            # Before: the cockpit with its background forecasts off, no forecast stored.
            found, seen = cockpit_figures(
                store,
                config,
                reps,
                scale,
                scale.name,
                forecasts=False,
                variant=OFF,
                bytecode=bytecode,
            )
            figures.extend(found)
            extras[scale.name] |= seen
            figures.append(measure_evaluate(store, reps, scale.name))
            figures.extend(measure_scenarios(store, reps, scale.name))
            figures.append(measure_brief(store, reps, scale.name))
            figures.extend(measure_command_start(store, scale.command_runs, scale.name, bytecode))
            found, chosen = explain_speed.measure_explain(
                store, reps, scale.name, END, run_child=run_child, figure=Figure, named=named
            )
            figures.extend(found)
            extras[scale.name] |= chosen
            found, chosen = okr_speed.measure_okr(
                store,
                root,
                reps,
                scale.name,
                END,
                run_child=run_child,
                copy_store=copy_store,
                figure=Figure,
                named=named,
            )
            figures.extend(found)
            extras[scale.name] |= chosen
            figures.extend(
                notify_speed.measure_notify(
                    store,
                    root,
                    reps,
                    scale.name,
                    run_child=run_child,
                    copy_store=copy_store,
                    figure=Figure,
                    named=named,
                )
            )
            figure, seen = measure_live(store, config, scale.live_samples, scale.name, bytecode)
            figures.append(figure)
            extras[scale.name] |= seen
            figure, memory = measure_import(store, scale.import_rows, max(1, reps // 2), scale.name)
            figures.append(figure)
            extras[scale.name] |= memory
            if scale.accuracy:  # before the forecast command writes its forecasts
                rows = forecast_accuracy.store_rows(store)
                found, accuracy[scale.name] = measure_forecast_accuracy(rows, scale.name)
                figures.extend(found)
            # The catch-up, on a copy of the store (still with no forecast).
            found, memory = measure_catch_up(
                store, config, scale.name, scale.idle_seconds, scale.settle_seconds
            )
            figures.extend(found)
            extras[scale.name] |= memory
            # Stores a forecast for every KPI, today: for the cockpit, all current.
            found, memory = measure_forecast_speed(store, scale.name, counts["kpis"])
            figures.extend(found)
            extras[scale.name] |= memory
            # After: the cockpit with its background forecasts on, every forecast current.
            found, memory = measure_after(store, config, reps, scale, scale.name, bytecode)
            figures.extend(found)
            extras[scale.name] |= memory
            print(f"[{scale.name}] measured", flush=True)
    found, accuracy[PUBLIC] = measure_forecast_accuracy(forecast_accuracy.public_rows(), PUBLIC)
    figures.extend(found)
    return {
        "figures": [f.as_dict() for f in figures],
        "stores": extras,
        "forecast_accuracy": accuracy,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "when": datetime.now().isoformat(timespec="seconds"),
    }


MET = {True: "yes", False: "**no**", None: "—"}


def table(result: dict) -> str:
    lines = [
        "| store | figure | median | floor | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in result["figures"]:
        floor = "" if f["floor_median"] is None else f"{f['floor_median']:.4g}"
        ratio = "" if f["ratio"] is None else f"{f['ratio']:.2f}×"
        lines.append(
            f"| {f['store']} | {f['figure']} | {f['median']:.4g} {f['unit']} | {floor} | "
            f"{ratio} | {f['target']} | {MET[f['met']]} |"
        )
    return "\n".join(lines)


def shown(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per figure")
    parser.add_argument("--tiny", action="store_true", help="a small, fast run (for tests)")
    args = parser.parse_args(argv)
    if args.tiny:
        scales = [
            Scale("tiny", 120, 60, 5_000, 0.5, 3, settle_seconds=0.2, accuracy=True, command_runs=2)
        ]
        reps = 1
    else:
        scales = [
            Scale("demo", None, 730, 1_000_000, 10.0, 20, accuracy=True),
            Scale("large", 2000, 1095, 1_000_000, 10.0, 20),
        ]
        reps = args.reps
    result = run(scales, reps)
    print(table(result))
    for name, extra in result["stores"].items():
        print(f"{name}: " + ", ".join(f"{k} {shown(v)}" for k, v in extra.items()))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
