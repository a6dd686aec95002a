"""Whether a quarter's targets agree down the roll-up: for each KPI with KPIs below it, the
target its children's targets imply, against its own.

The what-if model answers it: start every KPI at its catalog target (its default), move each
child to its target for the quarter, and project the parent (formulas exactly, sensitivities
and weights as the what-if moves them). The projection is the **implied target**; ``gap_p``
is the parent's own target against it, in the parent's performance
(:func:`~intelligentos.domain.whatif.propagation.performance`: positive when the parent asks
for more than its children deliver). The cascade is **consistent** when |gap_p| ≤
:data:`TOLERANCE_P` (1 % of the parent's target). With no quarterly targets, every implied
target is the parent's default (weights and sensitivities move nothing; a formula's may
disagree with the default targets its inputs have: that shows too).

Pure Python: no SQL, no Textual, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.explain.model import movers
from intelligentos.domain.okr.targets import quarter_targets_of
from intelligentos.domain.quarters import Quarter
from intelligentos.domain.whatif.levers import Change, Lever, ScenarioError
from intelligentos.domain.whatif.propagation import Tree, performance, simulate

TOLERANCE_P = 0.01


@dataclass(frozen=True)
class CascadeLink:
    parent_id: str
    parent_target: float
    implied_target: float | None  # None: the model cannot project it (the reason says why)
    gap_p: float | None
    reason: str = ""

    @property
    def consistent(self) -> bool:
        return self.gap_p is not None and abs(self.gap_p) <= TOLERANCE_P


def cascade(tree: Tree, targets: Mapping[str, float | None]) -> list[CascadeLink]:
    """Every KPI with a target and KPIs below it, in catalog order. ``targets``: each KPI's
    target for the quarter (its default where the quarter sets none; None when tracked)."""
    defaults = {k: kpi.target for k, kpi in tree.catalog.kpis.items()}
    found = []
    for parent_id, parent in tree.catalog.kpis.items():
        target = targets.get(parent_id)
        children = movers(tree, parent_id)
        if target is None or parent.target is None or not children:
            continue
        levers = [
            Lever(child_id, Change.SET, float(value))
            for child_id, _ in children
            if (value := targets.get(child_id)) is not None
        ]
        if not levers:
            continue
        try:
            outcome = simulate(tree, levers, defaults)
        except ScenarioError as error:
            found.append(CascadeLink(parent_id, target, None, None, str(error)))
            continue
        projection = outcome.of(parent_id)
        if projection is None:
            continue
        implied = projection.projected
        gap = performance(parent, target) - performance(parent, implied)
        found.append(CascadeLink(parent_id, target, implied, gap))
    return found


def quarter_cascade(catalog: Catalog, quarter: Quarter) -> list[CascadeLink]:
    """The cascade of ``quarter``'s targets as they stand (``catalog`` as read: every KPI's
    ``target`` its default)."""
    return cascade(Tree(catalog), quarter_targets_of(catalog, quarter))
