"""The ``intelligentos-tui`` command's entry point.

Launching the cockpit is what the command does most, and a person waits for it: with no
command and only the cockpit's own options, :func:`main` opens it without loading the
command line's machinery (Typer and the commands' imports). Everything else (a command,
``--help``, an option it does not know, an option given twice, a value that looks like an
option) goes to the Typer command line in :mod:`intelligentos.cli.main`, which documents these
options and launches the cockpit through :func:`~intelligentos.tui.launch.launch_cockpit` too,
so both ways behave the same.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

from intelligentos.domain.formatting import literal
from intelligentos.tui.launch import CockpitOptions, LaunchError, launch_cockpit

# The cockpit's options that take a value, by their field of :class:`CockpitOptions`.
VALUE_OPTIONS = {
    "--db": "db",
    "--theme": "theme",
    "--user": "user",
    "--as-of": "as_of",
    "--agent": "agent",
}
FLAG_OPTIONS = {"--bell": ("bell", True), "--no-bell": ("bell", False)}


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
