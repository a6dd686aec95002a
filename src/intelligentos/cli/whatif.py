"""``whatif``: KPIs moved by hand and projected up to the CEO KPIs and through the derived
KPIs that read them, or the lever value that brings a goal to its target (formulas exact;
sensitivities and weights linear). Nothing is written."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from intelligentos.cli.options import DbOption, JsonOption, Shared, fail

if TYPE_CHECKING:
    from intelligentos.domain.catalog import Catalog


def whatif(
    ctx: typer.Context,
    levers: Annotated[
        list[str] | None,
        typer.Argument(
            help="KPI_ID=VALUE, KPI_ID+=D, KPI_ID-=D (points for percentages), "
            "KPI_ID+=P% or KPI_ID-=P% (relative)",
            show_default=False,
        ),
    ] = None,
    goal: Annotated[
        str | None,
        typer.Option("--goal", help="Goal seek: the KPI that must reach its target"),
    ] = None,
    lever: Annotated[
        str | None, typer.Option("--lever", help="Goal seek: the KPI below the goal to move")
    ] = None,
    db: DbOption = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Start from the latest values up to this date [default: today]"
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """What if some KPIs moved? Project every KPI above them up to the CEO KPIs, and every
    derived KPI reading them, or find the lever value that brings a goal to its target
    (formulas exact; sensitivities and weights linear). Nothing is written."""
    # Imported here, not at the top: the command line loads every command's module.
    from intelligentos.cli.render import print_json
    from intelligentos.cli.render_whatif import print_scenario, scenario_record
    from intelligentos.domain.clock import period_upper_bound, utc_today
    from intelligentos.domain.okr.targets import judged_on
    from intelligentos.domain.whatif.model import (
        MissingValue,
        ScenarioError,
        parse_levers,
        simulate,
    )
    from intelligentos.tui.launch import check_as_of

    shared = Shared.of(ctx)
    given = shared.day(as_of)
    day = given or utc_today()
    seeking = goal is not None or lever is not None
    if seeking and levers:
        raise fail("give levers, or --goal with --lever, not both.")
    if seeking and (goal is None or lever is None):
        raise fail("goal seek needs both --goal KPI_ID and --lever KPI_ID.")
    if not seeking and not levers:
        raise fail(
            "give at least one lever (KPI_ID=VALUE, KPI_ID+=D, KPI_ID-=D, KPI_ID+=P%), "
            "or --goal KPI_ID --lever KPI_ID."
        )
    try:
        parsed = parse_levers(levers or ())  # bad text fails before the store is opened
    except ScenarioError as error:
        raise fail(f"{error}.") from error
    with shared.open_store(db) as store:
        # The what-if judges with the target in force on its as-of date.
        catalog = judged_on(store.read_catalog(), day)
        wanted = [goal, lever] if seeking else [p.kpi_id for p in parsed]
        unknown = [k for k in wanted if k is not None and k not in catalog.kpis]
        if unknown:
            raise fail(f"unknown KPI {unknown[0]!r}; `intelligentos-tui kpis` lists them.")
        if given is not None:
            check_as_of(store, given)
        windows = store.latest_windows(1, until=period_upper_bound(day))
    current = {kpi_id: window[-1][1] if window else None for kpi_id, window in windows.items()}
    if goal is not None and lever is not None:
        goal_seek(catalog, goal, lever, current, day, as_json)
        return
    try:
        outcome = simulate(catalog, parsed, current)
    except MissingValue as error:
        raise fail(f"{error} as of {day.isoformat()}.") from error
    except ScenarioError as error:
        raise fail(f"{error}.") from error
    texts = [p.text for p in parsed]
    if as_json:
        print_json(scenario_record(texts, outcome, day))
        return
    print_scenario(texts, outcome, day)


def goal_seek(
    catalog: Catalog,
    goal_id: str,
    lever_id: str,
    current: Mapping[str, float | None],
    day: date,
    as_json: bool,
) -> None:
    from rich.text import Text

    from intelligentos.cli.render import out, print_json
    from intelligentos.cli.render_whatif import goal_seek_record, goal_seek_sentence
    from intelligentos.domain.formatting import literal
    from intelligentos.domain.whatif.model import MissingValue, ScenarioError
    from intelligentos.domain.whatif.model import goal_seek as seek_goal
    from intelligentos.services.whatif import goal_seek_text

    try:
        seek = seek_goal(catalog, goal_id, lever_id, current)
    except MissingValue as error:
        raise fail(f"{error} as of {day.isoformat()}.") from error
    except ScenarioError as error:
        raise fail(f"{error}.") from error
    goal, lever = seek.goal, seek.lever
    if as_json:
        print_json(goal_seek_record(seek, current.get(goal.id), day))
    if seek.met and seek.reachable:
        # Already there is an answer, not a failure: the screen says the same words.
        if not as_json:
            line = f"Goal seek ({seek.note}), as of {day.isoformat()}: {goal_seek_text(seek)}."
            out.print(Text(literal(line)))
        return
    if not seek.reachable or seek.required is None:
        raise fail(
            f"{lever.name} ({lever.id}) cannot bring {goal.name} ({goal.id}) to its target "
            f"under the model: {seek.reason}."
        )
    if as_json:
        return
    out.print(Text(literal(goal_seek_sentence(seek, current.get(goal.id), day))))
