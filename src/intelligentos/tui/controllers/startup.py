"""Start-up and quitting: the store opened off the event loop, the dashboard shown with its
first values, what start-up leaves for after that paint, and the store released on quit."""

from __future__ import annotations

import gc
import threading

from intelligentos.domain.catalog.models import Catalog
from intelligentos.services.snapshots import CockpitData
from intelligentos.store import StoreError
from intelligentos.tui.base import Cockpit
from intelligentos.tui.messages import StoreFailed, StoreOpened
from intelligentos.tui.navigation import Navigator
from intelligentos.tui.screens.dashboard import DashboardScreen

# After the first paint with data: how long the terminal gets to receive it before the
# background work of start-up (rules, integrity check, lineage prewarm, the panels' other
# rows) competes with it for the interpreter.
FIRST_PAINT_GRACE = 0.05
# How long start-up waits for the first values before it shows the dashboard without them.
DASHBOARD_WAIT = 0.5


class StartUp:
    def __init__(self, app: Cockpit, navigator: Navigator) -> None:
        self.app = app
        self.navigator = navigator
        self.loads = 0  # refreshes whose values were shown
        self.settled = False  # the first evaluated values have been shown

    def open_store(self) -> None:
        """Open the store off the event loop (:class:`StoreOpened` or :class:`StoreFailed`
        follows)."""
        services = self.app.services
        fixed = services.fixed_as_of
        if fixed is not None and fixed >= self.app.clock().date():
            services.set_as_of(None)  # as of today (or later) is live
        self.app.run_worker(
            self._open_store, name="open_store", group="store", thread=True, exit_on_error=False
        )

    def _open_store(self) -> None:
        try:
            store = self.app.services.open()
        except StoreError as error:
            self.app.post_message(StoreFailed(str(error)))
            return
        self.app.post_message(StoreOpened(store))

    def catalog_loaded(self, catalog: Catalog) -> None:
        """The first refresh has read the catalog: the dashboard builds its panels."""
        self.app.first_catalog = catalog
        for screen in self.app.screen_stack:
            if isinstance(screen, DashboardScreen):
                screen.catalog_loaded(catalog)

    def show_dashboard_soon(self) -> None:
        # The dashboard is shown with its first values (one paint, not one empty and one
        # full), or after DASHBOARD_WAIT without them when the store is slow to read.
        self.app.set_timer(DASHBOARD_WAIT, self.show_dashboard)

    def show_dashboard(self) -> None:
        if not any(isinstance(screen, DashboardScreen) for screen in self.app.screen_stack):
            self.app.push_screen(DashboardScreen())

    def data_shown(self, data: CockpitData) -> None:
        self.loads += 1
        if data.evaluated and not self.settled:
            self.settled = True
            self.app.call_after_refresh(gc.freeze)  # the first evaluated values: see below

    def values_painted(self) -> None:
        """The dashboard has painted its first values: start what start-up left for later
        (the first evaluation, the lineage prewarm, the panels' rows out of view)."""
        if self.app.first_paint.is_set() or self.loads == 0:
            return

        def start_background_work() -> None:
            # What start-up makes (the catalog, the first values and the first evaluated
            # ones, the widgets, the prewarmed lineage screen) mostly lives as long as the
            # cockpit: frozen out of the collector's way at these three points, its passes
            # stay short (a pass over all of it pauses the cockpit for 30-60 ms on a large
            # store, often in the middle of a drill-down). Values replaced by a refresh
            # are freed all the same: they hold no reference cycles.
            gc.freeze()
            gc.enable()  # the launcher holds it off until the first paint
            self.app.first_paint.set()
            self.app.run_worker(
                self._prewarm(), name="_prewarm", group="prewarm", exit_on_error=False
            )

        self.app.set_timer(FIRST_PAINT_GRACE, start_background_work)

    async def _prewarm(self) -> None:
        # A worker that may fail: it is only an optimisation (say, quitting meanwhile).
        await self.navigator.prewarm()
        gc.freeze()  # the lineage screen lives as long as the cockpit: see above

    def release_store(self) -> None:
        """Quit at once, whatever another process does to the store: the watcher wakes,
        and closing the store (off the event loop) ends any wait for its lock, so the
        worker threads that quitting joins finish within milliseconds."""
        app = self.app
        if app.stop_watching.is_set():
            return
        app.stop_watching.set()
        app.first_paint.set()  # a refresh waiting for the first paint: on with it, to its end
        gc.unfreeze()  # what was frozen can be collected once the cockpit is gone (tests)
        threading.Thread(target=app.services.close, name="close-store", daemon=True).start()
