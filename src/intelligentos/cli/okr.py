"""``okr``: targets by quarter proposed from the forecasts (``okr propose``), accepted into
the store and the catalog's files (``okr accept``) and graded (``okr grade``); and ``review``,
an agent's performance review for a quarter."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Quarterly targets: propose them from the forecasts, accept them, grade a quarter.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


# --- okr propose -------------------------------------------------------------------------------


# --- okr accept --------------------------------------------------------------------------------


# --- okr grade ---------------------------------------------------------------------------------


# --- review ------------------------------------------------------------------------------------
