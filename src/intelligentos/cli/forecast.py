"""``forecast``: KPIs forecast with the model their backtest chose, stored and printed."""

from __future__ import annotations

from typing import Annotated

import typer

from intelligentos.cli.options import DbOption, JsonOption, Shared, fail


def forecast(
    ctx: typer.Context,
    db: DbOption = None,
    kpi: Annotated[
        list[str] | None, typer.Option("--kpi", help="Only this KPI id (repeatable)")
    ] = None,
    horizon: Annotated[
        int | None,
        typer.Option(min=1, help="Periods ahead [default: to the end of the current quarter]"),
    ] = None,
    through: Annotated[
        str | None,
        typer.Option(
            "--through",
            help="Forecast each KPI to the end of this quarter (YYYYQn, e.g. 2027Q1), as "
            "`okr propose` needs; instead of --horizon",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Forecast KPIs with the model their backtest chose; store and print the forecasts."""
    # Imported here, not at the top: the command line loads every command's module.
    from intelligentos.cli.render import (
        forecast_progress,
        forecast_record,
        print_forecasts,
        print_json,
    )
    from intelligentos.domain.clock import stamp, utc_now, utc_today
    from intelligentos.services.forecast import forecast_many, jobs_for

    today = utc_today()
    end = None
    if through is not None:
        from intelligentos.domain.quarters import Quarter, QuarterError

        if horizon is not None:
            raise fail("--horizon and --through both say how far to forecast; give one.")
        try:
            quarter = Quarter.parse(through)
        except QuarterError as error:
            raise fail(f"--through: {error}.") from error
        if quarter.end < today:
            raise fail(
                f"--through {quarter} ended on {quarter.end.isoformat()}; give "
                f"{Quarter.of(today)} or a later quarter."
            )
        end = quarter.end
    with Shared.of(ctx).open_store(db) as store:
        catalog = store.read_catalog()
        unknown = [k for k in kpi or () if k not in catalog.kpis]
        if unknown:
            raise fail(f"unknown KPI {unknown[0]!r}; `intelligentos-tui kpis` lists them.")
        chosen = (
            [catalog.kpis[k] for k in dict.fromkeys(kpi)] if kpi else list(catalog.kpis.values())
        )
        jobs = jobs_for(store, chosen, today, horizon, through=end)
        with forecast_progress(len(jobs)) as advance:
            results = list(forecast_many(jobs, on_done=advance))
        store.save_forecasts(results, stamp(utc_now()))
    if as_json:
        print_json([forecast_record(f) for f in results])
        return
    print_forecasts(results, catalog, f"Forecasts in {store.path}")
