"""The options the commands share, the context object that carries the ones given before a
command's name, and how a command fails.

``intelligentos-tui --db s2.db ack 3`` and ``intelligentos-tui ack 3 --db s2.db`` mean the
same: the root callback puts what it was given in :class:`Shared` (Typer's ``ctx.obj``), and
each command takes its own option or that one. A command fails by raising
:class:`CommandError` (or the cockpit's :class:`~intelligentos.tui.launch.LaunchError`):
the root group prints the one ``Error:`` sentence and exits with :attr:`Shared.error_status`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from intelligentos.tui.launch import check_agent, opened_store, parse_as_of

if TYPE_CHECKING:
    from intelligentos.domain.catalog import Catalog
    from intelligentos.store import Store

T = TypeVar("T")

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
UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        help="Who is acting [default: the OS login; someone else only if config.toml's "
        "[cockpit] act_as lists them]",
        show_default=False,
    ),
]
AgentOption = Annotated[
    str | None,
    typer.Option(
        "--agent",
        help="Only the alerts routed to this agent (an agent id of the catalog)",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]

# The commands that take --as-of, also when it is given before the command's name.
AS_OF_COMMANDS = frozenset(
    {"kpis", "alerts", "lineage", "whatif", "explain", "recommend", "brief", "review"}
)
# The commands that take --agent before their name too.
AGENT_COMMANDS = frozenset({"alerts", "check"})

# Exit statuses of ``check``: 1 means "alerts firing", so its errors exit 2 (cron must tell
# "page someone" from "the job is broken").
CHECK_FIRING = 1
CHECK_ERROR = 2


class CommandError(Exception):
    """A problem to report in one sentence (``Error: ...``); the command exits with its
    error status."""


def fail(message: str) -> CommandError:
    """The error to raise for ``message``: ``raise fail(...)``."""
    return CommandError(message)


@dataclass(frozen=True)
class Shared:
    """Typer's context object (``ctx.obj``), set by the root callback: the options given
    before the command's name, and the exit status of an error (1, but
    :data:`CHECK_ERROR` for ``check``)."""

    db: Path | None = None
    user: str | None = None
    as_of: str | None = None
    agent: str | None = None
    error_status: int = 1

    @classmethod
    def of(cls, ctx: typer.Context) -> Shared:
        found = ctx.find_object(cls)
        return found if found is not None else cls()

    def given(self, name: str, value: T | None) -> T | None:
        """A command's option ``name``, or the same option given before the command's name:
        both forms mean the same; given twice with different values is an error, never a
        silent choice."""
        before = getattr(self, name)
        if value is not None and before is not None and value != before:
            raise fail(f"--{name} is given twice, as {before} and as {value}; give it once.")
        return value if value is not None else before

    @contextlib.contextmanager
    def open_store(self, db: Path | None) -> Iterator[Store]:
        """The command's store (``--db`` after or before the command); any store problem
        inside the block is one ``Error:`` sentence, never a traceback."""
        with opened_store(self.given("db", db)) as store:
            yield store

    def day(self, as_of: str | None) -> date | None:
        """The ``--as-of`` day given after or before the command (``None``: now), parsed
        before the store is opened; check it with
        :func:`~intelligentos.tui.launch.check_as_of` once it is."""
        text = self.given("as_of", as_of)
        return None if text is None else parse_as_of(text)

    def actor(self, user: str | None) -> str:
        """Who is acting: the ``--user`` given (after or before the command), else the
        config's ``[cockpit] user``, else the OS login; naming someone else than the login
        must be allowed by the config (:func:`~intelligentos.config.settings.permitted_user`),
        else one sentence. Ask before anything is written."""
        from intelligentos.config.settings import ActingUserError, permitted_user

        try:
            return permitted_user(self.given("user", user))
        except ActingUserError as error:
            raise fail(str(error)) from error

    def agent_of(self, agent: str | None, catalog: Catalog) -> str | None:
        """The ``--agent`` given (after or before the command), checked against the
        catalog."""
        agent = self.given("agent", agent)
        if agent is not None:
            check_agent(agent, catalog.agents)
        return agent
