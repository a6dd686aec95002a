"""The ``intelligentos-tui`` command's entry point, and launching the cockpit.

Launching the cockpit is what the command does most, and a person waits for it: with no
command and only the cockpit's own options, :func:`main` opens it without loading the
command line's machinery (Typer and the commands' imports). Everything else (a command,
``--help``, an option it does not know, an option given twice, a value that looks like an
option) goes to the Typer command line in :mod:`intelligentos.cli.main`, which documents these
options and launches the cockpit through :func:`launch_cockpit` too, so both ways behave
the same.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from intelligentos.domain.clock import utc_today
from intelligentos.domain.formatting import literal
from intelligentos.services.bootstrap import open_store, resolve_store
from intelligentos.store import Store, StoreError

# The cockpit's options that take a value, by the keyword of :func:`launch_cockpit`.
VALUE_OPTIONS = {
    "--db": "db",
    "--theme": "theme",
    "--user": "user",
    "--as-of": "as_of",
    "--agent": "agent",
}
FLAG_OPTIONS = {"--bell": ("bell", True), "--no-bell": ("bell", False)}


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


def cockpit_options(argv: list[str]) -> CockpitOptions | None:
    """``argv`` as the cockpit's options, or None when it is anything else (for Typer)."""
    given: dict[str, str | bool] = {}
    arguments = iter(argv)
    for argument in arguments:
        name, equals, attached = argument.partition("=")
        value: str | bool | None
        if name in FLAG_OPTIONS and not equals:
            key, value = FLAG_OPTIONS[name]
        elif name in VALUE_OPTIONS:
            key = VALUE_OPTIONS[name]
            value = attached if equals else next(arguments, None)
            if not value or value.startswith("-"):
                return None  # missing or odd: Typer says what is wrong
        else:
            return None
        if key in given:
            return None
        given[key] = value
    db = given.pop("db", None)
    return CockpitOptions(db=Path(db) if isinstance(db, str) else None, **given)  # type: ignore[arg-type]


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


def main() -> None:
    options = cockpit_options(sys.argv[1:])
    if options is None:
        from intelligentos.cli.main import main as command_line

        command_line()
        return
    # Until the cockpit's first paint, the cyclic garbage collector would only walk, again
    # and again, objects that all stay alive (modules, the catalog, the first values, the
    # widgets): tens of milliseconds a pass. The cockpit turns it on after that paint.
    gc.disable()
    try:
        status = launch_cockpit(options)
    except LaunchError as error:
        print(f"Error: {literal(str(error))}", file=sys.stderr)
        status = 1
    sys.exit(status)
