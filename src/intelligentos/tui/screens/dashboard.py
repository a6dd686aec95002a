"""The dashboard: CEO KPI strip and the five engine panels."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.message import Message
from textual.widgets import Input, Static

from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.formatting import format_value, literal
from intelligentos.domain.quarters import Quarter
from intelligentos.domain.snapshots import KpiSnapshot
from intelligentos.services.snapshots import CockpitData
from intelligentos.tui.base import BREAKPOINTS, CockpitScreen
from intelligentos.tui.messages import KpiSelected
from intelligentos.tui.widgets.ceo_card import CeoCard
from intelligentos.tui.widgets.engine_panel import EnginePanel
from intelligentos.tui.widgets.footer import CockpitFooter
from intelligentos.tui.widgets.header import CockpitHeader
from intelligentos.tui.widgets.kpi_table import KpiTable
from intelligentos.tui.widgets.selection_card import SelectionCard

if TYPE_CHECKING:  # the cascade's model is loaded by its worker, off the launch path
    from intelligentos.domain.okr.cascade import CascadeLink

WINDOWS = (30, 90, 365)


def breakpoint_class(width: int) -> str:
    """The class of :data:`BREAKPOINTS` a screen ``width`` cells wide gets."""
    return next(name for least, name in reversed(BREAKPOINTS) if width >= least)


PULSE_SECONDS = 0.8


@dataclass
class CascadeChecked(Message):
    """The links of ``quarter``'s cascade that do not add up, by parent, for ``catalog``."""

    catalog: Catalog
    quarter: Quarter
    gaps: Mapping[str, CascadeLink]


def _structure(catalog: Catalog) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """What the dashboard's cards and panels are built from: CEO KPIs and engines."""
    return (
        tuple(kpi.id for kpi in catalog.ceo_kpis()),
        tuple((engine.id, engine.name) for engine in catalog.engines.values()),
    )


