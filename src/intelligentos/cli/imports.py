"""``import``: observation files (CSV, JSON, JSON Lines, Excel) into the store, atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from intelligentos.cli.options import DbOption, Shared, fail


def import_observations(
    ctx: typer.Context,
    files: Annotated[
        list[Path], typer.Argument(help="CSV, JSON (array), JSON Lines or Excel .xlsx files")
    ],
    db: DbOption = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv, json, jsonl or xlsx [default: from the extension]"),
    ] = None,
    wide: Annotated[
        bool,
        typer.Option("--wide", help="One row per period, one column per KPI id (CSV, xlsx)"),
    ] = False,
    delimiter: Annotated[
        str | None,
        typer.Option(
            "--delimiter", help="CSV delimiter: , ; tab or | [default: from the header line]"
        ),
    ] = None,
    decimal: Annotated[
        str | None,
        typer.Option(
            "--decimal", help="Decimal mark: . or , [default: , in a ;-delimited CSV, else .]"
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only")] = False,
) -> None:
    """Import observations (kpi_id, period, value[, source]; or, with --wide, period and one
    column per KPI) atomically: all rows of all files, or nothing. Re-importing a file
    changes nothing."""
    # Imported here, not at the top: the command line loads every command's module.
    from rich.text import Text

    from intelligentos.cli.render import err, import_progress, out
    from intelligentos.domain.formatting import plural
    from intelligentos.services.imports import (
        DECIMALS,
        DELIMITERS,
        Layout,
        import_files,
        total_size,
    )
    from intelligentos.store import StoreError

    if delimiter is not None and delimiter not in DELIMITERS:
        raise fail(f"unknown delimiter {delimiter!r}; use , ; tab or |.")
    if decimal is not None and decimal not in DECIMALS:
        raise fail(f"unknown decimal mark {decimal!r}; use . or ,.")
    layout = Layout(DELIMITERS[delimiter] if delimiter else None, decimal, wide)
    with Shared.of(ctx).open_store(db) as store:
        try:
            with import_progress(total_size(files)) as advance:
                report = import_files(store, files, fmt, layout, dry_run=dry_run, on_read=advance)
        except StoreError as error:
            raise fail(str(error)) from error
    if report.counts is None:
        for problem in report.problems:
            err.print(Text(str(problem)))
        hidden = report.total_problems - len(report.problems)
        if hidden:
            err.print(Text(f"… and {plural(hidden, 'more problem')}"))
        raise fail(f"{plural(report.total_problems, 'problem')}; nothing was imported.")
    counts = report.counts
    verb = "would be" if dry_run else ("was" if counts.inserted == 1 else "were")
    out.print(
        Text(
            f"{plural(report.rows, 'valid row')} in {plural(len(files), 'file')}: "
            f"{counts.inserted:,} {verb} inserted, {counts.updated:,} updated, "
            f"{counts.unchanged:,} unchanged."
            + (" Dry run: nothing was written." if dry_run else "")
        )
    )
    if report.derived:
        out.print(Text(report.derived.summary()))
