"""``brief``: the CEO weekly brief (or an agent's), as Markdown, HTML or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from intelligentos.cli.options import AsOfOption, DbOption, Shared, fail


def brief(
    ctx: typer.Context,
    db: DbOption = None,
    as_of: AsOfOption = None,
    agent: Annotated[
        str | None,
        typer.Option(
            "--agent",
            help="One agent's brief: its KPIs, their alerts and risks, its rules "
            "[default: the CEO brief]",
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="md, html or json")] = "md",
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="Write it to this file [default: standard output]"),
    ] = None,
) -> None:
    """The CEO weekly brief (or an agent's) for the week ending at the as-of date: headline,
    CEO KPIs, what changed in the alert log, top risks, stale sources, scenarios. The same
    store, date and options give the same bytes."""
    # Imported here, not at the top: the command line loads every command's module.
    from intelligentos.cli.render import write_document
    from intelligentos.domain.brief.compose import BriefError
    from intelligentos.domain.brief.render import FORMATS, render
    from intelligentos.domain.clock import utc_today
    from intelligentos.services.brief import make_brief
    from intelligentos.tui.launch import check_as_of

    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; use md, html or json.")
    shared = Shared.of(ctx)
    given = shared.day(as_of)
    day = given or utc_today()
    with shared.open_store(db) as store:
        if given is not None:
            check_as_of(store, given)
        try:
            made = make_brief(store, day, agent)
        except BriefError as error:
            raise fail(f"{error}.") from error
    write_document(render(made, fmt), out_path, "the brief", fmt)
