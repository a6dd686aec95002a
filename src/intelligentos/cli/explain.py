"""``explain`` and ``recommend``: why a KPI moved, split among the KPIs below it down to the
ones someone can act on, and what to do about a KPI off target: what each lever below it
would have to reach on its own, and the least-effort plan across them. Nothing is written."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from intelligentos.cli.options import AsOfOption, DbOption, JsonOption, Shared, fail

if TYPE_CHECKING:
    from datetime import date

KpiArgument = Annotated[str, typer.Argument(help="The KPI's id", show_default=False)]
BASES = ("change", "target")


def _day(flag: str, text: str | None) -> date | None:
    from datetime import date

    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise fail(f"{flag} must be a date like 2026-11-27, not {text!r}.") from None


def explain(
    ctx: typer.Context,
    kpi_id: KpiArgument,
    date_from: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Compare from this day (YYYY-MM-DD) [default: the end of the KPI's "
            "previous period]",
            show_default=False,
        ),
    ] = None,
    date_to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Compare to this day (YYYY-MM-DD) [default: its latest period, up to the "
            "as-of date]",
            show_default=False,
        ),
    ] = None,
    vs: Annotated[
        str,
        typer.Option(
            "--vs",
            help="change: explain the move between the two days; target: explain the gap to "
            "target on the --to day",
        ),
    ] = "change",
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth",
            help="Follow the KPIs below it this many levels down [default: all the way]",
            show_default=False,
        ),
    ] = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Why did a KPI move? Its change between two days (or its gap to target) split among
    the KPIs below it, level by level (formulas exactly, by Shapley values; weights and
    sensitivities as the what-if reads them), what they leave unexplained, and the root
    causes: the KPIs that carry the move, with their agent, workflow step and source system.
    Nothing is written."""
    # Imported here, not at the top: the command line loads every command's module.
    from intelligentos.cli.render import print_json
    from intelligentos.cli.render_explain import explanation_record, print_explanation
    from intelligentos.domain.clock import utc_today
    from intelligentos.services.explain import (
        Basis,
        ExplainError,
        ExplainRequest,
        compared_days,
        explain_kpi,
    )
    from intelligentos.tui.launch import check_as_of

    if vs not in BASES:
        raise fail(f"--vs must be change or target, not {vs!r}.")
    if depth is not None and depth < 1:
        raise fail(f"--depth must be at least 1, not {depth}.")
    start, end = _day("--from", date_from), _day("--to", date_to)
    shared = Shared.of(ctx)
    given = shared.day(as_of)
    request = ExplainRequest(kpi_id, given or utc_today(), start, end, Basis(vs), depth)
    with shared.open_store(db) as store:
        if given is not None:
            check_as_of(store, given)
        try:
            explanation = explain_kpi(store, request)
        except ExplainError as error:
            raise fail(f"{error}.") from error
    days = compared_days(explanation, request)
    if as_json:
        print_json(explanation_record(explanation, days))
        return
    print_explanation(explanation, days)


def recommend(
    ctx: typer.Context,
    kpi_id: KpiArgument,
    as_of: AsOfOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """What should we do about a KPI off target (or on target but forecast to miss)? For
    each lever below it: the value it must reach alone to bring the KPI to target, and how
    big that change is against the lever's own history (σ); then the least-effort plan
    across the levers, as a `whatif` command that reproduces it. Nothing is written."""
    from intelligentos.cli.render import print_json
    from intelligentos.cli.render_explain import print_recommendations, recommendations_record
    from intelligentos.domain.clock import utc_today
    from intelligentos.services.explain import ExplainError, recommend_kpi
    from intelligentos.tui.launch import check_as_of

    shared = Shared.of(ctx)
    given = shared.day(as_of)
    day = given or utc_today()
    path = shared.given("db", db)
    with shared.open_store(db) as store:
        if given is not None:
            check_as_of(store, given)
        try:
            found = recommend_kpi(store, kpi_id, day)
        except ExplainError as error:
            raise fail(f"{error}.") from error
    if as_json:
        print_json(recommendations_record(found, day))
        return
    print_recommendations(found, day, path)
