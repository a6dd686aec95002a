"""The cockpit application: wires the services, the controllers and the screens.

Each concern is a controller (:mod:`intelligentos.tui.controllers`); their workers post typed
messages (:mod:`intelligentos.tui.messages`), which the handlers here hand to them on the event
loop. Screens read :attr:`CockpitApp.data` and are told when it changes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import RenderableType
from textual import events, on
from textual.app import SystemCommand
from textual.screen import Screen
from textual.worker import Worker

from intelligentos.config.paths import config_dir
from intelligentos.domain.alerts import Alert
from intelligentos.services.snapshots import DataService
from intelligentos.tui import messages
from intelligentos.tui.base import Cockpit, CockpitScreen, ReportsFailedWorkers
from intelligentos.tui.controllers.agents import AgentFocusing
from intelligentos.tui.controllers.alerts import Alerts
from intelligentos.tui.controllers.forecast import Forecasts
from intelligentos.tui.controllers.notify import Notifications
from intelligentos.tui.controllers.refresh import Refresher
from intelligentos.tui.controllers.settings import Preferences
from intelligentos.tui.controllers.startup import StartUp
from intelligentos.tui.controllers.time_travel import TimeTravel
from intelligentos.tui.failures import report_failure
from intelligentos.tui.find import FindProvider
from intelligentos.tui.keys import APP_BINDINGS
from intelligentos.tui.navigation import Navigator
from intelligentos.tui.palette import CockpitCommands, screen_commands

if TYPE_CHECKING:  # imported where first needed, off the launch path
    from intelligentos.config.settings import CockpitSettings
    from intelligentos.domain.quarters import Quarter
    from intelligentos.domain.views import AgentFocus


def system_clock() -> datetime:
    return datetime.now().astimezone()


class CockpitApp(ReportsFailedWorkers, Cockpit):
    """The IntelligentOS cockpit on one store file. Tests build it exactly as the CLI does."""

    TITLE = "IntelligentOS cockpit"
    # Absolute, so that a subclass defined in another directory finds it too.
    CSS_PATH = str(Path(__file__).with_name("cockpit.tcss"))
    COMMANDS = {CockpitCommands, FindProvider}
    BINDINGS = APP_BINDINGS

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
        # Through the app, so that a clock swapped in later (tests) reaches the services.
        self.services = DataService(self.store_path, lambda: self.clock(), as_of)
        self.data = None
        self.first_catalog = None
        self.set_reactive(Cockpit.window, window)
        self.first_paint = threading.Event()
        self.stop_watching = threading.Event()
        self.navigator: Navigator = Navigator(self)
        self.preferences = Preferences(
            self, theme=theme_name, user=user, bell=bell, forecasts=forecasts
        )
        self.startup = StartUp(self, self.navigator)
        self.alerts = Alerts(self, lambda: self.preferences.ring_bell)
        self.notifications = Notifications(self)
        self.refresher = Refresher(
            self, first_run=self.preferences.load, done=self.notifications.deliver
        )
        self.forecasts = Forecasts(self, lambda: self.preferences.forecasting)
        self.focusing = AgentFocusing(self, agent)
        self.time_travel = TimeTravel(self, self.refresher.refresh_now)

    @property
    def settings(self) -> CockpitSettings:
        return self.preferences.settings

    @property
    def user(self) -> str:
        return self.preferences.user

    @property
    def agent_focus(self) -> AgentFocus | None:
        return self.focusing.focus

    def focused_alerts(self, alerts: list[Alert]) -> list[Alert]:
        return self.focusing.focused_alerts(alerts)

    def pulsing_kpis(self) -> frozenset[str]:
        return self.alerts.pulsing_kpis()

    @property
    def flashing_kpis(self) -> frozenset[str]:
        return self.data.flashing_kpis if self.data else frozenset()

    def data_changed(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, CockpitScreen) and screen.is_attached:
                screen.data_changed()

    def request_refresh(self, *, even_when_paused: bool = False) -> None:
        self.refresher.request(even_when_paused=even_when_paused)

    def values_painted(self) -> None:
        self.startup.values_painted()

    def set_window(self, size: int) -> None:
        self.window = size
        self.request_refresh()

    def acknowledge(self, alerts: list[Alert]) -> None:
        self.alerts.acknowledge(alerts)

    def snooze(self, *alerts: Alert) -> None:
        self.alerts.snooze(*alerts)

    def past_refusal(self, what: str) -> str | None:
        return self.time_travel.past_refusal(what)

    def refuses_writes(self, what: str) -> bool:
        return self.time_travel.refuses_writes(what)

    def worker_failed(self, worker: Worker[object]) -> None:
        """Tell the user and go on; a failed refresh lets the next one start."""
        report_failure(self, worker)
        if worker.group == "refresh":
            self.refresher.runs.end()

    def on_mount(self) -> None:
        self.startup.open_store()
        self.preferences.set_up()
        self.time_travel.show_as_of()
        self.startup.show_dashboard_soon()

    async def on_event(self, event: events.Event) -> None:
        if self.navigator.hold(event):
            return  # a key pressed while the lineage screen is being prewarmed: kept for after
        await super().on_event(event)

    def exit(
        self, result: None = None, return_code: int = 0, message: RenderableType | None = None
    ) -> None:
        self.startup.release_store()
        super().exit(result, return_code, message)

    def on_unmount(self) -> None:
        self.startup.release_store()  # also when the app ends without exit() (tests, signals)

    @on(messages.StoreFailed)
    def _store_failed(self, message: messages.StoreFailed) -> None:
        self.exit(return_code=1, message=message.error)

    @on(messages.StoreOpened)
    def _store_opened(self, message: messages.StoreOpened) -> None:
        self.read_only = message.store.readonly
        self.alerts.store_opened(message.store)
        self.notifications.store = message.store
        self.refresher.start()

    @on(messages.SettingsLoaded)
    def _settings_loaded(self, message: messages.SettingsLoaded) -> None:
        self.preferences.loaded_off_the_loop(message)
        self.notifications.notifier = message.notifier

    @on(messages.CatalogLoaded)
    def _catalog_loaded(self, message: messages.CatalogLoaded) -> None:
        self.startup.catalog_loaded(message.catalog)
        self.preferences.check_routing()

    @on(messages.DataLoaded)
    def _data_loaded(self, message: messages.DataLoaded) -> None:
        data = self.refresher.accept(message)
        if data is None:
            return
        self.startup.show_dashboard()
        self.focusing.resolve(data)
        self.alerts.data_loaded(data)
        self.data_changed()
        self.startup.data_shown(data)
        if data.evaluated:
            self.forecasts.update()

    @on(messages.RefreshEnded)
    def _refresh_ended(self, message: messages.RefreshEnded) -> None:
        self.refresher.ended(message)

    @on(messages.IntegrityFailed)
    def _integrity_failed(self, message: messages.IntegrityFailed) -> None:
        self.refresher.integrity_failed(message)

    @on(messages.StrayRowsFound)
    def _stray_rows_found(self, message: messages.StrayRowsFound) -> None:
        self.refresher.stray_rows_found(message)

    @on(messages.StoreChanged)
    def _store_changed(self) -> None:
        self.request_refresh()

    @on(messages.NotificationsSent)
    def _notifications_sent(self, message: messages.NotificationsSent) -> None:
        self.notifications.sent(message)

    @on(messages.ForecastsEnded)
    def _forecasts_ended(self, message: messages.ForecastsEnded) -> None:
        self.forecasts.ended(message)

    @on(messages.LifecycleApplied)
    def _lifecycle_applied(self, message: messages.LifecycleApplied) -> None:
        self.alerts.applied(message)
        self.refresher.refresh_now()

    @on(messages.OpenLineage)
    def _open_lineage(self, message: messages.OpenLineage) -> None:
        self.navigator.open_lineage(message.kpi_id)

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
        self.refresher.toggle_pause()

    def action_resume(self) -> None:
        self.refresher.toggle_pause()

    def action_refresh(self) -> None:
        self.refresher.refresh_now()

    def action_travel(self, days: int) -> None:
        self.time_travel.travel(days)

    def action_live(self) -> None:
        self.time_travel.travel_to(None)

    def action_next_theme(self) -> None:
        self.preferences.next_theme()

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

    def action_okr(self) -> None:
        self.navigator.okr()

    def forecast_through(self, quarter: Quarter) -> None:
        self.forecasts.through(quarter)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The palette's commands: Textual's but its theme picker, each screen's, then the
        agent focus and one per cockpit theme."""
        yield from (c for c in super().get_system_commands(screen) if c.title != "Theme")
        yield from screen_commands(self, screen)
        yield from self.focusing.palette_commands()
        yield from self.preferences.palette_commands()
