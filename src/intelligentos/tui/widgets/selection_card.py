"""The dashboard's card for the selected KPI. User text reaches the screen as
``rich.text.Text`` built from :func:`literal`, never as markup."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from intelligentos.domain.detection import Status
from intelligentos.domain.formatting import literal
from intelligentos.domain.snapshots import KpiSnapshot, ProjectedValue
from intelligentos.tui.widgets.status import glyph, status_colour


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
