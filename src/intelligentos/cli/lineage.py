"""``lineage``: a KPI's lineage, up to its CEO KPI and objective and down to data fields."""

from __future__ import annotations

from typing import Annotated

import typer

from intelligentos.cli.options import AsOfOption, DbOption, Shared, fail


def lineage(
    ctx: typer.Context,
    kpi_id: Annotated[str, typer.Argument(help="KPI id, e.g. feature_adoption")],
    db: DbOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Print a KPI's lineage: up to its CEO KPI and objective, down to data fields; each
    KPI with its latest value and status (as of a date with --as-of). A derived KPI's
    expression comes first, with its inputs."""
    # Imported here, not at the top: the command line loads every command's module.
    from rich.text import Text

    from intelligentos.cli.render import derived_lines, lineage_tree, out
    from intelligentos.domain.clock import period_upper_bound, utc_today
    from intelligentos.domain.lineage import LineageGraph
    from intelligentos.domain.okr.targets import judged_on
    from intelligentos.domain.rollup import formula_of
    from intelligentos.domain.snapshots import snapshot
    from intelligentos.tui.launch import check_as_of

    shared = Shared.of(ctx)
    day = shared.day(as_of)
    with shared.open_store(db) as store:
        # Judged with the target in force on the as-of date.
        catalog = judged_on(store.read_catalog(), day or utc_today())
        if kpi_id not in catalog.kpis:
            raise fail(f"unknown KPI {kpi_id!r}; `intelligentos-tui kpis` lists them.")
        if day is not None:
            check_as_of(store, day)
        tree = LineageGraph(catalog).lineage_tree(kpi_id)
        shown = [n.id for n in tree.walk() if n.kind == "kpi" and n.id in catalog.kpis]
        formula = formula_of(catalog.kpis[kpi_id])
        inputs = [k for k in formula.inputs if k in catalog.kpis] if formula else []
        shown = list(dict.fromkeys([*shown, *inputs]))
        windows = store.latest_windows(2, shown, until=period_upper_bound(day or utc_today()))
    snaps = {
        kpi_id: snapshot(catalog.kpis[kpi_id], window, day or utc_today())
        for kpi_id, window in windows.items()
    }
    if day is not None:
        out.print(Text(f"as of {day.isoformat()}", style="bold"))
    derived = derived_lines(catalog.kpis[kpi_id], catalog, snaps)
    if derived:
        out.print(derived)
    out.print(lineage_tree(tree, snaps))
