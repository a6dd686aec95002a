"""A card of the dashboard's CEO strip. User text reaches the screen as ``rich.text.Text``
built from :func:`literal`, never as markup."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widget import Widget

from intelligentos.domain.catalog.models import Kpi
from intelligentos.domain.snapshots import KpiSnapshot, ProjectedValue
from intelligentos.tui.messages import KpiSelected, OpenLineage
from intelligentos.tui.widgets.fit import fit, fit_apart
from intelligentos.tui.widgets.status import INCONSISTENT, SILENCED, glyph, status_colour


class CeoCard(Widget, can_focus=True):
    """A CEO KPI: name, then status glyph, value and change. Enter drills into it."""

    BINDINGS = [
        Binding("enter", "open", "Lineage", id="card-open", tooltip="Lineage drill-down"),
        Binding("left,h", "move(-1)", "Previous CEO KPI", show=False, id="card-previous"),
        Binding("right,l", "move(1)", "Next CEO KPI", show=False, id="card-next"),
        Binding("down,j", "leave", "Down to the engine panels", show=False, id="card-down"),
    ]
    # The silenced mark's style (cockpit.tcss); the card has the class ``-silenced`` when a
    # silence hushes its KPI's open alerts.
    COMPONENT_CLASSES = {"ceo-card--silenced"}

    def __init__(self, kpi: Kpi, alerting: bool = False) -> None:
        super().__init__(
            id=f"ceo-{kpi.id}", classes="ceo-card -alerting" if alerting else "ceo-card"
        )
        self.kpi = kpi
        self.snap: KpiSnapshot | None = None
        self.projected: ProjectedValue | None = None
        # Its target is not what the targets of the KPIs below it add up to (the quarter's
        # cascade): marked before its name.
        self.marked = False
        # On between beats and once the pulse settles: a steady highlight, also with
        # reduced motion, where no beat ever comes.
        self.pulse_on = True

    def show(
        self,
        snap: KpiSnapshot | None,
        projected: ProjectedValue | None = None,
        marked: bool = False,
    ) -> None:
        self.snap = snap
        self.projected = projected
        self.marked = marked
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
        mark = f"{INCONSISTENT} " if self.marked else ""
        hushed = f"{SILENCED} " if self.has_class("-silenced") else ""
        name = Text(self._shown_name(width - len(mark) - len(hushed)), style="bold")
        if self.pulse_on and self.has_class("-alerting"):
            name.stylize("reverse")
        if mark:
            name = Text.assemble((mark, f"bold {self.app.current_theme.warning}"), name)
        if hushed:
            style = self.get_component_rich_style("ceo-card--silenced", partial=True)
            name = Text.assemble((hushed, style), name)
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
        # By name: the tables' module imports this one (a table's up key comes back here).
        tables = list(self.screen.query("KpiTable"))
        if tables:
            tables[0].focus()
