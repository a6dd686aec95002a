"""``okr``: targets by quarter proposed from the forecasts (``okr propose``), accepted into
the store and the catalog's files (``okr accept``) and graded (``okr grade``); and ``review``,
an agent's performance review for a quarter."""

from __future__ import annotations

from typing import Annotated

import typer

from intelligentos.cli.options import DbOption, JsonOption, Shared, fail

app = typer.Typer(
    help="Quarterly targets: propose them from the forecasts, accept them, grade a quarter.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


# --- okr propose -------------------------------------------------------------------------------


@app.command()
def propose(
    ctx: typer.Context,
    quarter: Annotated[
        str,
        typer.Option("--quarter", help="The quarter to propose targets for (YYYYQn, e.g. 2027Q1)"),
    ],
    kpi: Annotated[
        list[str] | None,
        typer.Option(
            "--kpi", help="Only this KPI id (repeatable) [default: every KPI with a target]"
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Propose as on this day (YYYY-MM-DD): the quarter must not have ended by then; "
            "the forecasts are the stored ones [default: today]",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Propose targets for a quarter from the stored forecasts: each KPI's chance of hitting
    its current target at the quarter's end, a commit target (hit with the config's
    okr.commit probability, 0.9) and a stretch target (okr.stretch, 0.35), and whether the
    commit targets agree down the roll-up. Nothing is written (`okr accept` writes)."""
    # Imported here, not at the top: the command line loads every command's module.
    from intelligentos.cli.render import print_json, warn
    from intelligentos.cli.render_okr import print_proposals, proposals_record
    from intelligentos.config.settings import CockpitSettings
    from intelligentos.domain.clock import utc_today
    from intelligentos.domain.quarters import Quarter, QuarterError
    from intelligentos.services.okr.propose import (
        OkrError,
        ProposeRequest,
        check_quarter_ahead,
        propose_targets,
    )
    from intelligentos.tui.launch import check_as_of

    try:
        asked = Quarter.parse(quarter)
    except QuarterError as error:
        raise fail(f"{error}.") from error
    shared = Shared.of(ctx)
    given = shared.day(as_of)
    day = given or utc_today()
    try:
        check_quarter_ahead(asked, day)
    except OkrError as error:
        raise fail(str(error)) from error
    settings = CockpitSettings.load()
    for problem in settings.problems:
        warn(problem)
    okr = settings.okr
    request = ProposeRequest(asked, day, tuple(kpi or ()), okr.commit, okr.stretch)
    with shared.open_store(db) as store:
        if given is not None:
            check_as_of(store, given)
        catalog = store.read_catalog()
        try:
            found = propose_targets(store, request, catalog)
        except OkrError as error:
            raise fail(str(error)) from error
    if as_json:
        print_json(proposals_record(found))
        return
    print_proposals(found, catalog, okr.commit, okr.stretch)


# --- okr accept --------------------------------------------------------------------------------


# --- okr grade ---------------------------------------------------------------------------------


# --- review ------------------------------------------------------------------------------------
