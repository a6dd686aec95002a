"""What-if scenarios for the cockpit: simulate typed levers against the current values,
seek a goal, and keep scenarios by name in the store.

The simulation is :mod:`intelligentos.domain.whatif.model` (pure: formulas exact,
sensitivities and weights linear); this
service adds what it needs from a refresh: the roll-up tree and each KPI's current value
(its latest observation as of the cockpit's as-of date), both made once per
:class:`CockpitData` and reused for every edit, so a recompute costs only the levers' paths.
The store methods block: call them from worker threads. Nothing here writes an observation
or an alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from intelligentos.domain.catalog.models import Kpi
from intelligentos.domain.clock import stamp
from intelligentos.domain.formatting import format_change, format_value
from intelligentos.domain.whatif.model import (
    GoalSeek,
    Outcome,
    Projection,
    ScenarioError,
    Tree,
    catalog_note,
    goal_seek,
    model_note,
    parse_levers,
    simulate,
)
from intelligentos.domain.whatif.scenarios import SavedScenario, check_name, split_levers
from intelligentos.services.snapshots import CockpitData
from intelligentos.store import Store, StoreError


@dataclass(frozen=True)
class Baseline:
    """What every scenario of one refresh starts from."""

    data: CockpitData
    tree: Tree
    current: dict[str, float | None]


@dataclass(frozen=True)
class ComparedKpi:
    """One CEO KPI under two scenarios (``None``: that scenario does not move it)."""

    kpi: Kpi
    current: float | None
    first: Projection | None
    second: Projection | None


@dataclass(frozen=True)
class Comparison:
    first: SavedScenario
    second: SavedScenario
    rows: tuple[ComparedKpi, ...]  # every CEO KPI, in the strip's order
    note: str  # the model on the way, over both scenarios


def goal_seek_text(result: GoalSeek) -> str:
    """``win_rate must reach 31.2% (+12.8 pt) for revenue_growth to reach 40.0%``, that the
    goal already meets its target, or why the lever cannot bring it there. The command line
    and the screen both say this, so they never disagree."""
    goal, lever = result.goal, result.lever
    target = format_value(goal.target, goal.unit)
    if result.met and result.reachable:
        now = format_value(result.goal_current, goal.unit)
        prefix = f"{goal.id} already meets its target {target} ({now})"
        if result.required is None:
            return f"{prefix}: {lever.id} need not change"
        required = format_value(result.required, lever.unit)
        change = format_change(result.required, result.current, lever.unit)
        return f"{prefix}; it would stay there with {lever.id} at {required} ({change})"
    if result.required is None or not result.reachable:
        return f"{lever.id} cannot bring {goal.id} to {target}: {result.reason}"
    required = format_value(result.required, lever.unit)
    change = format_change(result.required, result.current, lever.unit)
    return f"{lever.id} must reach {required} ({change}) for {goal.id} to reach {target}"


@dataclass
class ScenarioService:
    """Scenarios over the cockpit's data. :meth:`simulate` and :meth:`goal_seek` are pure
    and fast (the event loop may call them); the store methods block."""

    store: Store
    _baseline: Baseline | None = field(default=None, init=False, repr=False)

    # --- simulation --------------------------------------------------------------------------

    def baseline(self, data: CockpitData) -> Baseline:
        """The tree and current values of this refresh, made once and kept until the next."""
        baseline = self._baseline
        if baseline is None or baseline.data is not data:
            tree = (
                baseline.tree
                if baseline is not None and baseline.data.catalog is data.catalog
                else Tree(data.catalog)
            )
            current = {kpi_id: snap.latest for kpi_id, snap in data.snaps.items()}
            baseline = Baseline(data, tree, current)
            self._baseline = baseline
        return baseline

    def simulate(self, data: CockpitData, levers: str | Sequence[str]) -> Outcome:
        """Levers typed in one line (spaces or commas between them) or given one by one;
        raises :class:`ScenarioError` with a sentence for the user."""
        texts = split_levers(levers) if isinstance(levers, str) else list(levers)
        baseline = self.baseline(data)
        return simulate(baseline.tree, parse_levers(texts), baseline.current)

    def goal_seek(self, data: CockpitData, goal_id: str, lever_id: str) -> GoalSeek:
        baseline = self.baseline(data)
        if goal_id == lever_id:
            raise ScenarioError(f"{lever_id} is the goal itself: choose a goal above it")
        return goal_seek(baseline.tree, goal_id, lever_id, baseline.current)

    def note(self, data: CockpitData) -> str:
        """What the model does for this catalog (the edge types it holds)."""
        return catalog_note(self.baseline(data).tree)

    def current(self, data: CockpitData, kpi_id: str) -> float | None:
        return self.baseline(data).current.get(kpi_id)

    def default_goal(self, data: CockpitData, kpi_id: str) -> str:
        """The CEO KPI that ``kpi_id`` rolls up to (itself when it is one)."""
        try:
            chain = self.baseline(data).tree.chain(kpi_id)
        except ScenarioError:
            return kpi_id
        return chain[-1] if chain else kpi_id

    # --- saved scenarios (blocking) ---------------------------------------------------------

    def save(
        self,
        data: CockpitData,
        name: str,
        levers: str | Sequence[str],
        actor: str,
        now: datetime,
    ) -> SavedScenario:
        """Save levers that simulate under ``name`` (replacing one of that name); raises
        :class:`ScenarioError` for a bad name or levers (nothing is written) and
        :class:`StoreError` when the store refuses."""
        try:
            checked = check_name(name)
        except ValueError as error:
            raise ScenarioError(str(error)) from None
        texts = split_levers(levers) if isinstance(levers, str) else list(levers)
        self.simulate(data, texts)
        return self.store.save_scenario(checked, texts, actor, stamp(now))

    def scenarios(self) -> list[SavedScenario]:
        return self.store.scenarios()

    def scenario(self, name: str) -> SavedScenario | None:
        return self.store.scenario(name)

    def delete(self, name: str) -> bool:
        return self.store.delete_scenario(name)

    def compare(self, data: CockpitData, first: str, second: str) -> Comparison:
        """Two saved scenarios' projections of every CEO KPI, side by side."""
        saved = []
        for name in (first, second):
            scenario = self.store.scenario(name)
            if scenario is None:
                raise ScenarioError(f"no scenario is saved as {name!r}")
            saved.append(scenario)
        outcomes = []
        for scenario in saved:
            try:
                outcomes.append(self.simulate(data, scenario.levers))
            except ScenarioError as error:
                raise ScenarioError(f"scenario {scenario.name!r}: {error}") from None
        current = self.baseline(data).current
        rows = tuple(
            ComparedKpi(kpi, current.get(kpi.id), outcomes[0].of(kpi.id), outcomes[1].of(kpi.id))
            for kpi in data.catalog.ceo_kpis()
        )
        kinds = [kind for outcome in outcomes for p in outcome.kpis for kind in p.moved_by]
        return Comparison(saved[0], saved[1], rows, model_note(kinds))


__all__ = [
    "Baseline",
    "ComparedKpi",
    "Comparison",
    "ScenarioError",
    "ScenarioService",
    "StoreError",
    "goal_seek_text",
]
