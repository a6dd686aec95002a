"""The cockpit application: wires the services to the screens.

Blocking work runs in thread workers on the services (:mod:`intelligentos.services`);
workers post typed messages (:mod:`intelligentos.tui.messages`) and the handlers here apply
them on the event loop. Screens read :attr:`CockpitApp.data` and are told when it changes.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import RenderableType
from textual import events, on, work
from textual.app import App, SystemCommand
from textual.command import SimpleCommand
from textual.markup import escape
from textual.reactive import reactive
from textual.screen import Screen
from textual.theme import Theme
from textual.timer import Timer
from textual.worker import Worker, get_current_worker

from intelligentos.config.first_look import first_look
from intelligentos.config.paths import builtin_themes_dir, config_dir
from intelligentos.domain.alerts import Alert, State, check_note, parse_duration, snooze_refusal
from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.clock import parse_stamp, utc_naive
from intelligentos.domain.formatting import literal
from intelligentos.services.alerts import AlertService, Announcer
from intelligentos.services.snapshots import CockpitData, DataService
from intelligentos.store import Store, StoreError
from intelligentos.tui.base import CockpitScreen, ReportsFailedWorkers
from intelligentos.tui.find import FindProvider
from intelligentos.tui.keys import APP_BINDINGS
from intelligentos.tui.messages import (
    CatalogLoaded,
    DataLoaded,
    ForecastsEnded,
    IntegrityFailed,
    LifecycleApplied,
    NotificationsSent,
    OpenLineage,
    RefreshEnded,
    SettingsLoaded,
    StoreChanged,
    StoreFailed,
    StoreOpened,
    StrayRowsFound,
)
from intelligentos.tui.navigation import Navigator
from intelligentos.tui.screens.dashboard import DashboardScreen
from intelligentos.tui.themes import DEFAULT_THEME, load_themes

# Imported where first needed, off the launch path: the first screen needs none of them.
if TYPE_CHECKING:
    from intelligentos.config.settings import CockpitSettings
    from intelligentos.domain.views import AgentFocus
    from intelligentos.services.notify import Notifier

WATCH_INTERVAL = 0.25  # seconds between data_version polls
# The shortest wait before a delivery that did not get through is tried again.
RETRY_CHECK_MIN_SECONDS = 1.0
# After the first paint with data: how long the terminal gets to receive it before the
# background work of start-up (rules, integrity check, lineage prewarm, the panels' other
# rows) competes with it for the interpreter.
FIRST_PAINT_GRACE = 0.05
# How long start-up waits for the first values before it shows the dashboard without them.
DASHBOARD_WAIT = 0.5
# How long the first evaluation waits for that paint at most (say, the screen never shows).
FIRST_PAINT_WAIT = 2.0
# What each group of background work does, as the user knows it: a failure names it.
WORK_DONE_BY_GROUP = {
    "store": "Opening the store",
    "refresh": "Refreshing the cockpit",
    "prewarm": "Preparing the lineage screen",
    "forecasts": "Forecasting",
    "watch": "Watching the store for changes",
    "lifecycle": "Saving the alert change",
    "alerts": "Reading the alerts",
    "events": "Reading the alert's history",
    "history": "Reading the KPI's history",
    "brief": "Reading the brief",
    "brief-export": "Exporting the brief",
    "scenario-save": "Saving the scenario",
    "scenario-list": "Reading the saved scenarios",
    "scenario-compare": "Comparing the scenarios",
    "scenario-delete": "Deleting the scenario",
}


def system_clock() -> datetime:
    return datetime.now().astimezone()


class CockpitApp(ReportsFailedWorkers, App[None]):
    """The IntelligentOS cockpit on one store file. Tests build it exactly as the CLI does."""

    TITLE = "IntelligentOS cockpit"
    # Absolute, so that a subclass defined in another directory finds it too.
    CSS_PATH = str(Path(__file__).with_name("cockpit.tcss"))
    COMMANDS = App.COMMANDS | {FindProvider}
    BINDINGS = APP_BINDINGS

    # The header of every screen watches these.
    window: reactive[int] = reactive(30)
    paused: reactive[bool] = reactive(False)
    attention_count: reactive[int | None] = reactive(None)
    as_of_text: reactive[str] = reactive("")
    focus_text: reactive[str] = reactive("")  # the focused agent's short name, "" for none
    # The store cannot be written (no write permission, or found damaged): the header says
    # so, and every write action is refused before it asks anything.
    read_only: reactive[bool] = reactive(False)

    def __init__(
        self,
        store_path: Path,
        *,
        theme_name: str | None = None,
        clock: Callable[[], datetime] = system_clock,
        config_path: Path | None = None,
        as_of: date | None = None,
        window: int = 30,
        user: str | None = None,
        bell: bool | None = None,
        forecasts: bool | None = None,
        agent: str | None = None,
    ) -> None:
        super().__init__()
        self.store_path = Path(store_path)
        self.clock = clock
        self.config_path = config_path or config_dir()
        # The validated settings are loaded after the first paint (see :attr:`settings`);
        # the first screen is drawn with the theme and keymap read straight from the file.
        self.loaded_settings: CockpitSettings | None = None
        self.first_look = first_look(self.config_path)
        self.requested_theme = theme_name
        self.requested_user = user
        self.requested_bell = bell
        self.requested_forecasts = forecasts
        # A theme the cockpit itself put on (at start, from the settings): shown, not chosen,
        # so not saved (saving rewrites the user's file). Any other change is the user's.
        self.theme_not_chosen: str | None = None
        # Through the app, so that a clock swapped in later (tests) reaches the services.
        self.services = DataService(self.store_path, lambda: self.clock(), as_of)
        self.alert_service: AlertService | None = None
        self.announcer = Announcer(time.monotonic)
        self.navigator = Navigator(self)
        self.data: CockpitData | None = None
        self.first_catalog: Catalog | None = None  # read before the first values
        self.cockpit_themes: list[str] = []
        self.set_reactive(CockpitApp.window, window)
        # Refreshes: at most one in flight; a request meanwhile runs once more after it.
        self.requests = 0
        self.applied_request = 0
        self.refreshing = False
        self.refresh_again = False
        self.stale_while_paused = False
        # Background forecasting: at most one run; data that changes meanwhile runs it again.
        self.forecasts_running = False
        self.forecast_again = False
        self.loads = 0
        self.settled = False  # the first evaluated values have been applied
        # Set once the first values are on screen: start-up's background work waits for it.
        self.first_paint = threading.Event()
        self.snooze_timer: Timer | None = None
        self.stop_watching = threading.Event()
        # Notifications: deliveries run on a thread of their own, at most one run at a
        # time; a run asked for meanwhile follows it. Quitting stops them (stop_watching).
        # Made with the settings, before the first evaluation.
        self.notifier: Notifier | None = None
        self.delivering = False
        self.retry_timer: Timer | None = None
        self.deliver_again = False
        self.delivery_problems_shown: set[str] = set()
        # Agent focus: its KPIs first in every panel, only its routed alerts. Resolved against
        # each refresh's catalog (a re-sync may rename or drop the agent).
        self.focus_agent_id = agent
        self.agent_focus: AgentFocus | None = None

    # --- settings ----------------------------------------------------------------------------

    @property
    def settings(self) -> CockpitSettings:
        """The validated settings. Loaded off the event loop after the first paint; asked
        for before that (a key pressed at once), they are loaded here and then."""
        if self.loaded_settings is None:
            from intelligentos.config.settings import CockpitSettings

            self._apply_settings(CockpitSettings.load(self.config_path))
        assert self.loaded_settings is not None
        return self.loaded_settings

    @property
    def user(self) -> str:
        """Who acknowledges: ``--user``, else the config's ``cockpit.user``, else the OS's."""
        from intelligentos.config.settings import acting_user

        return acting_user(self.requested_user, self.settings)

    @property
    def ring_bell(self) -> bool:
        return self.settings.cockpit.bell if self.requested_bell is None else self.requested_bell

    @property
    def forecasting(self) -> bool:
        if self.requested_forecasts is None:
            return self.settings.cockpit.forecasts
        return self.requested_forecasts

    def _apply_settings(self, settings: CockpitSettings) -> None:
        """Take the validated settings; where the first screen was drawn otherwise (the
        file's theme or keymap could not be used as it is), they win."""
        self.loaded_settings = settings
        if settings.keymap != self.first_look.keymap:
            self.set_keymap(settings.keymap)
        wanted = self.requested_theme or settings.theme or DEFAULT_THEME
        if wanted != self.theme and wanted in self.available_themes:
            self.theme_not_chosen = wanted
            self.theme = wanted
        if settings.problem:
            self.notify(settings.problem, title="Settings", severity="warning", markup=False)

    @on(SettingsLoaded)
    def _settings_loaded(self, message: SettingsLoaded) -> None:
        if self.loaded_settings is None:
            self._apply_settings(message.settings)
        self.notifier = message.notifier

    async def on_event(self, event: events.Event) -> None:
        if self.navigator.hold(event):
            return  # a key pressed while the lineage screen is being prewarmed: kept for after
        await super().on_event(event)

    # --- start-up --------------------------------------------------------------------------

    def on_mount(self) -> None:
        fixed = self.services.fixed_as_of
        if fixed is not None and fixed >= self.clock().date():
            self.services.set_as_of(None)  # as of today (or later) is live
        self.open_store()
        self._setup_themes()
        self.set_keymap(self.first_look.keymap)
        self._show_as_of()
        # The dashboard is shown with its first values (one paint, not one empty and one
        # full), or after DASHBOARD_WAIT without them when the store is slow to read.
        self.set_timer(DASHBOARD_WAIT, self._show_dashboard)

    def _show_dashboard(self) -> None:
        if not any(isinstance(screen, DashboardScreen) for screen in self.screen_stack):
            self.push_screen(DashboardScreen())

    @work(thread=True, group="store", exit_on_error=False)
    def open_store(self) -> None:
        try:
            store = self.services.open()
        except StoreError as error:
            self.post_message(StoreFailed(str(error)))
            return
        self.post_message(StoreOpened(store))

    @on(StoreFailed)
    def _store_failed(self, message: StoreFailed) -> None:
        self.exit(return_code=1, message=message.error)

    @on(StoreOpened)
    def _store_opened(self, message: StoreOpened) -> None:
        self.read_only = message.store.readonly
        self.alert_service = AlertService(message.store)
        self.request_refresh()
        self.watch_store()

    def _setup_themes(self) -> None:
        themes, problems = load_themes([builtin_themes_dir(), self.config_path / "themes"])
        for theme in themes:
            self.register_theme(theme)
        self.cockpit_themes = list(dict.fromkeys(t.name for t in themes))
        for problem in problems:
            self.notify(problem, title="Theme file skipped", severity="warning", markup=False)
        wanted = self.requested_theme or self.first_look.theme or DEFAULT_THEME
        if wanted not in self.available_themes:
            self.notify(
                f"Unknown theme {wanted!r}; using {DEFAULT_THEME}.",
                severity="warning",
                markup=False,
            )
            wanted = DEFAULT_THEME
        self.theme_not_chosen = wanted
        self.theme = wanted
        self.theme_changed_signal.subscribe(self, self._remember_theme)

    def _remember_theme(self, theme: Theme) -> None:
        if theme.name == self.theme_not_chosen:
            self.theme_not_chosen = None
            self._data_changed()
            return
        self.settings.theme = theme.name
        try:
            self.settings.save(self.config_path, fields=("theme",))
        except (OSError, ValueError) as error:
            self.notify(
                f"Could not save the theme choice: {error}", severity="warning", markup=False
            )
        # Status colours come from the theme: repaint what shows them.
        self._data_changed()

    # --- refreshing ------------------------------------------------------------------------

    def request_refresh(self, *, even_when_paused: bool = False) -> None:
        """Evaluate and reload; never more than one refresh in flight (a request made
        meanwhile runs once more when the current one ends)."""
        if self.alert_service is None:
            return  # the store is still opening; its opening starts the first refresh
        if self.paused and self.data is not None and not even_when_paused:
            self.stale_while_paused = True
            return
        if self.refreshing:
            self.refresh_again = True
            return
        self.refreshing = True
        self.requests += 1
        self.refresh_data(self.requests, self.window, self.data)

    @work(thread=True, group="refresh", exit_on_error=False)
    def refresh_data(self, request: int, window: int, previous: CockpitData | None) -> None:
        """Off the event loop: the first time, paint values before the rules run; then
        evaluate (writing alert changes) and read the visible windows and open alerts."""
        services = self.services
        first = previous is None
        try:
            if previous is None:
                # The catalog first: the dashboard builds its panels while the values are
                # read.
                catalog, graph = services.read_catalog()
                self.post_message(CatalogLoaded(catalog))
                previous = services.read(window, catalog, graph)
                self.post_message(DataLoaded(previous, request))
                # What follows would only slow that paint down: let it reach the screen.
                self.first_paint.wait(FIRST_PAINT_WAIT)
            # Before the notifier's first write (its watermarks): a damaged file is
            # then read-only, and nothing is written into it.
            problem = services.check_integrity()
            if problem:
                self.post_message(IntegrityFailed(problem))
            elif not services.stray_checked:
                services.stray_checked = True
                stray = services.stray_rows()
                if stray:
                    self.post_message(StrayRowsFound(stray))
            if first:
                self._load_settings()
            self.post_message(DataLoaded(services.evaluate_and_read(window, previous), request))
        except StoreError as error:
            # Another process may hold the write lock for long, or the file may have
            # become unreadable: say so and keep the cockpit up; the next change retries.
            self.post_message(RefreshEnded(request, f"Refresh failed: {error}"))
            return
        self.post_message(RefreshEnded(request))

    def _load_settings(self) -> None:
        """In the first refresh's thread: the validated settings, and the notifier they
        configure, ready before the first evaluation (a sink seen for the first time is
        told only what happens from now on)."""
        from intelligentos.config.settings import CockpitSettings, config_file
        from intelligentos.services.notify import Notifier

        settings = CockpitSettings.load(self.config_path)
        notifier = Notifier(
            list(settings.notify),
            source=str(config_file(self.config_path)),
            stop=self.stop_watching,
        )
        store = self.services.store
        try:
            if store is not None:
                notifier.prepare(store)
        except StoreError as error:
            self.post_message(NotificationsSent([], [f"Notifications are off: {error}"]))
        self.post_message(SettingsLoaded(settings, notifier))

    @on(CatalogLoaded)
    def _catalog_loaded(self, message: CatalogLoaded) -> None:
        self.first_catalog = message.catalog
        for screen in self.screen_stack:
            if isinstance(screen, DashboardScreen):
                screen.catalog_loaded(message.catalog)

    @on(DataLoaded)
    def _data_loaded(self, message: DataLoaded) -> None:
        data = message.data
        if (
            message.request < self.applied_request
            or data.window != self.window
            or data.past != self.services.fixed_as_of
        ):
            # From an older refresh, or for a window or an as-of date no longer shown (a
            # refresh for the new one follows): showing it would step back in time.
            return
        self.applied_request = message.request
        self.data = data
        self._show_dashboard()
        self._resolve_focus(data)
        self.attention_count = len(self.focused_alerts(data.attention))
        self._announce(data)
        self._schedule_snooze_expiry(data.open_alerts)
        self._data_changed()
        self.loads += 1
        if data.evaluated:
            if not self.settled:
                self.settled = True
                self.call_after_refresh(gc.freeze)  # the first evaluated values: see below
            self.update_forecasts()

    def values_painted(self) -> None:
        """The dashboard has painted its first values: start what start-up left for later
        (the first evaluation, the lineage prewarm, the panels' rows out of view)."""
        if self.first_paint.is_set() or self.loads == 0:
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
            self.first_paint.set()
            self._prewarm()

        self.set_timer(FIRST_PAINT_GRACE, start_background_work)

    @work(group="prewarm", exit_on_error=False)
    async def _prewarm(self) -> None:
        # A worker that may fail: it is only an optimisation (say, quitting meanwhile).
        await self.navigator.prewarm()
        gc.freeze()  # the lineage screen lives as long as the cockpit: see below

    def _data_changed(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, CockpitScreen) and screen.is_attached:
                screen.data_changed()

    @on(RefreshEnded)
    def _refresh_ended(self, message: RefreshEnded) -> None:
        if message.problem:
            self.notify(message.problem, severity="error", markup=False)
        else:
            self.deliver_notifications()
        self._refresh_done()

    def _refresh_done(self) -> None:
        self.refreshing = False
        if self.refresh_again:
            self.refresh_again = False
            self.request_refresh()

    # --- notifications -----------------------------------------------------------------------

    def deliver_notifications(self) -> None:
        """Send the [[notify]] sinks the transitions they have not had yet (see
        :mod:`intelligentos.services.notify`), off the event loop."""
        store = self.alert_service.store if self.alert_service else None
        if self.notifier is None or not self.notifier.sinks or store is None or store.readonly:
            return
        if self.delivering:
            self.deliver_again = True
            return
        self.delivering = True
        catalog = self.data.catalog if self.data else None
        # A daemon thread, not a worker: quitting joins workers, and a webhook that does not
        # answer must not hold the cockpit open until its timeout.
        threading.Thread(
            target=self._send_notifications,
            args=(self.notifier, store, catalog),
            name="notify",
            daemon=True,
        ).start()

    def _send_notifications(
        self, notifier: Notifier, store: Store, catalog: Catalog | None
    ) -> None:
        try:
            report = notifier.deliver(store, catalog)
        except StoreError as error:
            self.post_message(NotificationsSent([], [f"Notifications stopped: {error}"]))
            return
        retry_in = None
        if report.next_retry is not None:
            retry_in = notifier.seconds_until(report.next_retry)
        self.post_message(NotificationsSent(report.failures, report.problems, retry_in))

    @on(NotificationsSent)
    def _notifications_sent(self, message: NotificationsSent) -> None:
        self.delivering = False
        if self.stop_watching.is_set():
            return
        for failure in message.failures:
            self.notify(failure, title="Notification failed", severity="warning", markup=False)
        for problem in message.problems:
            if problem not in self.delivery_problems_shown:
                self.delivery_problems_shown.add(problem)
                self.notify(problem, title="Notifications", severity="warning", markup=False)
        if self.deliver_again:
            self.deliver_again = False
            self.deliver_notifications()
        elif message.retry_in is not None:
            # A delivery that did not get through is retried when due, even if nothing in
            # the store changes meanwhile.
            if self.retry_timer is not None:
                self.retry_timer.stop()
            wait = max(message.retry_in, RETRY_CHECK_MIN_SECONDS)
            self.retry_timer = self.set_timer(wait, self.deliver_notifications)

    # --- forecasts ---------------------------------------------------------------------------

    def update_forecasts(self) -> None:
        """Bring the out-of-date forecasts up to date, off the UI (other processes)."""
        if not self.forecasting or self.data is None or self.services.fixed_as_of is not None:
            return  # off, not loaded yet, or viewing the past (nothing is written then)
        if self.forecasts_running:
            self.forecast_again = True
            return
        self.forecasts_running = True
        # What the run needs, not the data itself: a worker keeps its arguments until it is
        # gone, and a refresh's data held that long doubled the cockpit's peak memory.
        data = self.data
        self.forecast_outdated(data.catalog, data.observed_periods(), data.as_of)

    @work(thread=True, group="forecasts", exit_on_error=False)
    def forecast_outdated(
        self, catalog: Catalog, latest: dict[str, str | None], as_of: date
    ) -> None:
        worker = get_current_worker()

        def stop() -> bool:
            # Travelling to the past stops it too: nothing is written while viewing it.
            return (
                worker.is_cancelled
                or self.stop_watching.is_set()
                or self.services.fixed_as_of is not None
            )

        try:
            # Each save is a change of the store: the watcher's refresh re-evaluates and redraws.
            self.services.refresh_forecasts(catalog, latest, as_of, stop)
        except Exception as error:
            # Forecasts are an extra: whatever stops them (the store, a process pool that
            # breaks), the cockpit stays up, says why, and tries again with the next data.
            self.post_message(ForecastsEnded(f"Forecasts stopped: {error}"))
            return
        self.post_message(ForecastsEnded())

    @on(ForecastsEnded)
    def _forecasts_ended(self, message: ForecastsEnded) -> None:
        self.forecasts_running = False
        if message.problem and not self.stop_watching.is_set():
            self.notify(message.problem, severity="warning", markup=False)
        if self.forecast_again:
            self.forecast_again = False
            self.update_forecasts()

    @on(IntegrityFailed)
    def _integrity_failed(self, message: IntegrityFailed) -> None:
        self.read_only = True  # the store is treated as read-only from now on
        self.notify(message.error, severity="error", timeout=30, markup=False)

    @on(StrayRowsFound)
    def _stray_rows_found(self, message: StrayRowsFound) -> None:
        self.notify(message.message, severity="warning", timeout=30, markup=False)

    def _announce(self, data: CockpitData) -> None:
        if not data.evaluated or data.past is not None:
            # The first paint's alerts may be resolved by the first evaluation; the past's
            # alerts are no news.
            return
        notice = self.announcer.news(self.focused_alerts(data.attention), data.subject_name)
        if notice is None:
            return
        self.notify(
            literal(notice.message),
            title=literal(notice.title),
            severity="error" if notice.critical else "warning",
            timeout=6,
            markup=False,
        )
        if self.ring_bell:
            self.bell()

    def pulsing_kpis(self) -> frozenset[str]:
        """Flashing KPIs whose alert is new enough to still pulse."""
        return self.announcer.pulsing(self.data.attention) if self.data else frozenset()

    @property
    def flashing_kpis(self) -> frozenset[str]:
        return self.data.flashing_kpis if self.data else frozenset()

    def _schedule_snooze_expiry(self, open_alerts: list[Alert]) -> None:
        """Nothing may change in the store when a snooze ends: evaluate again right then."""
        if self.snooze_timer is not None:
            self.snooze_timer.stop()
            self.snooze_timer = None
        ends = [parse_stamp(a.snoozed_until) for a in open_alerts if a.snoozed_until]
        if ends and self.services.fixed_as_of is None:
            now = utc_naive(self.clock())
            delay = max((min(ends) - now).total_seconds(), 0) + 0.5
            self.snooze_timer = self.set_timer(delay, self.request_refresh)

    @work(thread=True, group="watch", exclusive=True, exit_on_error=False)
    def watch_store(self) -> None:
        """Poll ``PRAGMA data_version`` (a counter SQLite bumps when another connection
        commits) and report only when it moves: cheap, and sees every other process."""
        try:
            seen = self.services.data_version()
            # An Event rather than sleep(): quitting wakes the watcher at once.
            while not self.stop_watching.wait(WATCH_INTERVAL):
                version = self.services.data_version()
                if version != seen:
                    seen = version
                    self.post_message(StoreChanged())
        except StoreError:
            if self.stop_watching.is_set():
                return  # the store closed with the app
            raise  # live refresh has stopped: reported (worker_failed)

    @on(StoreChanged)
    def _store_changed(self) -> None:
        self.request_refresh()

    def set_window(self, size: int) -> None:
        self.window = size
        self.request_refresh()

    # --- navigation ------------------------------------------------------------------------

    @on(OpenLineage)
    def _open_lineage(self, message: OpenLineage) -> None:
        self.navigator.open_lineage(message.kpi_id)

    def action_help(self) -> None:
        self.navigator.help()

    def action_alerts(self) -> None:
        self.navigator.alerts()

    def action_brief(self) -> None:
        self.navigator.brief()

    def action_strategy_map(self) -> None:
        self.navigator.strategy_map()

    def action_pyramid(self) -> None:
        self.navigator.pyramid()

    def action_agents(self) -> None:
        self.navigator.agents()

    # --- agent focus -------------------------------------------------------------------------

    def _resolve_focus(self, data: CockpitData) -> None:
        agent_id = self.focus_agent_id
        agent = data.catalog.agents.get(agent_id) if agent_id else None
        if agent_id and agent is None:
            self.notify(
                f"No agent {agent_id!r} in the catalog: agent focus cleared.",
                severity="warning",
                markup=False,
            )
            self.focus_agent_id = None
        if agent:
            from intelligentos.domain.views import AgentFocus

            focus = AgentFocus.of(agent, data.catalog)
        else:
            focus = None
        if focus != self.agent_focus:
            self.agent_focus = focus
        self.focus_text = focus.short_name if focus else ""

    def focus_agent(self, agent_id: str | None) -> None:
        """Show the cockpit as ``agent_id`` sees it (``None``: everyone's)."""
        self.focus_agent_id = agent_id
        data = self.data
        if data is None:
            return
        self._resolve_focus(data)
        self.attention_count = len(self.focused_alerts(data.attention))
        self._data_changed()
        focus = self.agent_focus
        self.notify(
            literal(f"Focus: {focus.name}" if focus else "Agent focus cleared."),
            timeout=3,
            markup=False,
        )

    def focused_alerts(self, alerts: list[Alert]) -> list[Alert]:
        """The alerts routed to the focused agent; all of them without a focus."""
        focus, data = self.agent_focus, self.data
        if focus is None or data is None:
            return alerts
        return focus.alerts(alerts, data.catalog, data.graph)

    def _pick_agent(self) -> None:
        data = self.data
        if data is None:
            self.notify("The store is still loading.", timeout=3)
            return
        self.search_commands(
            [
                SimpleCommand(
                    escape(literal(agent.name)),
                    partial(self.focus_agent, agent.id),
                    escape(literal(f"{agent.id}: its KPIs first, only its routed alerts")),
                )
                for agent in data.catalog.agents.values()
            ],
            placeholder="Focus on which agent…",
        )

    # --- background work that failed ------------------------------------------------------

    def worker_failed(self, worker: Worker[object]) -> None:
        """Any worker of the cockpit that failed (its node hands it here, see
        :class:`ReportsFailedWorkers`): tell the user what failed and why, log it, and go on;
        a failed refresh lets the next one start."""
        error = worker.error
        what = WORK_DONE_BY_GROUP.get(worker.group) or worker.name.replace("_", " ").strip()
        why = str(error) or type(error).__name__
        self.log.error(f"{what} ({worker.name}) failed: {error!r}")
        self.notify(
            literal(why),
            title=f"{what[:1].upper()}{what[1:]} failed",
            severity="error",
            timeout=10,
            markup=False,
        )
        if worker.group == "refresh":
            self._refresh_done()

    # --- alert lifecycle -------------------------------------------------------------------

    def acknowledge(self, alerts: list[Alert]) -> None:
        """Ask for a note, then acknowledge every given alert that is not yet owned. The
        dialog names the subject and the rules, and refuses a blank note."""
        if self.refuses_writes("acknowledged"):
            return
        targets = [a for a in alerts if a.state in (State.FIRING, State.SNOOZED) and a.id]
        if not targets or self.data is None:
            owned = [a for a in alerts if a.state is State.ACKNOWLEDGED and a.acked_by]
            if len(alerts) == 1 and owned:
                reason = f"Alert {owned[0].id} is already acknowledged by {owned[0].acked_by}."
            else:
                reason = "Nothing to acknowledge here."
            self.notify(literal(reason), timeout=3, markup=False)
            return
        rules = ", ".join(dict.fromkeys(a.rule for a in targets))
        subject = f"{self.data.subject_name(targets[0])} · {rules}"
        if len(targets) > 1:
            subject += f"  ({len(targets)} alerts)"
        ids = [a.id for a in targets if a.id is not None]

        def chosen(note: str | None) -> None:
            if note is not None and not self.refuses_writes("acknowledged"):
                self.apply_lifecycle(
                    lambda service: service.acknowledge(ids, self.user, note, self.clock())
                )

        from intelligentos.tui.screens.dialogs import Prompt, PromptDialog

        prompt = Prompt(
            "Acknowledge",
            subject,
            f"as {self.user}; a note is required and kept in the store",
            parse=check_note,
            placeholder="Note, e.g. known: CRM migration",
        )
        self.push_screen(PromptDialog(prompt), chosen)

    def snooze(self, alert: Alert) -> None:
        """Ask how long (at most 30 days), then snooze one acknowledged alert. An alert that
        cannot be snoozed is refused at once, before asking anything."""
        if self.data is None or alert.id is None or self.refuses_writes("snoozed"):
            return
        refusal = snooze_refusal(alert)
        if refusal:
            self.notify(
                literal(f"{refusal[0].upper()}{refusal[1:]}."),
                title="Acknowledge it first" if alert.state is State.FIRING else "Not snoozed",
                severity="warning",
                timeout=4,
                markup=False,
            )
            return
        alert_id = alert.id

        def chosen(duration: timedelta | None) -> None:
            if duration is not None and not self.refuses_writes("snoozed"):
                self.apply_lifecycle(
                    lambda service: service.snooze([alert_id], duration, self.user, self.clock())
                )

        from intelligentos.tui.screens.dialogs import Prompt, PromptDialog

        prompt = Prompt(
            "Snooze",
            f"{self.data.subject_name(alert)} · {alert.rule}",
            "for how long? 30m, 4h, 2d, 1w (at most 30d)",
            parse=parse_duration,
            value="4h",
        )
        self.push_screen(PromptDialog(prompt), chosen)

    @work(thread=True, group="lifecycle", exit_on_error=False)
    def apply_lifecycle(self, action: Callable[[AlertService], list[str]]) -> None:
        """Apply a lifecycle action off the event loop; a refresh follows."""
        assert self.alert_service is not None
        self.post_message(LifecycleApplied(action(self.alert_service)))

    @on(LifecycleApplied)
    def _lifecycle_applied(self, message: LifecycleApplied) -> None:
        for problem in message.problems:
            self.notify(problem, title="Not saved", severity="error", markup=False)
        self.action_refresh()

    # --- time travel -------------------------------------------------------------------------

    def action_travel(self, days: int) -> None:
        """Step the as-of date by ``days`` (from today when live)."""
        start = self.services.fixed_as_of or self.clock().date()
        self.travel_to(start + timedelta(days=days))

    def action_live(self) -> None:
        self.travel_to(None)

    def travel_to(self, day: date | None) -> None:
        """Show the cockpit as of the end of ``day``: values up to it, staleness judged on
        it, alerts as they stood then (from the event log); nothing is written meanwhile.
        Today or later, or ``None``, is live again. Not before the first observation."""
        if day is not None and day >= self.clock().date():
            day = None
        first = self.services.first_day
        if day is not None and first is not None and day < first:
            if self.services.fixed_as_of == first:
                self.notify(f"No data before {first.isoformat()}.", timeout=3, markup=False)
                return
            day = first
        if day == self.services.fixed_as_of:
            if day is None:
                self.notify("Already live.", timeout=2)
            return
        was_live = self.services.fixed_as_of is None
        self.services.set_as_of(day)
        self._show_as_of()
        self.refresh_bindings()
        if day is None:
            self.notify("Live again: as of now.", timeout=2)
        elif was_live:
            self.notify(
                f"As of {day.isoformat()}: the past, read-only. < > step a week, {{ }} a day, "
                "L returns to live.",
                timeout=4,
                markup=False,
            )
        # Paused or not: the date shown and the data must agree.
        self.stale_while_paused = False
        self.request_refresh(even_when_paused=True)

    def _show_as_of(self) -> None:
        past = self.services.fixed_as_of
        self.as_of_text = f"{past.isoformat()} (past)" if past else self.services.as_of.isoformat()

    def refuses_writes(self, what: str) -> bool:
        """While viewing the past, or on a read-only store, nothing is written: say so
        (before asking anything) and return True."""
        refusal = self.past_refusal(what)
        if refusal is None:
            return False
        title = "Read-only" if self.read_only else "Viewing the past"
        self.notify(refusal, title=title, severity="warning", timeout=5, markup=False)
        return True

    def past_refusal(self, what: str) -> str | None:
        """Why nothing can be ``what`` (acknowledged, saved…) now, or ``None`` when it can:
        the store is read-only, or the cockpit shows the past."""
        if self.read_only:
            return f"Not {what}: {self.store_path.name} is read-only: nothing can be saved."
        past = self.services.fixed_as_of
        if past is None:
            return None
        return (
            f"Not {what}: the cockpit shows {past.isoformat()}, the past, where nothing is "
            "written. L returns to live."
        )

    # --- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers "Pause live" or "Resume live", whichever applies; "Live" works
        only while viewing the past."""
        if action == "pause":
            return not self.paused
        if action == "resume":
            return self.paused
        if action == "live":
            return self.services.fixed_as_of is not None
        return True

    def watch_paused(self) -> None:
        self.refresh_bindings()

    def action_pause(self) -> None:
        self.action_toggle_pause()

    def action_resume(self) -> None:
        self.action_toggle_pause()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self.notify("Live refresh paused (p resumes).", timeout=3)
        else:
            self.notify("Live refresh resumed.", timeout=2)
            if self.stale_while_paused:
                self.stale_while_paused = False
                self.request_refresh()

    def action_refresh(self) -> None:
        self.stale_while_paused = False
        self.request_refresh(even_when_paused=True)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The palette's commands, with one per cockpit theme instead of Textual's theme
        picker (which would also offer themes the cockpit is not styled for)."""
        for command in super().get_system_commands(screen):
            if command.title != "Theme":
                yield command
        yield SystemCommand(
            "What-if scenario",
            "Move a KPI and see its CEO KPIs move (catalog weights, linear)",
            partial(self._what_if, screen),
        )
        yield SystemCommand(
            "CEO brief",
            "The weekly brief as of the cockpit's date: headline, CEO KPIs, changes, risks",
            self.navigator.brief,
        )
        yield SystemCommand(
            "Strategy map",
            "Themes → objectives → CEO KPIs → functional KPIs, with status and values",
            self.navigator.strategy_map,
        )
        yield SystemCommand(
            "KPI pyramid",
            "CEO KPIs down to source systems and data fields: counts and worst status by layer",
            self.navigator.pyramid,
        )
        yield SystemCommand(
            "Agents",
            "Each agent's playbook: KPIs owned and supported, rules, open routed alerts",
            self.navigator.agents,
        )
        yield SystemCommand(
            "Focus on agent…",
            "An agent's KPIs first in every panel, and only the alerts routed to it",
            self._pick_agent,
        )
        if self.agent_focus is not None:
            yield SystemCommand(
                "Clear agent focus",
                "Every KPI in catalog order, every alert",
                partial(self.focus_agent, None),
            )
        yield SystemCommand(
            "Scenarios",
            "Saved what-if scenarios: reopen, compare, delete",
            partial(self.navigator.scenario, None, True),
        )
        for name in self.cockpit_themes:
            yield SystemCommand(
                f"Theme: {name}",
                "Switch the cockpit to this colour theme",
                partial(self._use_theme, name),
            )

    def _what_if(self, screen: Screen[object]) -> None:
        """The what-if screen for the KPI selected where the palette was opened."""
        kpi_id: str | None = None
        if isinstance(screen, DashboardScreen):
            kpi_id = screen.selected_kpi_id()
        elif screen is self.navigator.lineage_screen:
            kpi_id = (
                self.navigator.lineage_screen.details_kpi or self.navigator.lineage_screen.kpi_id
            )
        self.navigator.scenario(kpi_id)

    def _use_theme(self, name: str) -> None:
        self.theme = name

    def action_next_theme(self) -> None:
        names = self.cockpit_themes or [DEFAULT_THEME]
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"Theme: {self.theme}", timeout=2, markup=False)

    # --- quitting --------------------------------------------------------------------------

    def exit(
        self,
        result: None = None,
        return_code: int = 0,
        message: RenderableType | None = None,
    ) -> None:
        self._release_store()
        super().exit(result, return_code, message)

    def on_unmount(self) -> None:
        self._release_store()  # also when the app ends without exit() (tests, signals)

    def _release_store(self) -> None:
        """Quit at once, whatever another process does to the store: the watcher wakes,
        and closing the store (off the event loop) ends any wait for its lock, so the
        worker threads that quitting joins finish within milliseconds."""
        if self.stop_watching.is_set():
            return
        self.stop_watching.set()
        self.first_paint.set()  # a refresh waiting for the first paint: on with it, to its end
        gc.unfreeze()  # what was frozen can be collected once the cockpit is gone (tests)
        threading.Thread(target=self.services.close, name="close-store", daemon=True).start()
