"""The cockpit as the benchmark runs it: the real app, observed from a subclass.

    python benchmarks/probe.py --db STORE --report REPORT.json
        [--config DIR] [--idle SECONDS] [--drill KPI_ID] [--settle SECONDS] [--hold PATH]

``benchmarks/run.py`` spawns this in a pseudo-terminal. It opens the store exactly as the
``intelligentos-tui`` command does, then runs a subclass of :class:`CockpitApp` full
screen. The subclass only watches the app through its public API (the ``DataLoaded``
messages, ``data``, ``loads``, ``navigator``) and writes a JSON report:

``ready_epoch``
    ``time.time()`` of the first paint of the dashboard with data;
``idle_seconds``, ``idle_cpu_percent``
    the process's CPU over an idle window in the steady state (``--idle``; 0: none);
``drill_ms``
    from opening ``--drill``'s lineage to the first paint of that screen with its tree;
``max_rss_mb``
    the process's peak resident memory (VmHWM: ``ru_maxrss`` would be at least the
    benchmark's own, which Linux carries over into a process it spawns);
``held_epoch``
    with ``--hold PATH``: ``time.time()`` when, after the first evaluation, the probe wrote
    a first report (so a watcher outside knows the cockpit is up) and began to wait for
    PATH to exist. Only then does it go on (idle window, drill-down, quit), so the watcher
    decides how long the cockpit runs (``run.py`` waits for the background forecasts).

Then it quits, once no worker is reading the store. If a measurement cannot be made, the
report holds ``error`` and the exit status is 1.
"""

from __future__ import annotations

import argparse
import inspect
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

from intelligentos.tui.app import CockpitApp
from intelligentos.tui.launch import opened_store
from intelligentos.tui.messages import DataLoaded
from intelligentos.tui.screens.dashboard import DashboardScreen
from intelligentos.tui.screens.lineage import LineageTree

WAIT_LIMIT = 60.0  # seconds any one stage may take before the run counts as failed
HOLD_LIMIT = 900.0  # seconds ``--hold`` waits for its file before the run counts as failed
POLL = 0.02  # seconds between checks of a condition


def peak_rss_mb() -> float:
    """This process's peak resident set size since its exec. Not ``ru_maxrss``: Linux keeps
    the spawning process's peak in it across the exec (benchmarks/run.py's, which is larger
    once it has built a big store)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # no /proc: the next best figure
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _css_path() -> Path:
    """The cockpit's stylesheet as an absolute path: Textual resolves a relative CSS_PATH
    next to the file of the app's class, which for the probe is this file."""
    owner = next(c for c in CockpitApp.__mro__ if "CSS_PATH" in c.__dict__)
    css = Path(str(owner.__dict__["CSS_PATH"]))
    return css if css.is_absolute() else Path(inspect.getfile(owner)).parent / css


