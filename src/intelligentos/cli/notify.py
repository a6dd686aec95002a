"""Notifications: what a command that changes alerts sends afterwards, and ``notify run``,
``notify status`` and ``notify resend``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from intelligentos.cli.options import DbOption, JsonOption, Shared, fail

if TYPE_CHECKING:
    from intelligentos.domain.catalog import Catalog
    from intelligentos.services.notify import Notifier
    from intelligentos.store import Store


def start_notifications(store: Store) -> Notifier | None:
    """The ``[[notify]]`` sinks of the user's config, ready for the notices this command is
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
    """Send what is due, after the command's transaction, for at most
    :data:`~intelligentos.services.notify.COMMAND_BUDGET_SECONDS` (what is not sent stays in
    the outbox for `notify run` or the cockpit); never fatal: one ``Warning:`` line per
    failed delivery or skipped sink, and the command's exit status stays its own."""
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
            f"{service.COMMAND_BUDGET_SECONDS:g} s; the rest waits in the outbox for "
            "`notify run` or the cockpit."
        )


app = typer.Typer(
    help="Notification deliveries: send what is due, list what did not get through, re-send."
)
SinkOption = Annotated[
    str | None,
    typer.Option("--sink", help="Only this sink: its label as listed, or its #fingerprint"),
]


def _notifier(store: Store) -> Notifier:
    from intelligentos.cli.render import warn
    from intelligentos.config.settings import CockpitSettings, config_file
    from intelligentos.services.notify import Notifier

    settings = CockpitSettings.load()
    for problem in settings.problems:
        warn(problem)
    if store.readonly:
        raise fail(f"{store.path} is read-only, so nothing could be sent or recorded.")
    return Notifier(list(settings.notify), source=str(config_file()))


@app.command("run")
def notify_run(ctx: typer.Context, db: DbOption = None) -> None:
    """Send every notification that is due (for cron): the new ones and the retries whose
    backoff has passed. Exits 1, with a sentence each, when something did not get through
    or a sink had a problem (skipped, held back from a demo store, a template's fallback)."""
    from intelligentos.cli.render import out, warn
    from intelligentos.domain.outbox import DEAD, PENDING
    from intelligentos.services.notify import status
    from intelligentos.store import StoreError

    with Shared.of(ctx).open_store(db) as store:
        notifier = _notifier(store)
        try:
            report = notifier.deliver(store)
        except StoreError as error:
            raise fail(f"Notifications were not sent: {error}") from error
        left = [e.state for e in status(store)]
    for line in report.problems + report.failures:
        warn(line)
    out.print(
        f"Sent {report.delivered} notification(s); {report.undelivered} did not get through; "
        f"{left.count(PENDING)} wait for a later try, {left.count(DEAD)} dead "
        "(`notify status` lists them)."
    )
    if report.failures or report.problems:
        raise typer.Exit(1)


@app.command("status")
def notify_status(
    ctx: typer.Context, db: DbOption = None, sink: SinkOption = None, as_json: JsonOption = False
) -> None:
    """List the deliveries that did not get through: pending (failed, to be retried), being
    sent, and dead; with attempts, next try and last error."""
    from intelligentos.cli.render import delivery_record, print_deliveries, print_json
    from intelligentos.services.notify import status

    with Shared.of(ctx).open_store(db) as store:
        records: list[dict[str, Any]] = [
            delivery_record(entry, store.notice(entry.notice_id)) for entry in status(store, sink)
        ]
    if as_json:
        print_json(records)
        return
    print_deliveries(records)


@app.command("resend")
def notify_resend(
    ctx: typer.Context,
    delivery: Annotated[
        int | None, typer.Argument(help="The delivery's id, as `notify status` lists it")
    ] = None,
    dead: Annotated[bool, typer.Option("--dead", help="Every dead delivery")] = False,
    db: DbOption = None,
    sink: SinkOption = None,
) -> None:
    """Send again now a delivery (by its id) or every dead one, whatever its backoff, to the
    sinks configured now. Exits 1 when some still did not get through."""
    from intelligentos.cli.render import out, warn
    from intelligentos.domain.outbox import DEAD, DELIVERED
    from intelligentos.services.notify import status
    from intelligentos.store import StoreError

    if (delivery is None) == (not dead):
        raise fail("Say what to re-send: a delivery's id, or --dead.")
    with Shared.of(ctx).open_store(db) as store:
        notifier = _notifier(store)
        if dead:
            chosen = [e for e in status(store, sink) if e.state == DEAD]
        else:
            chosen = [e for e in store.outbox() if e.id == delivery]
            if not chosen:
                raise fail(f"There is no delivery {delivery}; `notify status` lists them.")
            if chosen[0].state == DELIVERED:
                raise fail(f"Delivery {delivery} got through already; nothing was re-sent.")
        try:
            report = notifier.resend(store, chosen)
        except StoreError as error:
            raise fail(f"Notifications were not sent: {error}") from error
    for line in report.problems + report.failures:
        warn(line)
    out.print(
        f"Re-sent {report.delivered} notification(s); {report.undelivered} still not delivered."
    )
    if report.undelivered:
        raise typer.Exit(1)
