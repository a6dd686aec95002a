"""The ``intelligentos-tui`` command line (Typer). With no command it launches the cockpit."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import asdict
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, TextIO, TypeVar

import click
import typer
from rich.console import Console, ConsoleDimensions
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from intelligentos.config.paths import builtin_catalog_dir, default_db_path
from intelligentos.config.settings import acting_user
from intelligentos.domain import alerts as wording
from intelligentos.domain.agents import Route
from intelligentos.domain.alerts import (
    Alert,
    LifecycleError,
    State,
    check_note,
    parse_duration,
    subject_name,
)
from intelligentos.domain.catalog import Catalog, Level
from intelligentos.domain.catalog.models import Unit
from intelligentos.domain.clock import period_upper_bound, stamp, utc_now, utc_today
from intelligentos.domain.demo import DEFAULT_SEED, HISTORY_DAYS
from intelligentos.domain.detection import Status
from intelligentos.domain.forecast import Forecast
from intelligentos.domain.formatting import format_change, format_value, literal, plural
from intelligentos.domain.lineage import LineageGraph, LineageNode
from intelligentos.domain.snapshots import KpiSnapshot, snapshot, with_open_breaches
from intelligentos.services.bootstrap import init_store
from intelligentos.services.catalog import CatalogError, check_catalog
from intelligentos.services.check import acknowledge_alert, evaluate_store, snooze_alert
from intelligentos.store import Store, StoreError
from intelligentos.tui import launch as launch_options
from intelligentos.tui.launch import (
    CockpitOptions,
    LaunchError,
    check_agent,
    launch_cockpit,
    opened_store,
)

if TYPE_CHECKING:
    from intelligentos.domain.whatif.model import GoalSeek, Projection
    from intelligentos.services.notify import Notifier

app = typer.Typer(
    name="intelligentos-tui",
    help="IntelligentOS cockpit: watch a company's KPIs, their lineage and their deviations.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")
# Options given before the command's name; set by the callback, which runs first.
_BEFORE_COMMAND: ContextVar[Mapping[str, Any]] = ContextVar(
    "before_command", default=MappingProxyType({})
)

# The exit status of an error (``fail``): 1, but 2 for ``check``, whose 1 means "alerts
# firing" (cron must tell "page someone" from "the job is broken"). Set by the callback.
_ERROR_STATUS: ContextVar[int] = ContextVar("error_status", default=1)
# Exit statuses of ``check``.
CHECK_FIRING = 1
CHECK_ERROR = 2

# The width of text written to a file or a pipe: wide enough that nothing is wrapped, folded
# or cropped, and tables keep their natural width.
UNBOUNDED_WIDTH = 100_000


class CliConsole(Console):
    """A console as wide as its terminal, or, writing to a file or a pipe (where nobody
    reads it at a width, and Rich would assume 80 columns or the terminal's beside it),
    :data:`UNBOUNDED_WIDTH` wide: redirected output is never cut."""

    @property
    def bounded(self) -> bool:
        """Whether lines are laid out for a terminal's width (the file is a terminal)."""
        try:
            return self.file.isatty()
        except (AttributeError, ValueError):  # no isatty, or a closed file
            return False

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.bounded else ConsoleDimensions(UNBOUNDED_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self.width, self.height = new_size


def make_console(*, stderr: bool = False) -> CliConsole:
    """Every console of the command line: no highlighting (user text is shown as written),
    no wrapping of long lines by Rich, and never cut when redirected."""
    return CliConsole(stderr=stderr, highlight=False, soft_wrap=True)


out = make_console()
err = make_console(stderr=True)

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


AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="As the store stood at the end of this day (YYYY-MM-DD) [default: now]",
        show_default=False,
    ),
]
# The commands that take --as-of, also when it is given before the command's name.
AS_OF_COMMANDS = frozenset({"kpis", "alerts", "lineage", "whatif", "brief"})
# The commands that take --agent before their name too (they read it with before_command).
AGENT_COMMANDS = frozenset({"alerts", "check"})


def id_width() -> int | None:
    """The widest an id column gets: on a terminal the rest of the row needs the room; in a
    file or a pipe an id is shown whole."""
    return 24 if out.bounded else None


def fail(message: str) -> typer.Exit:
    """One ``Error:`` sentence on stderr; the exit to raise (status 1, for ``check`` 2)."""
    err.print(Text(f"Error: {literal(message)}"))
    return typer.Exit(_ERROR_STATUS.get())


def before_command(name: str, given: T | None) -> T | None:
    """A command's option, or the same option given before the command's name
    (``intelligentos-tui --db s2.db ack 3``): both forms mean the same; given twice with
    different values is an error, never a silent choice."""
    before = _BEFORE_COMMAND.get().get(name)
    if given is not None and before is not None and given != before:
        raise fail(f"--{name} is given twice, as {before} and as {given}; give it once.")
    return given if given is not None else before


@contextlib.contextmanager
def reported() -> Iterator[None]:
    """A :class:`LaunchError` inside the block becomes one ``Error:`` sentence, exit 1."""
    try:
        yield
    except LaunchError as error:
        raise fail(str(error)) from error


@contextlib.contextmanager
def open_store(db: Path | None) -> Iterator[Store]:
    """The command's store (``--db`` after or before the command); any store problem inside
    the block becomes one ``Error:`` sentence and exit status 1, never a traceback."""
    with reported(), opened_store(before_command("db", db)) as store:
        yield store


# --- time travel: --as-of ------------------------------------------------------------------


def parse_as_of(text: str | None) -> date:
    """``--as-of``: a date like 2026-11-27; today (UTC) when not given."""
    with reported():
        return launch_options.parse_as_of(text)


