"""What-if scenarios and goal seeking through the KPI roll-up tree and the derived KPIs'
expressions: formulas exact, sensitivities and weights linear.

The levers are :mod:`~intelligentos.domain.whatif.levers`, the propagation edge by edge
:mod:`~intelligentos.domain.whatif.propagation` and goal seek
:mod:`~intelligentos.domain.whatif.seek`; this module gathers their public names, so a
caller imports the model from one place.

Pure Python: no SQL, no Textual.
"""

from __future__ import annotations

from intelligentos.domain.whatif.levers import (
    Change,
    Lever,
    MissingValue,
    ScenarioError,
    parse_lever,
    parse_levers,
)
from intelligentos.domain.whatif.propagation import (
    MODEL_NOTE,
    Outcome,
    Projection,
    Tree,
    catalog_note,
    clamp,
    model_note,
    moved,
    performance,
    plausible,
    plausible_range,
    scale,
    simulate,
    start_value,
    target_of,
)
from intelligentos.domain.whatif.seek import GoalSeek, goal_seek, path_kinds, path_weight

__all__ = [
    "MODEL_NOTE",
    "Change",
    "GoalSeek",
    "Lever",
    "MissingValue",
    "Outcome",
    "Projection",
    "ScenarioError",
    "Tree",
    "catalog_note",
    "clamp",
    "goal_seek",
    "model_note",
    "moved",
    "parse_lever",
    "parse_levers",
    "path_kinds",
    "path_weight",
    "performance",
    "plausible",
    "plausible_range",
    "scale",
    "simulate",
    "start_value",
    "target_of",
]
