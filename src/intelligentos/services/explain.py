"""Why a KPI moved and what to do about it, from the store: the values the explanation and
the recommendations need, read once, and the domain's answer.

Reads, never writes. Blocking: the cockpit calls it from a worker.

Dates: by default a KPI's latest period (up to the as-of date) is compared with the one
before it; every KPI below it is read as it stood when each of those periods ended (the
latest observation dated on or before the period's last day, never after the as-of date),
so a weekly KPI under a monthly one is read at the end of the month. ``--from`` and
``--to`` give the two days instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from intelligentos.domain.catalog.models import Catalog, Kpi
from intelligentos.domain.clock import period_date, period_upper_bound
from intelligentos.domain.detection import period_end
from intelligentos.domain.explain.model import (
    Basis,
    ExplainError,
    Explanation,
    explain,
    movers,
    performance,
)
from intelligentos.domain.explain.recommend import (
    Recommendations,
    change_sigma,
    levers_below,
    recommend,
)
from intelligentos.domain.lineage import split_field_id
from intelligentos.domain.okr.targets import judged_on, kpi_in
from intelligentos.domain.rollup import formula_of
from intelligentos.domain.snapshots import snapshot
from intelligentos.domain.whatif.levers import ScenarioError
from intelligentos.domain.whatif.propagation import Tree
from intelligentos.store import Store


@dataclass(frozen=True)
class ExplainRequest:
    kpi_id: str
    as_of: date
    date_from: date | None = None
    date_to: date | None = None
    basis: Basis = Basis.CHANGE
    depth: int | None = None


def subtree(tree: Tree, kpi_id: str, depth: int | None = None) -> list[str]:
    """``kpi_id`` and every KPI that moves it, directly or further down (``depth`` levels;
    None: all), each once, the KPI first."""
    found = {kpi_id: 0}
    todo = [kpi_id]
    while todo:
        current = todo.pop()
        level = found[current]
        if depth is not None and level >= depth:
            continue
        for child_id, _ in movers(tree, current):
            if child_id not in found:
                found[child_id] = level + 1
                todo.append(child_id)
    return list(found)


def reached_from(tree: Tree, kpi_ids: Iterable[str]) -> list[str]:
    """``kpi_ids`` and every KPI a what-if moving them reads: those a change reaches (up
    the roll-up, to every derived KPI reading them, all the way) and the other inputs of
    the derived KPIs among them, which the what-if holds at their current values."""
    found = dict.fromkeys(kpi_ids)
    for kpi_id in list(found):
        found.update(dict.fromkeys(sorted(tree.reachable(kpi_id))))
    for kpi_id in list(found):
        formula = formula_of(tree.kpi(kpi_id))
        if formula is not None:
            found.update(dict.fromkeys(n for n in formula.inputs if n in tree.catalog.kpis))
    return list(found)


def _day(period: str) -> str:
    return period_date(period).isoformat()


def judged_tree(catalog: Catalog, tree: Tree | None, day: date) -> tuple[Catalog, Tree]:
    """``catalog`` (as read) judged on ``day`` and its tree: ``tree`` (or a new one) when no
    target in force that day differs from the catalog's."""
    judged = judged_on(catalog, day)
    if judged is catalog:
        return catalog, tree or Tree(catalog)
    return judged, Tree(judged)


