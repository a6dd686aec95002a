"""Cockpit widgets: CEO KPI cards, engine panels and their KPI tables, the selection card.

Every piece of user text reaches the screen as a ``rich.text.Text`` built from
:func:`literal`, never as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Static

from intelligentos.catalog.models import Kpi
from intelligentos.charts import sparkline
from intelligentos.cockpit import KpiSnapshot
from intelligentos.detection import Status
from intelligentos.formatting import literal
from intelligentos.tui.messages import KpiSelected, OpenLineage


def status_colour(widget: Widget, status: Status) -> str:
    theme = widget.app.current_theme
    return {
        Status.OK: theme.success,
        Status.WARNING: theme.warning,
        Status.CRITICAL: theme.error,
        Status.STALE: theme.secondary,
        Status.NO_DATA: theme.foreground,
    }.get(status) or ""


def fit(text: str, width: int) -> str:
    """Shorten to ``width`` cells at a word boundary, marking the cut with an ellipsis."""
    text = literal(text)
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    cut = text[: width - 1]
    if " " in cut and not text[width - 1].isspace():
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def glyph(widget: Widget, status: Status) -> Text:
    return Text(status.glyph, style=f"bold {status_colour(widget, status)}")


# Screen classes by terminal width; cockpit.tcss lays panels out by them.
BREAKPOINTS = [(0, "-narrow"), (100, "-medium"), (160, "-wide")]


class CeoCard(Widget, can_focus=True):
    """A CEO KPI: name, then status glyph, value and change. Enter drills into it."""

    BINDINGS = [
        Binding("enter", "open", "Lineage", id="card-open", tooltip="Lineage drill-down"),
        Binding("left,h", "move(-1)", "Previous CEO KPI", show=False, id="card-previous"),
        Binding("right,l", "move(1)", "Next CEO KPI", show=False, id="card-next"),
        Binding("down,j", "leave", "Down to the engine panels", show=False, id="card-down"),
    ]

    def __init__(self, kpi: Kpi) -> None:
        super().__init__(id=f"ceo-{kpi.id}", classes="ceo-card")
        self.kpi = kpi
        self.snap: KpiSnapshot | None = None
        self.pulse_on = False

    def show(self, snap: KpiSnapshot | None) -> None:
        self.snap = snap
        self.refresh()

    def render(self) -> Text:
        width = max(self.size.width, 4)
        name = Text(fit(self.kpi.display_name, width), style="bold")
        if self.pulse_on and self.has_class("-alerting"):
            name.stylize("reverse")
        if self.snap is None:
            return Text.assemble(name, "\n", Text("…", style="dim"))
        line = Text.assemble(
            glyph(self, self.snap.status),
            " ",
            (self.snap.value_text, "bold"),
            " ",
            (self.snap.change_text, "dim"),
        )
        line.truncate(width, overflow="ellipsis")
        return Text.assemble(name, "\n", line)

    def on_click(self) -> None:
        self.focus()

    def on_focus(self) -> None:
        self.post_message(KpiSelected(self.kpi.id))

    def pulse(self, on: bool) -> None:
        self.pulse_on = on
        self.refresh()

    def action_open(self) -> None:
        self.post_message(OpenLineage(self.kpi.id))

    def action_move(self, step: int) -> None:
        cards = list(self.screen.query(CeoCard))
        cards[(cards.index(self) + step) % len(cards)].focus()

    def action_leave(self) -> None:
        tables = list(self.screen.query(KpiTable))
        if tables:
            tables[0].focus()


FULL_COLUMNS = ("status", "name", "value", "change", "target", "trend")
COMPACT_COLUMNS = ("status", "name", "value", "trend")
# Widths include the one-cell gap before each column (the table has no cell padding).
_FIXED_WIDTHS = {"status": 2, "value": 9, "change": 9, "target": 9}
_RIGHT = {"value", "change", "target"}
FIRST_ROWS = 40
ROW_CHUNK = 150


class KpiTable(DataTable[Text]):
    """The KPI rows of one engine panel. Arrow keys and h/j/k/l move; Enter drills down."""

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
        self.layout_shown: tuple[tuple[str, ...], int, int] | None = None
        self.theme_shown: str | None = None
        self.generation = 0
        self.flashing: AbstractSet[str] = frozenset()
        self.pulse_on = True

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
            self.show(self.snaps, self.flashing)

    def _name_cell(self, snap: KpiSnapshot, width: int) -> Text:
        text = Text(fit(snap.kpi.display_name, width))
        if snap.kpi.id in self.flashing:
            # A firing, unacknowledged alert: the row's name pulses (steady when reduced).
            colour = self.app.current_theme.error
            text.stylize(f"bold reverse {colour}" if self.pulse_on else f"bold {colour}")
        return text

    def pulse(self, on: bool) -> None:
        self.pulse_on = on
        if self.layout_shown is None:
            return
        width = self.layout_shown[2]
        first = int(self.scroll_y)
        visible = self.snaps[first : first + self.size.height]
        for snap in visible:
            if snap.kpi.id in self.flashing and snap.kpi.id in self.rows:
                self.update_cell(snap.kpi.id, "name", self._name_cell(snap, width))

    def selected_kpi_id(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def _layout(self) -> tuple[tuple[str, ...], int, int]:
        # One cell is kept for the vertical scrollbar so that nothing shifts when it appears.
        width = max(self.size.width - 1, 20)
        columns = FULL_COLUMNS if width >= 50 else COMPACT_COLUMNS
        spark = 12 if width >= 70 else 8
        fixed = sum(_FIXED_WIDTHS.get(c, 0) for c in columns) + spark + 1
        name = max(6, width - fixed)
        return columns, spark, name

    def show(self, snaps: Sequence[KpiSnapshot], flashing: AbstractSet[str] = frozenset()) -> None:
        """Render rows, keeping the cursor on the same KPI. When the same KPIs are shown in
        the same layout (a live refresh), only the rows that changed are redrawn."""
        previous = {snap.kpi.id: snap for snap in self.snaps}
        was_flashing = self.flashing
        self.snaps = list(snaps)
        self.flashing = frozenset(flashing)
        layout = self._layout()
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
                if previous[kpi_id] != snap or (kpi_id in was_flashing) != (
                    kpi_id in self.flashing
                ):
                    for column, cell in self._cells(snap).items():
                        self.update_cell(kpi_id, column, cell)
            return
        selected = self.selected_kpi_id()
        columns, spark, name_width = layout
        self.show_header = columns == FULL_COLUMNS
        if layout != self.layout_shown or not self.columns:
            self.clear(columns=True)
            for column in columns:
                width = {"name": name_width, "trend": spark + 1, **_FIXED_WIDTHS}[column]
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
        # Rows the panel can show right away; the rest follow in chunks on later ticks, so
        # a store with thousands of KPIs paints as fast as a small one.
        first = max(FIRST_ROWS, self.size.height * 2)
        self._append(0, first, selected)
        if len(self.snaps) > first:
            self.set_timer(0.01, lambda g=self.generation: self._append_rest(g, first, selected))

    @property
    def drawn_layout(self) -> tuple[tuple[str, ...], int, int]:
        """(columns, sparkline width, name width) the rows are drawn for."""
        assert self.layout_shown is not None, "rows are drawn only after a layout"
        return self.layout_shown

    def _append(self, start: int, stop: int, selected: str | None) -> None:
        columns = self.drawn_layout[0]
        for snap in self.snaps[start:stop]:
            cells = self._cells(snap)
            self.add_row(*(cells[c] for c in columns), key=snap.kpi.id)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected), animate=False)

    def _append_rest(self, generation: int, start: int, selected: str | None) -> None:
        if generation != self.generation or not self.is_attached:
            return  # a newer show() rebuilt the table meanwhile
        stop = start + ROW_CHUNK
        self._append(start, stop, selected)
        if stop < len(self.snaps):
            self.set_timer(0.01, lambda: self._append_rest(generation, stop, selected))

    def _cells(self, snap: KpiSnapshot) -> dict[str, Text]:
        columns, spark, name_width = self.drawn_layout
        cells = {
            "status": glyph(self, snap.status),
            "name": self._name_cell(snap, name_width),
            "value": Text(snap.value_text, justify="right", style="bold"),
            "change": Text(snap.change_text, justify="right"),
            "target": Text(snap.target_text, justify="right", style="dim"),
            "trend": Text(
                " " + sparkline(snap.values, spark), style=status_colour(self, snap.status)
            ),
        }
        return {column: cells[column] for column in columns}


class EnginePanel(Vertical):
    """A bordered panel of one engine's KPIs; the border title counts its troubles."""

    def __init__(self, engine_id: str, title: str) -> None:
        super().__init__(id=f"panel-{engine_id}", classes="engine-panel")
        self.engine_id = engine_id
        # "Growth Engine (Revenue)" → "Growth Engine": the panel border has little room.
        self.title_text = literal(title.split(" (")[0])
        self.border_title = Text(self.title_text)
        self.tooltip = Text(literal(title))

    def compose(self) -> ComposeResult:
        yield KpiTable(self.engine_id)

    @property
    def table(self) -> KpiTable:
        return self.query_one(KpiTable)

    def show(self, snaps: Sequence[KpiSnapshot], flashing: AbstractSet[str] = frozenset()) -> None:
        tables = self.query(KpiTable)
        if not tables:  # not composed yet, or already torn down
            return
        tables.first().show(snaps, flashing)
        alerting = any(s.kpi.id in flashing for s in snaps)
        if alerting != self.has_class("-alerting"):
            self.set_class(alerting, "-alerting")
        if not alerting:
            self.border_title = Text(self.title_text)
        troubled = sum(1 for s in snaps if s.status in (Status.WARNING, Status.CRITICAL))
        stale = sum(1 for s in snaps if s.status is Status.STALE)
        parts = [f"{len(snaps)} KPIs"]
        if troubled:
            parts.append(f"{troubled} off target")
        if stale:
            parts.append(f"{stale} stale")
        self.border_subtitle = Text(" · ".join(parts))
        self.set_class(troubled > 0, "-troubled")

    def pulse(self, on: bool) -> None:
        """One beat of the flash: the border's title block and the alerting rows invert.
        No CSS class changes, so the table is not restyled on every beat."""
        if self.has_class("-alerting"):
            title = f" ⚑ {self.title_text} "
            self.border_title = Text(title, style="reverse" if on else "")
            self.table.pulse(on)


class SelectionCard(Static):
    """Details of the selected KPI, in the dashboard's sixth grid cell."""

    def on_mount(self) -> None:
        self.border_title = Text("Selected")

    def show(self, snap: KpiSnapshot | None, owner: str, agent: str) -> None:
        if snap is None:
            self.update(Text("Select a KPI", style="dim"))
            return
        kpi = snap.kpi
        text = Text()
        text.append(literal(kpi.name), style="bold")
        text.append("  ")
        text.append_text(glyph(self, snap.status))
        text.append(f" {snap.status.value}\n")
        text.append(f"{snap.value_text}  (target {snap.target_text}, {snap.change_text})\n")
        text.append(f"{kpi.frequency.value}, {snap.freshness_text}\n", style="dim")
        text.append("Owner ", style="dim")
        text.append(f"{literal(owner)} · {literal(agent)}\n")
        text.append("Formula ", style="dim")
        text.append(literal(kpi.formula))
        text.append("\n\nEnter: lineage drill-down", style="dim italic")
        self.update(text)
