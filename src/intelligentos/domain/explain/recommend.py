"""What to do about a KPI that is off target: what each lever below it would have to reach
on its own, and the least-effort plan across them, on the what-if's model.

* **Levers** are the measured KPIs below the goal (a derived KPI is its expression, so the
  levers are the measured KPIs it reads). For each, the value it must reach **alone** is
  the what-if's goal seek.
* **Effort** is a change measured against the lever's own history: ``change_sigma`` is the
  change divided by σ, the standard deviation of its period-to-period changes over the
  last year (at least :data:`MIN_CHANGES` of them). "0.4 σ" is a normal month's move; "9 σ"
  has never happened. A lever with too little history (or none that varies) has no σ: it
  is said so and ranked last among those that can reach the goal.
* **The plan** moves the measured KPIs nearest the goal on each path (the *frontier*: a
  lever below another would be held by it, as in the what-if), each with a σ. It minimises
  the total effort ``Σ (change_i / σ_i)²`` subject to the goal reaching its aim, in closed
  form on the linearised tree: with ``g_i`` the goal's change per unit of lever i (a small
  what-if step from the current values) and ``G`` the goal's missing change, lever i moves
  ``G · σ_i² g_i / Σ_j σ_j² g_j²``. The tree is not linear (a ratio, a band, a clamp), so
  the plan is then scaled along that direction, with the what-if projecting the goal each
  time, until the goal lands on its aim (secant steps, then halving). A lever that would
  leave its plausible range (or, for a band KPI, pass its target) stops there, and the
  others share what is left. The plan's projected value is the what-if's, so the plan fed
  to ``whatif`` projects the goal to its aim.

Pure Python: no SQL, no Textual, no I/O.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from intelligentos.domain.agents import owning_agent
from intelligentos.domain.catalog.models import Agent, Direction, Kpi
from intelligentos.domain.explain.model import movers, performance
from intelligentos.domain.whatif.levers import Change, Lever, ScenarioError
from intelligentos.domain.whatif.propagation import Tree, plausible_range, simulate
from intelligentos.domain.whatif.seek import goal_seek

MIN_CHANGES = 3  # period-to-period changes σ needs
MAX_STEPS = 60  # secant and halving steps of the plan's correction
TOLERANCE = 1e-9  # of max(1, |aim|): the plan has landed


@dataclass(frozen=True)
class Sigma:
    """A lever's σ over the last year, or why it has none."""

    value: float | None
    changes: int
    reason: str = ""


def change_sigma(values: Sequence[float | None]) -> Sigma:
    """σ of the period-to-period changes of ``values`` (oldest first, gaps skipped)."""
    present = [v for v in values if v is not None and math.isfinite(v)]
    changes = [b - a for a, b in itertools.pairwise(present)]
    if len(changes) < MIN_CHANGES:
        return Sigma(
            None,
            len(changes),
            f"too little history for σ: {len(changes)} change(s) in the last year, "
            f"{MIN_CHANGES} needed",
        )
    # In floats (statistics.stdev is exact, in fractions: a hundred times slower over a
    # year of daily changes for every lever of a large tree).
    mean = math.fsum(changes) / len(changes)
    sigma = math.sqrt(math.fsum((c - mean) ** 2 for c in changes) / (len(changes) - 1))
    if sigma == 0:
        return Sigma(None, len(changes), "it has not changed in the last year: no σ")
    return Sigma(sigma, len(changes))


@dataclass(frozen=True)
class Recommendation:
    lever: Kpi
    agent: Agent | None
    workflow_id: str | None
    workflow: str | None
    step_id: str | None
    step: str | None
    current: float
    required: float | None  # alone; None when it cannot bring the goal there
    reachable: bool
    reason: str  # how it was solved, or why it cannot
    sigma: Sigma
    path_weight: float | None  # d p(goal) / d p(lever) at the current values
    in_plan: bool  # a frontier lever: the plan may move it

    @property
    def change(self) -> float | None:
        return None if self.required is None else self.required - self.current

    @property
    def change_sigma(self) -> float | None:
        change = self.change
        if change is None or self.sigma.value is None:
            return None
        return change / self.sigma.value

    @property
    def rules(self) -> tuple[str, ...]:
        return self.agent.rules if self.agent else ()