def check_as_of(store: Store, day: date) -> date:
    """``day`` if the store can be shown as of it: not after today (UTC), not before its
    first observation. Otherwise one ``Error:`` sentence and exit status 1. Every command
    with ``--as-of`` (and the cockpit's launch) calls this after :func:`parse_as_of`."""
    with reported():
        return launch_options.check_as_of(store, day)


def as_of_option(text: str | None) -> date | None:
    """The ``--as-of`` day given after or before the command (``None``: now), parsed
    before the store is opened; check it with :func:`check_as_of` once it is."""
    text = before_command("as_of", text)
    return None if text is None else parse_as_of(text)


@app.callback(invoke_without_command=True)
def launch(
    ctx: typer.Context,
    db: DbOption = None,
    theme: Annotated[str | None, typer.Option(help="Colour theme for the cockpit")] = None,
    user: Annotated[
        str | None,
        typer.Option("--user", help="Who acknowledges [default: the OS user name]"),
    ] = None,
    bell: Annotated[
        bool | None,
        typer.Option(
            "--bell/--no-bell",
            help="Ring the terminal bell on new alerts [default: the config's cockpit.bell]",
            show_default=False,
        ),
    ] = None,
    as_of: AsOfOption = None,
    agent: Annotated[
        str | None,
        typer.Option(
            "--agent",
            help="Focus the cockpit on one agent (an agent id of the catalog): its KPIs first "
            "in every panel, only the alerts routed to it",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Launch the cockpit (when no command is given)."""
    _BEFORE_COMMAND.set({"db": db, "user": user, "as_of": as_of, "agent": agent})
    _ERROR_STATUS.set(CHECK_ERROR if ctx.invoked_subcommand == "check" else 1)
    if ctx.invoked_subcommand is not None:
        # --db (and --user, --as-of for the commands that take them) apply to the command;
        # the others only mean something to the cockpit, so they are refused, not ignored.
        refused = [("--theme", theme), ("--bell/--no-bell", bell)]
        if ctx.invoked_subcommand not in AS_OF_COMMANDS:
            refused.append(("--as-of", as_of))
        if ctx.invoked_subcommand not in AGENT_COMMANDS:
            refused.append(("--agent", agent))
        for option, value in refused:
            if value is not None:
                raise fail(f"{option} applies to the cockpit, not to `{ctx.invoked_subcommand}`.")
        return
    options = CockpitOptions(db, theme, user, bell, as_of, agent)
    with reported():
        status = launch_cockpit(options)
    raise typer.Exit(status)


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
    scale_kpis: Annotated[
        int | None,
        typer.Option(
            help="Grow the catalog to this many synthetic KPIs (an enterprise-scale store)"
        ),
    ] = None,
    history_days: Annotated[int, typer.Option(help="Days of demo history", min=30)] = HISTORY_DAYS,
) -> None:
    """Create a KPI store from a catalog, with or without demo history."""
    db = before_command("db", db)
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


@app.command()
def validate(catalog: CatalogOption = None) -> None:
    """Check a catalog against the governance rules; exit 1 on any violation."""
    from intelligentos.domain.catalog.governance import weight_warnings
    from intelligentos.services.catalog import parse_catalog

    directory = Path(catalog) if catalog else builtin_catalog_dir()
    violations = check_catalog(directory)
    for violation in violations:
        out.print(Text(literal(str(violation))))
    # Warnings judge only a catalog that parses: with entities missing they would mislead.
    shape = {"syntax", "schema", "duplicate"}
    parses = not any(violation.rule in shape for violation in violations)
    warnings = weight_warnings(parse_catalog(directory)[0]) if parses else []
    for warning in warnings:
        out.print(
            Text(
                literal(f"{warning.file}: {warning.key}: [{warning.rule}] warning: ")
                + literal(warning.message)
            )
        )
    if violations:
        raise fail(f"{plural(len(violations), 'governance violation')} in {directory}.")
    noted = f" ({plural(len(warnings), 'warning')} above)" if warnings else ""
    out.print(Text(f"{directory}: the catalog passes every governance rule{noted}."))


def _rich_tree(node: LineageNode, snaps: Mapping[str, KpiSnapshot]) -> Tree:
    tree = Tree(_node_text(node, snaps))
    for child in node.children:
        tree.children.append(_rich_tree(child, snaps))
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


def _node_text(node: LineageNode, snaps: Mapping[str, KpiSnapshot]) -> Text:
    text = Text()
    if node.kind not in ("section", "kpi", "field"):
        text.append(f"{node.detail}: ", style="dim")
    text.append(literal(node.label), style=_KIND_STYLE.get(node.kind, ""))
    if node.kind == "kpi":
        text.append(f"  ({node.id}, {node.detail})", style="dim")
        snap = snaps.get(node.id)
        if snap is not None:
            text.append(f"  {snap.value_text} {snap.status.glyph} {snap.status.value}")
    return text


@app.command()
def lineage(
    kpi_id: Annotated[str, typer.Argument(help="KPI id, e.g. feature_adoption")],
    db: DbOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Print a KPI's lineage: up to its CEO KPI and objective, down to data fields; each
    KPI with its latest value and status (as of a date with --as-of)."""
    day = as_of_option(as_of)
    with open_store(db) as store:
        catalog = store.read_catalog()
        if kpi_id not in catalog.kpis:
            raise fail(f"unknown KPI {kpi_id!r}; `intelligentos-tui kpis` lists them.")
        if day is not None:
            check_as_of(store, day)
        tree = LineageGraph(catalog).lineage_tree(kpi_id)
        shown = [n.id for n in tree.walk() if n.kind == "kpi" and n.id in catalog.kpis]
        windows = store.latest_windows(2, shown, until=period_upper_bound(day or utc_today()))
    snaps = {
        kpi_id: snapshot(catalog.kpis[kpi_id], window, day or utc_today())
        for kpi_id, window in windows.items()
    }
    if day is not None:
        out.print(Text(f"as of {day.isoformat()}", style="bold"))
    out.print(_rich_tree(tree, snaps))


@app.command()
def kpis(
    db: DbOption = None,
    as_of: AsOfOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List KPIs with their latest value, change and target (as of a date with --as-of)."""
    day = as_of_option(as_of)
    with open_store(db) as store:
        if day is not None:
            check_as_of(store, day)
        catalog = store.read_catalog()
        as_of_date = day or utc_today()
        until = period_upper_bound(as_of_date)
        windows = store.latest_windows(2, until=until)
        # As the cockpit shows them: never ok beside a target alert held open.
        open_alerts = (
            store.open_alerts()
            if day is None
            else [a for a in store.alerts_as_of(until) if a.is_open]
        )
    statuses = {
        kpi_id: snap.status
        for kpi_id, snap in with_open_breaches(
            {
                kpi.id: snapshot(kpi, windows.get(kpi.id, []), as_of_date)
                for kpi in catalog.kpis.values()
            },
            open_alerts,
        ).items()
    }
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
                "status": statuses[kpi.id].value,
            }
        )
    if as_json:
        out.print_json(json.dumps(records))
        return
    title = f"KPIs in {store.path}" + (f" as of {day.isoformat()}" if day else "")
    table = Table(title=Text(literal(title)), title_justify="left")
    table.add_column("id", no_wrap=True, overflow="ellipsis", max_width=id_width())
    # Names wrap between words, never inside one, however narrow the terminal.
    table.add_column("name", overflow="ellipsis")
    for column in ("latest", "change", "target"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for kpi in catalog.kpis.values():
        window = windows.get(kpi.id, [])
        value = window[-1][1] if window else None
        previous = window[-2][1] if len(window) > 1 else None
        table.add_row(
            Text(literal(kpi.id), style="bold" if kpi.level is Level.CEO else ""),
            Text(literal(kpi.name)),
            format_value(value, kpi.unit),
            format_change(value, previous, kpi.unit),
            format_value(kpi.target, kpi.unit),
            statuses[kpi.id].value,
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
STATES = tuple(state.value for state in State)


AgentOption = Annotated[
    str | None,
    typer.Option(
        "--agent",
        help="Only the alerts routed to this agent (an agent id of the catalog)",
        show_default=False,
    ),
]


def agent_option(agent: str | None, catalog: Catalog) -> str | None:
    """The ``--agent`` given (after or before the command), checked against the catalog."""
    agent = before_command("agent", agent)
    if agent is not None:
        with reported():
            check_agent(agent, catalog.agents)
    return agent


def alert_record(alert: Alert, catalog: Catalog, routes: Iterable[Route] = ()) -> dict[str, Any]:
    """An alert as JSON, with the same readable texts as the cockpit's alerts screen, and
    where it is routed: ``routed_to`` (agent ids, in route order) and ``routes`` (each with
    the agent's name and the reason)."""
    kpi = catalog.kpis.get(alert.kpi_id or "")
    record = dict(asdict(alert))
    record["severity"] = alert.severity.value
    record["state"] = alert.state.value
    record["subject"] = subject_name(alert, catalog)
    record["needs_attention"] = alert.needs_attention
    record["value_text"] = wording.value_text(alert, kpi)
    record["expected_text"] = wording.expected_text(alert, kpi)
    record["deviation_text"] = wording.deviation_text(alert, kpi)
    record["owner"] = wording.owner_name(alert, catalog)
    record["acknowledgement"] = wording.acknowledgement_text(alert)
    routes = list(routes)
    record["routed_to"] = [route.agent_id for route in routes]
    record["routes"] = [
        {
            "agent_id": route.agent_id,
            "agent": agent.name if (agent := catalog.agents.get(route.agent_id)) else None,
            "reason": route.reason,
        }
        for route in routes
    ]
    return record


def alert_records(store: Store, found: list[Alert], catalog: Catalog) -> list[dict[str, Any]]:
    routes = store.routes_of(a.id for a in found if a.id is not None)
    return [alert_record(a, catalog, routes.get(a.id or 0, ())) for a in found]


def print_alerts(records: list[dict[str, Any]], title: str) -> None:
    """The alerts as a table, worded as on the cockpit's alerts screen. Columns join as the
    terminal widens (expected and owner, then the agents it is routed to, then the detector's
    message): more columns than fit would fold every cell into a word per line. ``--json``
    always has every field."""
    columns = ["id", "severity", "state", "subject", "rule", "value", "deviation"]
    if out.width >= 100:
        columns[6:6] = ["expected"]
        columns.append("owner")
    if out.width >= 120:
        columns.append("routed to")
    if out.width >= 140:
        columns.append("message")
    table = Table(title=Text(title), title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in ("id", "severity"))
    for r in records:
        grouped = f"\n(under #{r['parent_alert_id']})" if r["parent_alert_id"] else ""
        owner = Text(literal(r["owner"]))
        if r["acknowledgement"]:
            owner.append(f"\nacknowledged by {literal(r['acknowledgement'])}", style="dim")
        cells: dict[str, str | Text] = {
            "id": str(r["id"]),
            "severity": r["severity"],
            "state": r["state"] + grouped,
            "subject": Text(literal(r["subject"])),
            "rule": Text(literal(r["rule"])),
            "value": Text(r["value_text"]),
            "expected": Text(r["expected_text"]),
            "deviation": Text(literal(r["deviation_text"])),
            "owner": owner,
            # Agent ids: short, and a catalog's ids are plain words (names are in --json).
            "routed to": Text(literal(" ".join(r["routed_to"]) or "—")),
            "message": Text(literal(r["message"])),
        }
        table.add_row(*(cells[column] for column in columns))
    out.print(table)


@app.command()
def check(
    db: DbOption = None,
    agent: AgentOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Evaluate every rule, print open alerts. Exit status: 0 nothing fires unacknowledged,
    1 an alert fires unacknowledged (with --agent: only the alerts routed to that agent count),
    2 a usage or store error (no store, a damaged, foreign or read-only one)."""
    try:
        _check(db, agent, as_json)
    except (typer.Exit, typer.Abort, click.exceptions.Exit, click.exceptions.ClickException):
        raise
    except Exception as error:
        # Left to Python, a bug would exit 1, which here means "alerts firing".
        traceback.print_exc(file=sys.stderr)
        raise fail(f"check failed unexpectedly: {error}") from error


def _check(db: Path | None, agent: str | None, as_json: bool) -> None:
    with open_store(db) as store:
        catalog = store.read_catalog()
        agent = agent_option(agent, catalog)
        if store.readonly:
            raise fail(
                f"{store.path} is read-only, so nothing could be evaluated or saved; "
                "`intelligentos-tui alerts` lists the alerts as last saved."
            )
        try:
            # Before the notifications, whose watermarks are writes too.
            store.ensure_intact()
            notifier = start_notifications(store)
            result = evaluate_store(store, catalog, utc_now())
        except StoreError as error:
            raise fail(str(error)) from error
        send_notifications(notifier, store, catalog)
        stray = store.stray_observations(after=period_upper_bound(utc_today()))
        found = result.open_alerts
        if agent is not None:
            routed = store.routes_of(a.id for a in found if a.id is not None)
            found = [a for a in found if _routed_to(routed.get(a.id or 0, []), agent)]
        records = alert_records(store, found, catalog)
    attention = sum(1 for r in records if r["needs_attention"])
    if as_json:
        report: dict[str, Any] = {"open": records, "firing_unacknowledged": attention}
        if agent is not None:
            report["agent"] = agent
        if stray:
            report["stray_rows"] = stray.sentences()
        out.print_json(json.dumps(report))
    else:
        routed_to = f" routed to {agent}" if agent else ""
        print_alerts(
            records,
            f"Open alerts{routed_to}: {len(records)}, {attention} firing unacknowledged",
        )
    if stray:
        # Not an error of the job (its exit status stays about alerts), but never silent.
        warn(stray.message())
    if attention:
        raise typer.Exit(CHECK_FIRING)


def _routed_to(routes: Iterable[Route], agent: str) -> bool:
    return any(route.agent_id == agent for route in routes)


@app.command()
def alerts(
    db: DbOption = None,
    state: Annotated[
        list[str] | None,
        typer.Option("--state", help="Only these states (repeatable): " + ", ".join(STATES)),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="As they stood at the end of this day (YYYY-MM-DD), from the event log",
            show_default=False,
        ),
    ] = None,
    agent: AgentOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List alerts (all states unless --state; only those routed to an agent with
    --agent), most severe first; no evaluation."""
    unknown = [s for s in state or () if s not in STATES]
    if unknown:
        raise fail(f"unknown state {unknown[0]!r}; choose from {', '.join(STATES)}.")
    day = as_of_option(as_of)
    with open_store(db) as store:
        catalog = store.read_catalog()
        agent = agent_option(agent, catalog)
        if day is None:
            found = store.alerts(state or None, agent)
        else:
            check_as_of(store, day)
            moment = period_upper_bound(day)
            assert moment is not None
            found = [a for a in store.alerts_as_of(moment) if not state or a.state in state]
            if agent is not None:
                # Routes are set when an alert opens: the past alerts' are today's.
                routed = store.routes_of(a.id for a in found if a.id is not None)
                found = [a for a in found if _routed_to(routed.get(a.id or 0, []), agent)]
        records = alert_records(store, found, catalog)
    if as_json:
        out.print_json(json.dumps(records))
    else:
        title = f"Alerts{f' routed to {agent}' if agent else ''}: {len(records)}" + (
            f" as of {day.isoformat()}" if day else ""
        )
        print_alerts(records, title)


@app.command()
def ack(
    alert_id: Annotated[int, typer.Argument(help="Alert id (see `alerts`)")],
    note: Annotated[str, typer.Option("--note", help="Why, and who owns it (not blank)")],
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Acknowledge an alert: you own it; the flashing stops."""
    try:
        check_note(note)  # before the store is opened: a blank note never gets that far
    except LifecycleError as error:
        raise fail(str(error)) from error
    with open_store(db) as store:
        try:
            store.ensure_intact()
            notifier = start_notifications(store)
            alert = acknowledge_alert(
                store, alert_id, acting_user(before_command("user", user)), note, utc_now()
            )
        except (LifecycleError, StoreError) as error:
            raise fail(str(error)) from error
        send_notifications(notifier, store)
    out.print(Text(f"Alert {alert.id} acknowledged by {literal(alert.acked_by or '')}."))


@app.command()
def snooze(
    alert_id: Annotated[int, typer.Argument(help="Alert id (see `alerts`)")],
    duration: Annotated[
        str, typer.Option("--for", help="How long, e.g. 30m, 4h, 2d, 1w; at most 30d")
    ],
    db: DbOption = None,
    user: UserOption = None,
    note: Annotated[str | None, typer.Option("--note", help="Optional note")] = None,
) -> None:
    """Snooze an acknowledged alert (at most 30 days); it fires again when the snooze ends
    if still true."""
    try:
        length = parse_duration(duration)
    except ValueError as error:
        raise fail(str(error)) from error
    with open_store(db) as store:
        try:
            store.ensure_intact()
            notifier = start_notifications(store)
            alert = snooze_alert(
                store, alert_id, length, acting_user(before_command("user", user)), note, utc_now()
            )
        except (LifecycleError, StoreError) as error:
            raise fail(str(error)) from error
        send_notifications(notifier, store)
    out.print(Text(f"Alert {alert.id} snoozed until {alert.snoozed_until}."))


# --- notifications ---------------------------------------------------------------------------


def warn(message: str) -> None:
    err.print(Text(f"Warning: {literal(message)}"))


def start_notifications(store: Store) -> Notifier | None:
    """The ``[[notify]]`` sinks of the user's config, ready for the events this command is
    about to write (a sink seen for the first time gets those, not the history); one
    ``Warning:`` line per settings problem (a skipped table). None when there is no sink."""
    from intelligentos.config.settings import CockpitSettings, config_file
    from intelligentos.services.notify import Notifier

    settings = CockpitSettings.load()
    for problem in settings.problems:
        warn(problem)
    if not settings.notify or store.readonly:
        return None
    notifier = Notifier(list(settings.notify), source=str(config_file()))
    try:
        notifier.prepare(store)
    except StoreError as error:
        warn(f"No notifications this time: {error}")
        return None
    return notifier


def send_notifications(
    notifier: Notifier | None, store: Store, catalog: Catalog | None = None
) -> None:
    """Deliver what the sinks have not had yet, after the command's transaction; never
    fatal: one ``Warning:`` line per failed or skipped sink, and the command's exit status
    stays its own."""
    from intelligentos.services import notify as service

    if notifier is None:
        return
    try:
        report = notifier.deliver(store, catalog, budget=service.COMMAND_BUDGET_SECONDS)
    except StoreError as error:
        warn(f"Notifications were not sent: {error}")
        return
    for line in report.problems + report.failures:
        warn(line)
    if report.deferred:
        warn(
            f"Not everything reached {', '.join(report.deferred)} within "
            f"{service.COMMAND_BUDGET_SECONDS:g} s; the rest is queued for the next `check` "
            "or the cockpit."
        )


notify_app = typer.Typer(
    help="Notification deliveries: list them, send again what did not get through."
)
app.add_typer(notify_app, name="notify")
SinkOption = Annotated[
    str | None,
    typer.Option("--sink", help="Only this sink: its label as listed, or its #fingerprint"),
]


@notify_app.command("list")
def notify_list(
    db: DbOption = None,
    failed: Annotated[
        bool,
        typer.Option("--failed", help="Only those not delivered (pending, failed, sending)"),
    ] = False,
    sink: SinkOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List notification deliveries, by event: outcome, attempts, last error, next try."""
    from intelligentos.services.notify import next_try, sink_matches
    from intelligentos.store.notify import DELIVERED, PENDING, Deliveries

    with open_store(db) as store:
        log = Deliveries(store)
        found = [d for d in log.log() if sink_matches(d.sink, sink)]
        actions = log.transitions()
    if failed:
        found = [d for d in found if d.outcome != DELIVERED]
    records: list[dict[str, Any]] = []
    for d in found:
        alert_id, action = actions.get(d.event_id, (None, None))
        due = d.outcome == PENDING and d.attempts > 0
        records.append(
            {
                "event_id": d.event_id,
                "alert_id": alert_id,
                "action": action,
                "sink": d.sink,
                "outcome": d.outcome,
                "attempts": d.attempts,
                "detail": d.detail,
                "at": d.at,
                "next_try": stamp(next_try(d)) if due else None,
            }
        )
    if as_json:
        out.print_json(json.dumps(records))
        return
    table = Table(title=Text(f"Deliveries: {len(records)}"), title_justify="left")
    for column in ("event", "alert", "action", "sink", "outcome", "attempts", "last", "next"):
        table.add_column(column, overflow="fold")
    table.add_column("detail", overflow="fold")
    for r in records:
        table.add_row(
            str(r["event_id"]),
            str(r["alert_id"] or "—"),
            Text(literal(r["action"] or "—")),
            Text(literal(r["sink"])),
            r["outcome"],
            str(r["attempts"]),
            r["at"],
            r["next_try"] or "—",
            Text(literal(r["detail"] or "")),
        )
    out.print(table)


@notify_app.command("retry")
def notify_retry(
    db: DbOption = None,
    sink: SinkOption = None,
    event: Annotated[
        int | None, typer.Option("--event", help="Only the delivery of this event id")
    ] = None,
) -> None:
    """Send again now the deliveries that did not get through (pending or failed), to the
    sinks configured now. Exits 1 when some still did not get through."""
    from intelligentos.config.settings import CockpitSettings, config_file
    from intelligentos.services.notify import Notifier, resend, undelivered

    settings = CockpitSettings.load()
    for problem in settings.problems:
        warn(problem)
    with open_store(db) as store:
        if store.readonly:
            raise fail(f"{store.path} is read-only, so nothing could be sent or recorded.")
        waiting = undelivered(store, sink=sink, event_id=event)
        notifier = Notifier(list(settings.notify), source=str(config_file()))
        try:
            resent = resend(store, notifier, waiting, warn, event_id=event)
        except StoreError as error:
            raise fail(f"Notifications were not sent: {error}") from error
    delivered, left, gone = resent.delivered, resent.left, resent.gone
    out.print(f"Re-sent {delivered} notification(s); {left} still not delivered.")
    if left or gone:
        raise typer.Exit(1)


# --- forecasts -------------------------------------------------------------------------------


@app.command()
def forecast(
    db: DbOption = None,
    kpi: Annotated[
        list[str] | None, typer.Option("--kpi", help="Only this KPI id (repeatable)")
    ] = None,
    horizon: Annotated[
        int | None,
        typer.Option(min=1, help="Periods ahead [default: to the end of the current quarter]"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Forecast KPIs with the model their backtest chose; store and print the forecasts."""
    from intelligentos.services.forecast import forecast_many, jobs_for

    today = utc_today()
    with open_store(db) as store:
        catalog = store.read_catalog()
        unknown = [k for k in kpi or () if k not in catalog.kpis]
        if unknown:
            raise fail(f"unknown KPI {unknown[0]!r}; `intelligentos-tui kpis` lists them.")
        chosen = (
            [catalog.kpis[k] for k in dict.fromkeys(kpi)] if kpi else list(catalog.kpis.values())
        )
        jobs = jobs_for(store, chosen, today, horizon)
        with forecast_progress(len(jobs)) as advance:
            results = list(forecast_many(jobs, on_done=advance))
        store.save_forecasts(results, stamp(utc_now()))
    if as_json:
        out.print_json(json.dumps([forecast_record(f) for f in results]))
        return
    table = Table(title=f"Forecasts in {store.path}", title_justify="left")
    for column in ("id", "model", "at horizon", "80 % interval", "verdict"):
        table.add_column(column, overflow="fold" if column == "verdict" else "ellipsis")
    for result in results:
        unit = catalog.kpis[result.kpi_id].unit
        last = result.points[-1] if result.points else None
        table.add_row(
            Text(literal(result.kpi_id)),
            result.model + (" (reliable)" if result.reliable else ""),
            f"{format_value(last.mean, unit)} ({last.period})" if last else "—",
            f"{format_value(last.lo80, unit)} – {format_value(last.hi80, unit)}" if last else "—",
            Text(literal(result.note)),
        )
    out.print(table)


def forecast_record(result: Forecast) -> dict[str, Any]:
    backtest = result.backtest
    return {
        "kpi_id": result.kpi_id,
        "model": result.model,
        "reliable": result.reliable,
        "horizon": result.horizon,
        "season": result.season,
        "based_on": result.based_on,
        "note": result.note,
        "backtest_origins": backtest.origins if backtest else None,
        "mase": backtest.mase if backtest else None,
        "coverage80": backtest.coverage80 if backtest else None,
        "backtest_scores": backtest.scores if backtest else None,
        "points": [
            {
                "period": p.period,
                "mean": p.mean,
                "lo80": p.lo80,
                "hi80": p.hi80,
                "lo95": p.lo95,
                "hi95": p.hi95,
            }
            for p in result.points
        ],
    }


@contextlib.contextmanager
def forecast_progress(total: int) -> Iterator[Callable[[Forecast], None] | None]:
    """A KPI-count progress bar on a terminal, for more than a handful of KPIs."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    if not err.is_terminal or total < 20:
        yield None
        return
    columns = (TextColumn("forecasting"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("forecast", total=total)
        yield lambda _: progress.advance(task)


# --- scenarios -----------------------------------------------------------------------------


def precise_value(value: float, unit: Unit) -> str:
    """``format_value``, but a count keeps two decimals (a lever of 12.7 is not 13)."""
    if unit is Unit.COUNT and abs(value) < 10_000:
        return f"{value:,.2f}"
    return format_value(value, unit)


def signed_change(change: float, unit: Unit, precise: bool = False) -> str:
    """A change in the KPI's unit: points for percentages and scores."""
    if unit in (Unit.PERCENT, Unit.SCORE):
        text = f"{change:+.2f} pt"
    else:
        shown = precise_value if precise else format_value
        text = ("+" if change >= 0 else "-") + shown(abs(change), unit)
    return text.replace("-", "−")


def status_change(before: Status, after: Status) -> Text:
    text = Text(f"{before.glyph} {before.value}")
    if after is not before:
        text.append(f" → {after.glyph} {after.value}", style="bold")
    return text


def projection_record(projection: Projection) -> dict[str, Any]:
    return {
        "id": projection.kpi.id,
        "name": projection.kpi.name,
        "current": projection.current,
        "projected": projection.projected,
        "status": projection.status.value,
        "projected_status": projection.projected_status.value,
        "clamped": projection.clamped,
        "lever": projection.is_lever,
    }


def goal_seek_record(seek: GoalSeek, goal_now: float | None, as_of: date) -> dict[str, Any]:
    from intelligentos.domain.whatif.model import MODEL_NOTE

    record: dict[str, Any] = {
        "model": MODEL_NOTE,
        "as_of": as_of.isoformat(),
        "goal": seek.goal.id,
        "goal_current": goal_now,
        "target": seek.goal.target,
        "lever": seek.lever.id,
        "current": seek.current,
        "required": seek.required,
        "change": seek.change,
        "reachable": seek.reachable,
        "met": seek.met,
        "reason": seek.reason,
    }
    if seek.required is None:
        del record["required"], record["change"]
    return record


@app.command()
def whatif(
    levers: Annotated[
        list[str] | None,
        typer.Argument(
            help="KPI_ID=VALUE, KPI_ID+=D, KPI_ID-=D (points for percentages), "
            "KPI_ID+=P% or KPI_ID-=P% (relative)",
            show_default=False,
        ),
    ] = None,
    goal: Annotated[
        str | None,
        typer.Option("--goal", help="Goal seek: the KPI that must reach its target"),
    ] = None,
    lever: Annotated[
        str | None, typer.Option("--lever", help="Goal seek: the KPI below the goal to move")
    ] = None,
    db: DbOption = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Start from the latest values up to this date [default: today]"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """What if some KPIs moved? Project every KPI above them up to the CEO KPIs, or find
    the lever value that brings a goal to its target (catalog weights, linear). Nothing is
    written."""
    # Imported here, not at the top: every command (and the cockpit) loads this module.
    from intelligentos.domain.whatif.model import (
        MODEL_NOTE,
        MissingValue,
        ScenarioError,
        parse_levers,
        simulate,
    )

    given = as_of_option(as_of)
    day = given or utc_today()
    seeking = goal is not None or lever is not None
    if seeking and levers:
        raise fail("give levers, or --goal with --lever, not both.")
    if seeking and (goal is None or lever is None):
        raise fail("goal seek needs both --goal KPI_ID and --lever KPI_ID.")
    if not seeking and not levers:
        raise fail(
            "give at least one lever (KPI_ID=VALUE, KPI_ID+=D, KPI_ID-=D, KPI_ID+=P%), "
            "or --goal KPI_ID --lever KPI_ID."
        )
    try:
        parsed = parse_levers(levers or ())  # bad text fails before the store is opened
    except ScenarioError as error:
        raise fail(f"{error}.") from error
    with open_store(db) as store:
        catalog = store.read_catalog()
        wanted = [goal, lever] if seeking else [p.kpi_id for p in parsed]
        unknown = [k for k in wanted if k is not None and k not in catalog.kpis]
        if unknown:
            raise fail(f"unknown KPI {unknown[0]!r}; `intelligentos-tui kpis` lists them.")
        if given is not None:
            check_as_of(store, given)
        windows = store.latest_windows(1, until=period_upper_bound(day))
    current = {kpi_id: window[-1][1] if window else None for kpi_id, window in windows.items()}
    if goal is not None and lever is not None:
        whatif_goal_seek(catalog, goal, lever, current, day, as_json)
        return
    try:
        outcome = simulate(catalog, parsed, current)
    except MissingValue as error:
        raise fail(f"{error} as of {day.isoformat()}.") from error
    except ScenarioError as error:
        raise fail(f"{error}.") from error
    if as_json:
        record = {
            "model": MODEL_NOTE,
            "as_of": day.isoformat(),
            "levers": [p.text for p in parsed],
            "kpis": [projection_record(p) for p in outcome.kpis],
        }
        out.print_json(json.dumps(record))
        return
    levers_text = ", ".join(p.text for p in parsed)
    table = Table(
        title=Text(literal(f"What if {levers_text} ({MODEL_NOTE}), as of {day.isoformat()}")),
        title_justify="left",
    )
    with_ids = out.width >= 110  # ids join when there is room; names always show
    if with_ids:
        table.add_column("id", no_wrap=True, overflow="ellipsis", max_width=id_width())
    # Names wrap between words, never inside one, however narrow the terminal.
    table.add_column("KPI", overflow="fold", min_width=12)
    for column in ("current", "projected", "change"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("status", overflow="fold")
    table.add_column("note", overflow="fold")
    for projection in outcome.kpis:
        kpi = projection.kpi
        notes = (["lever"] if projection.is_lever else []) + (
            ["clamped"] if projection.clamped else []
        )
        cells: list[str | Text] = [
            Text(literal(kpi.name), style="bold" if kpi.level is Level.CEO else ""),
            format_value(projection.current, kpi.unit),
            format_value(projection.projected, kpi.unit),
            signed_change(projection.change, kpi.unit),
            status_change(projection.status, projection.projected_status),
            ", ".join(notes),
        ]
        if with_ids:
            cells.insert(0, Text(literal(kpi.id)))
        table.add_row(*cells)
    out.print(table)
    if any(p.clamped for p in outcome.kpis):
        out.print(Text("clamped: the model's value left the unit's plausible range.", style="dim"))


def whatif_goal_seek(
    catalog: Catalog,
    goal_id: str,
    lever_id: str,
    current: Mapping[str, float | None],
    day: date,
    as_json: bool,
) -> None:
    from intelligentos.domain.whatif.model import MODEL_NOTE, MissingValue, ScenarioError, goal_seek
    from intelligentos.services.whatif import goal_seek_text

    try:
        seek = goal_seek(catalog, goal_id, lever_id, current)
    except MissingValue as error:
        raise fail(f"{error} as of {day.isoformat()}.") from error
    except ScenarioError as error:
        raise fail(f"{error}.") from error
    goal, lever = seek.goal, seek.lever
    if as_json:
        out.print_json(json.dumps(goal_seek_record(seek, current.get(goal.id), day)))
    if seek.met and seek.reachable:
        # Already there is an answer, not a failure: the screen says the same words.
        if not as_json:
            line = f"Goal seek ({MODEL_NOTE}), as of {day.isoformat()}: {goal_seek_text(seek)}."
            out.print(Text(literal(line)))
        return
    if not seek.reachable or seek.required is None:
        raise fail(
            f"{lever.name} ({lever.id}) cannot bring {goal.name} ({goal.id}) to its target "
            f"under the model: {seek.reason}."
        )
    if as_json:
        return
    change = signed_change(seek.required - seek.current, lever.unit, precise=True)
    out.print(
        Text(
            literal(
                f"Goal seek ({MODEL_NOTE}), as of {day.isoformat()}: {goal.name} "
                f"({format_value(current.get(goal.id), goal.unit)} now) reaches its target "
                f"{format_value(goal.target, goal.unit)} when {lever.name} moves from "
                f"{precise_value(seek.current, lever.unit)} to "
                f"{precise_value(seek.required, lever.unit)} ({change}; {seek.reason})."
            )
        )
    )


# --- the brief -----------------------------------------------------------------------------


@app.command()
def brief(
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
    from intelligentos.config.paths import write_atomically
    from intelligentos.domain.brief.compose import BriefError
    from intelligentos.domain.brief.render import FORMATS, render
    from intelligentos.services.brief import make_brief

    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; use md, html or json.")
    given = as_of_option(as_of)
    day = given or utc_today()
    with open_store(db) as store:
        if given is not None:
            check_as_of(store, given)
        try:
            made = make_brief(store, day, agent)
        except BriefError as error:
            raise fail(f"{error}.") from error
    text = render(made, fmt)
    if out_path is None:
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.flush()
        return
    try:
        size = write_atomically(out_path, text, private=False)
    except OSError as error:
        reason = error.strerror or str(error)
        raise fail(f"cannot write {out_path}: {reason}; nothing was written.") from error
    err.print(Text(literal(f"Wrote the brief ({fmt}, {size:,} bytes) to {out_path}.")))


@app.command("import")
def import_observations(
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
    from intelligentos.services.imports import (
        DECIMALS,
        DELIMITERS,
        Layout,
        import_files,
        total_size,
    )

    if delimiter is not None and delimiter not in DELIMITERS:
        raise fail(f"unknown delimiter {delimiter!r}; use , ; tab or |.")
    if decimal is not None and decimal not in DECIMALS:
        raise fail(f"unknown decimal mark {decimal!r}; use . or ,.")
    layout = Layout(DELIMITERS[delimiter] if delimiter else None, decimal, wide)
    with open_store(db) as store:
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
    counts, staged = report.counts, report.rows
    verb = "would be" if dry_run else ("was" if counts.inserted == 1 else "were")
    out.print(
        Text(
            f"{plural(staged, 'valid row')} in {plural(len(files), 'file')}: "
            f"{counts.inserted:,} {verb} inserted, {counts.updated:,} updated, "
            f"{counts.unchanged:,} unchanged."
            + (" Dry run: nothing was written." if dry_run else "")
        )
    )


@contextlib.contextmanager
def import_progress(total_bytes: int) -> Iterator[Callable[[int], None] | None]:
    """A byte-based progress bar on a terminal; nothing when output is redirected."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    if not err.is_terminal or total_bytes < 1 << 20:
        yield None
        return
    columns = (TextColumn("importing"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("import", total=total_bytes)
        yield lambda count: progress.advance(task, count)


export_app = typer.Typer(help="Export observations or alerts (with their events).")
app.add_typer(export_app, name="export")
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


@export_app.command("observations")
def export_observations(
    db: DbOption = None,
    kpi: Annotated[str | None, typer.Option("--kpi", help="Only this KPI id")] = None,
    since: Annotated[str | None, typer.Option("--from", help="First period (inclusive)")] = None,
    until: Annotated[str | None, typer.Option("--to", help="Last period (inclusive)")] = None,
    fmt: ExportFormat = "csv",
    out_path: OutOption = None,
) -> None:
    """Observations, streamed, in (kpi_id, period) order; the CSV re-imports as is."""
    from intelligentos.services.export import FORMATS, OBSERVATION_COLUMNS, is_period, write_records

    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; use csv, json or jsonl.")
    for option, value in (("--from", since), ("--to", until)):
        if value is not None and not is_period(value):
            raise fail(f"{option} must be a date or date-time like 2026-11-27, not {value!r}.")
    with open_store(db) as store:
        if kpi is not None and kpi not in store.kpi_ids():
            raise fail(f"unknown KPI {kpi!r}; `intelligentos-tui kpis` lists them.")
    with open_store(db) as store, output_stream(out_path) as handle:
        count = write_records(
            store.iter_observations(kpi, since, period_upper_bound(until)),
            OBSERVATION_COLUMNS,
            fmt,
            handle,
        )
    if out_path is not None:
        err.print(Text(f"Exported {plural(count, 'observation')} to {out_path}."))


@export_app.command("alerts")
def export_alerts(
    db: DbOption = None, fmt: ExportFormat = "json", out_path: OutOption = None
) -> None:
    """Every alert with its event history (CSV: one row per event)."""
    from intelligentos.services.export import FORMATS, alert_records, write_records

    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; use csv, json or jsonl.")
    with open_store(db) as store:
        records, names = alert_records(store, fmt)
    with output_stream(out_path) as handle:
        count = write_records(records, names, fmt, handle)
    if out_path is not None:
        err.print(Text(f"Exported {count:,} record(s) to {out_path}."))


@app.command("sync-catalog")
def sync_catalog_command(
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
    from intelligentos.services.catalog import SyncError, sync_store_catalog

    with open_store(db) as store:
        try:
            synced = sync_store_catalog(store, catalog, utc_now(), prune=prune, force=force)
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
    directory, report = synced.directory, synced.report
    out.print(
        Text(
            f"Catalog synced from {directory}: {plural(report.kept, 'KPI')} kept, "
            f"{len(report.added)} added"
            + (f" ({', '.join(report.added)})" if report.added else "")
            + f", {len(report.removed)} removed"
            + (
                f" ({', '.join(report.removed)}; "
                f"{plural(report.pruned_observations, 'observation')} deleted)"
                if report.removed
                else ""
            )
            + (
                f"; {plural(report.resolved_alerts, 'open alert')} of removed KPIs resolved"
                if report.resolved_alerts
                else ""
            )
            + (
                f"; {plural(report.rerouted_alerts, 'open alert')} routed anew"
                if report.rerouted_alerts
                else ""
            )
            + "."
        )
    )
    for kpi_id, changes in itertools.groupby(report.changes, key=lambda c: c.kpi_id):
        described = "; ".join(change.describe() for change in changes)
        out.print(Text(literal(f"  {kpi_id}: {described}")))
    if synced.rejudged:
        out.print(
            Text(
                f"  {plural(synced.rejudged, 'open alert')} judged again under the new "
                f"definitions: {synced.rejudged - synced.still_open} resolved, "
                f"{synced.still_open} still open (acknowledgements kept)."
            )
        )


def main() -> None:
    app()
