"""The output of ``calibrate``: each weighted roll-up edge's slope, the catalog's and
history's, as a table or as JSON records (:func:`calibration_record`, the one place a record is
built). Beside :mod:`intelligentos.cli.render`, whose consoles it writes to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from intelligentos.cli.render import line, out
from intelligentos.domain.formatting import literal

OUTSIDE = "the catalog's slope lies outside the interval history suggests"

if TYPE_CHECKING:
    from intelligentos.domain.calibrate import Calibration
    from intelligentos.domain.catalog import Catalog


def calibration_record(calibration: Calibration, catalog: Catalog) -> dict[str, Any]:
    """A weighted edge as ``calibrate --json`` gives it: the catalog's slope, the fit (None
    with too little history, ``reason`` saying so) and the texts the cockpit shows."""
    from intelligentos.domain.calibrate import CONFIDENCE, catalog_text, history_text

    edge, fit = calibration.edge, calibration.fit
    child, parent = catalog.kpis[edge.child], catalog.kpis[edge.parent]
    return {
        "child": edge.child,
        "parent": edge.parent,
        "kind": edge.kind.value,
        "weight": edge.weight,
        "sensitivity": edge.sensitivity,
        "catalog_slope": calibration.implied,
        "catalog_slope_from": calibration.implied_from,
        "changes": calibration.changes,
        "fit": None
        if fit is None
        else {
            "slope": fit.slope,
            "intercept": fit.intercept,
            "r2": fit.r2,
            "low": fit.low,
            "high": fit.high,
            "confidence": CONFIDENCE,
        },
        "reason": calibration.reason or None,
        "disagrees": calibration.disagrees,
        "catalog_text": catalog_text(calibration, parent, child),
        "history_text": history_text(calibration, parent, child),
    }


def print_calibrations(
    calibrations: Sequence[Calibration], catalog: Catalog, kpi_id: str | None
) -> None:
    from intelligentos.domain.calibrate import catalog_text, interval_text, slope_text

    about = f" of {catalog.kpis[kpi_id].name}" if kpi_id else ""
    if not calibrations:
        line(f"No weighted roll-up edges{about}: nothing to calibrate.")
        return
    table = Table(title=Text(literal(f"Weights against history{about}")), title_justify="left")
    table.add_column("child → parent", overflow="fold", min_width=12)
    table.add_column("catalog", overflow="fold")
    for column in ("history", "95 % interval", "R²", "changes"):
        table.add_column(column, justify="right", no_wrap=True)
    for c in calibrations:
        child, parent = catalog.kpis[c.edge.child], catalog.kpis[c.edge.parent]
        fit = c.fit
        interval = interval_text(fit, parent, child) if fit else "—"
        table.add_row(
            Text(literal(f"{child.name} → {parent.name}")),
            Text(literal(catalog_text(c, parent, child).removeprefix("catalog "))),
            Text(
                slope_text(fit.slope, parent, child, name_parent=False) if fit else "—",
                style="bold" if c.disagrees else "",
            ),
            interval,
            f"{fit.r2:.2f}" if fit else "—",
            str(c.changes),
        )
    out.print(table)
    for c in calibrations:
        child = catalog.kpis[c.edge.child]
        if c.reason:
            out.print(Text(literal(f"{child.name}: {c.reason}."), style="dim"))
        elif c.disagrees:
            out.print(Text(literal(f"{child.name}: {OUTSIDE}.")))
