"""Cockpit widgets: CEO KPI cards, engine panels and their KPI tables, the selection card.

Every piece of user text reaches the screen as a ``rich.text.Text`` built from
:func:`literal`, never as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from typing import NamedTuple

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Static

from intelligentos.domain.catalog.models import Kpi
from intelligentos.domain.charts import sparkline
from intelligentos.domain.detection import Status
from intelligentos.domain.formatting import literal, plural
from intelligentos.domain.snapshots import KpiSnapshot, ProjectedValue
from intelligentos.tui.base import cockpit_of
from intelligentos.tui.messages import KpiSelected, OpenLineage


def status_colour(widget: Widget, status: Status) -> str:
    if widget.app.no_color:
        # Without colour a status colour turns into a grey of its luminance, and the error
        # red is the darkest of them: status is told by glyph and emphasis instead.
        return ""
    theme = widget.app.current_theme
    return {
        Status.OK: theme.success,
        Status.WARNING: theme.warning,
        Status.CRITICAL: theme.error,
        Status.STALE: theme.secondary,
        Status.NO_DATA: theme.foreground,
    }.get(status) or ""


def fit(text: str, width: int) -> str:
    """Shorten to ``width`` cells at a word boundary, marking the cut with an ellipsis. A
    word boundary that would keep less than half the room gives way to a cut inside the
    word: "Pulse Participat…" says more than "Pulse…"."""
    text = literal(text)
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    cut = text[: width - 1]
    if " " in cut and not text[width - 1].isspace():
        at_word = cut.rsplit(" ", 1)[0].rstrip()
        if len(at_word) * 2 >= width - 1:
            cut = at_word
    return cut.rstrip() + "…"


def _common_prefix(first: str, second: str) -> int:
    size = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        size += 1
    return size


def _cut_apart(name: str, rivals: Sequence[str], width: int) -> str:
    """``name`` in ``width`` cells, keeping the first character where it differs from
    every rival (names that start the way its plain cut would)."""
    differs_at = max(_common_prefix(name, rival) for rival in rivals)
    if differs_at >= len(name) or width < 4:
        return fit(name, width)  # a rival starts with all of it: nothing tells them apart
    if differs_at < width - 1:
        cut = name[: width - 1]
        return (cut.rstrip() if len(cut.rstrip()) > differs_at else cut) + "…"
    # Too narrow for the start and the difference: keep the start, skip to the word
    # that differs ("Lead…Diversity").
    word = name.rfind(" ", 0, differs_at) + 1
    tail = name[word:]
    head = max(1, width - 1 - len(tail))
    shown = name[:head] + "…" + tail
    return shown if len(shown) <= width else shown[: width - 1] + "…"


class FitApart:
    """:func:`fit` the names of one panel; a cut name that would read as the start of
    another name there ("Leadership…" beside "Leadership Trust") keeps the characters
    that tell them apart ("Leadership Di…"). Each name is worked out when first asked
    for: a panel of thousands of KPIs draws only the few in view."""

    def __init__(self, names: Sequence[str], width: int) -> None:
        self.plain = [literal(name) for name in names]
        self.width = width
        self.ordered = sorted(set(self.plain))
        self.position = {name: index for index, name in enumerate(self.ordered)}
        self.shown: dict[int, str] = {}

    def __getitem__(self, index: int) -> str:
        if index not in self.shown:
            self.shown[index] = self._fit(self.plain[index])
        return self.shown[index]

    def _fit(self, name: str) -> str:
        text = fit(name, self.width)
        if text == name:
            return text
        stem = text[:-1]
        # In sorted order, the names sharing the most with this one are its neighbours:
        # if any other name starts with the stem, a neighbour does, and it shares the
        # longest prefix.
        at, ordered = self.position[name], self.ordered
        rivals = [
            ordered[i]
            for i in (at - 1, at + 1)
            if 0 <= i < len(ordered) and ordered[i].startswith(stem)
        ]
        return _cut_apart(name, rivals, self.width) if rivals else text


def fit_apart(names: Sequence[str], width: int) -> list[str]:
    """Every name of one panel as :class:`FitApart` shows it."""
    fitted = FitApart(names, width)
    return [fitted[index] for index in range(len(names))]


# Without colour, emphasis carries the status: critical is the boldest thing on screen.
_NO_COLOUR_STYLE = {Status.CRITICAL: "bold reverse"}


def glyph(widget: Widget, status: Status) -> Text:
    if widget.app.no_color:
        return Text(status.glyph, style=_NO_COLOUR_STYLE.get(status, "bold"))
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

    def __init__(self, kpi: Kpi, alerting: bool = False) -> None:
        super().__init__(
            id=f"ceo-{kpi.id}", classes="ceo-card -alerting" if alerting else "ceo-card"
        )
        self.kpi = kpi
        self.snap: KpiSnapshot | None = None
        self.projected: ProjectedValue | None = None
        # On between beats and once the pulse settles: a steady highlight, also with
        # reduced motion, where no beat ever comes.
        self.pulse_on = True

    def show(self, snap: KpiSnapshot | None, projected: ProjectedValue | None = None) -> None:
        self.snap = snap
        self.projected = projected
        if snap is not None:
            self.kpi = snap.kpi  # the catalog may have been re-synced (a new name)
        self.tooltip = Text(projected.text.capitalize()) if projected else None
        self.refresh()

    def _shown_name(self, width: int) -> str:
        cards = [c for c in self.parent.children if isinstance(c, CeoCard)] if self.parent else []
        if self not in cards:
            return fit(self.kpi.display_name, width)
        # The strip is one group: "Customer…" must not stand for two CEO KPIs.
        return fit_apart([c.kpi.display_name for c in cards], width)[cards.index(self)]

    def render(self) -> Text:
        width = max(self.size.width, 4)
        name = Text(self._shown_name(width), style="bold")
        if self.pulse_on and self.has_class("-alerting"):
            name.stylize("reverse")
        if self.snap is None:
            return Text.assemble(name, "\n", Text("…", style="dim"))
        line = Text.assemble(glyph(self, self.snap.status), " ", (self.snap.value_text, "bold"))
        change = f" {self.snap.change_text}"
        ahead = f" {self.projected.short_text}" if self.projected else ""
        # A number cut in the middle ("+2.5…") misleads: each is shown whole or not at all,
        # and the projection (rarer, and the earlier warning) before the change.
        if line.cell_len + len(change) + len(ahead) <= width:
            line.append(change, style="dim")
        if ahead and self.projected and line.cell_len + len(ahead) <= width:
            line.append(ahead, style=status_colour(self, self.projected.status))
        line.truncate(width, overflow="ellipsis")
        return Text.assemble(name, "\n", line)

    def on_click(self) -> None:
        self.focus()

    def on_focus(self) -> None:
        self.post_message(KpiSelected(self.kpi.id))

    def pulse(self, on: bool) -> None:
        changed = on != self.pulse_on
        self.pulse_on = on
        if changed and self.has_class("-alerting"):
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
            self.show(self.snaps, self.flashing)

    def _name_cell(self, snap: KpiSnapshot) -> Text:
        index = self.name_index.get(snap.kpi.id)
        text = Text(self.names[index] if index is not None else "")
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

    def show(self, snaps: Sequence[KpiSnapshot], flashing: AbstractSet[str] = frozenset()) -> None:
        """Render rows, keeping the cursor on the same KPI. When the same KPIs are shown in
        the same layout (a live refresh), only the rows that changed are redrawn."""
        previous = {snap.kpi.id: snap for snap in self.snaps}
        was_flashing = self.flashing
        self.snaps = list(snaps)
        self.flashing = frozenset(flashing)
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
                if previous[kpi_id] != snap or (kpi_id in was_flashing) != (
                    kpi_id in self.flashing
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
            "target": Text(snap.target_text, justify="right", style="dim"),
            "trend": Text(
                " " + sparkline(snap.values, spark), style=status_colour(self, snap.status)
            ),
        }
        return {column: cells[column] for column in columns}


class EnginePanel(Vertical):
    """A bordered panel of one engine's KPIs; the border title counts its troubles.

    A firing, unacknowledged alert on one of its rows makes the border heavy (cockpit.tcss)
    and puts ⚑ in the title, with and without animations; the pulse only inverts the title
    on and off. Alerting rows out of view are counted on the bottom border."""

    def __init__(self, engine_id: str, title: str, state: AbstractSet[str] = frozenset()) -> None:
        # ``state``: the classes of :meth:`state_classes` (given at once, when built with
        # its rows, the panel is styled once rather than again when they are shown).
        super().__init__(id=f"panel-{engine_id}", classes=" ".join(["engine-panel", *state]))
        self.engine_id = engine_id
        # "Growth Engine (Revenue)" → "Growth Engine": the panel border has little room.
        self.title_text = literal(title.split(" (")[0])
        self.border_title = Text(self.title_text)
        self.tooltip = Text(literal(title))
        self.pulse_on = True  # see CeoCard.pulse_on
        self.counts: list[str] = []

    def compose(self) -> ComposeResult:
        yield KpiTable(self.engine_id)

    def on_mount(self) -> None:
        self.watch(self.table, "scroll_y", self._show_subtitle, init=False)

    def on_resize(self) -> None:
        # The table is laid out in the same pass: count the rows in view after it.
        self.call_after_refresh(self._show_subtitle)

    @property
    def table(self) -> KpiTable:
        return self.query_one(KpiTable)

    def show(self, snaps: Sequence[KpiSnapshot], flashing: AbstractSet[str] = frozenset()) -> None:
        tables = self.query(KpiTable)
        if not tables:  # not composed yet, or already torn down
            return
        tables.first().show(snaps, flashing)
        state = self.state_classes(snaps, flashing)
        for name in ("-alerting", "-troubled"):
            if (name in state) != self.has_class(name):
                self.set_class(name in state, name)
        # Always from the state, never only on a beat: a panel that comes back from a
        # filter, or one that never beats (reduced motion), shows its flag all the same.
        self._show_title()
        troubled = sum(1 for s in snaps if s.status in (Status.WARNING, Status.CRITICAL))
        stale = sum(1 for s in snaps if s.status is Status.STALE)
        self.counts = [plural(len(snaps), "KPI")]
        if troubled:
            self.counts.append(f"{troubled} off target")
        if stale:
            self.counts.append(f"{stale} stale")
        self._show_subtitle()

    @staticmethod
    def state_classes(snaps: Sequence[KpiSnapshot], flashing: AbstractSet[str]) -> set[str]:
        """``-alerting``: a row's alert is firing, unacknowledged; ``-troubled``: a row is
        off target (warning or critical)."""
        state = set()
        if any(s.kpi.id in flashing for s in snaps):
            state.add("-alerting")
        if any(s.status in (Status.WARNING, Status.CRITICAL) for s in snaps):
            state.add("-troubled")
        return state

    def _show_title(self) -> None:
        if self.has_class("-alerting"):
            title = f" ⚑ {self.title_text} "
            self.border_title = Text(title, style="reverse" if self.pulse_on else "")
        else:
            self.border_title = Text(self.title_text)

    def _out_of_view(self) -> list[str]:
        """Hints such as "↓ 2 alerting below". Rows stay in catalog order (a live refresh
        never reorders them under the cursor), so the border says what is out of view."""
        table = self.table
        shown = table.visible_rows()
        if not shown:
            return []
        rows = [i for i, s in enumerate(table.snaps) if s.kpi.id in table.flashing]
        above = sum(1 for i in rows if i < shown.start)
        below = sum(1 for i in rows if i >= shown.stop)
        hints = []
        if above:
            hints.append(f"↑ {above} alerting above")
        if below:
            hints.append(f"↓ {below} alerting below")
        return hints

    def _show_subtitle(self) -> None:
        if not self.is_attached or not self.query(KpiTable):
            return
        hints = self._out_of_view()
        counts = list(self.counts)
        # Corners, a run of border each side, two spaces. Before the first layout (a panel
        # built with its data) nothing is cut: the layout's resize cuts what does not fit.
        room = self.outer_size.width - 6 if self.outer_size.width else 1_000
        # A narrow panel gives up its counts, the total first, before a hint.
        while counts and len(" · ".join(hints + counts)) > room:
            counts.pop(0 if counts[0].endswith("KPIs") else -1)
        self.border_subtitle = Text(" · ".join(hints + counts))

    def pulse(self, on: bool) -> None:
        """One beat of the flash: the border's title block and the alerting rows invert.
        No CSS class changes, so the table is not restyled on every beat."""
        changed = on != self.pulse_on
        self.pulse_on = on
        if changed and self.has_class("-alerting"):
            self._show_title()
            self.table.pulse(on)
        else:
            self.table.pulse_on = on


class SelectionCard(Static):
    """Details of the selected KPI, in the dashboard's sixth grid cell."""

    def on_mount(self) -> None:
        self.border_title = Text("Selected")

    def show(
        self,
        snap: KpiSnapshot | None,
        owner: str,
        agent: str,
        projected: ProjectedValue | None = None,
    ) -> None:
        if snap is None:
            self.update(Text("Select a KPI", style="dim"))
            return
        kpi = snap.kpi
        text = Text()
        text.append(literal(kpi.name), style="bold")
        text.append("  ")
        text.append_text(glyph(self, snap.status))
        text.append(f" {snap.status.value}\n")
        # The change and the gap to target on lines of their own, each saying what it is:
        # "(target 30.0%, −14.8 pt)" read as 14.8 points short of target.
        text.append(snap.value_text, style="bold")
        text.append(f"  {snap.change_vs_previous_text}\n")
        text.append(f"{snap.gap_text}\n")
        text.append(f"{snap.thresholds_text}\n")
        if projected is not None:
            text.append(
                projected.text.capitalize() + "\n", style=status_colour(self, projected.status)
            )
        # Dim only when it matters least: a stale KPI's age is the news.
        fresh_style = "" if snap.status is Status.STALE else "dim"
        text.append(f"{kpi.frequency.value}, {snap.freshness_text}\n", style=fresh_style)
        text.append("Owner ", style="dim")
        text.append(f"{literal(owner)} · {literal(agent)}\n")
        text.append("Formula ", style="dim")
        text.append(literal(kpi.formula))
        text.append("\n\nEnter: lineage drill-down", style="dim italic")
        self.update(text)
