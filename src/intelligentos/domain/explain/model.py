"""Why a KPI moved: its change between two dates (or its gap to target) split among the KPIs
below it, down the same roll-up model the what-if uses.

For a KPI P and each KPI c that moves it directly (its expression's inputs when P is
derived, else the KPIs rolling up to it), with x the value at the start ("from") and at the
end ("to") of the comparison and p the performance against target (higher is better
p = (x − T)/|T|; lower p = (T − x)/|T|; band p = −|x − T|/|T|; |T| is 1 for a zero target;
a KPI without a target counts its value as its performance, negated when lower is better):

* **weight** edge: c contributes ``w_c · Δp_c`` to P's performance;
* **sensitivity** edge: c moves P by ``s_c · Δx_c`` in P's unit;
* **formula** edge: P's change ``f(x_to) − f(x_from)`` is split among its inputs by their
  Shapley values (:mod:`intelligentos.domain.explain.shapley`), so the parts add up to
  the whole change exactly.

A change in P's unit becomes a change of its performance at P's own rate over the
comparison, ``k_P = Δp_P / Δx_P`` (the slope where it starts when P did not move): exact
for a higher- or lower-is-better KPI, and for a band KPI the rate that makes its
performance change add up. P's **residual** is what its children do not explain:
``Δp_P − Σ parts``, the KPI's own data (or a weighted edge's model error). A derived KPI's
residual is zero: its values are its expression's.

A KPI deeper down contributes to the top KPI through its **path weight**, the product of
the derivatives of each edge on its path, in performance per performance (a weight; a
sensitivity times k_P / k_c; an input's Shapley share over its change, times k_P / k_c).
Its contribution to the top is ``path weight × Δp``; its children's contributions and its
own residual add up to that (its residual is its contribution less its children's). A band
KPI whose value crossed its target to the same distance did not change its performance,
yet its value moved the KPI above it: its path weight and its split then take its slope
where it started, so the parts still add up.

**Against target** (``Basis.TARGET``) the same rules explain the gap instead of a change:
every KPI goes "from" its target "to" its value, so P's shortfall is split among its
children's shortfalls (a KPI without a target is held at its value and explains nothing).
A derived KPI's residual is then what its target and its inputs' targets disagree by.

Pure Python: no SQL, no Textual, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import NamedTuple

from intelligentos.domain.agents import owning_agent
from intelligentos.domain.catalog.models import Agent, Direction, Kpi
from intelligentos.domain.explain.shapley import shapley
from intelligentos.domain.formula import Undefined
from intelligentos.domain.lineage import split_field_id
from intelligentos.domain.rollup import EdgeKind, formula_of
from intelligentos.domain.whatif.propagation import Tree

ROOT_CAUSE_SHARE = 0.10  # the least part of the move a root cause carries
ROOT_CAUSES = 5  # the most named
_SNAP = 1e-9  # a residual this small against the change is rounding, not data


class ExplainError(ValueError):
    """The KPI cannot be explained as asked; the message says why."""


class Basis(StrEnum):
    CHANGE = "change"
    TARGET = "target"


# --- performance ------------------------------------------------------------------------


def performance(kpi: Kpi, value: float) -> float:
    """Performance against target, as the what-if measures it; a KPI without a target
    counts its value (negated when lower is better)."""
    target = kpi.target
    if target is None:
        return -value if kpi.direction is Direction.LOWER else value
    size = abs(target) or 1.0
    if kpi.direction is Direction.HIGHER:
        return (value - target) / size
    if kpi.direction is Direction.LOWER:
        return (target - value) / size
    return -abs(value - target) / size


def local_rate(kpi: Kpi, value: float) -> float:
    """dp/dx where ``value`` stands (a band KPI on its target counts as above it)."""
    target = kpi.target
    sign = -1.0 if kpi.direction is Direction.LOWER else 1.0
    if target is None:
        return sign
    size = abs(target) or 1.0
    if kpi.direction is Direction.BAND:
        return (-1.0 if value >= target else 1.0) / size
    return sign / size


def rate(kpi: Kpi, before: float, after: float) -> float:
    """The KPI's performance change per unit of value change over a comparison: Δp / Δx,
    or the local rate where it starts when it did not move."""
    if after == before:
        return local_rate(kpi, before)
    return (performance(kpi, after) - performance(kpi, before)) / (after - before)


# --- the answer -------------------------------------------------------------------------


@dataclass(frozen=True)
class Contribution:
    """One KPI's part in the top KPI's move, through one path."""

    kpi: Kpi
    parent_id: str  # the KPI it moves directly on this path
    depth: int  # 1 for the top KPI's own children
    edge: EdgeKind
    path_weight: float  # d p(top) / d p(this KPI) along the path
    value_from: float
    value_to: float
    delta_p: float  # this KPI's own performance change
    contribution_p: float  # in the top KPI's performance
    contribution: float  # in the top KPI's unit
    share: float | None  # of the top KPI's performance change (None when it did not move)
    # Explored: its children are listed too, and this is the part of its contribution they
    # do not explain (in the top KPI's performance); None when they are not listed.
    residual_p: float | None = None
    path: tuple[str, ...] = ()  # the KPIs from the top down to this one's parent


@dataclass(frozen=True)
class RootCause:
    """A KPI low in the tree that carries a part of the move: where someone can act."""

    kpi: Kpi
    contribution_p: float  # the part it carries on its own, in the top KPI's performance
    share: float | None
    agent: Agent | None
    workflow_id: str | None
    workflow: str | None  # names, as the lineage gives them
    step_id: str | None
    step: str | None
    system_id: str | None
    system: str | None
    stale: bool  # its source system's data is stale


@dataclass(frozen=True)
class Explanation:
    kpi: Kpi
    basis: Basis
    period_from: str | None  # the periods read (None: targets, for Basis.TARGET)
    period_to: str
    value_from: float
    value_to: float
    delta_p: float
    explained_p: float
    residual_p: float
    residual: float  # in the KPI's unit
    contributions: tuple[Contribution, ...]  # every path, the largest |contribution_p| first
    root_causes: tuple[RootCause, ...]
    notes: tuple[str, ...] = ()  # what could not be measured, one sentence each
    depth: int | None = None  # how deep the children were followed (None: all the way)
    children: tuple[Contribution, ...] = field(default=(), repr=False)  # depth 1, by size

    @property
    def moved(self) -> bool:
        return self.delta_p != 0.0

    @property
    def top(self) -> Contribution | None:
        """The largest direct contribution."""
        return self.children[0] if self.children else None


# --- the tree ---------------------------------------------------------------------------


def movers(tree: Tree, kpi_id: str) -> list[tuple[str, EdgeKind]]:
    """The KPIs that move ``kpi_id`` directly, with their edge: a derived KPI's inputs (in
    the order its expression reads them), else the KPIs rolling up to it (catalog order).
    """
    kpi = tree.kpi(kpi_id)
    formula = formula_of(kpi)
    if formula is not None:
        return [(name, EdgeKind.FORMULA) for name in formula.inputs if name in tree.catalog.kpis]
    return [(child, tree.edges[child].kind) for child in tree.children.get(kpi_id, ())]


class _Part(NamedTuple):
    kpi: Kpi
    edge: EdgeKind
    before: float
    after: float
    part: float  # in the parent's performance
    derivative: float  # d p(parent) / d p(this KPI)
    rate: float  # this KPI's Δp / Δx the derivative assumes (see :meth:`_Walk.parts`)


@dataclass
class _Walk:
    tree: Tree
    start: Mapping[str, float | None]
    end: Mapping[str, float | None]
    basis: Basis
    depth: int | None
    period_from: str | None
    found: list[Contribution] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    own: list[tuple[Kpi, float]] = field(default_factory=list)  # root-cause candidates

    def values(self, kpi: Kpi) -> tuple[float, float] | None:
        after = self.end.get(kpi.id)
        if after is None or not math.isfinite(after):
            return None
        if self.basis is Basis.TARGET:
            return (after if kpi.target is None else float(kpi.target)), after
        before = self.start.get(kpi.id)
        if before is None or not math.isfinite(before):
            return None
        return before, after

    def missing(self, kpi: Kpi, parent: Kpi) -> None:
        when = "at either date" if self.basis is Basis.CHANGE else "as of the date"
        self.notes.append(
            f"{kpi.name} ({kpi.id}) has no value {when}: its part in {parent.name} stays in "
            "the residual"
        )

    def parts(self, kpi: Kpi, before: float, after: float, k: float) -> list[_Part]:
        """Each measured mover's part in ``kpi``'s performance change; ``k`` is the rate
        its value change becomes performance at (:func:`rate`, but the local rate when its
        parent's derivative assumed it: a band KPI that crossed its target to the same
        distance did not change its performance, yet its value moved its parent)."""
        found: list[_Part] = []
        moving = movers(self.tree, kpi.id)
        measured: dict[str, tuple[float, float]] = {}
        for child_id, _ in moving:
            child = self.tree.kpi(child_id)
            values = self.values(child)
            if values is None:
                self.missing(child, kpi)
            else:
                measured[child_id] = values
        formula = formula_of(kpi)
        if formula is not None:
            if len(measured) < len(formula.inputs):
                return []  # an input has no value: the whole change stays in the residual
            first = {name: measured[name][0] for name in formula.inputs}
            last = {name: measured[name][1] for name in formula.inputs}
            try:
                shares = shapley(formula.evaluate, first, last)
            except Undefined as error:
                self.notes.append(
                    f"{kpi.name} ({kpi.id}) = {formula.text} cannot be split among its "
                    f"inputs ({error}): its change stays in the residual"
                )
                return []
            for name in formula.inputs:
                child = self.tree.kpi(name)
                x0, x1 = measured[name]
                k_c = rate(child, x0, x1) or local_rate(child, x0)
                if x1 != x0:
                    slope = shares[name] / (x1 - x0)
                else:
                    slope = _partial(formula.evaluate, last, name)
                found.append(
                    _Part(child, EdgeKind.FORMULA, x0, x1, k * shares[name], k * slope / k_c, k_c)
                )
            return found
        for child_id, kind in moving:
            if child_id not in measured:
                continue
            child = self.tree.kpi(child_id)
            x0, x1 = measured[child_id]
            if kind is EdgeKind.SENSITIVITY:
                sensitivity = self.tree.edges[child_id].sensitivity or 0.0
                k_c = rate(child, x0, x1) or local_rate(child, x0)
                part = k * sensitivity * (x1 - x0)
                found.append(_Part(child, kind, x0, x1, part, k * sensitivity / k_c, k_c))
                continue
            if child.target is None or kpi.target is None:
                without = child if child.target is None else kpi
                self.notes.append(
                    f"{without.name} ({without.id}) has no target, so the weighted edge from "
                    f"{child.name} to {kpi.name} cannot be measured: its part stays in the "
                    "residual (give the edge a sensitivity, or the KPI a target)"
                )
                continue
            delta_p = performance(child, x1) - performance(child, x0)
            k_c = rate(child, x0, x1)
            found.append(_Part(child, kind, x0, x1, child.weight * delta_p, child.weight, k_c))
        return found

    def visit(
        self,
        kpi: Kpi,
        before: float,
        after: float,
        k: float,
        weight: float,
        contribution_p: float,
        level: int,
        path: tuple[str, ...],
        seen: frozenset[str],
    ) -> float:
        """List the parts of ``kpi``'s move below it; return its residual (top's p): its
        contribution less its children's."""
        if self.depth is not None and level >= self.depth:
            return math.nan
        parts = self.parts(kpi, before, after, k)
        if not parts and not movers(self.tree, kpi.id):
            return math.nan  # a leaf: its move is its own
        # The contribution is weight × Δp but for a band KPI whose value crossed its target
        # to the same distance (Δp 0, its value moved): what it moved above it is then
        # left to its own data, not lost.
        residual = contribution_p - weight * sum(p.part for p in parts)
        scale = max(abs(weight), 1.0) * max(1.0, abs(contribution_p))
        if formula_of(kpi) is not None and abs(residual) <= _SNAP * scale:
            residual = 0.0  # rounding: a derived KPI's values are its expression's
        for child, kind, x0, x1, part, derivative, k_c in parts:
            if child.id in seen:
                continue  # a loop in a hand-edited store: the catalog's checks refuse it
            child_weight = weight * derivative
            child_p = weight * part
            child_residual = self.visit(
                child,
                x0,
                x1,
                k_c,
                child_weight,
                child_p,
                level + 1,
                (*path, kpi.id),
                seen | {child.id},
            )
            self.found.append(
                Contribution(
                    kpi=child,
                    parent_id=kpi.id,
                    depth=level + 1,
                    edge=kind,
                    path_weight=child_weight,
                    value_from=x0,
                    value_to=x1,
                    delta_p=performance(child, x1) - performance(child, x0),
                    contribution_p=child_p,
                    contribution=0.0,  # set once the top's rate is known
                    share=None,
                    residual_p=None if math.isnan(child_residual) else child_residual,
                    path=(*path, kpi.id),
                )
            )
            own = child_p if math.isnan(child_residual) else child_residual
            self.own.append((child, own))
        return residual