class DashboardScreen(CockpitScreen):
    """The CEO strip, the five engine panels and the selected KPI's card."""

    AUTO_FOCUS = ""  # focus goes to the first panel once data has arrived
    HORIZONTAL_BREAKPOINTS = BREAKPOINTS

    BINDINGS = [
        Binding("1", "window(30)", "Window: 30 periods", show=False, id="window-30"),
        Binding("2", "window(90)", "Window: 90 periods", show=False, id="window-90"),
        Binding("3", "window(365)", "Window: 365 periods", show=False, id="window-365"),
        Binding("w", "cycle_window", "Window", id="window-cycle"),
        Binding("A", "acknowledge", "Ack", id="acknowledge-kpi", tooltip="Acknowledge"),
        # In help and the palette ("What-if scenario"), not the footer.
        Binding(
            "s",
            "scenario",
            "What-if",
            show=False,
            id="what-if",
            tooltip="Scenario: move the selected KPI, see its CEO KPIs move",
        ),
        # Priority: the app runs it as the key arrives, before it forwards the keys typed
        # right after it, so they reach the box (an Input, where "/" is just a character).
        Binding(
            "slash",
            "filter",
            "Filter",
            id="filter",
            tooltip="Filter rows by name",
            priority=True,
        ),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="filter-clear"),
    ]

    def __init__(self) -> None:
        # The width's breakpoint class from the start (Textual sets it on the first resize,
        # after a first layout without it): the first layout is the right one.
        super().__init__(classes=breakpoint_class(self.app.size.width))
        self.filter_text = ""
        self.snaps: dict[str, KpiSnapshot] = {}
        # The CEO KPIs and engines the cards and panels are built for (None: not yet).
        self.structure: tuple[tuple[str, ...], tuple[tuple[str, str], ...]] | None = None
        self.built = False  # the cards and panels for the structure are mounted
        self.values_shown = False
        # The current quarter's cascade, checked for a catalog with quarterly targets only
        # (without them every target is its default, and the defaults are checked when the
        # catalog is validated): once per catalog and quarter, in a worker.
        self.cascade_for: tuple[Catalog, Quarter] | None = None
        self.cascade_gaps: Mapping[str, CascadeLink] = {}

    def compose(self) -> ComposeResult:
        yield CockpitHeader(id="header")
        # With the data already read (at start-up the cockpit shows this screen once it
        # is), the cards and panels are built here, and their values are in the first
        # paint; otherwise they are built when the catalog arrives.
        catalog = self.data.catalog if self.data is not None else self.cockpit.first_catalog
        if catalog is not None:
            self.structure = _structure(catalog)
            self.built = True
        with Grid(id="ceo-strip"):
            if catalog is not None:
                yield from self._cards(catalog)
        with Grid(id="engines"):
            if catalog is not None:
                yield from self._panels(catalog)
            yield SelectionCard(id="selection")
        yield Static(id="filter-empty")
        yield Input(placeholder="Filter KPIs by name (Enter keeps, Esc clears)", id="filter")
        yield CockpitFooter()

    def on_mount(self) -> None:
        if self.structure is None and self.cockpit.first_catalog is not None:
            self.catalog_loaded(self.cockpit.first_catalog)  # it came while composing
        if self.built:
            # After the first layout: each table knows its width and how many rows it shows.
            self.call_after_refresh(self._show_data)
        self.query_one("#filter").display = False
        self.query_one("#filter-empty").display = False
        self.pulse_on = True
        if self.app.animation_level != "none":
            # Reduced motion (TEXTUAL_ANIMATIONS=none) keeps a steady highlight instead.
            self.set_interval(PULSE_SECONDS, self._pulse)

    def _pulse(self) -> None:
        """Beat while some alert is new (the first FLASH_SECONDS after it fired); then
        settle on a steady highlight, so an idle cockpit costs next to nothing."""
        if not self.is_current:
            return
        pulsing = self.cockpit.pulsing_kpis()
        if not pulsing and self.pulse_on:
            return
        self.pulse_on = not self.pulse_on if pulsing else True
        # Every panel and card keeps the beat, alerting or not, so one that starts alerting
        # later (say, when a filter is cleared) shows the current phase, not a stale one.
        for panel in self.query(EnginePanel):
            panel.pulse(self.pulse_on)
        for card in self.query(CeoCard):
            card.pulse(self.pulse_on)

    # --- building from data --------------------------------------------------------------

    def data_changed(self) -> None:
        # Not before this screen is mounted: its compose and on_mount show the data then.
        if self.data is not None and self.is_mounted:
            self._check_cascade(self.data)
            self.populate(self.data)

    def _check_cascade(self, data: CockpitData) -> None:
        # The catalog as read: the cascade starts from every KPI's default target and moves
        # the children to the quarter's (a judged catalog would start from the quarter's).
        catalog = data.stored
        quarter = Quarter.of(data.as_of)
        held = self.cascade_for
        if held is not None and held[0] is catalog and held[1] == quarter:
            return
        self.cascade_for = (catalog, quarter)
        if any(kpi.targets for kpi in catalog.kpis.values()):
            self.check_cascade(catalog, quarter)
        else:
            self.cascade_gaps = {}

    @work(thread=True, exclusive=True, group="cascade", exit_on_error=False)
    def check_cascade(self, catalog: Catalog, quarter: Quarter) -> None:
        from intelligentos.domain.okr.cascade import quarter_cascade

        links = quarter_cascade(catalog, quarter)
        gaps = {link.parent_id: link for link in links if not link.consistent}
        self.post_message(CascadeChecked(catalog, quarter, gaps))

    @on(CascadeChecked)
    def _cascade_checked(self, message: CascadeChecked) -> None:
        if self.cascade_for != (message.catalog, message.quarter):
            return  # for a catalog or a quarter no longer shown
        self.cascade_gaps = message.gaps
        if self.built:
            self.refresh_values(self.snaps)

    def catalog_loaded(self, catalog: Catalog) -> None:
        """The catalog has been read, its values not yet: build the cards and panels now,
        so that they are laid out by the time the values arrive."""
        if self.structure is None and self.is_mounted:
            self.structure = _structure(catalog)
            self.call_later(self._build, catalog)

    def populate(self, data: CockpitData) -> None:
        """Build the cards and panels for the catalog (again when a re-synced catalog has
        other CEO KPIs or engines), then show the values."""
        structure = _structure(data.catalog)
        if self.structure is None:
            self.structure = structure
            self.call_later(self._build, data.catalog)
        elif structure != self.structure:
            self.structure = structure
            self.call_later(self._rebuild, data.catalog)
        elif self.built:
            self.call_after_refresh(self._show_data)
        # else: the panels are being built; they show the latest data once laid out

    def _cards(self, catalog: Catalog) -> Iterator[CeoCard]:
        flashing = self.data.flashing_kpis if self.data is not None else frozenset()
        return (CeoCard(kpi, kpi.id in flashing) for kpi in catalog.ceo_kpis())

    def _panels(self, catalog: Catalog) -> Iterator[EnginePanel]:
        # Styled for the rows they will show, if these are known (see EnginePanel).
        data = self.data
        for engine in catalog.engines.values():
            state: set[str] = set()
            if data is not None and data.catalog is catalog:
                rows = self._panel_rows(data, engine.id, data.snaps)
                state = EnginePanel.state_classes(rows, data.flashing_kpis)
            yield EnginePanel(engine.id, engine.name, state)

    def _panel_rows(
        self, data: CockpitData, engine_id: str, snaps: dict[str, KpiSnapshot]
    ) -> list[KpiSnapshot]:
        """The rows of an engine's panel: its KPIs (the focused agent's own, then supported,
        first) that match the filter."""
        kpis = data.catalog.kpis_of_engine(engine_id)
        focus = self.cockpit.agent_focus
        if focus is not None:
            kpis = focus.order(kpis)
        needle = self.filter_text.casefold()
        return [snaps[k.id] for k in kpis if k.id in snaps and needle in k.name.casefold()]

    async def _build(self, catalog: Catalog) -> None:
        await self.query_one("#ceo-strip").mount_all(self._cards(catalog))
        await self.query_one("#engines").mount_all(self._panels(catalog), before="#selection")
        self.built = True
        # After the layout that follows: each table knows how many rows it shows.
        self.call_after_refresh(self._show_data)

    async def _rebuild(self, catalog: Catalog) -> None:
        self.built = False
        await self.query(CeoCard).remove()
        await self.query(EnginePanel).remove()
        await self._build(catalog)

    def _show_data(self) -> None:
        if self.data is None:
            return  # only the catalog so far
        self.refresh_values(self.data.snaps)
        self._first_focus()
        if not self.values_shown:
            self.values_shown = True
            # Once that is painted, the cockpit starts the rest of its start-up.
            self.call_after_refresh(self.cockpit.values_painted)

    def _first_focus(self) -> None:
        tables = list(self.query(KpiTable))
        if tables and self.focused is None:
            # At once, with its selection shown, so both are in the first paint.
            self.set_focus(tables[0])
            self._show_selection(self._selected_kpi_id())

    def refresh_values(self, snaps: dict[str, KpiSnapshot]) -> None:
        data = self.data
        if data is None or not self.is_attached:
            return  # the app is being torn down
        self.snaps = snaps
        flashing = data.flashing_kpis
        for card in self.query(CeoCard):
            card.show(
                snaps.get(card.kpi.id),
                data.projected(card.kpi.id),
                card.kpi.id in self.cascade_gaps,
            )
            alerting = card.kpi.id in flashing
            if alerting != card.has_class("-alerting"):
                card.set_class(alerting, "-alerting")
            hushed = card.kpi.id in data.silenced_kpis
            if hushed != card.has_class("-silenced"):
                card.set_class(hushed, "-silenced")
                card.refresh()
        needle = self.filter_text.casefold()
        matched = False
        for panel in self.query(EnginePanel):
            rows = self._panel_rows(data, panel.engine_id, snaps)
            panel.show(rows, flashing, self.cascade_gaps.keys(), data.silenced_kpis)
            panel.display = bool(rows) or not needle
            matched = matched or bool(rows)
        self._show_no_match(bool(needle) and not matched)
        self._show_selection(self._selected_kpi_id())

    def _show_no_match(self, empty: bool) -> None:
        """Say so when the filter hides every panel, rather than leave a blank screen."""
        note = self.query_one("#filter-empty", Static)
        if empty:
            note.update(
                Text.assemble(
                    "No KPI matches '", (literal(self.filter_text), "bold"), "'  (Esc clears)"
                )
            )
        note.display = empty

    def selected_kpi_id(self) -> str | None:
        """The focused KPI row's or CEO card's KPI."""
        return self._selected_kpi_id()

    def kpi_for_what_if(self) -> str | None:
        return self._selected_kpi_id()

    def _selected_kpi_id(self) -> str | None:
        focused = self.focused
        if isinstance(focused, KpiTable):
            return focused.selected_kpi_id()
        if isinstance(focused, CeoCard):
            return focused.kpi.id
        return None

    def _show_selection(self, kpi_id: str | None) -> None:
        card = self.query_one(SelectionCard)
        snap = self.snaps.get(kpi_id) if kpi_id else None
        if snap is None:
            card.show(None, "", "")
            return
        if self.data is None:
            return
        catalog = self.data.catalog
        function = catalog.functions.get(snap.kpi.owner_function or "")
        agent = catalog.agents.get(snap.kpi.owner_agent or "")
        link = self.cascade_gaps.get(snap.kpi.id)
        gap = None
        if link is not None and link.implied_target is not None:
            implied = format_value(link.implied_target, snap.kpi.unit)
            gap = f"the targets below it imply {implied} in {Quarter.of(self.data.as_of)}"
        card.show(
            snap,
            function.name if function else "—",
            agent.name if agent else "—",
            self.data.projected(snap.kpi.id),
            self.data.as_of,
            gap,
        )

    @on(KpiSelected)
    def _on_kpi_selected(self, event: KpiSelected) -> None:
        self._show_selection(event.kpi_id)

    # --- actions -------------------------------------------------------------------------

    def action_window(self, size: int) -> None:
        self.cockpit.set_window(size)

    def action_cycle_window(self) -> None:
        window = self.cockpit.window
        index = WINDOWS.index(window) if window in WINDOWS else -1
        self.cockpit.set_window(WINDOWS[(index + 1) % len(WINDOWS)])

    def action_acknowledge(self) -> None:
        kpi_id = self._selected_kpi_id()
        if kpi_id is None or self.data is None:
            return
        self.cockpit.acknowledge(self.data.alerts_of_kpi(kpi_id))

    def action_scenario(self) -> None:
        self.cockpit.navigator.scenario(self._selected_kpi_id())

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if self.focused is box:
            raise SkipAction()  # a priority binding: "/" typed in the box is a character
        box.display = True
        # At once, not later as focus() does: keys typed right after "/" may already be
        # queued, and must reach the box rather than the dashboard's bindings ("w").
        self.set_focus(box)

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if not box.display and not self.filter_text:
            return
        box.value = ""
        box.display = False
        self.filter_text = ""
        self.refresh_values(self.snaps)
        self._first_focus_visible()

    def _first_focus_visible(self) -> None:
        for table in self.query(KpiTable):
            if table.row_count:
                table.focus()
                return

    @on(Input.Changed, "#filter")
    def _on_filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.refresh_values(self.snaps)

    @on(Input.Submitted, "#filter")
    def _on_filter_submitted(self) -> None:
        self.query_one("#filter").display = bool(self.filter_text)
        self._first_focus_visible()

    def focus_engine(self, engine_id: str) -> None:
        for panel in self.query(EnginePanel):
            if panel.engine_id == engine_id:
                panel.table.focus()