class Probe(CockpitApp):
    """The cockpit, unchanged, plus a script of what to measure once it shows data."""

    CSS_PATH = str(_css_path())

    def __init__(self, store_path: Path, options: argparse.Namespace) -> None:
        super().__init__(store_path, config_path=options.config)
        self.probe_options = options
        self.probe_report: dict[str, float | str | None] = {
            "ready_epoch": None,
            "drill_ms": None,
            "idle_seconds": 0.0,
            "idle_cpu_percent": None,
            "max_rss_mb": None,
            "held_epoch": None,
        }
        self.probe_waiting_for_paint = False
        self.probe_ready = False
        self.probe_drill_started = 0.0

    # --- start-up --------------------------------------------------------------------------

    def on_data_loaded(self, message: DataLoaded) -> None:
        # Textual calls this before CockpitApp's own handler (it walks the MRO from the
        # subclass), so the data is not applied yet: look after the next refresh, which
        # comes after the handler has applied it and the dashboard has repainted.
        if not self.probe_ready and not self.probe_waiting_for_paint:
            self.probe_waiting_for_paint = True
            self.call_after_refresh(self.probe_painted_with_data)

    def probe_painted_with_data(self) -> None:
        self.probe_waiting_for_paint = False
        if self.data is None or self.startup.loads == 0:
            return  # the load was dropped (made for another window): wait for the next
        self.probe_ready = True
        self.probe_report["ready_epoch"] = time.time()
        if self.probe_options.idle > 0 or self.probe_options.hold:
            # Idle means after the rules have run and the refresh has ended.
            self.probe_when(
                lambda: (
                    self.data is not None and self.data.evaluated and not self.refresher.running
                ),
                self.probe_hold,
                "the first evaluation",
            )
        else:
            self.probe_drill_or_finish()

    # --- hold --------------------------------------------------------------------------------

    def probe_hold(self) -> None:
        hold = self.probe_options.hold
        if hold is None:
            self.probe_settle()
            return
        self.probe_report["held_epoch"] = time.time()
        self.probe_write()
        then = self.probe_settle if self.probe_options.idle > 0 else self.probe_drill_or_finish
        self.probe_when(hold.exists, then, f"{hold} to exist", HOLD_LIMIT)

    # --- idle ------------------------------------------------------------------------------

    def probe_settle(self) -> None:
        settle = self.probe_options.settle
        if settle is None:
            # Steady state: alerts seen so far have stopped pulsing.
            settle = self.alerts.announcer.flash_seconds + 1.0
        # A zero-length timer never fires: wait at least one tick.
        self.set_timer(max(settle, 0.01), self.probe_idle_start)

    def probe_idle_start(self) -> None:
        cpu_started = time.process_time()
        wall_started = time.perf_counter()

        def over() -> None:
            wall = time.perf_counter() - wall_started
            self.probe_report["idle_seconds"] = wall
            self.probe_report["idle_cpu_percent"] = 100 * (time.process_time() - cpu_started) / wall
            self.probe_drill_or_finish()

        self.set_timer(self.probe_options.idle, over)

    # --- drill-down ------------------------------------------------------------------------

    def probe_drill_or_finish(self) -> None:
        if not self.probe_options.drill:
            self.probe_finish()
            return
        if self.data is None or self.probe_options.drill not in self.data.catalog.kpis:
            self.probe_fail(f"{self.probe_options.drill!r} is not a KPI of this store")
            return
        # Measure the drill-down a user gets: from the dashboard, once the lineage screen
        # has been prewarmed after the first paint.
        self.probe_when(
            lambda: (
                self.navigator.lineage_screen is not None
                and self.navigator.lineage_screen.is_mounted
                and isinstance(self.screen, DashboardScreen)
            ),
            lambda: self.call_after_refresh(self.probe_drill),
            "the lineage screen's prewarm",
        )

    def probe_drill(self) -> None:
        if not isinstance(self.screen, DashboardScreen):
            self.probe_fail("the dashboard is not the current screen before the drill-down")
            return
        self.probe_drill_started = time.perf_counter()
        self.navigator.open_lineage(self.probe_options.drill)
        self.probe_lineage_shown(time.monotonic() + WAIT_LIMIT)

    def probe_lineage_built(self) -> bool:
        screen = self.navigator.lineage_screen
        if screen is None or self.screen is not screen or not screen.is_mounted:
            return False
        root = screen.query_one(LineageTree).root
        return (
            root.data is not None
            and root.data.id == self.probe_options.drill
            and root.is_expanded
            and len(root.children) == len(root.data.children)
        )

    def probe_lineage_shown(self, deadline: float) -> None:
        """Once the lineage screen is current with its tree built, the next refresh paints
        it: call_after_refresh runs on the current screen after its pending repaint."""
        if self.probe_lineage_built():
            self.call_after_refresh(self.probe_lineage_painted, deadline)
        elif time.monotonic() > deadline:
            self.probe_fail(f"the lineage of {self.probe_options.drill} was not shown")
        else:
            self.call_after_refresh(self.probe_lineage_shown, deadline)

    def probe_lineage_painted(self, deadline: float) -> None:
        painted = time.perf_counter()
        if not self.probe_lineage_built():
            # The callback ran on another screen (it goes to the screen current when it is
            # scheduled): that was not the lineage's paint.
            self.probe_lineage_shown(deadline)
            return
        drill_ms = (painted - self.probe_drill_started) * 1000
        if drill_ms <= 0:
            self.probe_fail(f"the drill-down took {drill_ms} ms, which cannot be")
            return
        self.probe_report["drill_ms"] = drill_ms
        self.probe_finish()

    # --- helpers ---------------------------------------------------------------------------

    def probe_when(
        self,
        condition: Callable[[], bool],
        then: Callable[[], object],
        what: str,
        limit: float = WAIT_LIMIT,
    ) -> None:
        """Run ``then`` once ``condition`` holds; fail if it does not within ``limit``."""
        deadline = time.monotonic() + limit

        def check() -> None:
            if condition():
                then()
            elif time.monotonic() > deadline:
                self.probe_fail(f"gave up waiting for {what} after {limit:.0f} s")
            else:
                self.set_timer(POLL, check)

        check()

    def probe_write(self, **extra: float | str | None) -> None:
        self.probe_report["max_rss_mb"] = peak_rss_mb()
        self.probe_options.report.write_text(
            json.dumps(self.probe_report | extra), encoding="utf-8"
        )

    def probe_finish(self) -> None:
        self.probe_write()
        # Quitting while a worker reads the store can crash the process (the store is
        # closed under the read), so stop new refreshes, as the p key does, and let every
        # worker but the store watcher end first. Nothing is measured any more.
        self.paused = True
        self.probe_when(self.probe_workers_done, self.exit, "the cockpit's workers to end")

    def probe_workers_done(self) -> bool:
        return not self.refresher.running and all(
            worker.is_finished or worker.group == "watch" for worker in self.workers
        )

    def probe_fail(self, problem: str) -> None:
        self.probe_write(error=problem)
        self.exit(return_code=1, message=f"probe: {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="the KPI store")
    parser.add_argument("--config", type=Path, help="config directory [default: the CLI's]")
    parser.add_argument("--report", type=Path, required=True, help="write the JSON here")
    parser.add_argument("--idle", type=float, default=0.0, help="idle window, seconds")
    parser.add_argument("--drill", help="KPI whose lineage to open, last")
    parser.add_argument(
        "--settle",
        type=float,
        help="seconds from the first evaluation to the idle window "
        "[default: the alert pulse + 1 s]",
    )
    parser.add_argument(
        "--hold",
        type=Path,
        help="after the first evaluation, write the report and wait until this file exists",
    )
    options = parser.parse_args(argv)
    # As the command launches the cockpit (intelligentos.tui.launch.launch_cockpit), without
    # the command line's machinery (Typer), which the command does not load either.
    with opened_store(options.db, create_demo=True) as store:
        store.probe()
        store_path = store.path
    probe = Probe(store_path, options)
    probe.run()
    return probe.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