def path_weights(tree: Tree, kpi_id: str, values: Mapping[str, float | None]) -> dict[str, float]:
    """d p(``kpi_id``) / d p(each KPI below it) where ``values`` stand, by the rules above
    (each KPI at its local rate), summed over the paths that reach it: one walk down."""
    walk = _Walk(tree, values, values, Basis.CHANGE, None, None)
    found: dict[str, float] = {}

    def visit(kpi: Kpi, value: float, weight: float, seen: frozenset[str]) -> None:
        for part in walk.parts(kpi, value, value, local_rate(kpi, value)):
            if part.kpi.id in seen:
                continue
            below = weight * part.derivative
            found[part.kpi.id] = found.get(part.kpi.id, 0.0) + below
            visit(part.kpi, part.before, below, seen | {part.kpi.id})

    top = tree.kpi(kpi_id)
    value = values.get(kpi_id)
    if value is not None and math.isfinite(value):
        visit(top, value, 1.0, frozenset({kpi_id}))
    return found


def _partial(
    evaluate: Callable[[Mapping[str, float]], float], at: Mapping[str, float], name: str
) -> float:
    """The expression's slope in ``name`` at ``at`` (central difference)."""
    step = max(abs(at[name]), 1.0) * 1e-6
    try:
        up = evaluate({**at, name: at[name] + step})
        down = evaluate({**at, name: at[name] - step})
    except Undefined:
        return 0.0
    return float(up - down) / (2 * step)


