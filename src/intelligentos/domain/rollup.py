"""How a KPI rolls up: the type of each edge of the tree, and the order derived KPIs are
computed in.

A KPI's edge to the KPI it rolls up to (``rolls_up_to``) is one of:

* **formula**: the parent is a derived KPI whose expression reads this KPI; a change
  propagates exactly, by evaluating the expression with the changed value;
* **sensitivity**: the edge gives ``sensitivity``, the parent's units per one of this KPI's
  units; a change moves the parent by exactly that slope;
* **weight**: neither; ``weight`` scores how much the child counts towards the parent (a
  scoring model, not a causal one).

Derived KPIs may read KPIs anywhere in the catalog, not only their children in the tree; an
input may itself be derived. :func:`derived_order` gives them inputs first, and refuses a
cycle.

Pure Python: no SQL, no Textual, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from intelligentos.domain.catalog.models import Catalog, Kpi
from intelligentos.domain.formula import Formula, cached_formula


class EdgeKind(StrEnum):
    FORMULA = "formula"
    SENSITIVITY = "sensitivity"
    WEIGHT = "weight"


@dataclass(frozen=True)
class Edge:
    child: str
    parent: str
    kind: EdgeKind
    weight: float
    sensitivity: float | None = None


class CycleError(ValueError):
    """Derived KPIs that read each other in a loop; the message names the loop."""


def formula_of(kpi: Kpi) -> Formula | None:
    """The KPI's parsed expression (None for a KPI that is measured, not derived)."""
    return None if kpi.compute is None else cached_formula(kpi.compute)


def edge_of(child: Kpi, catalog: Catalog) -> Edge | None:
    """The child's edge to the KPI it rolls up to (None at the top, or when that KPI is
    not in the catalog)."""
    parent = catalog.kpis.get(child.rolls_up_to) if child.rolls_up_to else None
    if parent is None:
        return None
    formula = formula_of(parent)
    if formula is not None and child.id in formula.inputs:
        kind = EdgeKind.FORMULA
    elif child.sensitivity is not None:
        kind = EdgeKind.SENSITIVITY
    else:
        kind = EdgeKind.WEIGHT
    return Edge(child.id, parent.id, kind, child.weight, child.sensitivity)


def derived_order(kpis: Mapping[str, Kpi]) -> list[str]:
    """The derived KPIs, each after every derived KPI it reads (catalog order otherwise);
    :class:`CycleError` when some read each other in a loop."""
    order: list[str] = []
    state: dict[str, str] = {}  # "visiting" on the current path, "done" once placed

    def visit(kpi_id: str, path: list[str]) -> None:
        seen = state.get(kpi_id)
        if seen == "done":
            return
        if seen == "visiting":
            loop = [*path[path.index(kpi_id) :], kpi_id]
            raise CycleError("derived KPIs read each other in a loop: " + " → ".join(loop))
        formula = formula_of(kpis[kpi_id])
        state[kpi_id] = "visiting"
        for name in formula.inputs if formula else ():
            if name in kpis and kpis[name].derived:
                visit(name, [*path, kpi_id])
        state[kpi_id] = "done"
        order.append(kpi_id)

    for kpi in kpis.values():
        if kpi.derived:
            visit(kpi.id, [])
    return order


def readers(kpis: Mapping[str, Kpi]) -> dict[str, list[str]]:
    """For each KPI an expression reads, the derived KPIs that read it (in derived order)."""
    found: dict[str, list[str]] = {}
    for derived_id in derived_order(kpis):
        formula = formula_of(kpis[derived_id])
        for name in formula.inputs if formula else ():
            found.setdefault(name, []).append(derived_id)
    return found
