"""Notifications: the deliveries a command that writes alert events sends afterwards, and
``notify list`` / ``notify retry``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from intelligentos.cli.options import DbOption, JsonOption, Shared, fail

if TYPE_CHECKING:
    from intelligentos.domain.catalog import Catalog
    from intelligentos.services.notify import Notifier
    from intelligentos.store import Store


def start_notifications(store: Store) -> Notifier | None:
    """The ``[[notify]]`` sinks of the user's config, ready for the events this command is
    about to write (a sink seen for the first time gets those, not the history); one
    ``Warning:`` line per settings problem (a skipped table). None when there is no sink."""
    from intelligentos.cli.render import warn
    from intelligentos.config.settings import CockpitSettings, config_file
    from intelligentos.services.notify import Notifier
    from intelligentos.store import StoreError

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
    from intelligentos.cli.render import warn
    from intelligentos.services import notify as service
    from intelligentos.store import StoreError

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


app = typer.Typer(help="Notification deliveries: list them, send again what did not get through.")
SinkOption = Annotated[
    str | None,
    typer.Option("--sink", help="Only this sink: its label as listed, or its #fingerprint"),
]


@app.command("list")
def notify_list(
    ctx: typer.Context,
    db: DbOption = None,
    failed: Annotated[
        bool,
        typer.Option("--failed", help="Only those not delivered (pending, failed, sending)"),
    ] = False,
    sink: SinkOption = None,
    as_json: JsonOption = False,
) -> None:
    """List notification deliveries, by event: outcome, attempts, last error, next try."""
    from intelligentos.cli.render import delivery_record, print_deliveries, print_json
    from intelligentos.domain.clock import stamp
    from intelligentos.services.notify import next_try, sink_matches
    from intelligentos.store.notify import DELIVERED, PENDING, Deliveries

    with Shared.of(ctx).open_store(db) as store:
        log = Deliveries(store)
        found = [d for d in log.log() if sink_matches(d.sink, sink)]
        actions = log.transitions()
    if failed:
        found = [d for d in found if d.outcome != DELIVERED]
    records: list[dict[str, Any]] = []
    for d in found:
        alert_id, action = actions.get(d.event_id, (None, None))
        due = d.outcome == PENDING and d.attempts > 0
        records.append(delivery_record(d, alert_id, action, stamp(next_try(d)) if due else None))
    if as_json:
        print_json(records)
        return
    print_deliveries(records)


@app.command("retry")
def notify_retry(
    ctx: typer.Context,
    db: DbOption = None,
    sink: SinkOption = None,
    event: Annotated[
        int | None, typer.Option("--event", help="Only the delivery of this event id")
    ] = None,
) -> None:
    """Send again now the deliveries that did not get through (pending or failed), to the
    sinks configured now. Exits 1 when some still did not get through."""
    from intelligentos.cli.render import out, warn
    from intelligentos.config.settings import CockpitSettings, config_file
    from intelligentos.services.notify import Notifier, resend, undelivered
    from intelligentos.store import StoreError

    settings = CockpitSettings.load()
    for problem in settings.problems:
        warn(problem)
    with Shared.of(ctx).open_store(db) as store:
        if store.readonly:
            raise fail(f"{store.path} is read-only, so nothing could be sent or recorded.")
        waiting = undelivered(store, sink=sink, event_id=event)
        notifier = Notifier(list(settings.notify), source=str(config_file()))
        try:
            resent = resend(store, notifier, waiting, warn, event_id=event)
        except StoreError as error:
            raise fail(f"Notifications were not sent: {error}") from error
    out.print(f"Re-sent {resent.delivered} notification(s); {resent.left} still not delivered.")
    if resent.left or resent.gone:
        raise typer.Exit(1)
