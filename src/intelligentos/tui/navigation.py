"""Where the user is: the dashboard at the bottom of the screen stack, a lineage drill-down
(one screen, reused), the alerts, what-if and help screens on top; jumps from the find
palette."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from textual import events
from textual.screen import Screen

from intelligentos.tui.base import Cockpit, CockpitScreen
from intelligentos.tui.screens.dashboard import DashboardScreen

# Every screen but the dashboard is imported when first opened (the lineage screen by the
# prewarm), off the launch path.
if TYPE_CHECKING:
    from intelligentos.tui.screens.lineage import LineageScreen

JUMP_KINDS = ("kpi", "engine", "workflow", "system", "field")
CHART_MODULE = "intelligentos.tui.widgets.forecast_chart"  # imported by prewarm, off the event loop


VIEW_MODULES = (
    "intelligentos.tui.screens.strategy",
    "intelligentos.tui.screens.pyramid",
    "intelligentos.tui.screens.agents",
)


def _is_view(screen: Screen[object]) -> bool:
    """One of the strategy map, pyramid and agents screens."""
    return type(screen).__module__ in VIEW_MODULES


class Navigator:
    """Opens screens for the app. The lineage screen is composed once (right after the
    first paint, see :meth:`prewarm`) and reused: pushing it again skips composing and
    styling its widgets, which is most of the cost of opening a screen."""

    def __init__(self, app: Cockpit) -> None:
        self.app = app
        self.lineage_screen: LineageScreen | None = None
        # Keys pressed while the lineage screen is pushed and popped by :meth:`prewarm`:
        # held back, then given to the dashboard (else the hidden screen would take them).
        self.held_keys: list[events.Key] | None = None

    def _lineage(self) -> LineageScreen:
        if self.lineage_screen is None:
            from intelligentos.tui.screens.lineage import LineageScreen

            self.lineage_screen = LineageScreen()
            # Installed screens survive being popped.
            self.app.install_screen(self.lineage_screen, name="lineage")
        return self.lineage_screen

    def open_lineage(self, kpi_id: str, select: str | None = None) -> None:
        data = self.app.data
        if data is None or kpi_id not in data.catalog.kpis:
            return
        screen = self._lineage()
        screen.start(kpi_id, select)
        if screen not in self.app.screen_stack:
            self.app.push_screen(screen)

    async def prewarm(self) -> None:
        """Compose the lineage screen without showing it (updates are batched), so the
        first drill-down is as quick as the later ones. Its chart module (textual-plotext,
        about 45 ms to import, kept off the launch path) is imported in a thread first, so
        the event loop does not wait for it. Only an optimisation: skipped when the user has
        already moved on."""
        app = self.app
        # Only the import runs in the thread: no widget is touched off the event loop.
        await asyncio.to_thread(importlib.import_module, CHART_MODULE)
        if self.lineage_screen is not None or not isinstance(app.screen, DashboardScreen):
            return
        if not app.is_running or app.stop_watching.is_set():
            return
        screen = self._lineage()
        focused = app.screen.focused
        self.held_keys = []
        try:
            with app.batch_update():
                await app.push_screen(screen)
                await app.pop_screen()
        finally:
            if focused is not None and focused.is_attached:
                focused.focus()
            self.release_keys()

    def release_keys(self) -> None:
        """Press again, in order, the keys held during :meth:`prewarm`."""
        held, self.held_keys = self.held_keys or [], None
        for key in held:
            self.app.post_message(events.Key(key.key, key.character))

    def hold(self, event: events.Event) -> bool:
        """Keep a key pressed during :meth:`prewarm` for after it; whether it was kept."""
        if self.held_keys is None or not isinstance(event, events.Key):
            return False
        self.held_keys.append(event)
        return True

    def to_dashboard(self) -> DashboardScreen:
        while not isinstance(self.app.screen, DashboardScreen):
            self.app.pop_screen()
        return self.app.screen

    def jump_to(self, kind: str, entity_id: str) -> None:
        """Palette target: a KPI or engine directly; a workflow, system or field through the
        lineage of the first KPI that depends on it, with that node selected."""
        data = self.app.data
        if data is None:
            return
        dashboard = self.to_dashboard()
        if kind == "engine":
            dashboard.focus_engine(entity_id)
            return
        if kind == "kpi":
            self.open_lineage(entity_id)
            return
        index = {
            "workflow": data.graph.kpis_by_workflow,
            "system": data.graph.kpis_by_system,
            "field": data.graph.kpis_by_field,
        }[kind]
        kpi_ids = index.get(entity_id, [])
        if kpi_ids:
            self.open_lineage(kpi_ids[0], select=entity_id)
        else:
            self.app.notify(f"No KPI depends on {entity_id}.", markup=False)

    def scenario(
        self,
        kpi_id: str | None = None,
        show_list: bool = False,
        levers: Sequence[str] = (),
        goal: str | None = None,
    ) -> None:
        """The what-if screen, its levers started for ``kpi_id`` (``KPI_ID+=``), or
        ``levers`` typed in and simulated (a plan for ``goal``, whose projection it names);
        with ``show_list``, the saved scenarios at once. Replaces a what-if screen on top."""
        data = self.app.data
        if data is None or self.app.services.store is None:
            self.app.notify("The store is still loading.", timeout=3)
            return
        if kpi_id is not None and kpi_id not in data.catalog.kpis:
            kpi_id = None
        # Imported when first opened: off the launch path (the brief and the scenarios bring
        # their models, markdown-it and Textual's Markdown widget).
        from intelligentos.tui.screens.whatif import ScenarioScreen

        if isinstance(self.app.screen, ScenarioScreen):
            self.app.pop_screen()
        self.app.push_screen(ScenarioScreen(kpi_id, show_list, levers, goal))

    def alerts(self) -> None:
        from intelligentos.tui.screens.alerts import AlertsScreen

        if not isinstance(self.app.screen, AlertsScreen):
            self.app.push_screen(AlertsScreen())

    def brief(self) -> None:
        """The CEO weekly brief as of the cockpit's date (once the store is open)."""
        if self.app.data is None or self.app.services.store is None:
            self.app.notify("The store is still loading.", timeout=3)
            return
        from intelligentos.tui.screens.brief import BriefScreen

        if not isinstance(self.app.screen, BriefScreen):
            self.app.push_screen(BriefScreen())

    # The strategy map, pyramid and agents views: imported when first opened (off the
    # launch path), each replacing one of the three already on top.

    def strategy_map(self) -> None:
        from intelligentos.tui.screens.strategy import StrategyScreen

        self._view(StrategyScreen, StrategyScreen)

    def pyramid(self) -> None:
        from intelligentos.tui.screens.pyramid import PyramidScreen

        self._view(PyramidScreen, PyramidScreen)

    def agents(self, agent_id: str | None = None) -> None:
        from intelligentos.tui.screens.agents import AgentsScreen

        self._view(AgentsScreen, partial(AgentsScreen, agent_id))

    def _view(self, kind: type[CockpitScreen], make: Callable[[], CockpitScreen]) -> None:
        if self.app.data is None:
            self.app.notify("The store is still loading.", timeout=3)
            return
        if isinstance(self.app.screen, kind):
            return
        if _is_view(self.app.screen):
            self.app.pop_screen()
        self.app.push_screen(make())

    def okr(self) -> None:
        """The OKR screen, for the quarter after the cockpit's date (once the store is
        open)."""
        if self.app.data is None or self.app.services.store is None:
            self.app.notify("The store is still loading.", timeout=3)
            return
        from intelligentos.tui.screens.okr import OkrScreen

        if not isinstance(self.app.screen, OkrScreen):
            self.app.push_screen(OkrScreen())

    def help(self) -> None:
        from intelligentos.tui.screens.help import HelpScreen

        if not isinstance(self.app.screen, HelpScreen):
            self.app.push_screen(HelpScreen(self.app.settings.keymap))
