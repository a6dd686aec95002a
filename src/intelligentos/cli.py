"""The ``intelligentos-tui`` command line (Typer). With no command it launches the cockpit."""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from intelligentos.alerts import Alert, LifecycleError, parse_duration
from intelligentos.bootstrap import init_store, resolve_store, today
from intelligentos.catalog import CatalogError, Level, check_catalog
from intelligentos.cockpit import snapshot
from intelligentos.demo import DEFAULT_SEED
from intelligentos.evaluation import acknowledge_alert, evaluate_store, snooze_alert
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
    user: Annotated[
        str | None,
        typer.Option("--user", help="Who acknowledges [default: the OS user name]"),
    ] = None,
    bell: Annotated[bool, typer.Option(help="Ring the terminal bell on new alerts")] = False,
) -> None:
    """Launch the cockpit (when no command is given)."""
    if ctx.invoked_subcommand is not None:
        return
    store = open_store(db)
    store_path = store.path
    store.close()
    from intelligentos.tui.app import CockpitApp

    cockpit = CockpitApp(store_path, theme_name=theme, user=acting_user(user), bell=bell)
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


# --- alerts ------------------------------------------------------------------------------

UserOption = Annotated[
    str | None,
    typer.Option("--user", help="Who is acting [default: the OS user name]", show_default=False),
]
STATES = ("firing", "acknowledged", "snoozed", "resolved")


def acting_user(user: str | None) -> str:
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def now_utc() -> datetime:
    return datetime.now(UTC)


def alert_record(alert: Alert, catalog) -> dict:
    record = {key: value for key, value in asdict(alert).items()}
    record["severity"] = alert.severity.value
    record["state"] = alert.state.value
    if alert.kpi_id:
        kpi = catalog.kpis.get(alert.kpi_id)
        record["subject"] = kpi.name if kpi else alert.kpi_id
    else:
        system = catalog.systems.get(alert.system_id or "")
        record["subject"] = system.name if system else alert.system_id
    record["needs_attention"] = alert.needs_attention
    return record


def print_alerts(records: list[dict], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("id", "severity", "state", "subject", "rule", "value", "message"):
        table.add_column(column, overflow="fold", no_wrap=column in ("id", "severity", "state"))
    for r in records:
        grouped = f" (under #{r['parent_alert_id']})" if r["parent_alert_id"] else ""
        value = "" if r["value"] is None else f"{r['value']:.4g}"
        table.add_row(
            str(r["id"]),
            r["severity"],
            r["state"] + grouped,
            Text(literal(r["subject"])),
            r["rule"],
            value,
            Text(literal(r["message"])),
        )
    out.print(table)


@app.command()
def check(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Evaluate every rule, print open alerts; exit 1 while any fires unacknowledged."""
    with open_store(db) as store:
        catalog = store.read_catalog()
        try:
            result = evaluate_store(store, catalog, now_utc())
        except StoreError as error:
            raise fail(str(error)) from error
        records = [alert_record(a, catalog) for a in result.open_alerts]
    attention = sum(1 for r in records if r["needs_attention"])
    if as_json:
        out.print_json(json.dumps({"open": records, "firing_unacknowledged": attention}))
    else:
        print_alerts(records, f"Open alerts: {len(records)}, {attention} firing unacknowledged")
    if attention:
        raise typer.Exit(1)


@app.command()
def alerts(
    db: DbOption = None,
    state: Annotated[
        list[str] | None,
        typer.Option("--state", help="Only these states (repeatable): " + ", ".join(STATES)),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List alerts (all states unless --state), most severe first; no evaluation."""
    unknown = [s for s in state or () if s not in STATES]
    if unknown:
        raise fail(f"unknown state {unknown[0]!r}; choose from {', '.join(STATES)}.")
    with open_store(db) as store:
        catalog = store.read_catalog()
        records = [alert_record(a, catalog) for a in store.alerts(state or None)]
    if as_json:
        out.print_json(json.dumps(records))
    else:
        print_alerts(records, f"Alerts: {len(records)}")


@app.command()
def ack(
    alert_id: Annotated[int, typer.Argument(help="Alert id (see `alerts`)")],
    note: Annotated[str, typer.Option("--note", help="Why, and who owns it")],
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Acknowledge an alert: you own it; the flashing stops."""
    with open_store(db) as store:
        try:
            alert = acknowledge_alert(store, alert_id, acting_user(user), note, now_utc())
        except (LifecycleError, StoreError) as error:
            raise fail(str(error)) from error
    out.print(Text(f"Alert {alert.id} acknowledged by {literal(alert.acked_by or '')}."))


@app.command()
def snooze(
    alert_id: Annotated[int, typer.Argument(help="Alert id (see `alerts`)")],
    duration: Annotated[str, typer.Option("--for", help="How long, e.g. 30m, 4h, 2d, 1w")],
    db: DbOption = None,
    user: UserOption = None,
    note: Annotated[str | None, typer.Option("--note", help="Optional note")] = None,
) -> None:
    """Snooze an acknowledged alert; it fires again when the snooze ends if still true."""
    try:
        length = parse_duration(duration)
    except ValueError as error:
        raise fail(str(error)) from error
    with open_store(db) as store:
        try:
            alert = snooze_alert(store, alert_id, length, acting_user(user), note, now_utc())
        except (LifecycleError, StoreError) as error:
            raise fail(str(error)) from error
    out.print(Text(f"Alert {alert.id} snoozed until {alert.snoozed_until}."))


def main() -> None:
    app()
