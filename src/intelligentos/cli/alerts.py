"""``check``, ``alerts``, ``ack`` and ``snooze``: evaluating the rules, listing the alerts,
and an alert's lifecycle."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from intelligentos.cli.notify import send_notifications, start_notifications
from intelligentos.cli.options import (
    CHECK_FIRING,
    AgentOption,
    CommandError,
    DbOption,
    JsonOption,
    Shared,
    UserOption,
    fail,
)
from intelligentos.domain.alerts import State
from intelligentos.tui.launch import LaunchError

if TYPE_CHECKING:
    from intelligentos.domain.agents import Route
    from intelligentos.domain.alerts import Alert
    from intelligentos.domain.catalog import Catalog
    from intelligentos.services.alerts import AlertService
    from intelligentos.store import Store

STATES = tuple(state.value for state in State)
T = TypeVar("T")

IncidentOption = Annotated[
    int | None,
    typer.Option(
        "--incident",
        help="Act on this incident's alerts instead of one alert (see `alerts`)",
        show_default=False,
    ),
]


def alert_records(store: Store, found: list[Alert], catalog: Catalog) -> list[dict[str, Any]]:
    from intelligentos.cli.render import alert_record

    routes = store.routes_of(a.id for a in found if a.id is not None)
    return [alert_record(a, catalog, routes.get(a.id or 0, ())) for a in found]


def routed_to(store: Store, found: list[Alert], agent: str) -> list[Alert]:
    """The alerts of ``found`` routed to ``agent``."""
    routed = store.routes_of(a.id for a in found if a.id is not None)
    return [a for a in found if _routed_to(routed.get(a.id or 0, []), agent)]


def _routed_to(routes: Iterable[Route], agent: str) -> bool:
    return any(route.agent_id == agent for route in routes)


def check(
    ctx: typer.Context,
    db: DbOption = None,
    agent: AgentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate every rule, print open alerts. Exit status: 0 nothing fires unacknowledged,
    1 an alert fires unacknowledged (with --agent: only the alerts routed to that agent count),
    2 a usage or store error (no store, a damaged, foreign or read-only one)."""
    import click

    try:
        _check(Shared.of(ctx), db, agent, as_json)
    except (
        CommandError,
        LaunchError,
        typer.Exit,
        typer.Abort,
        click.exceptions.Exit,
        click.exceptions.ClickException,
    ):
        raise
    except Exception as error:
        # Left to Python, a bug would exit 1, which here means "alerts firing".
        traceback.print_exc(file=sys.stderr)
        raise fail(f"check failed unexpectedly: {error}") from error


def _check(shared: Shared, db: Path | None, agent: str | None, as_json: bool) -> None:
    # Imported here, not at the top: the command line loads every command's module.
    from intelligentos.cli.render import check_report, print_alerts, print_json, warn
    from intelligentos.domain.clock import period_upper_bound, utc_now, utc_today
    from intelligentos.services.check import evaluate_store
    from intelligentos.store import StoreError

    with shared.open_store(db) as store:
        catalog = store.read_catalog()
        agent = shared.agent_of(agent, catalog)
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
            found = routed_to(store, found, agent)
        records = alert_records(store, found, catalog)
    attention = sum(1 for r in records if r["needs_attention"])
    if as_json:
        print_json(check_report(records, attention, agent, stray.sentences() if stray else None))
    else:
        routed = f" routed to {agent}" if agent else ""
        print_alerts(
            records,
            f"Open alerts{routed}: {len(records)}, {attention} firing unacknowledged",
        )
    if stray:
        # Not an error of the job (its exit status stays about alerts), but never silent.
        warn(stray.message())
    if attention:
        raise typer.Exit(CHECK_FIRING)


