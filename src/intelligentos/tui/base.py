"""The cockpit app as its screens, widgets and controllers see it, and typed access to it.

:class:`Cockpit` is the contract: the state every screen shows and what a screen may ask of
the app. :class:`intelligentos.tui.app.CockpitApp` is its one implementation; nothing here
imports it (the app imports the screens, so the screens depend on this contract instead).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from textual.app import App
from textual.dom import DOMNode
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from intelligentos.config.settings import CockpitSettings
    from intelligentos.domain.alerts import Alert
    from intelligentos.domain.catalog.models import Catalog
    from intelligentos.domain.quarters import Quarter
    from intelligentos.domain.views import AgentFocus
    from intelligentos.services.snapshots import CockpitData, DataService


class Navigation(Protocol):
    """Opening screens (:class:`intelligentos.tui.navigation.Navigator`)."""

    def open_lineage(self, kpi_id: str, select: str | None = None) -> None: ...

    def jump_to(self, kind: str, entity_id: str) -> None: ...

    def scenario(
        self,
        kpi_id: str | None = None,
        show_list: bool = False,
        levers: Sequence[str] = (),
        goal: str | None = None,
    ) -> None: ...

    def brief(self) -> None: ...

    def strategy_map(self) -> None: ...

    def pyramid(self) -> None: ...

    def agents(self, agent_id: str | None = None) -> None: ...

    def okr(self) -> None: ...


class Cockpit(App[None]):
    """The cockpit on one store file: its state, and what its parts may ask of it."""

    # The header of every screen watches these.
    window: reactive[int] = reactive(30)
    paused: reactive[bool] = reactive(False)
    attention_count: reactive[int | None] = reactive(None)
    as_of_text: reactive[str] = reactive("")
    focus_text: reactive[str] = reactive("")  # the focused agent's short name, "" for none
    # The store cannot be written (no write permission, or found damaged): the header says
    # so, and every write action is refused before it asks anything.
    read_only: reactive[bool] = reactive(False)

    store_path: Path
    config_path: Path
    clock: Callable[[], datetime]
    services: DataService
    data: CockpitData | None  # the values shown; every screen reads them
    first_catalog: Catalog | None  # read before the first values
    navigator: Navigation
    # Set once the first values are on screen: start-up's background work waits for it.
    first_paint: threading.Event
    # Set when the cockpit quits: the store watcher, forecasts and deliveries stop.
    stop_watching: threading.Event

    @property
    def settings(self) -> CockpitSettings:
        """The validated settings."""
        raise NotImplementedError

    @property
    def user(self) -> str:
        """Who acknowledges and saves."""
        raise NotImplementedError

    @property
    def agent_focus(self) -> AgentFocus | None:
        """The agent whose view the cockpit shows (``None``: everyone's)."""
        raise NotImplementedError

    def focused_alerts(self, alerts: list[Alert]) -> list[Alert]:
        """The alerts routed to the focused agent; all of them without a focus."""
        raise NotImplementedError

    def pulsing_kpis(self) -> frozenset[str]:
        """Flashing KPIs whose alert is new enough to still pulse."""
        raise NotImplementedError

    def data_changed(self) -> None:
        """Tell every screen that :attr:`data` (or how it is shown) changed."""
        raise NotImplementedError

    def request_refresh(self, *, even_when_paused: bool = False) -> None:
        """Evaluate and reload, off the event loop."""
        raise NotImplementedError

    def values_painted(self) -> None:
        """The dashboard has painted its first values."""
        raise NotImplementedError

    def set_window(self, size: int) -> None:
        """Show ``size`` periods of history."""
        raise NotImplementedError

    def acknowledge(self, alerts: list[Alert]) -> None:
        """Ask for a note, then acknowledge the alerts."""
        raise NotImplementedError

    def snooze(self, *alerts: Alert) -> None:
        """Ask how long, then snooze the alerts (one, or an incident's together)."""
        raise NotImplementedError

    def past_refusal(self, what: str) -> str | None:
        """Why nothing can be ``what`` (acknowledged, saved…) now, or ``None`` when it can."""
        raise NotImplementedError

    def refuses_writes(self, what: str) -> bool:
        """Say why nothing can be ``what`` now, if so, and return whether."""
        raise NotImplementedError

    def worker_failed(self, worker: Worker[object]) -> None:
        """Tell the user that a worker failed, and go on."""
        raise NotImplementedError

    def forecast_through(self, quarter: Quarter) -> None:
        """Forecast, off the event loop, the KPIs whose forecast ends before ``quarter``
        ends, far enough to reach it."""
        raise NotImplementedError


def cockpit_of(node: DOMNode) -> Cockpit:
    """The cockpit app a node belongs to."""
    return cast("Cockpit", node.app)


class ReportsFailedWorkers:
    """For every node of the cockpit that starts workers (the app, its screens).

    Textual posts a worker's state changes to the node that started it, and they do not
    bubble; a worker started with ``exit_on_error=False`` that fails would end unseen. Such
    a node hands the failure to the app, which tells the user and goes on
    (:meth:`Cockpit.worker_failed`)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            cockpit_of(cast("DOMNode", self)).worker_failed(event.worker)


# Screen classes by terminal width; cockpit.tcss lays panels out by them.
BREAKPOINTS = [(0, "-narrow"), (100, "-medium"), (160, "-wide")]


class CockpitScreen(ReportsFailedWorkers, Screen[None]):
    """A full screen of the cockpit."""

    @property
    def cockpit(self) -> Cockpit:
        return cockpit_of(self)

    @property
    def data(self) -> CockpitData | None:
        return self.cockpit.data

    def data_changed(self) -> None:
        """The app has a new :class:`CockpitData`: show it (when this screen is visible,
        or when it next becomes visible)."""

    def kpi_for_what_if(self) -> str | None:
        """The KPI a what-if scenario opened from this screen (the palette's "What-if
        scenario") starts with; ``None``: none."""
        return None