def explain(
    tree: Tree,
    kpi_id: str,
    start: Mapping[str, float | None],
    end: Mapping[str, float | None],
    *,
    basis: Basis = Basis.CHANGE,
    depth: int | None = None,
    period_from: str | None = None,
    period_to: str = "",
    stale_systems: Collection[str] = (),
) -> Explanation:
    """Explain ``kpi_id``'s move from ``start`` to ``end`` (each KPI's value at the two
    dates; only ``end`` for ``Basis.TARGET``), following its children ``depth`` levels
    (None: all the way down)."""
    kpi = tree.catalog.kpis.get(kpi_id)
    if kpi is None:
        raise ExplainError(f"unknown KPI {kpi_id!r}")
    if basis is Basis.TARGET and kpi.target is None:
        raise ExplainError(f"{kpi.name} ({kpi.id}) has no target: it has no gap to explain")
    if depth is not None and depth < 1:
        raise ExplainError("the depth must be at least 1")
    walk = _Walk(tree, start, end, basis, depth, period_from)
    values = walk.values(kpi)
    if values is None:
        raise ExplainError(f"{kpi.name} ({kpi.id}) has no value to explain")
    before, after = values
    delta_p = performance(kpi, after) - performance(kpi, before)
    top_rate = rate(kpi, before, after)
    residual_p = walk.visit(kpi, before, after, top_rate, 1.0, delta_p, 0, (), frozenset({kpi.id}))
    if math.isnan(residual_p):
        residual_p = delta_p  # no children: the move is its own
    k_top = top_rate or local_rate(kpi, before)

    def share(part: float) -> float | None:
        return part / delta_p if delta_p else None

    position = tree.position
    contributions = sorted(
        (
            replace(c, contribution=c.contribution_p / k_top, share=share(c.contribution_p))
            for c in walk.found
        ),
        key=lambda c: (-abs(c.contribution_p), c.depth, position[c.kpi.id]),
    )
    children = tuple(c for c in contributions if c.depth == 1)
    candidates = [*walk.own, (kpi, residual_p)]
    causes = _root_causes(tree, candidates, delta_p, stale_systems)
    return Explanation(
        kpi=kpi,
        basis=basis,
        period_from=period_from if basis is Basis.CHANGE else None,
        period_to=period_to,
        value_from=before,
        value_to=after,
        delta_p=delta_p,
        explained_p=delta_p - residual_p,
        residual_p=residual_p,
        residual=residual_p / k_top,
        contributions=tuple(contributions),
        root_causes=causes,
        notes=tuple(dict.fromkeys(walk.notes)),
        depth=depth,
        children=children,
    )


