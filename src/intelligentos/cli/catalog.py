"""``init``, ``validate`` and ``sync-catalog``: a store made from a catalog, a catalog checked
against the governance rules, an edited catalog synced into a store."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from intelligentos.cli.options import CatalogOption, DbOption, Shared, fail
from intelligentos.domain.demo import DEFAULT_SEED, HISTORY_DAYS

if TYPE_CHECKING:
    from intelligentos.domain.catalog import Catalog
    from intelligentos.domain.quarters import Quarter


def init(
    ctx: typer.Context,
    db: DbOption = None,
    catalog: CatalogOption = None,
    demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Fill with demo history")] = True,
    force: Annotated[bool, typer.Option(help="Replace an existing KPI store")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the demo history")] = DEFAULT_SEED,
    end: Annotated[
        str | None, typer.Option(help="Last day of the demo history (YYYY-MM-DD) [default: today]")
    ] = None,
    scale_kpis: Annotated[
        int | None,
        typer.Option(
            help="Grow the catalog to this many synthetic KPIs (an enterprise-scale store)"
        ),
    ] = None,
    history_days: Annotated[int, typer.Option(help="Days of demo history", min=30)] = HISTORY_DAYS,
) -> None:
    """Create a KPI store from a catalog, with or without demo history."""
    # Imported here, not at the top: the command line loads every command's module.
    from rich.text import Text

    from intelligentos.cli.render import err, out
    from intelligentos.config.paths import default_db_path
    from intelligentos.domain.formatting import literal, plural
    from intelligentos.services.bootstrap import init_store
    from intelligentos.services.catalog import CatalogError
    from intelligentos.store import Store, StoreError

    db = Shared.of(ctx).given("db", db)
    path = Path(db).expanduser() if db else default_db_path()
    try:
        end_date = date.fromisoformat(end) if end else None
    except ValueError as error:
        raise fail(f"--end must be a date like 2026-11-27, not {end!r}.") from error
    try:
        made = init_store(
            path,
            catalog,
            demo=demo,
            seed=seed,
            end=end_date,
            force=force,
            make_parents=db is None,
            scale_kpis=scale_kpis,
            history_days=history_days,
        )
    except CatalogError as error:
        for violation in error.violations:
            err.print(Text(literal(str(violation))))
        raise fail(
            f"the catalog has {plural(len(error.violations), 'problem')}; nothing was written."
        ) from error
    except StoreError as error:
        raise fail(str(error)) from error
    with Store.open(path) as store:
        observations = store.table_counts().get("observations", 0)
    out.print(
        Text(
            f"Created {path}: {plural(len(made.kpis), 'KPI')}, "
            f"{plural(observations, 'observation')}."
        )
    )


def validate(
    ctx: typer.Context,
    catalog: CatalogOption = None,
    history: Annotated[
        bool,
        typer.Option(
            "--history",
            help="Also warn where a store's history disagrees with a weight or sensitivity "
            "(see `calibrate`)",
        ),
    ] = False,
    targets: Annotated[
        bool,
        typer.Option(
            "--targets",
            help="Also check that the quarter's targets agree down the roll-up (the cascade); "
            "with --db, the targets in force in that store rather than the catalog's files",
        ),
    ] = False,
    quarter: Annotated[
        str | None,
        typer.Option(
            "--quarter",
            help="The quarter --targets checks (YYYYQn) [default: the current quarter]",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Check a catalog against the governance rules; exit 1 on any violation. Warnings
    (weights, units, divisions, with --history the store's history, with --targets the
    parents whose target disagrees with their children's) do not fail it."""
    from rich.text import Text

    from intelligentos.cli.render import out
    from intelligentos.config.paths import builtin_catalog_dir
    from intelligentos.domain.catalog.governance import catalog_warnings
    from intelligentos.domain.clock import utc_today
    from intelligentos.domain.formatting import literal, plural
    from intelligentos.services.catalog import check_catalog, parse_catalog

    asked = _quarter_of(quarter, targets)
    directory = Path(catalog) if catalog else builtin_catalog_dir()
    violations = check_catalog(directory)
    for violation in violations:
        out.print(Text(literal(str(violation))))
    # Warnings judge only a catalog that parses: with entities missing they would mislead.
    shape = {"syntax", "schema", "duplicate"}
    parses = not any(violation.rule in shape for violation in violations)
    parsed = parse_catalog(directory)[0] if parses else None
    warnings = catalog_warnings(parsed) if parsed is not None else []
    if history and parsed is not None and not violations:
        from intelligentos.services.calibrate import history_warnings

        with Shared.of(ctx).open_store(db) as store:
            warnings += history_warnings(store, parsed, utc_today())
    for warning in warnings:
        out.print(
            Text(
                literal(f"{warning.file}: {warning.key}: [{warning.rule}] warning: ")
                + literal(warning.message)
            )
        )
    off = 0
    if asked is not None and parsed is not None and not violations:
        off = _print_target_cascade(ctx, parsed, asked, db)
    if violations:
        raise fail(f"{plural(len(violations), 'governance violation')} in {directory}.")
    count = len(warnings) + off
    noted = f" ({plural(count, 'warning')} above)" if count else ""
    out.print(Text(f"{directory}: the catalog passes every governance rule{noted}."))


