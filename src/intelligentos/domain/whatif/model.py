"""What-if scenarios and goal seeking through the KPI roll-up tree: a linear sensitivity
model taken from the catalog's weights.

Performance against target T (``scale`` = |T|, or 1 for a zero target):

* higher is better: p = (x − T) / scale;  lower is better: p = (T − x) / scale;
* band: p = −|x − T| / scale (0 on target, negative either side).

A lever changes its KPI's value; the change of its performance moves its parent's by
``weight × Δp`` (levers add up), and so on up to the CEO KPI. A KPI's projected value is its
current value moved by ``Δp × scale`` in its good direction; a band KPI moves towards its
target when Δp > 0 (never past it: p cannot rise above 0) and away from it on the side it is
already on when Δp < 0 (above the target when it is exactly on it). A lever's own value is
what the lever says: contributions of levers below it do not move it.

Values outside the unit's plausible range are clamped and flagged: percentages 0–100 (no
upper bound when the target itself is above 100 %, as for net revenue retention, or is
100 % on a KPI that is not higher-is-better, as for budget variance), scores −100…100, and
no negative durations, counts, money or ratios. Each KPI passes up the change of the value
it shows (clamped, or stopped at a band target), so what is shown is what moves the parent.

Pure Python: no SQL, no Textual.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from intelligentos.domain.catalog.models import Catalog, Direction, Kpi, Unit
from intelligentos.domain.detection import Status, target_status

MODEL_NOTE = "catalog weights, linear"


class ScenarioError(ValueError):
    """A lever, a goal or the catalog cannot be simulated; the message says why."""


class MissingValue(ScenarioError):
    """A lever, or a KPI on a lever's path, has no current value to start from."""


class Change(StrEnum):
    SET = "="
    ADD = "+="
    SUBTRACT = "-="


@dataclass(frozen=True)
class Lever:
    kpi_id: str
    change: Change
    amount: float
    relative: bool = False  # the amount is a percentage of the current value

    @property
    def text(self) -> str:
        number = repr(self.amount).removesuffix(".0")  # exact: the text parses back the same
        return f"{self.kpi_id}{self.change.value}{number}{'%' if self.relative else ''}"

    def apply(self, current: float) -> float:
        if self.change is Change.SET:
            return self.amount
        step = current * self.amount / 100 if self.relative else self.amount
        return current + step if self.change is Change.ADD else current - step


_LEVER = re.compile(
    r"^\s*(?P<kpi>[A-Za-z0-9_.\-]+?)\s*(?P<op>\+=|-=|=)\s*(?P<number>[^%\s]+)\s*(?P<pct>%?)\s*$"
)


def parse_lever(text: str) -> Lever:
    """``KPI_ID=VALUE``, ``KPI_ID+=D``, ``KPI_ID-=D``, ``KPI_ID+=P%`` or ``KPI_ID-=P%``."""
    match = _LEVER.match(text)
    if match is None:
        raise ScenarioError(
            f"cannot read lever {text!r}: write KPI_ID=VALUE, KPI_ID+=D, KPI_ID-=D or KPI_ID+=P%"
        )
    change = Change(match["op"])
    relative = bool(match["pct"])
    if relative and change is Change.SET:
        raise ScenarioError(f"lever {text!r}: a percentage applies to += or -= only")
    try:
        amount = float(match["number"])
    except ValueError:
        raise ScenarioError(f"lever {text!r}: {match['number']!r} is not a number") from None
    if not math.isfinite(amount):
        raise ScenarioError(f"lever {text!r}: the value must be a finite number")
    return Lever(match["kpi"], change, amount, relative)


def parse_levers(texts: Iterable[str]) -> list[Lever]:
    levers = [parse_lever(text) for text in texts]
    seen: set[str] = set()
    for lever in levers:
        if lever.kpi_id in seen:
            raise ScenarioError(f"KPI {lever.kpi_id!r} has more than one lever")
        seen.add(lever.kpi_id)
    return levers