def _root_causes(
    tree: Tree,
    candidates: list[tuple[Kpi, float]],
    delta_p: float,
    stale_systems: Collection[str],
) -> tuple[RootCause, ...]:
    """The KPIs whose own part (a leaf's whole contribution, else its residual) carries at
    least :data:`ROOT_CAUSE_SHARE` of the move in its direction; the largest one when none
    does; the largest first, at most :data:`ROOT_CAUSES`."""
    if delta_p == 0:
        return ()
    carrying = [(k, own) for k, own in candidates if own * delta_p > 0]
    carrying.sort(key=lambda item: -abs(item[1]))
    big = [(k, own) for k, own in carrying if abs(own) >= ROOT_CAUSE_SHARE * abs(delta_p)]
    chosen = (big or carrying[:1])[:ROOT_CAUSES]
    return tuple(_root_cause(tree, kpi, own, own / delta_p, stale_systems) for kpi, own in chosen)


def _root_cause(
    tree: Tree, kpi: Kpi, own: float, share: float, stale_systems: Collection[str]
) -> RootCause:
    catalog = tree.catalog
    link = kpi.lineage[0] if kpi.lineage else None
    workflow = catalog.workflows.get(link.workflow) if link else None
    step = workflow.step(link.step) if workflow and link else None
    system_id = split_field_id(link.fields[0])[0] if link else None
    system = catalog.systems.get(system_id) if system_id else None
    systems = {split_field_id(f)[0] for f in link.fields} if link else set()
    return RootCause(
        kpi=kpi,
        contribution_p=own,
        share=share,
        agent=owning_agent(kpi, catalog),
        workflow_id=link.workflow if link else None,
        workflow=workflow.name if workflow else (link.workflow if link else None),
        step_id=link.step if link else None,
        step=step.name if step else (link.step if link else None),
        system_id=system_id,
        system=system.name if system else system_id,
        stale=bool(systems & set(stale_systems)),
    )
