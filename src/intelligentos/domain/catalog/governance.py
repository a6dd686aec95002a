"""Governance rules of the architecture, as pure functions over a parsed catalog.

The rules are: no dangling references, no side-KPIs (every KPI reaches a CEO KPI
through roll-ups), no roll-up cycles, lineage down to at least one data field for every KPI,
exactly one owner function per KPI, and derived KPIs' expressions (``compute``) that read
known KPIs, never themselves, and never in a loop (each KPI of a loop is named).

Warnings (the catalog still loads; ``validate`` prints them, :func:`catalog_warnings`):

* **weights**: a parent's weighted children (their edges are weights or sensitivities, not
  inputs of the parent's expression) have weights that do not sum to 1. A derived parent is
  not judged: its value is its expression, and the children it does not read are scored by
  their weights, not parts of it.
* **units**: an expression adds, subtracts or compares (``min``, ``max``) KPIs of different
  units, or gives a unit other than its KPI's. The unit of a part is known when it is a KPI
  (its unit), a number (fits any unit), or a currency, count or score KPI times or divided by a
  number (``mrr * 12`` is money). A percentage, ratio or duration times a number may be a
  conversion (``days * 24`` hours, ``ratio * 100`` percent), and a product or a quotient of
  two KPIs has a unit the catalog cannot name: those are not judged.
* **division**: an expression divides by a KPI whose unit admits zero (a count, money, a
  percentage...: every unit's plausible range holds zero); the periods where it is zero get
  no value.

Loops are found here rather than with :func:`intelligentos.domain.rollup.derived_order`, which
stops at the first: governance names every loop, and the roll-up module sits above the
catalog package (it imports the models).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from intelligentos.domain.formatting import plural
from intelligentos.domain.formula import Formula, cached_formula
from intelligentos.domain.plausibility import plausible_bounds
from intelligentos.domain.units import Unit

if TYPE_CHECKING:
    from intelligentos.domain.catalog.models import Catalog, Kpi


@dataclass(frozen=True, order=True)
class Violation:
    rule: str
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: [{self.rule}] {self.message}"


def validate_catalog(catalog: Catalog) -> list[Violation]:
    problems = [
        *check_references(catalog),
        *check_ownership(catalog),
        *check_rollups(catalog),
        *check_lineage(catalog),
        *check_expressions(catalog),
    ]
    return sorted(set(problems), key=lambda v: (v.file, v.key, v.rule, v.message))


# How far from 1 the weights of a parent's children may sum before `validate` warns: the
# rounding of two-decimal weights, not a real difference.
WEIGHT_TOLERANCE = 1e-6


def weight_warnings(catalog: Catalog) -> list[Violation]:
    """One warning per KPI whose weighted children's weights do not sum to 1 (naming the
    parent, the sum and each child's weight). A child read by its parent's expression rolls
    up by formula and has no say; a derived parent is not judged (see the module's text).
    Not a violation: a catalog that breaks it still loads, but a what-if then moves the
    parent by more (or less) than its parts together say."""
    children: dict[str, list[Kpi]] = {}
    for kpi in catalog.kpis.values():
        parent = catalog.kpis.get(kpi.rolls_up_to or "")
        if parent is not None and not parent.derived:
            children.setdefault(parent.id, []).append(kpi)
    found = []
    for parent_id, parts in children.items():
        total = sum(part.weight for part in parts)
        if abs(total - 1.0) <= WEIGHT_TOLERANCE:
            continue
        parent = catalog.kpis[parent_id]
        listed = ", ".join(f"{part.id} {part.weight:g}" for part in parts)
        counted = plural(len(parts), "weighted child", "weighted children")
        found.append(
            Violation(
                "weights",
                parent.source,
                f"kpi.{parent_id}",
                f"{parent.name}: the weights of its {counted} "
                f"sum to {round(total, 6):g}, not 1 ({listed})",
            )
        )
    return sorted(found, key=lambda v: (v.file, v.key))


def catalog_warnings(catalog: Catalog) -> list[Violation]:
    """What ``validate`` warns about (weights, units, divisions), by file and key."""
    found = [*weight_warnings(catalog), *expression_warnings(catalog)]
    return sorted(found, key=lambda v: (v.file, v.key, v.rule, v.message))


def _missing(
    catalog_part: Mapping[str, object], ids: Iterable[str], file: str, key: str, what: str
) -> Iterator[Violation]:
    for ref in ids:
        if ref not in catalog_part:
            yield Violation("reference", file, key, f"unknown {what} '{ref}'")


def check_references(catalog: Catalog) -> Iterator[Violation]:
    c = catalog
    for kpi in c.kpis.values():
        key = f"kpi.{kpi.id}"
        yield from _missing(c.engines, [kpi.engine], kpi.source, f"{key}.engine", "engine")
        if kpi.owner_function:
            yield from _missing(
                c.functions, [kpi.owner_function], kpi.source, f"{key}.owner_function", "function"
            )
        if kpi.owner_agent:
            yield from _missing(
                c.agents, [kpi.owner_agent], kpi.source, f"{key}.owner_agent", "agent"
            )
        if kpi.rolls_up_to:
            yield from _missing(c.kpis, [kpi.rolls_up_to], kpi.source, f"{key}.rolls_up_to", "KPI")
    for engine in c.engines.values():
        key = f"engine.{engine.id}"
        for owner in engine.owners:
            if owner not in c.functions and owner not in c.agents:
                yield Violation(
                    "reference", engine.source, f"{key}.owners", f"unknown function '{owner}'"
                )
        yield from _missing(c.kpis, engine.rollup_kpis, engine.source, f"{key}.rollup_kpis", "KPI")
    for function in c.functions.values():
        yield from _missing(
            c.agents, [function.agent], function.source, f"function.{function.id}.agent", "agent"
        )
    for agent in c.agents.values():
        key = f"agent.{agent.id}"
        if agent.function:
            yield from _missing(
                c.functions, [agent.function], agent.source, f"{key}.function", "function"
            )
        yield from _missing(c.kpis, agent.owns, agent.source, f"{key}.owns", "KPI")
        yield from _missing(c.kpis, agent.supports, agent.source, f"{key}.supports", "KPI")
    for objective in c.objectives.values():
        key = f"objective.{objective.id}"
        yield from _missing(c.themes, [objective.theme], objective.source, f"{key}.theme", "theme")
        yield from _missing(c.kpis, objective.ceo_kpis, objective.source, f"{key}.ceo_kpis", "KPI")
        yield from _missing(
            c.kpis, objective.functional_kpis, objective.source, f"{key}.functional_kpis", "KPI"
        )
    for workflow in c.workflows.values():
        key = f"workflow.{workflow.id}"
        yield from _missing(
            c.functions,
            [workflow.owner_function],
            workflow.source,
            f"{key}.owner_function",
            "function",
        )
        for step in workflow.steps:
            yield from _missing(
                c.systems,
                [step.system],
                workflow.source,
                f"{key}.steps.{step.id}.system",
                "system",
            )


def check_ownership(catalog: Catalog) -> Iterator[Violation]:
    """Exactly one owner function per KPI, and no agent claiming another function's KPI."""
    ceo_agents = {a.id for a in catalog.agents.values() if a.function is None}
    for kpi in catalog.kpis.values():
        key = f"kpi.{kpi.id}"
        if not kpi.owner_function:
            yield Violation("ownership", kpi.source, key, "has no owner function")
            continue
        function = catalog.functions.get(kpi.owner_function)
        if function and kpi.owner_agent and kpi.owner_agent not in (function.agent, *ceo_agents):
            yield Violation(
                "ownership",
                kpi.source,
                f"{key}.owner_agent",
                f"agent '{kpi.owner_agent}' does not belong to owner function "
                f"'{kpi.owner_function}'",
            )
    for agent in catalog.agents.values():
        for kpi_id in agent.owns:
            owned = catalog.kpis.get(kpi_id)
            if owned is None or agent.function is None or owned.owner_function is None:
                continue
            if owned.owner_function != agent.function:
                yield Violation(
                    "ownership",
                    agent.source,
                    f"agent.{agent.id}.owns",
                    f"claims KPI '{kpi_id}', which is owned by function '{owned.owner_function}'",
                )


def rollup_chain(catalog: Catalog, kpi: Kpi) -> tuple[list[str], bool]:
    """Follow ``rolls_up_to`` from ``kpi``; return the ids visited and whether it cycles."""
    seen: list[str] = [kpi.id]
    current = kpi
    while current.rolls_up_to and current.rolls_up_to in catalog.kpis:
        nxt = current.rolls_up_to
        if nxt in seen:
            return [*seen, nxt], True
        seen.append(nxt)
        current = catalog.kpis[nxt]
    return seen, False


def check_rollups(catalog: Catalog) -> Iterator[Violation]:
    from intelligentos.domain.catalog.models import Level

    for kpi in catalog.kpis.values():
        key = f"kpi.{kpi.id}"
        if kpi.level is Level.CEO:
            if kpi.rolls_up_to:
                yield Violation(
                    "rollup", kpi.source, f"{key}.rolls_up_to", "a CEO KPI does not roll up"
                )
            continue
        chain, cycles = rollup_chain(catalog, kpi)
        if cycles:
            yield Violation("cycle", kpi.source, f"{key}.rolls_up_to", " → ".join(chain))
            continue
        top = catalog.kpis[chain[-1]]
        if top.level is not Level.CEO and (not top.rolls_up_to or top.id == kpi.id):
            yield Violation(
                "side-kpi",
                kpi.source,
                key,
                "does not roll up to a CEO KPI"
                + (f" (stops at '{top.id}')" if len(chain) > 1 else ""),
            )


def check_lineage(catalog: Catalog) -> Iterator[Violation]:
    fields = catalog.field_ids()
    for kpi in catalog.kpis.values():
        key = f"kpi.{kpi.id}"
        if not kpi.lineage:
            yield Violation("lineage", kpi.source, key, "has no lineage down to a data field")
            continue
        reaches_field = False
        for index, link in enumerate(kpi.lineage):
            link_key = f"{key}.lineage[{index}]"
            workflow = catalog.workflows.get(link.workflow)
            if workflow is None:
                yield Violation(
                    "reference",
                    kpi.source,
                    f"{link_key}.workflow",
                    f"unknown workflow '{link.workflow}'",
                )
            elif workflow.step(link.step) is None:
                yield Violation(
                    "reference",
                    kpi.source,
                    f"{link_key}.step",
                    f"workflow '{link.workflow}' has no step '{link.step}'",
                )
            for field in link.fields:
                if field in fields:
                    reaches_field = True
                else:
                    yield Violation(
                        "reference",
                        kpi.source,
                        f"{link_key}.fields",
                        f"unknown data field '{field}' (expected system.table.field)",
                    )
        if not reaches_field:
            yield Violation(
                "lineage", kpi.source, key, "no lineage link reaches a known data field"
            )


# --- derived KPIs' expressions ---------------------------------------------------------

# Units whose value times a number is still that unit; the others may be converted by one.
_SCALABLE = frozenset({Unit.CURRENCY, Unit.COUNT, Unit.SCORE})
NUMBER: Literal["number"] = "number"
# What the unit check knows of a part of an expression: a unit and the KPI that gives it,
# a plain number, or nothing (None).
Dimension = tuple[Unit, str] | Literal["number"] | None


def _formula(kpi: Kpi) -> Formula | None:
    return None if kpi.compute is None else cached_formula(kpi.compute)


def _key(kpi: Kpi) -> str:
    return f"kpi.{kpi.id}.compute"


def check_expressions(catalog: Catalog) -> Iterator[Violation]:
    """Unknown ids, expressions reading their own KPI, and loops among derived KPIs."""
    kpis = catalog.kpis
    for kpi in kpis.values():
        formula = _formula(kpi)
        if formula is None:
            continue
        for name in formula.inputs:
            if name == kpi.id:
                yield Violation(
                    "cycle", kpi.source, _key(kpi), f"the expression reads {kpi.id} itself"
                )
            elif name not in kpis:
                yield Violation(
                    "reference", kpi.source, _key(kpi), f"unknown KPI '{name}' in the expression"
                )
    yield from _loops(catalog)


def _derived_inputs(catalog: Catalog) -> dict[str, list[str]]:
    """Each derived KPI's derived inputs, itself left out (reported on its own)."""
    graph: dict[str, list[str]] = {}
    for kpi in catalog.kpis.values():
        formula = _formula(kpi)
        if formula is not None:
            graph[kpi.id] = [
                name
                for name in formula.inputs
                if name != kpi.id and name in catalog.kpis and catalog.kpis[name].derived
            ]
    return graph


def _loops(catalog: Catalog) -> Iterator[Violation]:
    """For each derived KPI on a loop, the shortest loop through it (breadth first)."""
    graph = _derived_inputs(catalog)
    for start in graph:
        came_from: dict[str, str] = {}
        frontier = [start]
        found = False
        while frontier and not found:
            following: list[str] = []
            for node in frontier:
                for name in graph[node]:
                    if name == start:
                        came_from[start] = node
                        found = True
                        break
                    if name not in came_from:
                        came_from[name] = node
                        following.append(name)
                if found:
                    break
            frontier = following
        if not found:
            continue
        path = [start]
        node = came_from[start]
        while node != start:
            path.append(node)
            node = came_from[node]
        path.append(start)
        path.reverse()  # start → ... → start, in the direction the expressions read
        kpi = catalog.kpis[start]
        yield Violation(
            "cycle",
            kpi.source,
            _key(kpi),
            "derived KPIs read each other in a loop: " + " → ".join(path),
        )


# --- warnings ------------------------------------------------------------------------------


def expression_warnings(catalog: Catalog) -> list[Violation]:
    """The unit and division warnings of every derived KPI (see the module's text)."""
    found: list[Violation] = []
    for kpi in catalog.kpis.values():
        formula = _formula(kpi)
        if formula is None or any(name not in catalog.kpis for name in formula.inputs):
            continue  # an unknown id is a violation already: its units would mislead
        mixed: list[tuple[tuple[Unit, str], tuple[Unit, str], str]] = []
        result = _dimension(formula.tree, catalog, mixed)
        for left, right, verb in mixed:
            found.append(
                Violation(
                    "units",
                    kpi.source,
                    _key(kpi),
                    f"the expression {verb} KPIs of different units: {left[1]} ({left[0].value}) "
                    f"and {right[1]} ({right[0].value})",
                )
            )
        if isinstance(result, tuple) and result[0] is not kpi.unit and not mixed:
            found.append(
                Violation(
                    "units",
                    kpi.source,
                    _key(kpi),
                    f"the expression gives {result[0].value} (the unit of {result[1]}), but "
                    f"{kpi.id} is in {kpi.unit.value}",
                )
            )
        for name in formula.divisors:
            divisor = catalog.kpis[name]
            low, high = plausible_bounds(divisor.unit)
            if low <= 0 <= high:
                found.append(
                    Violation(
                        "division",
                        kpi.source,
                        _key(kpi),
                        f"the expression divides by {name}, which can be zero "
                        f"({divisor.unit.value}): a period where it is zero gets no value",
                    )
                )
    return found


def _same(
    left: Dimension,
    right: Dimension,
    mixed: list[tuple[tuple[Unit, str], tuple[Unit, str], str]],
    verb: str,
) -> Dimension:
    """The dimension of ``left`` and ``right`` added, subtracted or compared."""
    if left == NUMBER:
        return right
    if right == NUMBER:
        return left
    if isinstance(left, tuple) and isinstance(right, tuple):
        if left[0] is right[0]:
            return left
        mixed.append((left, right, verb))
    return None


def _scaled(part: Dimension) -> Dimension:
    """A part times or divided by a number."""
    if part == NUMBER:
        return NUMBER
    if isinstance(part, tuple) and part[0] in _SCALABLE:
        return part
    return None


def _dimension(
    node: ast.expr,
    catalog: Catalog,
    mixed: list[tuple[tuple[Unit, str], tuple[Unit, str], str]],
) -> Dimension:
    match node:
        case ast.Constant():
            return NUMBER
        case ast.Name(id=name):
            return (catalog.kpis[name].unit, name)
        case ast.UnaryOp(operand=operand):
            return _dimension(operand, catalog, mixed)
        case ast.BinOp(left=left, op=op, right=right):
            a = _dimension(left, catalog, mixed)
            b = _dimension(right, catalog, mixed)
            if isinstance(op, ast.Add | ast.Sub):
                return _same(a, b, mixed, "adds or subtracts")
            if isinstance(op, ast.Mult):
                if a == NUMBER:
                    return _scaled(b)
                return _scaled(a) if b == NUMBER else None
            return _scaled(a) if b == NUMBER else None  # a quotient of two KPIs: not named
        case ast.Call(func=ast.Name(id=function), args=args):
            parts = [_dimension(arg, catalog, mixed) for arg in args]
            if function == "abs":
                return parts[0]
            result = parts[0]
            for part in parts[1:]:
                result = _same(result, part, mixed, "compares")
                if result is None:
                    return None
            return result
    return None
