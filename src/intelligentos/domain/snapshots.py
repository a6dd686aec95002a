"""What the cockpit shows, computed without Textual: KPI snapshots and lineage-node status.

The TUI asks this module for values, statuses and texts and only renders them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING

from intelligentos.domain.catalog.models import Catalog, Direction, Kpi, Unit
from intelligentos.domain.detection import (
    Rule,
    Status,
    age_days,
    is_missing,
    present,
    stale_limit_days,
    target_cleared,
    target_status,
)
from intelligentos.domain.formatting import format_change, format_value
from intelligentos.domain.lineage import LineageGraph, LineageNode

if TYPE_CHECKING:
    from intelligentos.domain.alerts import Alert
    from intelligentos.domain.forecast import Projection

Window = Sequence[tuple[str, float | None]]


@dataclass(frozen=True)
class KpiSnapshot:
    kpi: Kpi
    window: tuple[tuple[str, float | None], ...]
    status: Status
    age_days: int | None
    # Days after the as-of date of the latest row dated after it: not a value yet (None: none)
    later_days: int | None = None

    @property
    def values(self) -> list[float | None]:
        return [value for _, value in self.window]

    @property
    def latest(self) -> float | None:
        return self.window[-1][1] if self.window else None

    @property
    def previous(self) -> float | None:
        return self.window[-2][1] if len(self.window) > 1 else None

    @property
    def period(self) -> str | None:
        return self.window[-1][0] if self.window else None

    @property
    def observed_period(self) -> str | None:
        """The latest period with a value (forecasts start from it)."""
        return next((p for p, v in reversed(self.window) if not is_missing(v)), None)

    @cached_property
    def value_text(self) -> str:
        return format_value(self.latest, self.kpi.unit)

    @cached_property
    def change_text(self) -> str:
        return format_change(self.latest, self.previous, self.kpi.unit)

    @property
    def change_vs_previous_text(self) -> str:
        """The change labelled as such, so it is never read as the gap to target."""
        if self.latest is None:
            return ""
        if self.previous is None:
            return "no value for the previous period"
        return f"{self.change_text} vs previous period"

    @cached_property
    def target_text(self) -> str:
        return format_value(self.kpi.target, self.kpi.unit)

    def _amount(self, amount: float) -> str:
        # Percentages differ in points, like the change column does.
        if self.kpi.unit in (Unit.PERCENT, Unit.SCORE):
            return f"{amount:.1f} pt"
        return format_value(amount, self.kpi.unit)

    @property
    def gap_text(self) -> str:
        """Distance from target, by side: "13.5 pt below target 30.0%"."""
        if self.kpi.target is None:
            return "no target (tracked)"
        target = f"target {self.target_text}"
        value = self.latest
        if value is None or is_missing(value):
            return target
        gap = value - self.kpi.target
        amount = self._amount(abs(gap))
        if amount == self._amount(0.0):
            return f"on {target}"
        return f"{amount} {'above' if gap > 0 else 'below'} {target}"

    @property
    def thresholds_text(self) -> str:
        """The KPI's warning and critical thresholds read as what they are: adverse
        shortfalls as a share of |target|, with the values where they start."""
        kpi = self.kpi
        target = kpi.target
        if target is None:
            return "no thresholds: alerts on anomalies, drift and stale data only"
        scale = abs(target) or 1.0  # as detection.shortfall does for a zero target
        side, again = {
            Direction.HIGHER: ("below target", "below"),
            Direction.LOWER: ("above target", "above"),
            Direction.BAND: ("away from target", "away"),
        }[kpi.direction]

        def starts(share: float) -> str:
            low = format_value(target - share * scale, kpi.unit)
            high = format_value(target + share * scale, kpi.unit)
            if kpi.direction is Direction.HIGHER:
                return f"under {low}"
            if kpi.direction is Direction.LOWER:
                return f"over {high}"
            return f"outside {low}–{high}"

        return (
            f"warning when {_share(kpi.warning)} {side} ({starts(kpi.warning)}), "
            f"critical when {_share(kpi.critical)} {again} ({starts(kpi.critical)})"
        )

    @property
    def freshness_text(self) -> str:
        text = freshness(self.age_days)
        if self.later_days is not None:
            # A typo, or a forecast loaded as actuals: news to flag, never the latest value.
            text += f" · a row dated {self.later_days} d after the as-of date is not counted"
        return text


def freshness(age_days: int | None) -> str:
    """How old the latest observation is, as of the cockpit's date: counted from the end of
    the period it covers (see :func:`intelligentos.domain.detection.age_days`)."""
    if age_days is None:
        return "no data"
    if age_days < 0:
        # A period after the as-of date (a typo, or a forecast loaded as actuals) is news
        # to flag, not a sign of fresh data.
        return f"dated {-age_days} d after the as-of date"
    return "updated today" if age_days == 0 else f"updated {age_days} d ago"


def _share(fraction: float) -> str:
    return f"{round(fraction * 100, 1):g}%"


def snapshot(kpi: Kpi, window: Window, as_of: date) -> KpiSnapshot:
    """Status by the same rules the alerts use: stale first, then the target band."""
    values = present(window)
    if not values:
        return KpiSnapshot(kpi, tuple(window), Status.NO_DATA, None)
    age = age_days(values, as_of, kpi.frequency)
    stale = age is not None and age > stale_limit_days(kpi)
    status = Status.STALE if stale else target_status(kpi, values[-1][1])
    return KpiSnapshot(kpi, tuple(window), status, age)


def snapshots(
    catalog: Catalog, windows: Mapping[str, Window], as_of: date
) -> dict[str, KpiSnapshot]:
    return {kpi.id: snapshot(kpi, windows.get(kpi.id, ()), as_of) for kpi in catalog.kpis.values()}


def with_later_rows(
    snaps: Mapping[str, KpiSnapshot], later: Mapping[str, str], as_of: date
) -> dict[str, KpiSnapshot]:
    """The snapshots flagging each KPI's latest row dated after ``as_of`` (``later``: its
    period, by KPI id), which no read takes as a value until that day."""
    return {
        kpi_id: replace(snap, later_days=(date.fromisoformat(later[kpi_id][:10]) - as_of).days)
        if kpi_id in later
        else snap
        for kpi_id, snap in snaps.items()
    }


def with_open_breaches(
    snaps: Mapping[str, KpiSnapshot], alerts: Iterable[Alert]
) -> dict[str, KpiSnapshot]:
    """The snapshots as shown beside the open alerts: a KPI whose target alert is held
    open is not ok. Back inside its warning band but not yet within half of it (where the
    alert resolves, so that a value hovering at the threshold does not flap), it is shown
    as warning: its status and its alert agree. (Within half of it, the alert resolves at
    the next evaluation: the value's status stands.)"""
    held = {a.kpi_id for a in alerts if a.is_open and a.rule == Rule.TARGET.value}
    return {
        kpi_id: replace(snap, status=Status.WARNING)
        if kpi_id in held and snap.status is Status.OK and not target_cleared(snap.kpi, snap.window)
        else snap
        for kpi_id, snap in snaps.items()
    }


def worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=lambda s: s.rank, default=Status.OK)


