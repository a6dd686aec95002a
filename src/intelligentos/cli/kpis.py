"""``kpis``: every KPI with its latest value, change, target and status."""

from __future__ import annotations

import typer

from intelligentos.cli.options import AsOfOption, DbOption, JsonOption, Shared


def kpis(
    ctx: typer.Context,
    db: DbOption = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """List KPIs with their latest value, change and target (as of a date with --as-of)."""
    # Imported here, not at the top: the command line loads every command's module.
    from intelligentos.cli.render import KpiLine, kpi_record, print_json, print_kpis
    from intelligentos.domain.clock import period_upper_bound, utc_today
    from intelligentos.domain.okr.targets import judged_on
    from intelligentos.domain.snapshots import snapshot, with_open_breaches
    from intelligentos.tui.launch import check_as_of

    shared = Shared.of(ctx)
    day = shared.day(as_of)
    with shared.open_store(db) as store:
        if day is not None:
            check_as_of(store, day)
        as_of_date = day or utc_today()
        # Judged with the target in force on the as-of date.
        catalog = judged_on(store.read_catalog(), as_of_date)
        until = period_upper_bound(as_of_date)
        windows = store.latest_windows(2, until=until)
        # As the cockpit shows them: never ok beside a target alert held open.
        open_alerts = (
            store.open_alerts()
            if day is None
            else [a for a in store.alerts_as_of(until) if a.is_open]
        )
    snaps = with_open_breaches(
        {
            kpi.id: snapshot(kpi, windows.get(kpi.id, []), as_of_date)
            for kpi in catalog.kpis.values()
        },
        open_alerts,
    )
    lines = []
    for kpi in catalog.kpis.values():
        window = windows.get(kpi.id, [])
        period, value = window[-1] if window else (None, None)
        previous = window[-2][1] if len(window) > 1 else None
        lines.append(KpiLine(kpi, period, value, previous, snaps[kpi.id].status))
    if as_json:
        print_json([kpi_record(line) for line in lines])
        return
    title = f"KPIs in {store.path}" + (f" as of {day.isoformat()}" if day else "")
    print_kpis(lines, title)