def _quarter_of(text: str | None, targets: bool) -> Quarter | None:
    """The quarter ``validate --targets`` checks (None without --targets)."""
    from intelligentos.domain.clock import utc_today
    from intelligentos.domain.quarters import Quarter, QuarterError

    if not targets:
        if text is not None:
            raise fail("--quarter goes with --targets.")
        return None
    if text is None:
        return Quarter.of(utc_today())
    try:
        return Quarter.parse(text)
    except QuarterError as error:
        raise fail(f"{error}.") from error


def _print_target_cascade(
    ctx: typer.Context, parsed: Catalog, quarter: Quarter, db: Path | None
) -> int:
    """The cascade of ``quarter``'s targets (the files', or with --db the store's), printed
    as ``okr propose`` prints it; how many parents disagree."""
    from intelligentos.cli.render_okr import print_cascade
    from intelligentos.domain.okr.cascade import quarter_cascade

    shared = Shared.of(ctx)
    source = parsed
    where = "the catalog's files"
    if shared.given("db", db) is not None:
        with shared.open_store(db) as store:
            source = store.read_catalog()
        where = str(store.path)
    links = quarter_cascade(source, quarter)
    print_cascade(links, source, f"The cascade of the targets for {quarter} ({where})")
    return sum(1 for link in links if not link.consistent)


def sync_catalog(
    ctx: typer.Context,
    db: DbOption = None,
    catalog: Annotated[
        Path | None,
        typer.Option(
            "--catalog",
            help="Catalog directory [default: the one the store was built or last synced from]",
        ),
    ] = None,
    prune: Annotated[
        bool, typer.Option(help="Allow dropping KPIs that have observations (deletes them)")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(help="Sync even a catalog that removes more than half of the store's KPIs"),
    ] = False,
) -> None:
    """Re-sync an edited catalog into an existing store, keeping observations and alerts."""
    from rich.text import Text

    from intelligentos.cli.render import err, print_sync
    from intelligentos.domain.clock import utc_now
    from intelligentos.domain.formatting import literal, plural
    from intelligentos.services.catalog import CatalogError, SyncError, sync_store_catalog
    from intelligentos.store import StoreError

    shared = Shared.of(ctx)
    who = shared.actor(None)
    with shared.open_store(db) as store:
        try:
            synced = sync_store_catalog(
                store, catalog, utc_now(), prune=prune, force=force, who=who
            )
        except SyncError as error:
            raise fail(str(error)) from error
        except CatalogError as error:
            for violation in error.violations:
                err.print(Text(literal(str(violation))))
            raise fail(
                f"the catalog has {plural(len(error.violations), 'problem')}; nothing changed."
            ) from error
        except StoreError as error:
            raise fail(str(error)) from error
    print_sync(synced)
