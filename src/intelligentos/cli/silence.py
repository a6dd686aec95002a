"""``silence add``, ``silence list`` and ``silence expire``: maintenance windows during which
matching alerts still open and are recorded, but notify no one."""

from __future__ import annotations

from typing import Annotated

import typer

from intelligentos.cli.options import DbOption, JsonOption, Shared, UserOption, fail

app = typer.Typer(
    help="Silences: alerts that still open and are recorded, but notify no one for a while.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("add")
def add(
    ctx: typer.Context,
    note: Annotated[str, typer.Option("--note", help="Why (not blank)")],
    kpi: Annotated[str | None, typer.Option("--kpi", help="Silence this KPI's alerts")] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Silence this rule")] = None,
    system: Annotated[
        str | None, typer.Option("--system", help="Silence the alerts this system feeds")
    ] = None,
    agent: Annotated[
        str | None, typer.Option("--agent", help="Silence the alerts routed to this agent")
    ] = None,
    lasting: Annotated[
        str | None, typer.Option("--for", help="How long, e.g. 2h, 1d; at most 90d")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Until when (YYYY-MM-DDTHH:MM, UTC)")
    ] = None,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Silence a KPI, a rule, a system or an agent for a while."""
    from datetime import datetime

    from intelligentos.cli.render import line
    from intelligentos.domain.clock import utc_naive, utc_now
    from intelligentos.domain.silences import Matcher, SilenceError
    from intelligentos.services.silences import SilenceRequest, add_silence

    matchers = {
        matcher: value
        for matcher, value in (
            (Matcher.KPI, kpi),
            (Matcher.RULE, rule),
            (Matcher.SYSTEM, system),
            (Matcher.AGENT, agent),
        )
        if value is not None
    }
    try:
        end = utc_naive(datetime.fromisoformat(until)) if until is not None else None
    except ValueError as error:
        raise fail(f"--until {until!r} is not a time like 2026-12-08T06:00.") from error
    shared = Shared.of(ctx)
    who = shared.actor(user)
    with shared.open_store(db) as store:
        request = SilenceRequest(matchers, note, who, utc_now(), lasting, end)
        try:
            held = add_silence(store, request)
        except SilenceError as error:
            raise fail(str(error)) from error
    line(f"Silence {held.id}: {held.describe()} until {held.ends_at} ({held.who}: {held.note}).")


@app.command("list")
def list_silences(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
    """The silences, newest first, with when each ends and why."""
    from intelligentos.cli.render import line, print_json

    with Shared.of(ctx).open_store(db) as store:
        found = store.silences()
    if as_json:
        print_json(
            [
                {
                    "id": s.id,
                    "matcher": s.matcher.value,
                    "value": s.value,
                    "starts_at": s.starts_at,
                    "ends_at": s.ends_at,
                    "until": s.until,
                    "who": s.who,
                    "note": s.note,
                    "expired_at": s.expired_at,
                }
                for s in found
            ]
        )
        return
    if not found:
        line("No silences.")
    for s in found:
        ended = f", expired {s.expired_at}" if s.expired_at else ""
        line(f"{s.id}  {s.describe()}  {s.starts_at} → {s.ends_at}{ended}  {s.who}: {s.note}")


@app.command("expire")
def expire(
    ctx: typer.Context,
    silence_id: Annotated[int, typer.Argument(help="Silence id (see `silence list`)")],
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """End a silence now."""
    from intelligentos.cli.render import line
    from intelligentos.domain.clock import utc_now
    from intelligentos.domain.silences import SilenceError
    from intelligentos.services.silences import expire_silence

    shared = Shared.of(ctx)
    who = shared.actor(user)
    with shared.open_store(db) as store:
        try:
            expire_silence(store, silence_id, who, utc_now())
        except SilenceError as error:
            raise fail(str(error)) from error
    line(f"Silence {silence_id} expired.")
