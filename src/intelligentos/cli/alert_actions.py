"""``unack``, ``note``, ``assign`` and ``resolve``: what else a person does to an alert, or with
``--incident`` to an incident's alerts; each an event in the alert's log, as the acting user
(see ``--user``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from intelligentos.cli.alerts import IncidentOption, change_alert, on_incident, one_target
from intelligentos.cli.options import DbOption, UserOption, fail

if TYPE_CHECKING:
    from datetime import datetime

    from intelligentos.domain.alerts import Alert
    from intelligentos.services.alerts import AlertService
    from intelligentos.store import Store

AlertArgument = Annotated[
    int | None, typer.Argument(help="Alert id (see `alerts`)", show_default=False)
]
NoteOption = Annotated[str, typer.Option("--note", help="Why (not blank)")]


def _act(
    ctx: typer.Context,
    db: Path | None,
    user: str | None,
    target: tuple[int | None, int | None],
    one: Callable[[Store, int, str, datetime], Alert],
    many: Callable[[AlertService, int, str, datetime], list[str]],
    done: str,
) -> None:
    """One alert (``one``) or, for ``target`` = (None, incident id), an incident's alerts
    (``many``); then ``done`` (with ``{what}`` and ``{actor}``) on standard output."""
    from rich.text import Text

    from intelligentos.cli.render import out
    from intelligentos.domain.clock import utc_now
    from intelligentos.domain.formatting import literal

    alert_id, incident = target
    if one_target(alert_id, incident) is None:
        assert incident is not None
        actor = on_incident(
            ctx, db, user, lambda service, who: many(service, incident, who, utc_now())
        )
        what = f"incident {incident}"
    else:
        assert alert_id is not None

        def apply(store: Store, who: str) -> str:
            one(store, alert_id, who, utc_now())
            return who

        actor = change_alert(ctx, db, user, apply)
        what = f"alert {alert_id}"
    said = done.format(what=what, actor=literal(actor))
    out.print(Text(said[:1].upper() + said[1:]))


def _text(
    first: str | None, second: str | None, incident: int | None, what: str
) -> tuple[int | None, str | None]:
    """``ID VALUE``, or with --incident just ``VALUE``: the alert id (None with --incident)
    and the value (a note's text, an agent id)."""
    if incident is not None:
        if second is not None:
            raise fail(f"with --incident, give only the {what} (no alert id).")
        return None, first
    if first is None:
        return None, None
    try:
        return int(first), second
    except ValueError:
        raise fail(f"{first!r} is not an alert id; give the alert id, then the {what}.") from None


def unack(
    ctx: typer.Context,
    note: NoteOption,
    alert_id: AlertArgument = None,
    db: DbOption = None,
    user: UserOption = None,
    incident: IncidentOption = None,
) -> None:
    """Take an acknowledgement (or a snooze) back: the alert fires again, owned by nobody;
    the note says why. With --incident, the incident's acknowledged and snoozed alerts."""
    from intelligentos.services.check import unacknowledge_alert

    _act(
        ctx,
        db,
        user,
        (alert_id, incident),
        lambda store, target, who, now: unacknowledge_alert(store, target, who, note, now),
        lambda service, target, who, now: service.unacknowledge_incident(target, who, note, now),
        "{what} fires again: acknowledgement taken back by {actor}.",
    )


def note(
    ctx: typer.Context,
    alert_id: Annotated[
        str | None,
        typer.Argument(
            help="Alert id (see `alerts`); with --incident, the note", show_default=False
        ),
    ] = None,
    text: Annotated[str | None, typer.Argument(help="The note", show_default=False)] = None,
    note_option: Annotated[
        str | None, typer.Option("--note", help="The note (instead of TEXT)", show_default=False)
    ] = None,
    db: DbOption = None,
    user: UserOption = None,
    incident: IncidentOption = None,
) -> None:
    """Add a follow-up note to an alert's log (what was found, what was done); its state does
    not change. With --incident, to the incident's open alerts."""
    from intelligentos.services.check import note_alert

    target, written = _text(alert_id, text, incident, "note")
    if written is not None and note_option is not None:
        raise fail("give the note once: as TEXT or with --note.")
    said = note_option if written is None else written
    if said is None:
        raise fail("a note is required: give it as TEXT or with --note.")
    _act(
        ctx,
        db,
        user,
        (target, incident),
        lambda store, target, who, now: note_alert(store, target, who, said, now),
        lambda service, target, who, now: service.add_note_incident(target, who, said, now),
        "Note added to {what} by {actor}.",
    )


def assign(
    ctx: typer.Context,
    alert_id: Annotated[
        str | None,
        typer.Argument(
            help="Alert id (see `alerts`); with --incident, the agent", show_default=False
        ),
    ] = None,
    agent_id: Annotated[
        str | None, typer.Argument(help="The agent's id (see `kpis --agents`)", show_default=False)
    ] = None,
    db: DbOption = None,
    user: UserOption = None,
    incident: IncidentOption = None,
) -> None:
    """Assign an alert to one of the catalog's agents. With --incident, the incident's open
    alerts."""
    from intelligentos.services.check import assign_alert

    target, agent = _text(alert_id, agent_id, incident, "agent")
    if agent is None:
        raise fail("name the agent to assign it to (an agent id of the catalog).")
    _act(
        ctx,
        db,
        user,
        (target, incident),
        lambda store, target, who, now: assign_alert(store, target, agent, who, now),
        lambda service, target, who, now: service.assign_incident(target, agent, who, now),
        f"{{what}} assigned to {agent} by {{actor}}.",
    )


def resolve(
    ctx: typer.Context,
    note: NoteOption,
    alert_id: AlertArgument = None,
    db: DbOption = None,
    user: UserOption = None,
    incident: IncidentOption = None,
) -> None:
    """Resolve an open alert by hand (fixed at the source, a false alarm), with a note; if
    the condition still holds at the next check, a new alert opens. With --incident, the
    incident's open alerts."""
    from intelligentos.services.check import resolve_alert

    _act(
        ctx,
        db,
        user,
        (alert_id, incident),
        lambda store, target, who, now: resolve_alert(store, target, who, note, now),
        lambda service, target, who, now: service.resolve_incident(target, who, note, now),
        "{what} resolved by {actor}.",
    )
