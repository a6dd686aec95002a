"""The ``intelligentos-tui`` command line (Typer): the root, which launches the cockpit when
no command is given, and the commands, each from the module of its feature.

:data:`app` is the Typer application (the CLI reference is generated from it). Output is
:mod:`intelligentos.cli.render`'s; the options shared by the commands, and how they fail,
are :mod:`intelligentos.cli.options`'.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from intelligentos.cli import (
    alert_actions,
    alerts,
    brief,
    calibrate,
    catalog,
    coercion,
    explain,
    export,
    forecast,
    imports,
    kpis,
    lineage,
    notify,
    okr,
    screenshots,
    silence,
    whatif,
)
from intelligentos.cli.options import (
    AGENT_COMMANDS,
    AS_OF_COMMANDS,
    CHECK_ERROR,
    AsOfOption,
    CommandError,
    DbOption,
    Shared,
    fail,
)
from intelligentos.tui.launch import CockpitOptions, LaunchError, launch_cockpit


class CommandLine(TyperGroup):
    """The root group: a problem a command (or the root) raises as a :class:`CommandError`
    or a :class:`LaunchError` is one ``Error:`` sentence on stderr, and the command's error
    status (:attr:`Shared.error_status`)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # Before any value is parsed: values are coerced without pydantic where that gives
        # the same result (intelligentos.cli.coercion); Typer's own coercion would cost every
        # command about 100 ms to import pydantic and build its adapters.
        coercion.install(self)
        return super().main(*args, **kwargs)

    # ``ctx`` is a context of the click Typer bundles, whose class Typer does not export.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (CommandError, LaunchError) as problem:
            from intelligentos.cli.render import error

            error(str(problem))
            raise typer.Exit(Shared.of(ctx).error_status) from problem


app = typer.Typer(
    name="intelligentos-tui",
    help="IntelligentOS cockpit: watch a company's KPIs, their lineage and their deviations.",
    cls=CommandLine,
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


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
    command = ctx.invoked_subcommand
    status = CHECK_ERROR if command == "check" else 1
    ctx.obj = Shared(db=db, user=user, as_of=as_of, agent=agent, error_status=status)
    if command is not None:
        # --db (and --user, --as-of for the commands that take them) apply to the command;
        # the others only mean something to the cockpit, so they are refused, not ignored.
        refused = [("--theme", theme), ("--bell/--no-bell", bell)]
        if command not in AS_OF_COMMANDS:
            refused.append(("--as-of", as_of))
        if command not in AGENT_COMMANDS:
            refused.append(("--agent", agent))
        for option, value in refused:
            if value is not None:
                raise fail(f"{option} applies to the cockpit, not to `{command}`.")
        return
    raise typer.Exit(launch_cockpit(CockpitOptions(db, theme, user, bell, as_of, agent)))


# In the order `--help` lists them.
app.command()(catalog.init)
app.command()(catalog.validate)
app.command()(lineage.lineage)
app.command()(kpis.kpis)
app.command()(screenshots.screenshots)
app.command()(alerts.check)
app.command()(alerts.alerts)
app.command()(alerts.ack)
app.command()(alerts.snooze)
app.command()(alert_actions.unack)
app.command()(alert_actions.note)
app.command()(alert_actions.assign)
app.command()(alert_actions.resolve)
app.add_typer(notify.app, name="notify")
app.add_typer(silence.app, name="silence")
app.command()(forecast.forecast)
app.command()(whatif.whatif)
app.command()(calibrate.calibrate)
app.command()(explain.explain)
app.command()(explain.recommend)
app.command()(brief.brief)
app.add_typer(okr.app, name="okr")
app.command()(okr.review)
app.command("import")(imports.import_observations)
app.add_typer(export.app, name="export")
app.command("sync-catalog")(catalog.sync_catalog)


def main() -> None:
    app()
