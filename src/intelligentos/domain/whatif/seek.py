"""Goal seek: the value of one lever at which a goal KPI reaches its target under the model.

* A path of weights alone is solved in closed form from the product of the weights (the
  path weight), with the checks the scoring model needs: a band KPI on the way stops at
  its target, a KPI on the way must not leave its plausible range.
* A path that is a straight line in the lever (sensitivities, and expressions in which the
  lever's path is only added, subtracted or scaled by a constant) is solved exactly from
  its slope: the goal is projected at two lever values, and the line through them meets
  the target once.
* A path through a non-linear expression (a ratio or a product of levers, ``min``, ``max``
  or ``abs``) is solved by bisection on the lever within its plausible range: from the
  lever's current value the search steps outwards both ways, doubling each step (from
  1/1024 of the value's size up to about a million times it), until the goal crosses its
  target between two steps; that interval is then halved until the goal is within
  10⁻¹⁰ × max(1, |target|) of its target, or the interval is narrower than 10⁻¹² of the
  lever's size, at most :data:`MAX_HALVINGS` times. The crossing nearest the current value
  wins. When no step crosses the target, the goal is unreachable in that range, and the
  answer says so.

Every answer from the last two is checked by projecting the goal with the lever at the
value found.

Pure Python: no SQL, no Textual.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from intelligentos.domain.catalog.models import Catalog, Direction, Kpi
from intelligentos.domain.formatting import format_value
from intelligentos.domain.rollup import EdgeKind, formula_of
from intelligentos.domain.whatif.levers import Change, Lever, ScenarioError
from intelligentos.domain.whatif.propagation import (
    MODEL_NOTE,
    Tree,
    clamp,
    model_note,
    moved,
    performance,
    plausible_range,
    simulate,
    start_value,
    target_of,
)

MAX_HALVINGS = 200
SEARCH_STEPS = 30  # doublings from 1/1024 of the lever's size: about 10⁶ times it
GOAL_TOLERANCE = 1e-10  # of max(1, |target|)


@dataclass(frozen=True)
class GoalSeek:
    goal: Kpi
    lever: Kpi
    current: float  # the lever's current value
    required: float | None  # the lever value that brings the goal to its target
    reachable: bool
    reason: str  # why not, or how it was solved in words
    goal_current: float | None = None
    met: bool = False  # the goal already meets its target: nothing need change
    note: str = MODEL_NOTE  # the model on the way, as a scenario's note says it

    @property
    def change(self) -> float | None:
        return None if self.required is None else self.required - self.current


def path_weight(tree: Tree, lever_id: str, goal_id: str) -> float | None:
    """The product of the weights from the lever up to the goal, or None when the lever is
    not below the goal."""
    chain = tree.chain(lever_id)
    if goal_id not in chain:
        return None
    weight = 1.0
    child = tree.kpi(lever_id)
    for parent_id in chain:
        weight *= child.weight
        if parent_id == goal_id:
            return weight
        child = tree.kpi(parent_id)
    return None


def path_kinds(tree: Tree, lever_id: str, goal_id: str) -> dict[tuple[str, str], EdgeKind]:
    """Every link on a way from the lever to the goal (roll-up edges and expressions'
    reads), with its type; empty when the lever does not reach the goal."""
    below_goal = tree.reachable(lever_id) | {lever_id}
    on_way = {k for k in below_goal if k == goal_id or goal_id in tree.reachable(k)}
    if goal_id not in on_way:
        return {}
    return {
        (kpi_id, nxt): tree.kind(kpi_id, nxt)
        for kpi_id in on_way - {goal_id}
        for nxt in tree.successors(kpi_id)
        if nxt in on_way
    }


def _linear(tree: Tree, links: Mapping[tuple[str, str], EdgeKind]) -> bool:
    for (child_id, parent_id), kind in links.items():
        if kind is EdgeKind.FORMULA:
            formula = formula_of(tree.kpi(parent_id))
            if formula is not None and not formula.linear_in(child_id):
                return False
    return True


def goal_seek(
    catalog: Catalog | Tree,
    goal_id: str,
    lever_id: str,
    current: Mapping[str, float | None],
    aim: float | None = None,
) -> GoalSeek:
    """The lever value at which the goal KPI reaches its target (or ``aim``, a value of
    the goal to reach instead) under the model.

    Unreachable (``required`` None, ``reason`` says why) when the lever does not reach the
    goal, the goal does not move with it, the lever would have to leave its plausible range
    (or do better than on target, for a band lever on a path of weights), or a KPI between
    them would (then it stops there and the goal cannot get the whole change)."""
    tree = catalog if isinstance(catalog, Tree) else Tree(catalog)
    goal = tree.kpi(goal_id)
    lever = tree.kpi(lever_id)
    if tree.formula_error is not None:
        raise ScenarioError(tree.formula_error)
    goal_now = start_value(goal, current)
    lever_now = start_value(lever, current)
    target = target_of(goal) if aim is None else aim
    # A goal on or past its target is there already: the lever value that would hold it
    # exactly at target is a curiosity, and no reason to call the goal out of reach.
    met = performance(goal, goal_now) >= performance(goal, target)
    links = {} if lever.id == goal.id else path_kinds(tree, lever.id, goal.id)
    note = model_note(links.values())
    weights_only = all(kind is EdgeKind.WEIGHT for kind in links.values())

    def unreachable(reason: str) -> GoalSeek:
        reaches = bool(links) and (not weights_only or path_weight(tree, lever.id, goal.id))
        if met and lever.id != goal.id and reaches:
            return GoalSeek(
                goal,
                lever,
                lever_now,
                None,
                True,
                f"{goal.id} already meets its target",
                goal_now,
                True,
                note,
            )
        return GoalSeek(goal, lever, lever_now, None, False, reason, goal_now, met, note)

    if lever.id == goal.id:
        return unreachable(f"{lever.id} is the goal itself")
    if not links:
        return unreachable(f"{lever.id} does not roll up to {goal.id}")

    def found(required: float, reason: str) -> GoalSeek:
        return GoalSeek(goal, lever, lever_now, required, True, reason, goal_now, met, note)

    if weights_only:
        return _by_weights(tree, goal, lever, current, target, unreachable, found)

    def projected(value: float) -> float | None:
        try:
            outcome = simulate(tree, [Lever(lever.id, Change.SET, value)], current)
        except ScenarioError:
            return None  # no value there (a division by zero on the way)
        projection = outcome.of(goal.id)
        return None if projection is None else projection.projected

    low, high = plausible_range(lever)
    tolerance = GOAL_TOLERANCE * max(1.0, abs(target))
    if _linear(tree, links):
        line = _by_slope(projected, lever_now, target, high)
        if line is None:
            return unreachable(f"{goal.id} does not move with {lever.id}")
        required, slope = line
        how = f"linear path: {goal.id} moves {slope:+.4g} per unit of {lever.id}"
    else:
        root = _by_bisection(projected, lever_now, target, low, high, tolerance)
        if root is None:
            span = f"{format_value(low, lever.unit)}–{format_value(high, lever.unit)}"
            if math.isinf(high):
                span = f"from {format_value(low, lever.unit)} up"
            return unreachable(
                f"no value of {lever.id} in its plausible range ({span}) brings {goal.id} "
                f"to {format_value(target, goal.unit)} under the model"
            )
        required, how = root, "by bisection on a non-linear path"
    if not math.isfinite(required) or not (low <= required <= high):
        return unreachable(
            f"{lever.id} would have to reach {required:.4g}, outside its plausible range"
        )
    outcome = simulate(tree, [Lever(lever.id, Change.SET, required)], current)
    reached = outcome.of(goal.id)  # the answer, checked by projecting it
    if reached is None or abs(reached.projected - target) > tolerance * 1e3:
        stopped = next((p.kpi.id for p in outcome.kpis if p.clamped and not p.is_lever), None)
        if stopped is not None:
            return unreachable(f"{stopped} would leave its plausible range on the way")
        return unreachable(f"{goal.id} cannot reach its target through {lever.id}")
    return found(required, how)


def _by_slope(
    projected: Callable[[float], float | None],
    at: float,
    target: float,
    high: float,
) -> tuple[float, float] | None:
    """Where the line through two projections meets the target, and the line's slope (None
    when it is flat)."""
    step = max(abs(at), 1.0)
    other = at + step if at + step <= high else at - step
    first, second = projected(at), projected(other)
    if first is None or second is None or second == first:
        return None
    slope = (second - first) / (other - at)
    return at + (target - first) / slope, slope


def _by_bisection(
    projected: Callable[[float], float | None],
    at: float,
    target: float,
    low: float,
    high: float,
    tolerance: float,
) -> float | None:
    """The lever value nearest ``at`` (within ``low``–``high``) at which the projected goal
    crosses ``target``, or None when no step of the search crosses it."""

    def gap(value: float) -> float | None:
        found = projected(value)
        return None if found is None else found - target

    start = min(max(at, low), high)
    here = gap(start)
    if here is not None and abs(here) <= tolerance:
        return start
    size = max(abs(start), 1.0) / 1024
    ups, downs = [(start, here)], [(start, here)]
    for k in range(SEARCH_STEPS + 1):
        for points, sign, bound in ((ups, 1.0, high), (downs, -1.0, low)):
            last = points[-1][0]
            if last == bound:
                continue
            value = start + sign * size * 2**k
            value = min(value, bound) if sign > 0 else max(value, bound)
            points.append((value, gap(value)))
            (a, ga), (b, gb) = points[-2], points[-1]
            if ga is not None and gb is not None and (ga == 0 or gb == 0 or (ga < 0) != (gb < 0)):
                return _halve(gap, a, ga, b, gb, tolerance)
    return None


def _halve(
    gap: Callable[[float], float | None],
    a: float,
    ga: float,
    b: float,
    gb: float,
    tolerance: float,
) -> float | None:
    if abs(gb) <= tolerance or ga == 0:
        return b if abs(gb) <= abs(ga) else a
    for _ in range(MAX_HALVINGS):
        middle = (a + b) / 2
        gm = gap(middle)
        if gm is None:
            return None
        if abs(gm) <= tolerance or abs(b - a) <= 1e-12 * max(1.0, abs(middle)):
            return middle
        if (gm < 0) == (ga < 0):
            a, ga = middle, gm
        else:
            b, gb = middle, gm
    return (a + b) / 2


def _by_weights(
    tree: Tree,
    goal: Kpi,
    lever: Kpi,
    current: Mapping[str, float | None],
    target: float,
    unreachable: Callable[[str], GoalSeek],
    found: Callable[[float, str], GoalSeek],
) -> GoalSeek:
    """The closed form of a path of weights: the goal's missing Δp over the path weight."""
    weight = path_weight(tree, lever.id, goal.id)
    if weight is None:
        return unreachable(f"{lever.id} does not roll up to {goal.id}")
    if weight == 0:
        return unreachable(f"the weights from {lever.id} up to {goal.id} multiply to zero")
    lever_now = start_value(lever, current)
    # The performance change that puts the goal on its target (or the aim)
    needed = performance(goal, target) - performance(goal, start_value(goal, current))
    lever_delta = needed / weight
    if lever.direction is Direction.BAND and performance(lever, lever_now) + lever_delta > 1e-12:
        return unreachable(f"{lever.id} is a band KPI: it cannot do better than its target")
    required = moved(lever, lever_now, lever_delta)
    low, high = plausible_range(lever)
    if not math.isfinite(required) or not (low <= required <= high):
        return unreachable(
            f"{lever.id} would have to reach {required:.4g}, outside its plausible range"
        )
    # The KPIs between the lever and the goal must carry the whole change.
    delta = lever_delta
    child = lever
    for parent_id in tree.chain(lever.id):
        delta *= child.weight
        if parent_id == goal.id:
            break
        kpi = tree.kpi(parent_id)
        now = start_value(kpi, current)
        if kpi.direction is Direction.BAND and performance(kpi, now) + delta > 1e-12:
            return unreachable(
                f"{kpi.id} is a band KPI on the way: it stops at its target before "
                f"{goal.id} reaches its own"
            )
        if clamp(kpi, moved(kpi, now, delta))[1]:
            return unreachable(f"{kpi.id} would leave its plausible range on the way")
        child = kpi
    return found(required, f"path weight {weight:g}")