@dataclass(frozen=True)
class PlanStep:
    lever: Kpi
    current: float
    value: float
    sigma: float
    at_limit: bool  # stopped at its plausible range (or a band KPI at its target)

    @property
    def change(self) -> float:
        return self.value - self.current

    @property
    def change_sigma(self) -> float:
        return self.change / self.sigma


@dataclass(frozen=True)
class Plan:
    steps: tuple[PlanStep, ...]  # the levers that move, the largest effort first
    projected: float  # the goal, as the what-if projects it under the plan
    effort: float  # Σ (change / σ)²
    lands: bool  # the goal reaches its aim
    reason: str = ""  # why it does not

    @property
    def levers(self) -> list[str]:
        """The plan as what-if levers (``KPI_ID=VALUE``)."""
        return [Lever(s.lever.id, Change.SET, s.value).text for s in self.steps]


@dataclass(frozen=True)
class Recommendations:
    goal: Kpi
    target: float
    aim: float  # the value the plan brings the goal to (the target, unless projected)
    current: float
    gap_p: float  # performance short of the aim (negative: short)
    recommendations: tuple[Recommendation, ...]  # the easiest first; none when met
    plan: Plan | None  # None when met

    @property
    def met(self) -> bool:
        return self.gap_p >= 0


def levers_below(tree: Tree, goal_id: str) -> tuple[list[str], list[str]]:
    """The measured KPIs below the goal (catalog order), and the frontier among them: the
    nearest on each path from the goal (derived KPIs are passed through)."""
    below: list[str] = []
    frontier: list[str] = []
    seen = {goal_id}
    todo = [(goal_id, True)]
    while todo:
        kpi_id, on_frontier = todo.pop()
        for child_id, _ in movers(tree, kpi_id):
            if child_id in seen:
                continue
            seen.add(child_id)
            child = tree.kpi(child_id)
            if child.derived:
                todo.append((child_id, on_frontier))
                continue
            below.append(child_id)
            if on_frontier:
                frontier.append(child_id)
            todo.append((child_id, False))
    order = {k: i for i, k in enumerate(tree.catalog.kpis)}
    return sorted(below, key=order.__getitem__), sorted(frontier, key=order.__getitem__)


def _bounds(lever: Kpi, now: float) -> tuple[float, float]:
    low, high = plausible_range(lever)
    if lever.direction is Direction.BAND and lever.target is not None:
        # Past its target a band KPI does worse again: it stops there.
        low, high = max(low, min(now, lever.target)), min(high, max(now, lever.target))
    return low, high


def recommend(
    tree: Tree,
    goal_id: str,
    current: Mapping[str, float | None],
    sigmas: Mapping[str, Sigma],
    aim: float | None = None,
) -> Recommendations:
    """The recommendations and the plan that bring ``goal_id`` to ``aim`` (its target by
    default); :class:`ScenarioError` when the goal has no target or no current value."""
    goal = tree.kpi(goal_id)
    if goal.target is None:
        raise ScenarioError(f"{goal.name} ({goal.id}) has no target: nothing to recommend")
    now = current.get(goal.id)
    if now is None or not math.isfinite(now):
        raise ScenarioError(f"{goal.name} ({goal.id}) has no value to start from")
    target = float(goal.target)
    aim_value = target if aim is None else aim
    gap_p = performance(goal, now) - performance(goal, aim_value)
    if gap_p >= 0:  # there already: nothing to do, and no lever need move
        return Recommendations(goal, target, aim_value, now, gap_p, (), None)
    below, frontier = levers_below(tree, goal.id)
    on_frontier = set(frontier)
    found = []
    for lever_id in below:
        value = current.get(lever_id)
        if value is None or not math.isfinite(value):
            continue
        found.append(
            _recommendation(
                tree, goal, tree.kpi(lever_id), current, sigmas, aim_value, lever_id in on_frontier
            )
        )
    found.sort(key=_rank)
    plan = _plan(tree, goal, current, sigmas, aim_value, [r for r in found if r.in_plan])
    return Recommendations(goal, target, aim_value, now, gap_p, tuple(found), plan)