def kpi_status(kpi_id: str, snaps: Mapping[str, KpiSnapshot]) -> Status:
    snap = snaps.get(kpi_id)
    return snap.status if snap is not None else Status.NO_DATA


def objective_kpi_ids(catalog: Catalog, objective_id: str) -> list[str]:
    """The KPIs an objective lists (CEO, then functional) that the catalog knows."""
    objective = catalog.objectives[objective_id]
    listed = (*objective.ceo_kpis, *objective.functional_kpis)
    return [k for k in dict.fromkeys(listed) if k in catalog.kpis]


def objective_status(
    catalog: Catalog, objective_id: str, snaps: Mapping[str, KpiSnapshot]
) -> Status:
    """The worst status of the KPIs the objective lists (OK when it lists none). Every
    view that shows an objective asks this, so the strategy map and the lineage agree."""
    return worst(kpi_status(k, snaps) for k in objective_kpi_ids(catalog, objective_id))


def theme_status(catalog: Catalog, theme_id: str, snaps: Mapping[str, KpiSnapshot]) -> Status:
    """The worst status of the theme's objectives."""
    return worst(
        objective_status(catalog, objective.id, snaps)
        for objective in catalog.objectives.values()
        if objective.theme == theme_id
    )


class NodeStatus:
    """Status and freshness of every kind of lineage node, from KPI snapshots.

    A data field or system is stale when every KPI fed by it is stale; metrics, steps,
    workflows and sections take the worst status below them, so trouble flows up the tree.
    """

    def __init__(self, graph: LineageGraph, snaps: Mapping[str, KpiSnapshot]):
        self.graph = graph
        self.snaps = snaps
        self._shown: dict[int, Status] = {}
        self._sources: dict[tuple[str, str], Status] = {}

    def _source_status(self, kpi_ids: Sequence[str]) -> Status:
        states = [self.snaps[k].status for k in kpi_ids if k in self.snaps]
        if states and all(s in (Status.STALE, Status.NO_DATA) for s in states):
            return Status.STALE
        return Status.OK

    def own(self, node: LineageNode) -> Status:
        if node.kind == "kpi":
            snap = self.snaps.get(node.id)
            return snap.status if snap else Status.NO_DATA
        if node.kind in ("field", "system"):
            # A system repeats under every step that writes to it: judge it once.
            key = (node.kind, node.id)
            if key not in self._sources:
                index = (
                    self.graph.kpis_by_field
                    if node.kind == "field"
                    else (self.graph.kpis_by_system)
                )
                self._sources[key] = self._source_status(index.get(node.id, []))
            return self._sources[key]
        catalog = self.graph.catalog
        if node.kind == "objective" and node.id in catalog.objectives:
            return objective_status(catalog, node.id, self.snaps)
        if node.kind == "theme" and node.id in catalog.themes:
            return theme_status(catalog, node.id, self.snaps)
        return Status.OK

    def of(self, node: LineageNode) -> Status:
        """Shown status: a KPI's own; any other node's worst of itself and its children."""
        known = self._shown.get(id(node))
        if known is not None:
            return known
        if node.kind in ("kpi", "objective", "theme", "engine"):
            shown = self.own(node)
        else:
            shown = worst([self.own(node), *(self.of(child) for child in node.children)])
        self._shown[id(node)] = shown
        return shown

    def freshness(self, node: LineageNode) -> str:
        if node.kind == "kpi" and node.id in self.snaps:
            return self.snaps[node.id].freshness_text
        kpi_ids: Sequence[str] = ()
        if node.kind == "field":
            kpi_ids = self.graph.kpis_by_field.get(node.id, [])
        elif node.kind == "system":
            kpi_ids = self.graph.kpis_by_system.get(node.id, [])
        ages = [self.snaps[k].age_days for k in kpi_ids if k in self.snaps]
        known = [a for a in ages if a is not None]
        if not known:
            return ""
        return freshness(min(known))


