"""The KPI rows of one engine panel: columns sized to what they show, names cut apart, rows
beyond the first screenful drawn after the first paint. User text reaches the screen as
``rich.text.Text`` built from :func:`literal`, never as markup."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from typing import NamedTuple

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from intelligentos.domain.charts import sparkline
from intelligentos.domain.formatting import literal
from intelligentos.domain.snapshots import KpiSnapshot
from intelligentos.tui.base import cockpit_of
from intelligentos.tui.messages import KpiSelected, OpenLineage
from intelligentos.tui.widgets.ceo_card import CeoCard
from intelligentos.tui.widgets.fit import FitApart
from intelligentos.tui.widgets.status import INCONSISTENT, SILENCED, glyph, status_colour

FULL_COLUMNS = ("status", "name", "value", "change", "target", "trend")
COMPACT_COLUMNS = ("status", "name", "value", "trend")
# Widths include the one-cell gap before each column (the table has no cell padding). The
# number columns are as wide as their longest text in the panel (or header), no wider:
# every cell they do not need goes to the names and the sparkline.
_STATUS_WIDTH = 2
_NUMBERS: dict[str, Callable[[KpiSnapshot], str]] = {
    "value": lambda snap: snap.value_text,
    "change": lambda snap: snap.change_text,
    "target": lambda snap: snap.target_text,
}
_RIGHT = set(_NUMBERS)
# Right of the trend column: a blank cell, then the vertical scrollbar. Kept whether or not
# the scrollbar shows, so nothing shifts when it appears, and its one-cell thumb never
# stands next to a sparkline where it would read as one more bar.
_SCROLLBAR_ROOM = 2
SPARK_MIN = 8
# The name column grows to the panel's longest name up to this before the trend takes
# the rest of the room (a wide 365-period sparkline is worth more than blank name cells).
NAME_ROOM = 22
# ...unless the sparkline keeps this many cells beside the whole names: then no name is
# cut ("Trial → Paid Conversion Rate") for sparkline cells that show little more.
SPARK_ENOUGH = 16
NAME_MIN = 6
FIRST_ROWS = 40  # rows drawn at once when the table's height is not known yet
ROW_CHUNK = 150
ROW_CHUNK_DELAY = 0.01  # seconds between chunks of rows


class TableLayout(NamedTuple):
    """How a table is drawn: its columns, each one's width, the sparkline's and the name's."""

    columns: tuple[str, ...]
    widths: tuple[int, ...]
    spark: int
    name: int