# --- the model ----------------------------------------------------------------------------


def target_of(kpi: Kpi) -> float:
    """The target the weighted model measures performance against; a tracked KPI has none."""
    if kpi.target is None:
        raise ScenarioError(
            f"KPI {kpi.id!r} is tracked (it has no target): the weighted roll-up measures "
            "performance against a target"
        )
    return kpi.target


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
    both sides of 100 %, as for net revenue retention or budget variance), scores −100…100,
    and nothing negative for durations, counts, money and ratios."""
    if kpi.unit is Unit.PERCENT:
        target = kpi.target
        open_above = target is not None and (
            target > 100 or (target == 100 and kpi.direction is not Direction.HIGHER)
        )
        return (0.0, math.inf if open_above else 100.0)
    if kpi.unit is Unit.SCORE:
        return (-100.0, 100.0)
    return (0.0, math.inf)


def clamp(kpi: Kpi, value: float) -> tuple[float, bool]:
    low, high = plausible_range(kpi)
    bounded = min(max(value, low), high)
    return bounded, bounded != value


@dataclass(frozen=True)
class Projection:
    """One KPI in a scenario: where it is and where the scenario takes it."""

    kpi: Kpi
    current: float
    projected: float
    clamped: bool  # the model's value left the unit's plausible range
    is_lever: bool

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
    # Every lever and every KPI above one, up to its CEO KPI: levers first, in their order,
    # then the others from the nearest to the CEO KPIs.
    kpis: tuple[Projection, ...]
    note: str = MODEL_NOTE

    def of(self, kpi_id: str) -> Projection | None:
        return next((p for p in self.kpis if p.kpi.id == kpi_id), None)

    @property
    def ceo(self) -> list[Projection]:
        return [p for p in self.kpis if p.kpi.rolls_up_to is None]


@dataclass
class Tree:
    """The roll-up tree of a catalog, checked once: parents, and weights. Build it once per
    catalog and pass it to :func:`simulate` / :func:`goal_seek` to recompute quickly."""

    catalog: Catalog
    parents: dict[str, str] = field(init=False)
    _chains: dict[str, tuple[str, ...]] = field(
        init=False, default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        kpis = self.catalog.kpis
        self.parents = {
            k.id: k.rolls_up_to for k in kpis.values() if k.rolls_up_to and k.rolls_up_to in kpis
        }

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


def _start(kpi: Kpi, current: Mapping[str, float | None]) -> float:
    value = current.get(kpi.id)
    if value is None or not math.isfinite(value):
        raise MissingValue(f"{kpi.name} ({kpi.id}) has no value to start from")
    return float(value)


def simulate(
    catalog: Catalog | Tree, levers: Sequence[Lever], current: Mapping[str, float | None]
) -> Outcome:
    """Project every lever and every KPI above one. ``current``: the latest value of each KPI
    (a KPI without one cannot be a lever or lie on a lever's path).

    Each KPI passes up the change of performance of the value it shows (after clamping, and
    after a band KPI stops at its target): what is shown is what moves the parent."""
    tree = catalog if isinstance(catalog, Tree) else Tree(catalog)
    if not levers:
        raise ScenarioError("give at least one lever")
    if len({lever.kpi_id for lever in levers}) != len(levers):
        raise ScenarioError("a KPI has more than one lever")

    lever_ids = {lever.kpi_id for lever in levers}
    results: dict[str, Projection] = {}
    for lever in levers:
        kpi = tree.kpi(lever.kpi_id)
        now = _start(kpi, current)
        wanted = lever.apply(now)
        if not math.isfinite(wanted):
            raise ScenarioError(f"lever {lever.text!r} does not give a finite value")
        value, clamped = clamp(kpi, wanted)
        results[kpi.id] = Projection(kpi, now, value, clamped, True)
    order = list(results)

    # The KPIs above the levers, up to the CEO KPIs or up to another lever: a lever's own
    # value is what the lever says, so what reaches it from below stops there.
    above: set[str] = set()
    for lever_id in order:
        for parent_id in tree.chain(lever_id):
            if parent_id in lever_ids:
                break
            above.add(parent_id)

    incoming: dict[str, float] = {}  # the Δp reaching each KPI above a lever, summed

    def pass_up(kpi: Kpi, projection: Projection) -> None:
        parent_id = tree.parents.get(kpi.id)
        if parent_id is None or parent_id in lever_ids:
            return
        delta = performance(kpi, projection.projected) - performance(kpi, projection.current)
        incoming[parent_id] = incoming.get(parent_id, 0.0) + kpi.weight * delta

    for lever_id in order:
        pass_up(results[lever_id].kpi, results[lever_id])
    # Deepest first (every child before its parent), then in catalog order.
    position = {kpi_id: index for index, kpi_id in enumerate(tree.catalog.kpis)}
    for kpi_id in sorted(above, key=lambda k: (-len(tree.chain(k)), position[k])):
        kpi = tree.kpi(kpi_id)
        now = _start(kpi, current)
        value, clamped = clamp(kpi, moved(kpi, now, incoming.get(kpi_id, 0.0)))
        results[kpi_id] = Projection(kpi, now, value, clamped, False)
        order.append(kpi_id)
        pass_up(kpi, results[kpi_id])
    return Outcome(tuple(levers), tuple(results[k] for k in order))


# --- goal seek ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalSeek:
    goal: Kpi
    lever: Kpi
    current: float  # the lever's current value
    required: float | None  # the lever value that brings the goal to its target
    reachable: bool
    reason: str  # why not, or the path's weight in words
    goal_current: float | None = None
    met: bool = False  # the goal already meets its target: nothing need change

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


def goal_seek(
    catalog: Catalog | Tree, goal_id: str, lever_id: str, current: Mapping[str, float | None]
) -> GoalSeek:
    """The lever value at which the goal KPI reaches its target under the model.

    Unreachable (``required`` None, ``reason`` says why) when the lever is not below the
    goal, the weights on the way multiply to zero, the lever would have to leave its
    plausible range (or do better than on target, for a band lever), or a KPI between them
    would (then it stops there and the goal cannot get the whole change)."""
    tree = catalog if isinstance(catalog, Tree) else Tree(catalog)
    goal = tree.kpi(goal_id)
    lever = tree.kpi(lever_id)
    goal_now = _start(goal, current)
    lever_now = _start(lever, current)
    # A goal on or past its target is there already: the lever value that would hold it
    # exactly at target is a curiosity, and no reason to call the goal out of reach.
    met = performance(goal, goal_now) >= 0

    def unreachable(reason: str) -> GoalSeek:
        if met and lever.id != goal.id and path_weight(tree, lever.id, goal.id):
            return GoalSeek(
                goal,
                lever,
                lever_now,
                None,
                True,
                f"{goal.id} already meets its target",
                goal_now,
                True,
            )
        return GoalSeek(goal, lever, lever_now, None, False, reason, goal_now, met)

    if lever.id == goal.id:
        return unreachable(f"{lever.id} is the goal itself")
    weight = path_weight(tree, lever.id, goal.id)
    if weight is None:
        return unreachable(f"{lever.id} does not roll up to {goal.id}")
    if weight == 0:
        return unreachable(f"the weights from {lever.id} up to {goal.id} multiply to zero")
    needed = -performance(goal, goal_now)  # the Δp that puts the goal on its target
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
        now = _start(kpi, current)
        if kpi.direction is Direction.BAND and performance(kpi, now) + delta > 1e-12:
            return unreachable(
                f"{kpi.id} is a band KPI on the way: it stops at its target before "
                f"{goal.id} reaches its own"
            )
        if clamp(kpi, moved(kpi, now, delta))[1]:
            return unreachable(f"{kpi.id} would leave its plausible range on the way")
        child = kpi
    return GoalSeek(
        goal, lever, lever_now, required, True, f"path weight {weight:g}", goal_now, met
    )