def dependents(graph: LineageGraph, kind: str, node_id: str) -> list[str]:
    """KPI ids that depend on a system, data field or workflow."""
    if kind == "field":
        return graph.kpis_by_field.get(node_id, [])
    if kind == "system":
        return graph.kpis_by_system.get(node_id, [])
    if kind == "workflow":
        return graph.kpis_by_workflow.get(node_id, [])
    if kind == "step":
        workflow, step = node_id.split(".", 1)
        return [
            k.id
            for k in graph.catalog.kpis.values()
            if any(link.workflow == workflow and link.step == step for link in k.lineage)
        ]
    return []


@dataclass(frozen=True)
class ProjectedValue:
    """A reliable forecast's value at its horizon, worded for the cards."""

    kpi: Kpi
    projection: Projection

    @property
    def status(self) -> Status:
        return target_status(self.kpi, self.projection.mean)

    @property
    def short_text(self) -> str:
        """For a narrow card: "→ 24.1%"."""
        return f"→ {format_value(self.projection.mean, self.kpi.unit)}"

    @property
    def text(self) -> str:
        """ "projected 24.1% ▲ warning by 2026-12-31 (80 %: 22.0% – 26.0%, ets)"."""
        p = self.projection
        unit = self.kpi.unit
        return (
            f"projected {format_value(p.mean, unit)} {self.status.glyph} {self.status.value} "
            f"by {p.period} "
            f"(80 %: {format_value(p.lo80, unit)} – {format_value(p.hi80, unit)}, {p.model})"
        )
