"""The ``intelligentos-tui`` command line (Typer). With no command it launches the cockpit."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from intelligentos.bootstrap import init_store, resolve_store, today
from intelligentos.catalog import CatalogError, Level, check_catalog
from intelligentos.cockpit import snapshot
from intelligentos.demo import DEFAULT_SEED
from intelligentos.formatting import format_change, format_value, literal
from intelligentos.lineage import LineageGraph, LineageNode
from intelligentos.paths import builtin_catalog_dir, default_db_path
from intelligentos.store import Store, StoreError

app = typer.Typer(
    name="intelligentos-tui",
    help="IntelligentOS cockpit: watch a company's KPIs, their lineage and their deviations.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="KPI store file [default: $INTELLIGENTOS_DB, else the user's data directory]",
        show_default=False,
    ),
]
CatalogOption = Annotated[
    Path | None,
    typer.Option("--catalog", help="Catalog directory [default: the built-in catalog]"),
]


def fail(message: str) -> typer.Exit:
    err.print(Text(f"Error: {literal(message)}"))
    return typer.Exit(1)


def open_store(db: Path | None) -> Store:
    try:
        path, created = resolve_store(db)
        if created:
            err.print(Text(f"Created a demo KPI store at {path}"))
        return Store.open(path)
    except (StoreError, CatalogError) as error:
        raise fail(str(error)) from error


@app.callback(invoke_without_command=True)
def launch(
    ctx: typer.Context,
    db: DbOption = None,
    theme: Annotated[str | None, typer.Option(help="Colour theme for the cockpit")] = None,
) -> None:
    """Launch the cockpit (when no command is given)."""
    if ctx.invoked_subcommand is not None:
        return
    store = open_store(db)
    store_path = store.path
    store.close()
    from intelligentos.tui.app import CockpitApp

    cockpit = CockpitApp(store_path, theme_name=theme)
    cockpit.run()
    raise typer.Exit(cockpit.return_code or 0)


@app.command()
def init(
    db: DbOption = None,
    catalog: CatalogOption = None,
    demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Fill with demo history")] = True,
    force: Annotated[bool, typer.Option(help="Replace an existing KPI store")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the demo history")] = DEFAULT_SEED,
    end: Annotated[
        str | None, typer.Option(help="Last day of the demo history (YYYY-MM-DD) [default: today]")
    ] = None,
) -> None:
    """Create a KPI store from a catalog, with or without demo history."""
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
        )
    except CatalogError as error:
        for violation in error.violations:
            err.print(Text(literal(str(violation))))
        raise fail(
            f"the catalog has {len(error.violations)} problem(s); nothing was written."
        ) from error
    except StoreError as error:
        raise fail(str(error)) from error
    with Store.open(path) as store:
        observations = store.table_counts().get("observations", 0)
    out.print(Text(f"Created {path}: {len(made.kpis)} KPIs, {observations:,} observations."))


@app.command()
def validate(catalog: CatalogOption = None) -> None:
    """Check a catalog against the governance rules; exit 1 on any violation."""
    directory = Path(catalog) if catalog else builtin_catalog_dir()
    violations = check_catalog(directory)
    for violation in violations:
        out.print(Text(literal(str(violation))))
    if violations:
        raise fail(f"{len(violations)} governance violation(s) in {directory}.")
    out.print(Text(f"{directory}: the catalog passes every governance rule."))


def _rich_tree(node: LineageNode) -> Tree:
    tree = Tree(_node_text(node))
    for child in node.children:
        tree.children.append(_rich_tree(child))
    return tree


_KIND_STYLE = {
    "kpi": "bold",
    "section": "italic dim",
    "objective": "magenta",
    "theme": "magenta",
    "engine": "cyan",
    "metric": "yellow",
    "workflow": "green",
    "step": "green",
    "system": "blue",
    "field": "bold blue",
}


def _node_text(node: LineageNode) -> Text:
    text = Text()
    if node.kind not in ("section", "kpi", "field"):
        text.append(f"{node.detail}: ", style="dim")
    text.append(literal(node.label), style=_KIND_STYLE.get(node.kind, ""))
    if node.kind == "kpi":
        text.append(f"  ({node.id}, {node.detail})", style="dim")
    return text


@app.command()
def lineage(
    kpi_id: Annotated[str, typer.Argument(help="KPI id, e.g. feature_adoption")],
    db: DbOption = None,
) -> None:
    """Print a KPI's lineage: up to its CEO KPI and objective, down to data fields."""
    with open_store(db) as store:
        catalog = store.read_catalog()
    if kpi_id not in catalog.kpis:
        raise fail(f"unknown KPI {kpi_id!r}; `intelligentos-tui kpis` lists them.")
    out.print(_rich_tree(LineageGraph(catalog).lineage_tree(kpi_id)))


@app.command()
def kpis(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List KPIs with their latest value, change and target."""
    with open_store(db) as store:
        catalog = store.read_catalog()
        windows = store.latest_windows(2)
    as_of = today()
    records = []
    for kpi in catalog.kpis.values():
        window = windows.get(kpi.id, [])
        latest = window[-1] if window else (None, None)
        previous = window[-2][1] if len(window) > 1 else None
        records.append(
            {
                "id": kpi.id,
                "name": kpi.name,
                "level": kpi.level.value,
                "engine": kpi.engine,
                "unit": kpi.unit.value,
                "period": latest[0],
                "value": latest[1],
                "previous": previous,
                "target": kpi.target,
                "status": snapshot(kpi, window, as_of).status.value,
            }
        )
    if as_json:
        out.print_json(json.dumps(records))
        return
    table = Table(title=f"KPIs in {store.path}", title_justify="left")
    table.add_column("id", no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column("name", overflow="fold")
    for column in ("latest", "change", "target"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for record, kpi in zip(records, catalog.kpis.values(), strict=True):
        table.add_row(
            Text(literal(kpi.id), style="bold" if kpi.level is Level.CEO else ""),
            Text(literal(kpi.name)),
            format_value(record["value"], kpi.unit),
            format_change(record["value"], record["previous"], kpi.unit),
            format_value(kpi.target, kpi.unit),
            record["status"],
        )
    out.print(table)


@app.command()
def screenshots(
    directory: Annotated[Path, typer.Option("--out", help="Directory for the SVG files")] = Path(
        "screenshots"
    ),
) -> None:
    """Regenerate the screenshots from the real app (fixed size, clock and demo data)."""
    from intelligentos.tui.screenshots import take_screenshots

    for path in take_screenshots(directory):
        out.print(Text(f"wrote {path}"))


def main() -> None:
    app()
