"""``okr``: targets by quarter proposed from the forecasts (``okr propose``), accepted into
the store and the catalog's files (``okr accept``) and graded (``okr grade``); and ``review``,
an agent's performance review for a quarter."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from intelligentos.cli.options import AsOfOption, DbOption, JsonOption, Shared, fail

app = typer.Typer(
    help="Quarterly targets: propose them from the forecasts, accept them, grade a quarter.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


# --- okr propose -------------------------------------------------------------------------------


# --- okr accept --------------------------------------------------------------------------------


# --- okr grade ---------------------------------------------------------------------------------


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
    from intelligentos.domain.clock import utc_today
    from intelligentos.domain.quarters import Quarter, QuarterError
    from intelligentos.services.okr.grade import check_quarter_started, grade_quarter
    from intelligentos.services.okr.propose import OkrError
    from intelligentos.tui.launch import check_agent, check_as_of

    try:
        graded = Quarter.parse(quarter.strip())
    except QuarterError as error:
        raise fail(f"--quarter {error}.") from error
    shared = Shared.of(ctx)
    given = shared.day(as_of)
    day = given or utc_today()
    with shared.open_store(db) as store:
        if given is not None:
            check_as_of(store, given)
        catalog = store.read_catalog()
        if agent is not None:
            check_agent(agent, catalog.agents)
        try:
            check_quarter_started(graded, day)
        except OkrError as error:
            raise fail(f"{error}.") from error
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
    import sys

    from rich.text import Text

    from intelligentos.cli.render import err
    from intelligentos.cli.render_review import FORMATS, render_review
    from intelligentos.config.paths import write_atomically
    from intelligentos.domain.clock import utc_today
    from intelligentos.domain.formatting import literal
    from intelligentos.domain.quarters import Quarter, QuarterError
    from intelligentos.services.okr.propose import OkrError
    from intelligentos.services.okr.review import make_review
    from intelligentos.tui.launch import check_as_of

    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; use md, html or json.")
    try:
        reviewed = Quarter.parse(quarter.strip())
    except QuarterError as error:
        raise fail(f"--quarter {error}.") from error
    shared = Shared.of(ctx)
    given = shared.day(as_of)
    day = given or utc_today()
    with shared.open_store(db) as store:
        if given is not None:
            check_as_of(store, given)
        try:
            made = make_review(store, reviewed, day, agent)
        except OkrError as error:
            raise fail(f"{error}.") from error
    text = render_review(made, fmt)
    if out_path is None:
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.flush()
        return
    try:
        size = write_atomically(out_path, text, private=False)
    except OSError as error:
        reason = error.strerror or str(error)
        raise fail(f"cannot write {out_path}: {reason}; nothing was written.") from error
    err.print(Text(literal(f"Wrote the review ({fmt}, {size:,} bytes) to {out_path}.")))
