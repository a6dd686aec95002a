"""How a scenario's levers move the KPIs above and beside them, edge by edge.

A lever sets its KPI's value. The change then travels along two kinds of link:

* up the roll-up tree, from each KPI to the one it rolls up to, by the type of that edge
  (:mod:`intelligentos.domain.rollup`);
* from each KPI to every derived KPI whose expression reads it, wherever that KPI sits in
  the catalog.

Each KPI reached is projected once, after everything that moves it:

* **formula**: a derived KPI is its expression, evaluated with the changed inputs (the
  others at their current values); it moves by exactly the expression's change. The result
  is what it is: never clamped, but flagged ``implausible`` when it leaves the unit's
  plausible range (the levers asked for something that cannot happen).
* **sensitivity**: the parent moves by exactly ``sensitivity × the child's change``, in the
  parent's units.
* **weight**: a scoring model. Performance against target T (``scale`` = |T|, or 1 for a
  zero target): higher is better p = (x − T) / scale; lower is better p = (T − x) / scale;
  band p = −|x − T| / scale. The parent's performance moves by ``weight × Δp`` of the
  child: its value by ``Δp × scale`` in its good direction; a band KPI moves towards its
  target when Δp > 0 (never past it) and away from it on the side it is already on when
  Δp < 0 (above the target when exactly on it).

Contributions add up. A value moved by a sensitivity or a weight (a linear model, which can
overshoot) is clamped to the unit's plausible range and flagged ``clamped``; each KPI then
passes on the value it shows. A lever's own value is what the lever says: what would reach
it from below stops there.

A weighted edge needs both ends' targets to measure performance; a KPI without a target
(tracked) on a weighted edge is refused with a sentence naming it: give that edge a
sensitivity, or the KPI a target.

Pure Python: no SQL, no Textual.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from intelligentos.domain.catalog.models import Catalog, Direction, Kpi, Unit
from intelligentos.domain.detection import Status, target_status
from intelligentos.domain.formula import Undefined
from intelligentos.domain.rollup import CycleError, Edge, EdgeKind, edge_of, formula_of, readers
from intelligentos.domain.whatif.levers import Lever, MissingValue, ScenarioError

MODEL_NOTE = "catalog weights, linear"  # what a scenario moved only by weights says


def model_note(kinds: Iterable[EdgeKind]) -> str:
    """What the model did, for the edge types a scenario moved KPIs by: ``formulas exact;
    sensitivities and weights linear``; :data:`MODEL_NOTE` for weights alone (or none)."""
    found = set(kinds)
    if not found or found == {EdgeKind.WEIGHT}:
        return MODEL_NOTE
    parts = []
    if EdgeKind.FORMULA in found:
        parts.append("formulas exact")
    linear = [
        name
        for kind, name in ((EdgeKind.SENSITIVITY, "sensitivities"), (EdgeKind.WEIGHT, "weights"))
        if kind in found
    ]
    if linear:
        parts.append(" and ".join(linear) + " linear")
    return "; ".join(parts)


# --- values against targets ---------------------------------------------------------------


def target_of(kpi: Kpi) -> float:
    """The KPI's target; :class:`ScenarioError` for a tracked KPI (one without a target),
    which a weighted edge or a goal cannot measure against."""
    target: float | None = kpi.target
    if target is None:
        raise ScenarioError(
            f"{kpi.name} ({kpi.id}) has no target, so a weighted roll-up cannot measure its "
            "change: give its edge a sensitivity, or the KPI a target"
        )
    return float(target)


def scale(kpi: Kpi) -> float:
    return abs(target_of(kpi)) or 1.0


def performance(kpi: Kpi, value: float) -> float:
    target = target_of(kpi)
    if kpi.direction is Direction.HIGHER:
        return (value - target) / scale(kpi)
    if kpi.direction is Direction.LOWER:
        return (target - value) / scale(kpi)
    return -abs(value - target) / scale(kpi)


def moved(kpi: Kpi, value: float, delta_p: float) -> float:
    """``value`` with its performance changed by ``delta_p``."""
    if kpi.direction is Direction.HIGHER:
        return value + delta_p * scale(kpi)
    if kpi.direction is Direction.LOWER:
        return value - delta_p * scale(kpi)
    target = target_of(kpi)
    side = 1.0 if value >= target else -1.0
    new_p = min(0.0, performance(kpi, value) + delta_p)
    return target + side * -new_p * scale(kpi)


def plausible_range(kpi: Kpi) -> tuple[float, float]:
    """The values a KPI's unit allows: percentages 0–100 (no upper bound when the target is
    above 100 %, or exactly 100 % on a KPI that is not higher-is-better: values then lie on
    both sides of 100 %, as for net revenue retention or budget variance; nor for a tracked
    percentage, whose side of 100 % nothing tells), scores −100…100, and nothing negative
    for durations, counts, money and ratios."""
    if kpi.unit is Unit.PERCENT:
        target: float | None = kpi.target
        open_above = (
            target is None
            or target > 100
            or (target == 100 and kpi.direction is not Direction.HIGHER)
        )
        return (0.0, math.inf if open_above else 100.0)
    if kpi.unit is Unit.SCORE:
        return (-100.0, 100.0)
    return (0.0, math.inf)


def clamp(kpi: Kpi, value: float) -> tuple[float, bool]:
    low, high = plausible_range(kpi)
    bounded = min(max(value, low), high)
    return bounded, bounded != value


def plausible(kpi: Kpi, value: float) -> bool:
    low, high = plausible_range(kpi)
    return low <= value <= high


# --- the outcome --------------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """One KPI in a scenario: where it is and where the scenario takes it."""

    kpi: Kpi
    current: float
    projected: float
    clamped: bool  # the model's value left the unit's plausible range and was brought back
    is_lever: bool
    # The edge types that moved it (none for a lever), in the order of :class:`EdgeKind`.
    moved_by: tuple[EdgeKind, ...] = ()
    # An exact (formula) value outside the unit's plausible range: shown as it is.
    implausible: bool = False

    @property
    def status(self) -> Status:
        return target_status(self.kpi, self.current)

    @property
    def projected_status(self) -> Status:
        return target_status(self.kpi, self.projected)

    @property
    def change(self) -> float:
        return self.projected - self.current


@dataclass(frozen=True)
class Outcome:
    levers: tuple[Lever, ...]
    # Every lever and every KPI it reaches, up to the CEO KPIs: levers first, in their
    # order, then the others, each after everything that moves it, the deepest first.
    kpis: tuple[Projection, ...]
    note: str = MODEL_NOTE

    def of(self, kpi_id: str) -> Projection | None:
        return next((p for p in self.kpis if p.kpi.id == kpi_id), None)

    @property
    def ceo(self) -> list[Projection]:
        return [p for p in self.kpis if p.kpi.rolls_up_to is None]


# --- the catalog's links ------------------------------------------------------------------


@dataclass
class Tree:
    """The roll-up tree of a catalog and who reads whom, checked once: parents, the type of
    each edge, and the derived KPIs reading each KPI. Build it once per catalog and pass it
    to :func:`simulate` / :func:`goal_seek` to recompute quickly."""

    catalog: Catalog
    parents: dict[str, str] = field(init=False)
    edges: dict[str, Edge] = field(init=False)  # child id → its edge up
    readers: dict[str, list[str]] = field(init=False)  # input id → derived KPIs reading it
    children: dict[str, list[str]] = field(init=False)  # parent id → KPIs rolling up to it
    positions: dict[str, int] = field(init=False, repr=False)  # KPI id → its catalog order
    formula_error: str | None = field(init=False, default=None)
    _chains: dict[str, tuple[str, ...]] = field(
        init=False, default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        kpis = self.catalog.kpis
        self.parents = {
            k.id: k.rolls_up_to for k in kpis.values() if k.rolls_up_to and k.rolls_up_to in kpis
        }
        self.edges = {}
        self.children = {}
        self.positions = {kpi_id: index for index, kpi_id in enumerate(kpis)}
        for child_id, parent_id in self.parents.items():
            self.children.setdefault(parent_id, []).append(child_id)
            edge = edge_of(kpis[child_id], self.catalog)
            if edge is not None:
                self.edges[child_id] = edge
        try:
            self.readers = readers(kpis)
        except CycleError as error:  # a store edited by hand: the catalog's checks refuse it
            self.readers = {}
            self.formula_error = str(error)

    def kpi(self, kpi_id: str) -> Kpi:
        kpi = self.catalog.kpis.get(kpi_id)
        if kpi is None:
            raise ScenarioError(f"unknown KPI {kpi_id!r}")
        return kpi

    def chain(self, kpi_id: str) -> list[str]:
        """The KPIs above ``kpi_id``, nearest first; raises on a cycle (a store whose
        ``kpis`` table was edited by hand: the catalog's own checks refuse cycles)."""
        known = self._chains.get(kpi_id)
        if known is not None:
            return list(known)
        chain: list[str] = []
        seen = {kpi_id}
        current = kpi_id
        while (parent := self.parents.get(current)) is not None:
            if parent in seen:
                circle = " → ".join([kpi_id, *chain, parent])
                raise ScenarioError(
                    f"the roll-up runs in a circle ({circle}); fix rolls_up_to in the catalog"
                )
            chain.append(parent)
            seen.add(parent)
            current = parent
        self._chains[kpi_id] = tuple(chain)
        return chain

    def successors(self, kpi_id: str) -> list[str]:
        """The KPIs a change of ``kpi_id`` moves directly: the one it rolls up to, then the
        derived KPIs reading it."""
        found = [self.parents[kpi_id]] if kpi_id in self.parents else []
        found += [r for r in self.readers.get(kpi_id, ()) if r not in found]
        return found

    def kind(self, child_id: str, parent_id: str) -> EdgeKind:
        """How ``child_id`` moves ``parent_id`` (one of its successors)."""
        formula = formula_of(self.kpi(parent_id))
        if formula is not None and child_id in formula.inputs:
            return EdgeKind.FORMULA
        return self.edges[child_id].kind

    def reachable(self, start: str, *, stop: frozenset[str] = frozenset()) -> set[str]:
        """Every KPI a change of ``start`` reaches (not ``start``), not passing through
        ``stop``."""
        found: set[str] = set()
        todo = [start]
        while todo:
            for nxt in self.successors(todo.pop()):
                if nxt not in found and nxt not in stop and nxt != start:
                    found.add(nxt)
                    todo.append(nxt)
        return found


def catalog_note(tree: Tree) -> str:
    """What the model does for this catalog as a whole: :func:`model_note` of every edge
    type in it (formulas when some derived KPI reads another)."""
    kinds = {edge.kind for edge in tree.edges.values()}
    if tree.readers:
        kinds.add(EdgeKind.FORMULA)
    return model_note(kinds)


def start_value(kpi: Kpi, current: Mapping[str, float | None]) -> float:
    value = current.get(kpi.id)
    if value is None or not math.isfinite(value):
        raise MissingValue(f"{kpi.name} ({kpi.id}) has no value to start from")
    return float(value)


def _order(tree: Tree, reached: set[str], moved_from: Mapping[str, list[str]]) -> list[str]:
    """``reached`` with each KPI after everything in it or among the levers that moves it;
    among those ready, the deepest in the tree first, then catalog order."""
    position = tree.positions
    waiting = {k: sum(1 for p in moved_from[k] if p in reached) for k in reached}
    ready = [(-len(tree.chain(k)), position[k], k) for k, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        kpi_id = heapq.heappop(ready)[2]
        order.append(kpi_id)
        for nxt in tree.successors(kpi_id):
            if nxt in waiting:
                waiting[nxt] -= 1
                if waiting[nxt] == 0:
                    heapq.heappush(ready, (-len(tree.chain(nxt)), position[nxt], nxt))
    if len(order) < len(reached):
        stuck = sorted(k for k in reached if k not in order)
        raise ScenarioError(
            "the roll-up and the derived KPIs' expressions run in a circle through "
            + ", ".join(stuck)
            + "; fix rolls_up_to or compute in the catalog"
        )
    return order


def _formula_change(
    tree: Tree, kpi: Kpi, results: Mapping[str, Projection], current: Mapping[str, float | None]
) -> float | None:
    """How much a derived KPI's expression changes with the inputs the scenario moved
    (None when it reads none of them)."""
    formula = formula_of(kpi)
    if formula is None or not any(name in results for name in formula.inputs):
        return None
    before = {name: start_value(tree.kpi(name), current) for name in formula.inputs}
    after = {
        name: results[name].projected if name in results else before[name]
        for name in formula.inputs
    }
    try:
        return formula.evaluate(after) - formula.evaluate(before)
    except Undefined as error:
        raise ScenarioError(
            f"{kpi.name} ({kpi.id}) = {formula.text} has no value: {error}"
        ) from None


def _project(
    tree: Tree,
    kpi: Kpi,
    moved_from: Sequence[str],
    results: Mapping[str, Projection],
    current: Mapping[str, float | None],
) -> Projection:
    now = start_value(kpi, current)
    kinds: set[EdgeKind] = set()
    delta_p = 0.0  # from weighted children
    delta_value = 0.0  # from sensitivities and the expression
    for child_id in moved_from:
        child = results.get(child_id)
        if child is None:
            continue
        kind = tree.kind(child_id, kpi.id)
        if kind is EdgeKind.WEIGHT:
            change = performance(child.kpi, child.projected) - performance(child.kpi, child.current)
            delta_p += child.kpi.weight * change
        elif kind is EdgeKind.SENSITIVITY:
            sensitivity = tree.edges[child_id].sensitivity or 0.0
            delta_value += sensitivity * child.change
        kinds.add(kind)
    formula_change = _formula_change(tree, kpi, results, current)
    if formula_change is not None:
        delta_value += formula_change
        kinds.add(EdgeKind.FORMULA)
    value = moved(kpi, now, delta_p) if EdgeKind.WEIGHT in kinds else now
    value += delta_value
    if not math.isfinite(value):
        raise ScenarioError(f"{kpi.name} ({kpi.id}) would not be a finite number")
    by = tuple(k for k in EdgeKind if k in kinds)
    if kinds - {EdgeKind.FORMULA}:
        value, clamped = clamp(kpi, value)
        return Projection(kpi, now, value, clamped, False, by)
    return Projection(kpi, now, value, False, False, by, not plausible(kpi, value))


def simulate(
    catalog: Catalog | Tree, levers: Sequence[Lever], current: Mapping[str, float | None]
) -> Outcome:
    """Project every lever and every KPI it reaches. ``current``: the latest value of each
    KPI (a KPI without one cannot be a lever or lie on a lever's path)."""
    tree = catalog if isinstance(catalog, Tree) else Tree(catalog)
    if not levers:
        raise ScenarioError("give at least one lever")
    if len({lever.kpi_id for lever in levers}) != len(levers):
        raise ScenarioError("a KPI has more than one lever")
    if tree.formula_error is not None:
        raise ScenarioError(tree.formula_error)

    lever_ids = frozenset(lever.kpi_id for lever in levers)
    results: dict[str, Projection] = {}
    for lever in levers:
        kpi = tree.kpi(lever.kpi_id)
        now = start_value(kpi, current)
        wanted = lever.apply(now)
        if not math.isfinite(wanted):
            raise ScenarioError(f"lever {lever.text!r} does not give a finite value")
        value, clamped = clamp(kpi, wanted)
        results[kpi.id] = Projection(kpi, now, value, clamped, True)
        tree.chain(kpi.id)  # a circle in the roll-up is named before anything moves

    reached: set[str] = set()
    for lever_id in lever_ids:
        reached |= tree.reachable(lever_id, stop=lever_ids)
    moved_from: dict[str, list[str]] = {k: [] for k in reached}
    for kpi_id in reached | lever_ids:
        for nxt in tree.successors(kpi_id):
            if nxt in moved_from:
                moved_from[nxt].append(kpi_id)
    order = [lever.kpi_id for lever in levers]
    for kpi_id in _order(tree, reached, moved_from):
        results[kpi_id] = _project(tree, tree.kpi(kpi_id), moved_from[kpi_id], results, current)
        order.append(kpi_id)
    kinds = [kind for projection in results.values() for kind in projection.moved_by]
    return Outcome(tuple(levers), tuple(results[k] for k in order), model_note(kinds))
