"""Background forecasting: the out-of-date forecasts brought up to date off the event loop,
one run at a time; data that changes meanwhile runs it again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial

from textual.worker import get_current_worker

from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.quarters import Quarter
from intelligentos.tui.base import Cockpit
from intelligentos.tui.messages import ForecastsEnded
from intelligentos.tui.runs import OneAtATime


class Forecasts:
    def __init__(self, app: Cockpit, enabled: Callable[[], bool]) -> None:
        self.app = app
        self.enabled = enabled
        self.runs = OneAtATime(self.update)

    @property
    def running(self) -> bool:
        return self.runs.running

    def update(self) -> None:
        """Bring the out-of-date forecasts up to date, off the UI (other processes)."""
        app = self.app
        data = app.data
        if not self.enabled() or data is None or app.services.fixed_as_of is not None:
            return  # off, not loaded yet, or viewing the past (nothing is written then)
        if not self.runs.begin():
            return
        # What the run needs, not the data itself: a worker keeps its arguments until it is
        # gone, and a refresh's data held that long doubled the cockpit's peak memory.
        work = partial(self._forecast, data.catalog, data.observed_periods(), data.as_of)
        app.run_worker(
            work, name="forecast_outdated", group="forecasts", thread=True, exit_on_error=False
        )

    def _forecast(self, catalog: Catalog, latest: dict[str, str | None], as_of: date) -> None:
        app = self.app
        worker = get_current_worker()

        def stop() -> bool:
            # Travelling to the past stops it too: nothing is written while viewing it.
            return (
                worker.is_cancelled
                or app.stop_watching.is_set()
                or app.services.fixed_as_of is not None
            )

        try:
            # Each save is a change of the store: the watcher's refresh re-evaluates and redraws.
            app.services.refresh_forecasts(catalog, latest, as_of, stop)
        except Exception as error:
            # Forecasts are an extra: whatever stops them (the store, a process pool that
            # breaks), the cockpit stays up, says why, and tries again with the next data.
            app.post_message(ForecastsEnded(f"Forecasts stopped: {error}"))
            return
        app.post_message(ForecastsEnded())

    def through(self, quarter: Quarter) -> None:
        """Forecast the KPIs whose forecast ends before ``quarter`` ends, far enough to reach
        it (a proposal for the quarter needs that); not while another run is under way."""
        app = self.app
        data = app.data
        if data is None or app.services.fixed_as_of is not None:
            return  # not loaded yet, or viewing the past (nothing is written then)
        if self.running:
            app.notify(
                "Forecasts are being brought up to date: try again when they are.",
                timeout=4,
                markup=False,
            )
            return
        self.runs.begin()
        end = quarter.end
        app.notify(
            f"Forecasting to the end of {quarter} ({end.day} {end:%b %Y})…", timeout=4, markup=False
        )
        work = partial(self._through, data.catalog, quarter, data.as_of)
        app.run_worker(
            work, name="forecast_through", group="forecasts", thread=True, exit_on_error=False
        )

    def _through(self, catalog: Catalog, quarter: Quarter, as_of: date) -> None:
        from intelligentos.domain.clock import stamp
        from intelligentos.services.okr.reach import forecast_through

        app = self.app
        worker = get_current_worker()
        store = app.services.store
        if store is None:
            app.post_message(ForecastsEnded("Forecasts stopped: the store is not open."))
            return
        try:
            saved = forecast_through(
                store,
                catalog,
                quarter,
                as_of,
                stamp(app.clock()),
                lambda: worker.is_cancelled or app.stop_watching.is_set(),
            )
        except Exception as error:
            # As the background run: the cockpit stays up and says why.
            app.post_message(ForecastsEnded(f"Forecasts stopped: {error}"))
            return
        app.post_message(ForecastsEnded(done=f"{saved} forecasts now reach the end of {quarter}."))

    def ended(self, message: ForecastsEnded) -> None:
        if message.problem and not self.app.stop_watching.is_set():
            self.app.notify(message.problem, severity="warning", markup=False)
        elif message.done:
            self.app.notify(message.done, timeout=4, markup=False)
        self.runs.end()