def explain_kpi(
    store: Store,
    request: ExplainRequest,
    catalog: Catalog | None = None,
    tree: Tree | None = None,
) -> Explanation:
    """Explain one KPI as asked; :class:`ExplainError` with one sentence when it cannot be.
    The KPIs are judged on the ``--to`` day (the as-of date without one): the gap to target
    is to the target in force then. ``catalog``: as read, never already judged."""
    catalog, tree = judged_tree(
        catalog or store.read_catalog(), tree, request.date_to or request.as_of
    )
    kpi = catalog.kpis.get(request.kpi_id)
    if kpi is None:
        raise ExplainError(f"unknown KPI {request.kpi_id!r}; `intelligentos-tui kpis` lists them")
    as_of = request.as_of
    for flag, day in (("--from", request.date_from), ("--to", request.date_to)):
        if day is not None and day > as_of:
            raise ExplainError(
                f"{flag} {day.isoformat()} is after the as-of date {as_of.isoformat()}"
            )
    if request.date_from is not None and request.basis is Basis.TARGET:
        raise ExplainError("--from compares two dates: against target there is only --to")
    if (
        request.date_from is not None
        and request.date_to is not None
        and request.date_from >= request.date_to
    ):
        how = "the same day as" if request.date_from == request.date_to else "after"
        raise ExplainError(
            f"--from {request.date_from.isoformat()} is {how} --to "
            f"{request.date_to.isoformat()}: give an earlier --from"
        )
    ids = subtree(tree, kpi.id, request.depth)
    end_day = request.date_to or as_of
    own = store.latest_windows(2, [kpi.id], until=period_upper_bound(end_day))[kpi.id]
    own = [row for row in own if row[1] is not None]
    first = store.first_period_of(kpi.id)
    if not own:
        if first is None:
            raise ExplainError(f"{kpi.name} ({kpi.id}) has no observations")
        raise ExplainError(
            f"{kpi.name} ({kpi.id}) has no observation on or before {end_day.isoformat()} "
            f"(its first is {_day(first)})"
        )
    period_to = own[-1][0]
    if request.date_to is None:
        end_day = min(period_end(period_date(period_to), kpi.frequency), as_of)
    end = _values(store, ids, end_day)
    start: dict[str, float | None] = {}
    period_from: str | None = None
    if request.basis is Basis.CHANGE:
        if request.date_from is not None:
            start_day = request.date_from
            before = store.latest_windows(1, [kpi.id], until=period_upper_bound(start_day))
            if not before[kpi.id]:
                raise ExplainError(
                    f"{kpi.name} ({kpi.id}) has no observation on or before "
                    f"{start_day.isoformat()} (its first is {_day(first or period_to)})"
                )
            period_from = before[kpi.id][-1][0]
            if period_from >= period_to:
                raise ExplainError(
                    f"{kpi.name} ({kpi.id}) has no observation after --from "
                    f"{start_day.isoformat()} up to {(request.date_to or as_of).isoformat()} "
                    f"(its latest is {_day(period_to)}): give an earlier --from"
                )
        else:
            if len(own) < 2:
                raise ExplainError(
                    f"{kpi.name} ({kpi.id}) has one observation up to {end_day.isoformat()}: "
                    "there is no earlier period to compare with (give --from, or --vs target)"
                )
            period_from = own[-2][0]
            start_day = start_of(kpi, period_from, period_to)
        start = _values(store, ids, start_day)

    def answer(stale: Iterable[str]) -> Explanation:
        return explain(
            tree,
            kpi.id,
            start,
            end,
            basis=request.basis,
            depth=request.depth,
            period_from=period_from,
            period_to=period_to,
            stale_systems=frozenset(stale),
        )

    found = answer(())
    # Only the root causes say whether their systems are stale: look at theirs alone.
    stale = stale_systems(store, catalog, [c.kpi.id for c in found.root_causes], as_of)
    return answer(stale) if stale else found


def compared_days(explanation: Explanation, request: ExplainRequest) -> tuple[date | None, date]:
    """The two days ``explain_kpi`` read the KPIs at for ``request``: ``--from`` and ``--to``
    when given, else the last days of the two periods compared (the latest never after the
    as-of date); no first day against target."""
    kpi = explanation.kpi
    end = request.date_to or min(
        period_end(period_date(explanation.period_to), kpi.frequency), request.as_of
    )
    if explanation.basis is Basis.TARGET or explanation.period_from is None:
        return None, end
    start = request.date_from or start_of(kpi, explanation.period_from, explanation.period_to)
    return start, end


def start_of(kpi: Kpi, period_from: str, period_to: str) -> date:
    """The day a comparison's start is read at: the end of the earlier period, but before
    the later observation (a KPI measured twice in a period)."""
    return min(
        period_end(period_date(period_from), kpi.frequency),
        period_date(period_to) - timedelta(days=1),
    )


def _values(store: Store, ids: Iterable[str], day: date) -> dict[str, float | None]:
    windows = store.latest_windows(1, ids, until=period_upper_bound(day))
    return {kpi_id: (rows[-1][1] if rows else None) for kpi_id, rows in windows.items()}