def alerts(
    ctx: typer.Context,
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
    history: Annotated[
        int | None,
        typer.Option(
            "--history",
            help="Instead: this alert's event log (who did what, when, and their notes)",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List incidents, each with its alerts (all states unless --state; only those routed to
    an agent with --agent), most severe first; no evaluation. --history ID: an alert's log."""
    from intelligentos.cli.render import print_json
    from intelligentos.cli.render_alerts import incident_record, print_incidents
    from intelligentos.domain.clock import period_upper_bound
    from intelligentos.services.incidents import listed_incidents
    from intelligentos.tui.launch import check_as_of

    unknown = [s for s in state or () if s not in STATES]
    if unknown:
        raise fail(f"unknown state {unknown[0]!r}; choose from {', '.join(STATES)}.")
    shared = Shared.of(ctx)
    day = shared.day(as_of)
    if history is not None:
        _history(shared, db, history, as_json)
        return
    moment = None
    with shared.open_store(db) as store:
        catalog = store.read_catalog()
        agent = shared.agent_of(agent, catalog)
        if day is None:
            found = store.alerts(state or None, agent)
        else:
            check_as_of(store, day)
            moment = period_upper_bound(day)
            assert moment is not None
            found = [a for a in store.alerts_as_of(moment) if not state or a.state in state]
            if agent is not None:
                # Routes are set when an alert opens: the past alerts' are today's.
                found = routed_to(store, found, agent)
        records = alert_records(store, found, catalog)
        incidents = [
            incident_record(incident, records, catalog)
            for incident in listed_incidents(store, found, moment)
        ]
    if as_json:
        print_json({"incidents": incidents, "alerts": records})
    else:
        title = (
            f"Alerts{f' routed to {agent}' if agent else ''}: {len(records)} in "
            f"{len(incidents)} incident{'' if len(incidents) == 1 else 's'}"
            + (f" as of {day.isoformat()}" if day else "")
        )
        print_incidents(incidents, records, title)


def _history(shared: Shared, db: Path | None, alert_id: int, as_json: bool) -> None:
    from dataclasses import asdict

    from intelligentos.cli.render import print_json
    from intelligentos.cli.render_alerts import print_events

    with shared.open_store(db) as store:
        if store.alert(alert_id) is None:
            raise fail(f"there is no alert {alert_id}.")
        events = store.alert_events(alert_id)
    if as_json:
        print_json([asdict(event) for event in events])
    else:
        print_events(events, f"Alert {alert_id}: {len(events)} events")


def change_alert(
    ctx: typer.Context,
    db: Path | None,
    user: str | None,
    change: Callable[[Store, str], T],
) -> T:
    """A person's change to an alert or an incident (acknowledge, snooze, take back, note,
    assign, resolve), in the store at ``db`` as the acting user, then sent to the
    notification sinks; a refused change, a user the config does not allow or a damaged
    store is one Error: sentence."""
    from intelligentos.domain.alerts import LifecycleError
    from intelligentos.store import StoreError

    shared = Shared.of(ctx)
    actor = shared.actor(user)
    with shared.open_store(db) as store:
        try:
            store.ensure_intact()
            notifier = start_notifications(store)
            alert = change(store, actor)
        except (LifecycleError, StoreError) as error:
            raise fail(str(error)) from error
        send_notifications(notifier, store)
    return alert


def ack(
    ctx: typer.Context,
    note: Annotated[str, typer.Option("--note", help="Why, and who owns it (not blank)")],
    alert_id: Annotated[
        int | None, typer.Argument(help="Alert id (see `alerts`)", show_default=False)
    ] = None,
    db: DbOption = None,
    user: UserOption = None,
    incident: IncidentOption = None,
) -> None:
    """Acknowledge an alert (or with --incident, an incident's firing alerts): you own it;
    the flashing stops."""
    from rich.text import Text

    from intelligentos.cli.render import out
    from intelligentos.domain.alerts import LifecycleError, check_note
    from intelligentos.domain.clock import utc_now
    from intelligentos.domain.formatting import literal
    from intelligentos.services.check import acknowledge_alert

    try:
        check_note(note)  # before the store is opened: a blank note never gets that far
    except LifecycleError as error:
        raise fail(str(error)) from error
    if one_target(alert_id, incident) is None:
        assert incident is not None
        actor = on_incident(
            ctx,
            db,
            user,
            lambda service, who: service.acknowledge_incident(incident, who, note, utc_now()),
        )
        out.print(Text(f"Incident {incident} acknowledged by {literal(actor)}."))
        return
    assert alert_id is not None
    alert = change_alert(
        ctx,
        db,
        user,
        lambda store, actor: acknowledge_alert(store, alert_id, actor, note, utc_now()),
    )
    out.print(Text(f"Alert {alert.id} acknowledged by {literal(alert.acked_by or '')}."))


def snooze(
    ctx: typer.Context,
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
    from rich.text import Text

    from intelligentos.cli.render import out
    from intelligentos.domain.alerts import parse_duration
    from intelligentos.domain.clock import utc_now
    from intelligentos.services.check import snooze_alert

    try:
        length = parse_duration(duration)
    except ValueError as error:
        raise fail(str(error)) from error
    alert = change_alert(
        ctx,
        db,
        user,
        lambda store, actor: snooze_alert(store, alert_id, length, actor, note, utc_now()),
    )
    out.print(Text(f"Alert {alert.id} snoozed until {alert.snoozed_until}."))


def one_target(alert_id: int | None, incident: int | None) -> int | None:
    """The alert id, or None when acting on ``incident``; exactly one of them is given, or
    one sentence."""
    if (alert_id is None) == (incident is None):
        raise fail("give an alert id or --incident N (one of them).")
    return alert_id


def on_incident(
    ctx: typer.Context,
    db: Path | None,
    user: str | None,
    action: Callable[[AlertService, str], list[str]],
) -> str:
    """Apply ``action`` to an incident's alerts as the acting user (whom it returns); its
    problems are one Error: sentence."""
    from intelligentos.services.alerts import AlertService

    def apply(store: Store, actor: str) -> str:
        problems = action(AlertService(store), actor)
        if problems:
            raise fail("; ".join(problems) + ".")
        return actor

    return change_alert(ctx, db, user, apply)
