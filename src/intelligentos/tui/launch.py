"""Launching the cockpit: its options, checked against the store, then the app.

Both ways of starting it go through :func:`launch_cockpit`: the quick path of
:mod:`intelligentos.launch` (no command, only these options) and the command line's
callback in :mod:`intelligentos.cli.main`, so both behave the same. The commands use
:func:`opened_store` and the ``--as-of`` and ``--agent`` checks too.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from intelligentos.domain.clock import utc_today
from intelligentos.domain.formatting import literal

if TYPE_CHECKING:
    from intelligentos.store import Store


class LaunchError(Exception):
    """A problem to report in one sentence (``Error: ...``, exit status 1)."""


@dataclass(frozen=True)
class CockpitOptions:
    db: Path | None = None
    theme: str | None = None
    user: str | None = None
    bell: bool | None = None
    as_of: str | None = None
    agent: str | None = None


def parse_as_of(text: str | None) -> date:
    """``--as-of``: a date like 2026-11-27; today (UTC) when not given."""
    if text is None:
        return utc_today()
    try:
        return date.fromisoformat(text.strip())
    except ValueError as error:
        raise LaunchError(f"--as-of must be a date like 2026-11-27, not {text!r}.") from error


def check_as_of(store: Store, day: date) -> date:
    """``day`` if the store can be shown as of it: not after today (UTC), not before its
    first observation."""
    today = utc_today()
    if day > today:
        raise LaunchError(
            f"--as-of {day.isoformat()} is in the future (today is {today.isoformat()})."
        )
    first = store.first_period()
    if first is None:
        raise LaunchError(f"--as-of needs observations; {store.path} has none.")
    if day.isoformat() < first[:10]:
        raise LaunchError(
            f"--as-of {day.isoformat()} is before the first observation ({first[:10]})."
        )
    return day


def check_agent(agent: str, agents: Collection[str]) -> None:
    """``agent`` is one of the catalog's ``agents`` (ids)."""
    if agent not in agents:
        known = ", ".join(sorted(agents)) or "none"
        raise LaunchError(f"unknown agent {agent!r}; the catalog's agents: {known}.")


def remembered_agent(agents: Collection[str]) -> str | None:
    """The agent last focused on in the cockpit, when the catalog still has it: the focus
    ``--agent`` gives when it is not given."""
    from intelligentos.config.state import load_state

    agent = load_state()[0].agent
    return agent if agent in agents else None


@contextlib.contextmanager
def opened_store(db: Path | None, *, create_demo: bool = False) -> Iterator[Store]:
    """The store at ``db`` (by default the user's; with ``create_demo``, for the cockpit
    alone, created with demo data the first time); any store problem inside the block
    becomes a :class:`LaunchError`."""
    # Here, not at the top: the command line imports this module for its errors and checks,
    # and its --help and its commands that open no store need none of the store.
    from intelligentos.services.bootstrap import open_store, resolve_store
    from intelligentos.store import StoreError

    try:
        path, created = resolve_store(db, create_demo=create_demo)
        if created:
            print(f"Created a demo KPI store at {literal(str(path))}", file=sys.stderr)
        store = open_store(path)
    except StoreError as error:
        raise LaunchError(str(error)) from error
    try:
        yield store
    except StoreError as error:  # a damaged file's too: the store says so
        raise LaunchError(str(error)) from error
    finally:
        store.close()


def launch_cockpit(options: CockpitOptions) -> int:
    """Check the options against the store, then run the cockpit; its exit status."""
    day = parse_as_of(options.as_of) if options.as_of is not None else None
    from intelligentos.config.settings import ActingUserError, permitted_user

    try:
        permitted_user(options.user)  # before a demo store is made: nothing written
    except ActingUserError as error:
        raise LaunchError(str(error)) from error
    with opened_store(options.db, create_demo=True) as store:
        # Touch the catalog and the observations index now (cheaply), so a damaged file is
        # reported here in one sentence instead of inside the running cockpit.
        store.probe()
        if day is not None:
            check_as_of(store, day)
        agent = options.agent
        if agent is not None:
            check_agent(agent, store.agent_ids())
        else:
            agent = remembered_agent(store.agent_ids())
        store_path = store.path
    from intelligentos.tui.app import CockpitApp

    cockpit = CockpitApp(
        store_path,
        theme_name=options.theme,
        user=options.user,
        bell=options.bell,
        as_of=day,
        agent=agent,
    )
    cockpit.run()
    return cockpit.return_code or 0