def _rank(r: Recommendation) -> tuple[int, float, str]:
    effort = r.change_sigma
    if r.reachable and r.required is not None and effort is not None:
        return (0, abs(effort), r.lever.id)
    if r.reachable and r.required is not None:
        return (1, 0.0, r.lever.id)
    return (2, 0.0, r.lever.id)


def _goal_value(
    tree: Tree, goal: Kpi, current: Mapping[str, float | None]
) -> Callable[[Mapping[str, float]], float | None]:
    def value(levers: Mapping[str, float]) -> float | None:
        if not levers:
            return current.get(goal.id)
        try:
            outcome = simulate(tree, [Lever(k, Change.SET, v) for k, v in levers.items()], current)
        except ScenarioError:
            return None
        projection = outcome.of(goal.id)
        return None if projection is None else projection.projected

    return value


def _recommendation(
    tree: Tree,
    goal: Kpi,
    lever: Kpi,
    current: Mapping[str, float | None],
    sigmas: Mapping[str, Sigma],
    aim: float,
    in_plan: bool,
) -> Recommendation:
    catalog = tree.catalog
    link = lever.lineage[0] if lever.lineage else None
    workflow = catalog.workflows.get(link.workflow) if link else None
    step = workflow.step(link.step) if workflow and link else None
    now = float(current[lever.id])  # type: ignore[arg-type]
    try:
        seek = goal_seek(tree, goal.id, lever.id, current, aim)
        required, reachable, reason = seek.required, seek.reachable, seek.reason
    except ScenarioError as error:
        required, reachable, reason = None, False, str(error)
    if required is None:
        reachable = False
    sigma = sigmas.get(lever.id, Sigma(None, 0, "no history for σ"))
    return Recommendation(
        lever=lever,
        agent=owning_agent(lever, catalog),
        workflow_id=link.workflow if link else None,
        workflow=workflow.name if workflow else (link.workflow if link else None),
        step_id=link.step if link else None,
        step=step.name if step else (link.step if link else None),
        current=now,
        required=required,
        reachable=reachable,
        reason=reason,
        sigma=sigma,
        path_weight=_path_weight(tree, goal, lever, current),
        in_plan=in_plan,
    )


def _path_weight(
    tree: Tree, goal: Kpi, lever: Kpi, current: Mapping[str, float | None]
) -> float | None:
    """d p(goal) / d p(lever) for a small step of the lever where it stands."""
    now = current.get(lever.id)
    goal_now = current.get(goal.id)
    if now is None or goal_now is None:
        return None
    step = max(abs(now), 1.0) * 1e-6
    low, high = plausible_range(lever)
    moved_to = now + step if now + step <= high else now - step
    if not low <= moved_to <= high:
        return None
    projected = _goal_value(tree, goal, current)({lever.id: moved_to})
    if projected is None:
        return None
    lever_dp = performance(lever, moved_to) - performance(lever, now)
    if lever_dp == 0:
        return None
    return (performance(goal, projected) - performance(goal, goal_now)) / lever_dp