class KpiTable(DataTable[Text]):
    """The KPI rows of one engine panel. Arrow keys and h/j/k/l move; Enter drills down."""

    # The silenced mark's style (cockpit.tcss).
    COMPONENT_CLASSES = {"kpi-table--silenced"}

    BINDINGS = [
        Binding("down,j", "cursor_down", "Next KPI row", show=False, id="row-down"),
        Binding(
            "up,k",
            "cursor_up",
            "Previous KPI row (up from the top: CEO strip)",
            show=False,
            id="row-up",
        ),
        Binding("left,h", "panel(-1)", "Previous panel", show=False, id="panel-previous"),
        Binding("right,l", "panel(1)", "Next panel", show=False, id="panel-next"),
        Binding("enter", "select_cursor", "Lineage drill-down", show=False, id="row-open"),
    ]

    def __init__(self, engine_id: str) -> None:
        super().__init__(id=f"table-{engine_id}", cursor_type="row", cell_padding=0)
        self.engine_id = engine_id
        self.snaps: list[KpiSnapshot] = []
        self.layout_shown: TableLayout | None = None
        self.theme_shown: str | None = None
        self.generation = 0
        self.flashing: AbstractSet[str] = frozenset()
        # KPIs whose target the targets of the KPIs below them do not add up to (the current
        # quarter's cascade): their target cell is marked.
        self.marked: AbstractSet[str] = frozenset()
        # KPIs whose open alerts a silence hushes: their name is marked.
        self.silenced: AbstractSet[str] = frozenset()
        self.pulse_on = True
        self.names_key: tuple[tuple[tuple[str, str], ...], int] | None = None
        self.names = FitApart([], 0)
        self.name_index: dict[str, int] = {}

    def action_panel(self, step: int) -> None:
        tables = list(self.screen.query(KpiTable))
        visible = [t for t in tables if t.row_count] or tables
        index = visible.index(self) if self in visible else 0
        visible[(index + step) % len(visible)].focus()

    def action_cursor_up(self) -> None:
        if self.cursor_row <= 0:
            cards = list(self.screen.query(CeoCard))
            if cards:
                cards[0].focus()
                return
        super().action_cursor_up()

    def on_focus(self) -> None:
        kpi_id = self.selected_kpi_id()
        if kpi_id is not None:
            self.post_message(KpiSelected(kpi_id))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.has_focus and event.row_key.value:
            self.post_message(KpiSelected(event.row_key.value))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.post_message(OpenLineage(event.row_key.value))

    def on_resize(self) -> None:
        if self.snaps:
            self.show(self.snaps, self.flashing, self.marked, self.silenced)

    def _name_cell(self, snap: KpiSnapshot) -> Text:
        index = self.name_index.get(snap.kpi.id)
        text = Text(self.names[index] if index is not None else "")
        if snap.kpi.id in self.silenced:
            style = self.get_component_rich_style("kpi-table--silenced", partial=True)
            text = Text.assemble((f"{SILENCED} ", style), text)
        if snap.kpi.id in self.flashing:
            # A firing, unacknowledged alert: the row's name pulses (steady when reduced).
            if self.app.no_color:
                text.stylize("bold reverse" if self.pulse_on else "bold underline")
            else:
                colour = self.app.current_theme.error
                text.stylize(f"bold reverse {colour}" if self.pulse_on else f"bold {colour}")
        return text

    def pulse(self, on: bool) -> None:
        self.pulse_on = on
        if self.layout_shown is None:
            return
        first = int(self.scroll_y)
        visible = self.snaps[first : first + self.size.height]
        for snap in visible:
            if snap.kpi.id in self.flashing and snap.kpi.id in self.rows:
                self.update_cell(snap.kpi.id, "name", self._name_cell(snap))

    def selected_kpi_id(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def visible_rows(self) -> range:
        """Indices of the rows in view (empty before the first layout)."""
        body = self.scrollable_content_region.height - (
            self.header_height if self.show_header else 0
        )
        first = round(self.scroll_y)
        return range(first, first + max(body, 0))

    def _layout(self) -> TableLayout:
        width = max(self.size.width - _SCROLLBAR_ROOM, 20)
        columns = FULL_COLUMNS if width >= 50 else COMPACT_COLUMNS
        numbers = {}
        for column, text in _NUMBERS.items():
            if column in columns:
                if column == "target":
                    text = self._target_text
                longest_text = max((len(text(snap)) for snap in self.snaps), default=0)
                header = len(column) if columns == FULL_COLUMNS else 0
                numbers[column] = 1 + max(longest_text, header)
        # Name and trend share what the other columns leave (less the trend's leading gap).
        room = width - _STATUS_WIDTH - sum(numbers.values()) - 1
        longest = max((len(literal(s.kpi.display_name)) for s in self.snaps), default=0)
        points = max((len(s.window) for s in self.snaps), default=SPARK_MIN)
        name_wanted = min(longest, NAME_ROOM)
        if room - longest >= min(points, SPARK_ENOUGH):
            name_wanted = longest
        # The trend takes the rest, up to one cell per point: a 365-period window at 200
        # columns gets every cell it can use, a 30-period one never blank padding.
        spark = max(SPARK_MIN, min(points, room - name_wanted))
        name = max(NAME_MIN, room - spark)
        sizes = {"status": _STATUS_WIDTH, "name": name, "trend": spark + 1, **numbers}
        return TableLayout(columns, tuple(sizes[c] for c in columns), spark, name)

    def _target_text(self, snap: KpiSnapshot) -> str:
        marked = snap.kpi.id in self.marked
        return f"{INCONSISTENT} {snap.target_text}" if marked else snap.target_text

    def show(
        self,
        snaps: Sequence[KpiSnapshot],
        flashing: AbstractSet[str] = frozenset(),
        marked: AbstractSet[str] = frozenset(),
        silenced: AbstractSet[str] = frozenset(),
    ) -> None:
        """Render rows, keeping the cursor on the same KPI. When the same KPIs are shown in
        the same layout (a live refresh), only the rows that changed are redrawn."""
        previous = {snap.kpi.id: snap for snap in self.snaps}
        was_flashing, was_marked, was_silenced = self.flashing, self.marked, self.silenced
        self.snaps = list(snaps)
        self.flashing = frozenset(flashing)
        self.marked = frozenset(marked)
        self.silenced = frozenset(silenced)
        layout = self._layout()
        self._fit_names(layout.name)
        same_rows = [s.kpi.id for s in self.snaps] == list(previous) and len(previous) == len(
            self.rows
        )
        if (
            layout == self.layout_shown
            and self.columns
            and same_rows
            and self.theme_shown == (self.app.theme)
        ):
            for snap in self.snaps:
                kpi_id = snap.kpi.id
                if (
                    previous[kpi_id] != snap
                    or (kpi_id in was_flashing) != (kpi_id in self.flashing)
                    or (kpi_id in was_marked) != (kpi_id in self.marked)
                    or (kpi_id in was_silenced) != (kpi_id in self.silenced)
                ):
                    for column, cell in self._cells(snap).items():
                        self.update_cell(kpi_id, column, cell)
            return
        selected = self.selected_kpi_id()
        self.show_header = layout.columns == FULL_COLUMNS
        if layout != self.layout_shown or not self.columns:
            self.clear(columns=True)
            for column, width in zip(layout.columns, layout.widths, strict=True):
                label = {"status": "", "trend": " trend"}.get(column, column)
                self.add_column(
                    Text(label, justify="right" if column in _RIGHT else "left"),
                    key=column,
                    width=width,
                )
            self.layout_shown = layout
        else:
            self.clear()
        self.theme_shown = self.app.theme
        self.generation += 1
        # Rows the panel shows right away (and the selected one); the rest follow in chunks
        # on later ticks, once the cockpit's first values are on screen, so a store with
        # thousands of KPIs paints as fast as a small one.
        first = self.size.height + 1 if self.size.height else FIRST_ROWS
        if selected is not None:
            first = max(first, self._index_of(selected) + 1)
        self._append(0, first, selected)
        if len(self.snaps) > first:
            self.set_timer(
                ROW_CHUNK_DELAY, lambda g=self.generation: self._append_rest(g, first, selected)
            )

    def _index_of(self, kpi_id: str) -> int:
        return next((i for i, s in enumerate(self.snaps) if s.kpi.id == kpi_id), -1)

    def _fit_names(self, width: int) -> None:
        # Names are cut as a group (two cut alike must stay apart): only when they change.
        key = (tuple((s.kpi.id, s.kpi.display_name) for s in self.snaps), width)
        if key != self.names_key:
            self.names_key = key
            self.names = FitApart([name for _, name in key[0]], width)
            self.name_index = {kpi_id: index for index, (kpi_id, _) in enumerate(key[0])}

    @property
    def drawn_layout(self) -> TableLayout:
        """The layout the rows are drawn for."""
        assert self.layout_shown is not None, "rows are drawn only after a layout"
        return self.layout_shown

    def _append(self, start: int, stop: int, selected: str | None) -> None:
        columns = self.drawn_layout.columns
        for snap in self.snaps[start:stop]:
            cells = self._cells(snap)
            self.add_row(*(cells[c] for c in columns), key=snap.kpi.id)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected), animate=False)

    def _append_rest(self, generation: int, start: int, selected: str | None) -> None:
        if generation != self.generation or not self.is_attached:
            return  # a newer show() rebuilt the table meanwhile
        if not cockpit_of(self).first_paint.is_set():
            # Not before the first values are on screen: the rows out of view can wait.
            self.set_timer(ROW_CHUNK_DELAY, lambda: self._append_rest(generation, start, selected))
            return
        stop = start + ROW_CHUNK
        self._append(start, stop, selected)
        if stop < len(self.snaps):
            self.set_timer(ROW_CHUNK_DELAY, lambda: self._append_rest(generation, stop, selected))

    def _cells(self, snap: KpiSnapshot) -> dict[str, Text]:
        columns, spark = self.drawn_layout.columns, self.drawn_layout.spark
        cells = {
            "status": glyph(self, snap.status),
            "name": self._name_cell(snap),
            "value": Text(snap.value_text, justify="right", style="bold"),
            "change": Text(snap.change_text, justify="right"),
            "target": self._target_cell(snap),
            "trend": Text(
                " " + sparkline(snap.values, spark), style=status_colour(self, snap.status)
            ),
        }
        return {column: cells[column] for column in columns}

    def _target_cell(self, snap: KpiSnapshot) -> Text:
        cell = Text(self._target_text(snap), justify="right", style="dim")
        if snap.kpi.id in self.marked:
            cell.stylize(f"bold {self.app.current_theme.warning}", 0, len(INCONSISTENT))
        return cell
