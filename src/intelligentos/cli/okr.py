"""``okr``: targets by quarter proposed from the forecasts (``okr propose``), accepted into
the store and the catalog's files (``okr accept``) and graded (``okr grade``); and ``review``,
an agent's performance review for a quarter."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from intelligentos.cli.options import AsOfOption, DbOption, JsonOption, Shared, UserOption, fail

if TYPE_CHECKING:
    from intelligentos.domain.quarters import Quarter
    from intelligentos.store import Store

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
    from intelligentos.cli.render import warn
    from intelligentos.cli.render_okr import print_accepted
    from intelligentos.config.settings import CockpitSettings
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
    settings = CockpitSettings.load()
    for problem in settings.problems:
        warn(problem)
    who = shared.actor(user)
    with shared.open_store(db) as store:
        request = AcceptRequest(
            quarter=chosen,
            choice=AcceptChoice(choice),
            note=note or "",
            who=who,
            at=stamp(now),
            as_of=now.date(),
            values=values,
            kpi_ids=kpi_ids,
            catalog_dir=catalog,
            dry_run=dry_run,
            commit=settings.okr.commit,
            stretch=settings.okr.stretch,
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


@contextlib.contextmanager
def _quarter_store(
    ctx: typer.Context, quarter: str, db: Path | None, as_of: str | None
) -> Iterator[tuple[Quarter, date, Store]]:
    """The ``--quarter`` asked for, the day (``--as-of``, else today) and the store, opened
    and checked; an :class:`OkrError` in the block is one sentence."""
    from intelligentos.domain.clock import utc_today
    from intelligentos.domain.quarters import Quarter, QuarterError
    from intelligentos.services.okr.propose import OkrError
    from intelligentos.tui.launch import check_as_of

    try:
        asked = Quarter.parse(quarter.strip())
    except QuarterError as error:
        raise fail(f"--quarter {error}.") from error
    shared = Shared.of(ctx)
    given = shared.day(as_of)
    with shared.open_store(db) as store:
        if given is not None:
            check_as_of(store, given)
        try:
            yield asked, given or utc_today(), store
        except OkrError as error:
            raise fail(f"{error}.") from error


@app.command("grade")
def grade(
    ctx: typer.Context,
    quarter: Annotated[str, typer.Option("--quarter", help="The quarter to grade, e.g. 2026Q4")],
    agent: Annotated[
        str | None,
        typer.Option("--agent", help="Only the KPIs this agent owns", show_default=False),
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Grade a quarter: each KPI's score from 0 to 1 (its progress from the quarter's start
    to its target, or how near its target a band KPI stayed), and each agent's and engine's
    mean. A running quarter is graded as of today (or --as-of)."""
    # Imported here, not at the top: the command line loads every command's module.
    from intelligentos.cli.render import print_json
    from intelligentos.cli.render_okr import grades_record, print_grades
    from intelligentos.services.okr.grade import check_quarter_started, grade_quarter
    from intelligentos.tui.launch import check_agent

    with _quarter_store(ctx, quarter, db, as_of) as (graded, day, store):
        catalog = store.read_catalog()
        if agent is not None:
            check_agent(agent, catalog.agents)
        check_quarter_started(graded, day)
        grades = grade_quarter(store, graded, day, agent=agent, catalog=catalog)
    if as_json:
        print_json(grades_record(grades, catalog))
    else:
        print_grades(grades, catalog)


# --- review ------------------------------------------------------------------------------------


def review(
    ctx: typer.Context,
    quarter: Annotated[str, typer.Option("--quarter", help="The quarter to review, e.g. 2026Q4")],
    agent: Annotated[str, typer.Option("--agent", help="The agent reviewed (an agent id)")],
    fmt: Annotated[str, typer.Option("--format", help="md, html or json")] = "md",
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="Write it to this file [default: standard output]"),
    ] = None,
    db: DbOption = None,
    as_of: AsOfOption = None,
) -> None:
    """An agent's performance review for a quarter: its KPIs' targets, actuals, grades and
    trends; the alerts routed to it with the time to acknowledge and to resolve them; its
    forecasts' accuracy out of sample; the scenarios and target changes on its KPIs; its
    recommendations still open. The same store, quarter, day and options give the same
    bytes."""
    # Imported here, not at the top: the command line loads every command's module.
    from intelligentos.cli.render import write_document
    from intelligentos.cli.render_review import FORMATS, render_review
    from intelligentos.services.okr.review import make_review

    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; use md, html or json.")
    with _quarter_store(ctx, quarter, db, as_of) as (reviewed, day, store):
        made = make_review(store, reviewed, day, agent)
    write_document(render_review(made, fmt), out_path, "the review", fmt)
