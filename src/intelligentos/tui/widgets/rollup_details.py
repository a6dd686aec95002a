"""The lineage details' roll-up lines: a derived KPI's expression and its inputs with their
values, and how each child rolls up to the KPI (formula, sensitivity or weight), with the
slope the catalog implies beside the one history suggests (fitted by the screen's worker)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from rich.text import Text

from intelligentos.domain.calibrate import Calibration, catalog_text, history_text
from intelligentos.domain.catalog.models import Catalog, Kpi
from intelligentos.domain.detection import Status
from intelligentos.domain.formatting import literal
from intelligentos.domain.rollup import EdgeKind, edge_of, formula_of
from intelligentos.domain.snapshots import KpiSnapshot

Glyph = Callable[[Status], Text]
FITTING = "history: fitting…"


def derived_text(
    kpi: Kpi, catalog: Catalog, snaps: Mapping[str, KpiSnapshot], glyph: Glyph
) -> Text:
    """``Computed  100 * sqls / mqls`` and each input with its status and latest value; empty
    for a KPI that is measured."""
    text = Text()
    formula = formula_of(kpi)
    if formula is None:
        return text
    text.append("Computed ", style="dim")
    text.append(literal(formula.text) + "\n")
    text.append("Inputs\n", style="dim")
    for name in formula.inputs:
        source = catalog.kpis.get(name)
        snap = snaps.get(name)
        text.append("  ")
        if snap is not None:
            text.append_text(glyph(snap.status))
            text.append(" ")
        text.append(literal(source.name if source else name))
        text.append(f" ({literal(name)})  ", style="dim")
        text.append(f"{snap.value_text if snap else '—'}\n")
    return text


def weighted_children(children: Sequence[Kpi], catalog: Catalog) -> bool:
    """Whether some child rolls up by a weight or a sensitivity (something to fit)."""
    return any(
        (edge := edge_of(child, catalog)) is not None and edge.kind is not EdgeKind.FORMULA
        for child in children
    )


def children_text(
    kpi: Kpi,
    children: Sequence[Kpi],
    catalog: Catalog,
    calibrations: Mapping[str, Calibration] | None,
) -> Text:
    """How each child rolls up to ``kpi``: ``formula`` (read by its expression), or the
    catalog's slope (a sensitivity, or a weight's implied slope) and history's, from
    ``calibrations`` by child id (None while they are being fitted)."""
    text = Text()
    if not children:
        return text
    text.append("Rolls up from\n", style="dim")
    for child in children:
        edge = edge_of(child, catalog)
        if edge is None:
            continue
        text.append(f"  {literal(child.name)}  ", style="bold")
        if edge.kind is EdgeKind.FORMULA:
            text.append("formula: read by its expression\n", style="dim")
            continue
        what = "sensitivity" if edge.kind is EdgeKind.SENSITIVITY else "weight"
        text.append(f"{what}\n", style="dim")
        calibration = None if calibrations is None else calibrations.get(child.id)
        if calibration is None:
            text.append(f"    {FITTING if calibrations is None else 'history: none'}\n")
            continue
        text.append(f"    {literal(catalog_text(calibration, kpi, child))}\n")
        history = history_text(calibration, kpi, child)
        text.append(f"    {literal(history)}\n", style="bold" if calibration.disagrees else "")
    return text
