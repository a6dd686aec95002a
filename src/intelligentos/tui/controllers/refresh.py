"""Live refresh: evaluate and reload off the event loop, one refresh at a time, whenever
another process commits to the store, and not while paused."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from intelligentos.services.snapshots import CockpitData
from intelligentos.store import StoreError
from intelligentos.tui.base import Cockpit
from intelligentos.tui.messages import (
    CatalogLoaded,
    DataLoaded,
    IntegrityFailed,
    RefreshEnded,
    StoreChanged,
    StrayRowsFound,
)
from intelligentos.tui.runs import OneAtATime

WATCH_INTERVAL = 0.25  # seconds between data_version polls
# How long the first evaluation waits for the first paint at most (say, the screen never
# shows).
FIRST_PAINT_WAIT = 2.0


class Refresher:
    """Refreshes: at most one in flight; a request meanwhile runs once more after it."""

    def __init__(
        self, app: Cockpit, *, first_run: Callable[[], None], done: Callable[[], None]
    ) -> None:
        self.app = app
        self.first_run = first_run  # in the first refresh's thread, before it evaluates
        self.done = done  # after each refresh that ended well
        self.runs = OneAtATime(self.request)
        self.store_open = False  # its opening starts the first refresh
        self.requests = 0  # numbers each refresh started
        self.applied_request = 0  # the refresh whose data is shown
        self.stale_while_paused = False

    @property
    def running(self) -> bool:
        return self.runs.running

    def start(self) -> None:
        """The store is open: the first refresh, and watching the store for changes."""
        self.store_open = True
        self.request()
        self.app.run_worker(
            self._watch,
            name="watch_store",
            group="watch",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def request(self, *, even_when_paused: bool = False) -> None:
        """Evaluate and reload; never more than one refresh in flight (a request made
        meanwhile runs once more when the current one ends)."""
        app = self.app
        if not self.store_open:
            return  # the store is still opening; its opening starts the first refresh
        if app.paused and app.data is not None and not even_when_paused:
            self.stale_while_paused = True
            return
        if not self.runs.begin():
            return
        self.requests += 1
        work = partial(self._refresh, self.requests, app.window, app.data)
        app.run_worker(work, name="refresh_data", group="refresh", thread=True, exit_on_error=False)

    def refresh_now(self) -> None:
        """Paused or not: what the user asked for, or a date shown that the data must match."""
        self.stale_while_paused = False
        self.request(even_when_paused=True)

    def toggle_pause(self) -> None:
        app = self.app
        app.paused = not app.paused
        if app.paused:
            app.notify("Live refresh paused (p resumes).", timeout=3)
        else:
            app.notify("Live refresh resumed.", timeout=2)
            if self.stale_while_paused:
                self.stale_while_paused = False
                self.request()

    def _refresh(self, request: int, window: int, previous: CockpitData | None) -> None:
        """Off the event loop: the first time, paint values before the rules run; then
        evaluate (writing alert changes) and read the visible windows and open alerts."""
        app = self.app
        services = app.services
        first = previous is None
        try:
            if previous is None:
                # The catalog first: the dashboard builds its panels while the values are
                # read.
                catalog, graph = services.read_catalog()
                app.post_message(CatalogLoaded(catalog))
                previous = services.read(window, catalog, graph)
                app.post_message(DataLoaded(previous, request))
                # What follows would only slow that paint down: let it reach the screen.
                app.first_paint.wait(FIRST_PAINT_WAIT)
            # Before the notifier's first write (its watermarks): a damaged file is
            # then read-only, and nothing is written into it.
            problem = services.check_integrity()
            if problem:
                app.post_message(IntegrityFailed(problem))
            else:
                # Another process's inputs: their derived values, and why a period has none
                # (told at once, or with the stray rows the first time).
                undefined = services.compute_derived()
                notice = undefined if services.stray_checked else services.stray_rows()
                services.stray_checked = True
                if notice:
                    app.post_message(StrayRowsFound(notice))
            if first:
                self.first_run()
            app.post_message(DataLoaded(services.evaluate_and_read(window, previous), request))
        except StoreError as error:
            # Another process may hold the write lock for long, or the file may have
            # become unreadable: say so and keep the cockpit up; the next change retries.
            app.post_message(RefreshEnded(request, f"Refresh failed: {error}"))
            return
        app.post_message(RefreshEnded(request))

    def accept(self, message: DataLoaded) -> CockpitData | None:
        """Show a refresh's data (:attr:`Cockpit.data`), or drop it (``None``)."""
        data = message.data
        if (
            message.request < self.applied_request
            or data.window != self.app.window
            or data.past != self.app.services.fixed_as_of
        ):
            # From an older refresh, or for a window or an as-of date no longer shown (a
            # refresh for the new one follows): showing it would step back in time.
            return None
        self.applied_request = message.request
        self.app.data = data
        return data

    def ended(self, message: RefreshEnded) -> None:
        if message.problem:
            self.app.notify(message.problem, severity="error", markup=False)
        else:
            self.done()
        self.runs.end()

    def integrity_failed(self, message: IntegrityFailed) -> None:
        self.app.read_only = True  # the store is treated as read-only from now on
        self.app.notify(message.error, severity="error", timeout=30, markup=False)

    def stray_rows_found(self, message: StrayRowsFound) -> None:
        self.app.notify(message.message, severity="warning", timeout=30, markup=False)

    def _watch(self) -> None:
        """Poll ``PRAGMA data_version`` (a counter SQLite bumps when another connection
        commits) and report only when it moves: cheap, and sees every other process."""
        app = self.app
        try:
            seen = app.services.data_version()
            # An Event rather than sleep(): quitting wakes the watcher at once.
            while not app.stop_watching.wait(WATCH_INTERVAL):
                version = app.services.data_version()
                if version != seen:
                    seen = version
                    app.post_message(StoreChanged())
        except StoreError:
            if app.stop_watching.is_set():
                return  # the store closed with the app
            raise  # live refresh has stopped: reported (worker_failed)
