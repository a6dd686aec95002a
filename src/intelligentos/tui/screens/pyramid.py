"""The KPI pyramid (key ``P``): CEO KPIs, functional KPIs, leading indicators, workflows,
operational metrics, source systems and data fields, each with its count and worst status.
The highlighted layer's members are listed beside it; Enter on a member opens the lineage of
its KPI (or of the first KPI it feeds, with it selected)."""

from __future__ import annotations

from collections.abc import Iterator

from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Static

from intelligentos.domain.formatting import literal
from intelligentos.domain.views import Layer, LayerMember, pyramid
from intelligentos.tui.base import Cockpit, CockpitScreen
from intelligentos.tui.keys import key_label
from intelligentos.tui.widgets.footer import CockpitFooter
from intelligentos.tui.widgets.header import CockpitHeader
from intelligentos.tui.widgets.status import glyph


class PyramidScreen(CockpitScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="pyramid-back"),
        Binding("enter", "open", "Members / lineage", id="pyramid-open"),
        Binding("tab", "switch", "Layers ↔ members", show=False, id="pyramid-switch"),
        Binding("down,j", "cursor(1)", "Next row", show=False, id="pyramid-down"),
        Binding("up,k", "cursor(-1)", "Previous row", show=False, id="pyramid-up"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.pyramid_layers: list[Layer] = []
        self.shown: tuple[list[Layer], str] | None = None
        self.layer_key: str | None = None  # the layer whose members are listed

    def compose(self) -> ComposeResult:
        yield CockpitHeader(id="header")
        yield Static(id="pyramid-title", classes="view-title")
        with Horizontal(id="pyramid-body"):
            yield DataTable(id="pyramid-layers", cursor_type="row")
            yield DataTable(id="pyramid-members", cursor_type="row")
        yield CockpitFooter()

    @property
    def layers_table(self) -> DataTable[Text]:
        return self.query_one("#pyramid-layers", DataTable)

    @property
    def members_table(self) -> DataTable[Text]:
        return self.query_one("#pyramid-members", DataTable)

    def on_mount(self) -> None:
        self.layers_table.add_columns("", "layer", Text("count", justify="right"))
        self.members_table.add_columns("", "name", "detail")
        self.layers_table.focus()
        self.data_changed()

    def data_changed(self) -> None:
        data = self.data
        if data is None:
            return
        layers = pyramid(data.catalog, data.graph, data.snaps)
        if (layers, self.app.theme) == self.shown:
            return
        self.shown = (layers, self.app.theme)
        self.pyramid_layers = layers
        table = self.layers_table
        row = table.cursor_row
        table.clear()
        for layer in layers:
            table.add_row(
                glyph(self, layer.status),
                Text(layer.name, style="bold"),
                Text(f"{layer.count:,}", justify="right"),
                key=layer.key,
            )
        table.move_cursor(row=max(row, 0), animate=False)
        self._show_title()
        self._show_members(self._highlighted_layer(), keep_cursor=True)

    def _show_title(self) -> None:
        keymap = self.cockpit.settings.keymap

        def key(binding_id: str, default: str) -> str:
            return key_label(keymap.get(binding_id, default))

        title = Text(" KPI pyramid", style="bold")
        title.append(
            f"   {key('pyramid-open', 'enter')}: members, then lineage · "
            f"{key('pyramid-switch', 'tab')}: layers ↔ members · "
            f"{key('pyramid-back', 'escape')}: back",
            style="dim",
        )
        self.query_one("#pyramid-title", Static).update(title)

    def _highlighted_layer(self) -> Layer | None:
        table = self.layers_table
        if not table.row_count or not self.pyramid_layers:
            return None
        return self.pyramid_layers[min(table.cursor_row, len(self.pyramid_layers) - 1)]

    def _show_members(self, layer: Layer | None, keep_cursor: bool = False) -> None:
        table = self.members_table
        row = table.cursor_row if keep_cursor and layer and layer.key == self.layer_key else 0
        self.layer_key = layer.key if layer else None
        table.clear()
        if layer is None:
            return
        table.border_title = Text(f"{layer.name}: {layer.count:,}")
        for member in layer.members:
            table.add_row(
                glyph(self, member.status),
                Text(literal(member.name), no_wrap=True),
                Text(literal(member.detail), style="dim", no_wrap=True),
                key=member.member_id,
            )
        table.move_cursor(row=max(row, 0), animate=False)

    @on(DataTable.RowHighlighted, "#pyramid-layers")
    def _layer_highlighted(self) -> None:
        layer = self._highlighted_layer()
        if layer is not None and layer.key != self.layer_key:
            self._show_members(layer)

    @on(DataTable.RowSelected, "#pyramid-layers")
    def _layer_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.members_table.focus()

    @on(DataTable.RowSelected, "#pyramid-members")
    def _member_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_member(self.selected_member())

    def selected_member(self) -> LayerMember | None:
        layer = next((la for la in self.pyramid_layers if la.key == self.layer_key), None)
        table = self.members_table
        if layer is None or not table.row_count:
            return None
        return layer.members[min(table.cursor_row, len(layer.members) - 1)]

    def selected_kpi_id(self) -> str | None:
        member = self.selected_member() if self.focused is self.members_table else None
        return member.kpi_id if member else None

    def open_member(self, member: LayerMember | None) -> None:
        if member is None:
            return
        if member.kpi_id is None:
            self.notify(f"No KPI depends on {literal(member.name)}.", timeout=3, markup=False)
            return
        self.cockpit.navigator.open_lineage(member.kpi_id, select=member.select)

    def select_layer(self, key: str) -> None:
        """Highlight a layer (its members are listed) and move to the members."""
        index = next((i for i, la in enumerate(self.pyramid_layers) if la.key == key), None)
        if index is not None:
            self.layers_table.move_cursor(row=index, animate=False)
            self._show_members(self.pyramid_layers[index])
            self.members_table.focus()

    # --- actions -------------------------------------------------------------------------------

    def action_open(self) -> None:
        if self.focused is self.members_table:
            self.open_member(self.selected_member())
        else:
            self.members_table.focus()

    def action_switch(self) -> None:
        target = self.layers_table if self.focused is self.members_table else self.members_table
        target.focus()

    def action_back(self) -> None:
        if self.focused is self.members_table:
            self.layers_table.focus()
        else:
            self.app.pop_screen()

    def action_cursor(self, step: int) -> None:
        table = self.members_table if self.focused is self.members_table else self.layers_table
        if step > 0:
            table.action_cursor_down()
        else:
            table.action_cursor_up()


def palette_commands(cockpit: Cockpit, screen: Screen[object]) -> Iterator[SystemCommand]:
    yield SystemCommand(
        "KPI pyramid",
        "CEO KPIs down to source systems and data fields: counts and worst status by layer",
        cockpit.navigator.pyramid,
    )
