"""The dashboard's card for the selected KPI. User text reaches the screen as
``rich.text.Text`` built from :func:`literal`, never as markup."""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual.widgets import Static

from intelligentos.domain.catalog.models import Kpi
from intelligentos.domain.detection import Status
from intelligentos.domain.formatting import format_value, literal
from intelligentos.domain.okr.targets import next_change, quarter_targets, target_on
from intelligentos.domain.quarters import Quarter
from intelligentos.domain.snapshots import KpiSnapshot, ProjectedValue
from intelligentos.tui.widgets.status import INCONSISTENT, glyph, status_colour


def quarter_target_text(kpi: Kpi, day: date) -> str | None:
    """The target in force on ``day`` and the next change, for a KPI with quarterly targets:
    "Target 28.0% (2026Q4) · 30.0% from 1 Jan 2027 (2027Q1)"; None without any (its gap
    line already names its one target)."""
    if not kpi.targets:
        return None
    targets = quarter_targets(kpi)
    current = Quarter.of(day)
    in_force = [t for t in targets if t.quarter <= current]
    if not in_force:
        where = "default"
    elif in_force[-1].quarter == current:
        where = str(current)
    else:
        where = f"set for {in_force[-1].quarter}"
    text = f"Target {format_value(target_on(kpi, day), kpi.unit)} ({where})"
    coming = next_change(targets, day)
    if coming is not None:
        start = coming.quarter.start
        text += (
            f" · {format_value(coming.value, kpi.unit)} from {start.day} {start:%b %Y} "
            f"({coming.quarter})"
        )
    return text


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
        day: date | None = None,
        gap: str | None = None,
    ) -> None:
        """``day``: the day shown (the as-of day under time travel), for the quarter's
        target; ``gap``: what the targets below it imply, when they do not add up to its
        own."""
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
        quarterly = quarter_target_text(kpi, day) if day is not None else None
        if quarterly is not None:
            text.append(f"{quarterly}\n")
        if gap is not None:
            text.append(f"{INCONSISTENT} ", style=f"bold {self.app.current_theme.warning}")
            text.append(f"{gap}\n")
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
