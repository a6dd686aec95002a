"""``okr``: targets by quarter proposed from the forecasts (``okr propose``), accepted into
the store and the catalog's files (``okr accept``) and graded (``okr grade``); and ``review``,
an agent's performance review for a quarter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from intelligentos.cli.options import DbOption, JsonOption, Shared, UserOption, fail

app = typer.Typer(
    help="Quarterly targets: propose them from the forecasts, accept them, grade a quarter.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


# --- okr propose -------------------------------------------------------------------------------


# --- okr accept --------------------------------------------------------------------------------


@app.command("accept")
def accept(
    ctx: typer.Context,
    quarter: Annotated[str, typer.Option("--quarter", help="The quarter (YYYYQn, e.g. 2027Q1)")],
    note: Annotated[
        str | None, typer.Option("--note", help="Why these targets (required, not blank)")
    ] = None,
    commit: Annotated[
        bool, typer.Option("--commit", help="Accept each proposal's commit target")
    ] = False,
    stretch: Annotated[
        bool, typer.Option("--stretch", help="Accept each proposal's stretch target")
    ] = False,
    kpi: Annotated[
        list[str] | None,
        typer.Option(
            "--kpi",
            help="ID=VALUE: set a KPI's target by hand (repeatable); with --commit or "
            "--stretch, ID: accept only that KPI's proposal",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show what would change, and each file's diff; write nothing"
        ),
    ] = False,
    db: DbOption = None,
    catalog: Annotated[
        Path | None,
        typer.Option(
            "--catalog",
            help="Catalog directory to write the targets in [default: the one the store was "
            "built or last synced from]",
        ),
    ] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Accept a quarter's targets into the store and the catalog's files (their comments and
    layout kept): the proposals' commit or stretch targets, or values set by hand."""
    from intelligentos.cli.render_okr import print_accepted
    from intelligentos.config.settings import acting_user
    from intelligentos.domain.clock import stamp, utc_now
    from intelligentos.domain.quarters import Quarter, QuarterError
    from intelligentos.services.okr.accept import (
        AcceptChoice,
        AcceptRequest,
        accept_targets,
        check_accept_note,
        parse_assignment,
    )
    from intelligentos.services.okr.propose import OkrError
    from intelligentos.store import StoreError

    try:
        chosen = Quarter.parse(quarter)
        check_accept_note(note or "")
        choice, values, kpi_ids = _accept_mode(commit, stretch, kpi or [], parse_assignment)
    except (QuarterError, OkrError) as error:
        raise fail(str(error)) from error
    now = utc_now()
    shared = Shared.of(ctx)
    with shared.open_store(db) as store:
        request = AcceptRequest(
            quarter=chosen,
            choice=AcceptChoice(choice),
            note=note or "",
            who=acting_user(shared.given("user", user)),
            at=stamp(now),
            as_of=now.date(),
            values=values,
            kpi_ids=kpi_ids,
            catalog_dir=catalog,
            dry_run=dry_run,
        )
        try:
            accepted = accept_targets(store, request)
        except (OkrError, StoreError) as error:
            raise fail(str(error)) from error
    print_accepted(accepted, as_json=as_json)


def _accept_mode(
    commit: bool,
    stretch: bool,
    kpis: list[str],
    parse: Callable[[str], tuple[str, float]],
) -> tuple[str, dict[str, float], tuple[str, ...]]:
    """The one way ``okr accept`` was asked to choose targets (commit, stretch or values),
    the values given by hand, and the KPIs a proposal is accepted for."""
    by_hand = [text for text in kpis if "=" in text]
    named = [text.strip() for text in kpis if "=" not in text]
    modes = [name for name, given in (("commit", commit), ("stretch", stretch)) if given]
    if by_hand:
        modes.append("values")
    if len(modes) != 1:
        raise fail(
            "choose one of --commit, --stretch or --kpi ID=VALUE"
            + (f", not {' and '.join(modes)}." if modes else ".")
        )
    if modes == ["values"]:
        if named:
            raise fail(f"--kpi {named[0]} needs a value (e.g. {named[0]}=30).")
        values: dict[str, float] = {}
        for text in by_hand:
            kpi_id, value = parse(text)
            if kpi_id in values:
                raise fail(f"--kpi {kpi_id} is given twice; give each KPI once.")
            values[kpi_id] = value
        return "values", values, ()
    return modes[0], {}, tuple(dict.fromkeys(named))


# --- okr grade ---------------------------------------------------------------------------------


# --- review ------------------------------------------------------------------------------------
