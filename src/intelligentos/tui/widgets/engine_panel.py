"""An engine panel of the dashboard: its title, its KPI table, what is out of view. User
text reaches the screen as ``rich.text.Text`` built from :func:`literal`, never as markup."""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical

from intelligentos.domain.detection import Status
from intelligentos.domain.formatting import literal, plural
from intelligentos.domain.snapshots import KpiSnapshot
from intelligentos.tui.widgets.kpi_table import KpiTable


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

    def show(
        self,
        snaps: Sequence[KpiSnapshot],
        flashing: AbstractSet[str] = frozenset(),
        marked: AbstractSet[str] = frozenset(),
        silenced: AbstractSet[str] = frozenset(),
    ) -> None:
        """``marked``: KPIs whose target their KPIs' targets do not add up to; ``silenced``:
        KPIs whose open alerts a silence hushes."""
        tables = self.query(KpiTable)
        if not tables:  # not composed yet, or already torn down
            return
        tables.first().show(snaps, flashing, marked, silenced)
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