def stale_systems(store: Store, catalog: Catalog, kpi_ids: Iterable[str], as_of: date) -> set[str]:
    """The source systems of these KPIs whose data is stale as of ``as_of``: every KPI the
    system feeds is stale or has no data (the rule the lineage shows). A system is cleared
    by the first fresh KPI found, reading its KPIs a few at a time (a warehouse may feed
    thousands)."""
    systems: set[str] = set()
    for kpi_id in kpi_ids:
        systems.update(_systems_of(catalog.kpis[kpi_id]))
    if not systems:
        return set()
    feeds: dict[str, list[str]] = {system: [] for system in systems}
    for kpi in catalog.kpis.values():
        for system in _systems_of(kpi) & systems:
            feeds[system].append(kpi.id)
    until = period_upper_bound(as_of)
    stale = set()
    for system in sorted(systems):
        fed = feeds[system]
        fresh = False
        for start in range(0, len(fed), _STALE_BATCH):
            batch = fed[start : start + _STALE_BATCH]
            windows = store.latest_windows(1, batch, until=until)
            if any(
                snapshot(catalog.kpis[k], windows.get(k, []), as_of).status.value
                not in ("stale", "no-data")
                for k in batch
            ):
                fresh = True
                break
        if fed and not fresh:
            stale.add(system)
    return stale


_STALE_BATCH = 32


def _systems_of(kpi: Kpi) -> set[str]:
    return {split_field_id(f)[0] for link in kpi.lineage for f in link.fields}


SIGMA_DAYS = 365  # the history a lever's σ is measured on


def recommend_kpi(
    store: Store,
    kpi_id: str,
    as_of: date,
    catalog: Catalog | None = None,
    tree: Tree | None = None,
) -> Recommendations:
    """What to do about ``kpi_id`` as of ``as_of``: the levers below it and the least-effort
    plan to its target. A KPI on target whose reliable forecast (made from its latest
    value) ends short of it gets a plan that makes up the shortfall the forecast sees:
    its aim is its value plus the target minus the forecast. :class:`ExplainError` with
    one sentence when it cannot be answered. Judged with the target in force on ``as_of``;
    the forecast with the one in force at its horizon (``catalog``: as read)."""
    stored = catalog or store.read_catalog()
    catalog, tree = judged_tree(stored, tree, as_of)
    kpi = catalog.kpis.get(kpi_id)
    if kpi is None:
        raise ExplainError(f"unknown KPI {kpi_id!r}; `intelligentos-tui kpis` lists them")
    if kpi.target is None:
        raise ExplainError(f"{kpi.name} ({kpi.id}) has no target: nothing to recommend")
    ids = reached_from(tree, subtree(tree, kpi.id))
    until = period_upper_bound(as_of)
    windows = store.latest_windows(1, ids, until=until)
    current = {k: (rows[-1][1] if rows else None) for k, rows in windows.items()}
    if current.get(kpi.id) is None:
        raise ExplainError(
            f"{kpi.name} ({kpi.id}) has no observation on or before {as_of.isoformat()}"
        )
    aim = None
    now = current[kpi.id]
    assert now is not None
    # Only a KPI on target now can be projected to miss: the forecasts are read for it alone.
    on_target = performance(kpi, now) >= 0
    projection = store.projections().get(kpi.id) if on_target else None
    latest = windows[kpi.id][-1][0] if windows[kpi.id] else None
    later = kpi_in(stored.kpis[kpi.id], projection.period) if projection is not None else kpi
    if (
        projection is not None
        and projection.reliable
        and projection.is_current(latest)
        and later.target is not None
        and performance(later, projection.mean) < 0
    ):
        aim = now + (later.target - projection.mean)
    sigmas = {}
    if performance(kpi, now) < performance(kpi, kpi.target if aim is None else aim):
        # Off its aim: the levers' σ over the last year (a KPI there already needs none).
        below, _ = levers_below(tree, kpi.id)
        since = period_upper_bound(as_of - timedelta(days=SIGMA_DAYS))
        history = store.windows_between(below, since, until)
        sigmas = {k: change_sigma([v for _, v in rows]) for k, rows in history.items()}
    try:
        return recommend(tree, kpi.id, current, sigmas, aim)
    except ScenarioError as error:
        raise ExplainError(str(error)) from None


__all__ = [
    "Basis",
    "ExplainError",
    "ExplainRequest",
    "Explanation",
    "Recommendations",
    "compared_days",
    "explain_kpi",
    "reached_from",
    "recommend_kpi",
    "subtree",
]
