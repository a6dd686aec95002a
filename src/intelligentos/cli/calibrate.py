"""``calibrate``: for each weighted roll-up edge, the sensitivity its history suggests beside the
one the catalog implies. Nothing is written."""

from __future__ import annotations

from typing import Annotated

import typer

from intelligentos.cli.options import DbOption, JsonOption, Shared, fail


def calibrate(
    ctx: typer.Context,
    kpi_id: Annotated[
        str | None,
        typer.Option(
            "--kpi", help="Only the edges of this KPI: to its parent and from its children"
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fit each weighted roll-up edge's sensitivity on history (least squares of the parent's
    period-to-period changes on the child's), beside what the catalog's weight or sensitivity
    implies. Nothing is written."""
    # Imported here, not at the top: the command line loads every command's module.
    from intelligentos.cli.render import print_json
    from intelligentos.cli.render_calibrate import calibration_record, print_calibrations
    from intelligentos.domain.clock import utc_today
    from intelligentos.services.calibrate import calibrate_store

    with Shared.of(ctx).open_store(db) as store:
        catalog = store.read_catalog()
        if kpi_id is not None and kpi_id not in catalog.kpis:
            raise fail(f"unknown KPI {kpi_id!r}; `intelligentos-tui kpis` lists them.")
        calibrations = calibrate_store(store, catalog, utc_today(), kpi_id)
    if as_json:
        print_json([calibration_record(c, catalog) for c in calibrations])
        return
    print_calibrations(calibrations, catalog, kpi_id)
