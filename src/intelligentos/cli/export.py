"""``export observations`` and ``export alerts``: the store's rows as CSV, JSON or JSON
Lines, to standard output or a file written atomically."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, TextIO

import typer

from intelligentos.cli.options import DbOption, Shared, fail

app = typer.Typer(help="Export observations or alerts (with their events).")
ExportFormat = Annotated[str, typer.Option("--format", help="csv, json or jsonl")]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Output file [default: standard output]")
]


@contextlib.contextmanager
def output_stream(path: Path | None) -> Iterator[TextIO]:
    """Standard output, or ``path`` written atomically: on any error the file is untouched
    and nothing is left beside it; one that cannot be written is one ``Error:`` sentence."""
    from intelligentos.config.paths import atomic_file

    if path is None:
        yield sys.stdout
        return
    try:
        with atomic_file(path, private=False) as file:
            # newline="": the csv module writes its own line endings.
            handle = io.TextIOWrapper(file, encoding="utf-8", newline="")
            try:
                yield handle
                handle.flush()
            finally:
                handle.detach()  # the file is atomic_file's to close
    except OSError as error:
        reason = error.strerror or str(error)
        raise fail(f"cannot write {path}: {reason}; nothing was written.") from error


@app.command("observations")
def export_observations(
    ctx: typer.Context,
    db: DbOption = None,
    kpi: Annotated[str | None, typer.Option("--kpi", help="Only this KPI id")] = None,
    since: Annotated[str | None, typer.Option("--from", help="First period (inclusive)")] = None,
    until: Annotated[str | None, typer.Option("--to", help="Last period (inclusive)")] = None,
    fmt: ExportFormat = "csv",
    out_path: OutOption = None,
) -> None:
    """Observations, streamed, in (kpi_id, period) order; the CSV re-imports as is."""
    # Imported here, not at the top: the command line loads every command's module.
    from rich.text import Text

    from intelligentos.cli.render import err
    from intelligentos.domain.clock import period_upper_bound
    from intelligentos.domain.formatting import plural
    from intelligentos.services.export import FORMATS, OBSERVATION_COLUMNS, is_period, write_records

    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; use csv, json or jsonl.")
    for option, value in (("--from", since), ("--to", until)):
        if value is not None and not is_period(value):
            raise fail(f"{option} must be a date or date-time like 2026-11-27, not {value!r}.")
    shared = Shared.of(ctx)
    with shared.open_store(db) as store:
        if kpi is not None and kpi not in store.kpi_ids():
            raise fail(f"unknown KPI {kpi!r}; `intelligentos-tui kpis` lists them.")
    with shared.open_store(db) as store, output_stream(out_path) as handle:
        count = write_records(
            store.iter_observations(kpi, since, period_upper_bound(until)),
            OBSERVATION_COLUMNS,
            fmt,
            handle,
        )
    if out_path is not None:
        err.print(Text(f"Exported {plural(count, 'observation')} to {out_path}."))


@app.command("alerts")
def export_alerts(
    ctx: typer.Context,
    db: DbOption = None,
    fmt: ExportFormat = "json",
    out_path: OutOption = None,
) -> None:
    """Every alert with its event history (CSV: one row per event)."""
    from rich.text import Text

    from intelligentos.cli.render import err
    from intelligentos.services.export import FORMATS, alert_records, write_records

    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; use csv, json or jsonl.")
    with Shared.of(ctx).open_store(db) as store:
        records, names = alert_records(store, fmt)
    with output_stream(out_path) as handle:
        count = write_records(records, names, fmt, handle)
    if out_path is not None:
        err.print(Text(f"Exported {count:,} record(s) to {out_path}."))