def _plan(
    tree: Tree,
    goal: Kpi,
    current: Mapping[str, float | None],
    sigmas: Mapping[str, Sigma],
    aim: float,
    candidates: Sequence[Recommendation],
) -> Plan:
    goal_at = _goal_value(tree, goal, current)
    tolerance = TOLERANCE * max(1.0, abs(aim))
    start = {r.lever.id: r.current for r in candidates}
    sigma = {r.lever.id: r.sigma.value for r in candidates if r.sigma.value}
    bounds = {k: _bounds(tree.kpi(k), start[k]) for k in sigma}
    # The goal's change per unit of each lever, from a small step where it stands.
    slope: dict[str, float] = {}
    base = current.get(goal.id)
    assert base is not None
    for lever_id, s in sigma.items():
        low, high = bounds[lever_id]
        step = s * 1e-3
        for delta in (step, -step):
            if low <= start[lever_id] + delta <= high:
                projected = goal_at({lever_id: start[lever_id] + delta})
                if projected is not None and projected != base:
                    slope[lever_id] = (projected - base) / delta
                    break
    plan: dict[str, float] = {}
    at_limit: set[str] = set()
    free = [k for k in sigma if k in slope]
    value = float(base)
    reason = ""
    while True:
        if abs(value - aim) <= tolerance:
            break
        if not free:
            reason = "the levers with a σ reach their limits before the goal reaches its aim"
            break
        total = sum(sigma[k] ** 2 * slope[k] ** 2 for k in free)
        direction = {k: sigma[k] ** 2 * slope[k] / total for k in free}
        # How far along the direction each free lever may go before its limit.
        room = math.inf
        stopper = None
        want = aim - value
        for k in free:
            if direction[k] == 0:
                continue
            low, high = bounds[k]
            here = plan.get(k, start[k])
            edge = high if direction[k] * want > 0 else low
            reach = (edge - here) / direction[k]
            if abs(reach) < abs(room):
                room, stopper = reach, k
        fixed = dict(plan)

        def at(
            t: float,
            fixed: dict[str, float] = fixed,
            direction: dict[str, float] = direction,
            free: tuple[str, ...] = tuple(free),
        ) -> dict[str, float]:
            return {**fixed, **{k: fixed.get(k, start[k]) + t * direction[k] for k in free}}

        t = _solve(lambda t: goal_at(at(t)), aim, want, room, tolerance)
        if t is not None:
            plan = at(t)
            landed = goal_at(plan)
            value = value if landed is None else landed
            break
        # The aim lies beyond the first limit: stop that lever there, share the rest.
        if stopper is None or not math.isfinite(room):
            reason = "the plan cannot bring the goal to its aim under the model"
            break
        plan = at(room)
        low, high = bounds[stopper]
        plan[stopper] = min(max(plan[stopper], low), high)
        at_limit.add(stopper)
        free.remove(stopper)
        projected = goal_at(plan)
        if projected is None:
            reason = "the goal has no value under the plan"
            break
        value = projected
    steps = [
        PlanStep(tree.kpi(k), start[k], v, sigma[k], k in at_limit)
        for k, v in plan.items()
        if v != start[k]
    ]
    steps.sort(key=lambda s: -abs(s.change_sigma))
    effort = sum(s.change_sigma**2 for s in steps)
    lands = abs(value - aim) <= tolerance * 1e3
    if lands:
        reason = ""
    return Plan(tuple(steps), value, effort, lands, reason)


def _solve(
    goal: Callable[[float], float | None], aim: float, first: float, room: float, tolerance: float
) -> float | None:
    """The step t (0 < |t| ≤ |room|, in the direction of ``first``) at which the goal
    reaches ``aim``; None when it does not within ``room``."""
    limit = room if math.isfinite(room) else first * 1e6
    previous_t, previous = 0.0, goal(0.0)
    t = first if abs(first) <= abs(limit) else limit
    for _ in range(MAX_STEPS):
        value = goal(t)
        if value is None or previous is None:
            return None
        if abs(value - aim) <= tolerance:
            return t
        if value == previous:
            break
        guess = t + (aim - value) * (t - previous_t) / (value - previous)
        previous_t, previous = t, value
        if not math.isfinite(guess) or guess * limit < 0:
            break
        t = guess if abs(guess) <= abs(limit) else limit
        if t == previous_t:  # pinned at the limit and still short
            return None
    # Secant steps did not settle (a bend, a clamp): halve between 0 and the limit.
    low_t, high_t = 0.0, limit
    low_value, high_value = goal(low_t), goal(high_t)
    if low_value is None or high_value is None or (low_value - aim) * (high_value - aim) > 0:
        return None
    for _ in range(200):
        middle = (low_t + high_t) / 2
        value = goal(middle)
        if value is None:
            return None
        if abs(value - aim) <= tolerance:
            return middle
        if (value - aim) * (low_value - aim) > 0:
            low_t, low_value = middle, value
        else:
            high_t = middle
    return (low_t + high_t) / 2
