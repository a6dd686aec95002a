"""Briefs from the store: read what a brief needs as of a date, once, and build it.

Reads, never writes (no evaluation: a brief shows the alerts as the log has them). Values are
the latest observations up to the end of the as-of date; alert states are replayed from the
event log as they stood then (:meth:`Store.alerts_as_of`), so a brief of a past week reads
the same whenever it is made. Blocking: the cockpit calls it from a worker.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from intelligentos.config.paths import write_atomically
from intelligentos.domain.brief.compose import (
    HISTORY_POINTS,
    BriefFacts,
    build_brief,
    in_week,
    wanted,
)
from intelligentos.domain.brief.contents import Brief
from intelligentos.domain.brief.render import render
from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.clock import end_of_day, period_upper_bound, utc_naive, utc_now
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.whatif.propagation import Tree
from intelligentos.services.silences import silenced_in
from intelligentos.services.why import plans, week_explanations
from intelligentos.store import Store


def read_facts(
    store: Store,
    as_of: date,
    catalog: Catalog | None = None,
    graph: LineageGraph | None = None,
) -> BriefFacts:
    """Everything a brief of the week ending ``as_of`` shows: the windows of every KPI in
    one read, the alerts as of the date, the week's events; then the explanations of the
    CEO KPIs that moved this week and the plans of those off target (each reads the values
    it needs up to the date, so a past week's brief reads the same whenever it is made)."""
    moment = period_upper_bound(as_of)
    assert moment is not None
    if catalog is None:
        catalog = store.read_catalog()
    graph = graph or LineageGraph(catalog)
    windows = store.latest_windows(HISTORY_POINTS, until=moment)
    alerts = store.alerts_as_of(moment)
    # The silences holding at the end of the day (today's: now).
    hushed_at = min(end_of_day(as_of), utc_naive(utc_now()))
    events = [e for e in store.alert_events() if e.at <= moment and in_week(e.at, as_of)]
    facts = BriefFacts(
        catalog=catalog,
        graph=graph,
        as_of=as_of,
        windows=windows,
        events=events,
        alerts={a.id: a for a in alerts if a.id is not None},
        open_alerts=[a for a in alerts if a.is_open],
        silenced=frozenset(silenced_in(store, alerts, catalog, hushed_at)),
        projections=store.projections(),
        scenarios=store.scenarios(),
    )
    explained, off_target = wanted(facts)
    tree = Tree(catalog)
    return replace(
        facts,
        explanations=week_explanations(store, catalog, tree, explained, as_of),
        recommendations=plans(store, catalog, tree, off_target, as_of),
    )


def make_brief(store: Store, as_of: date, agent_id: str | None = None) -> Brief:
    """The CEO brief (or ``agent_id``'s) of the week ending ``as_of``; raises
    :class:`~intelligentos.domain.brief.compose.BriefError` for an unknown agent."""
    return build_brief(read_facts(store, as_of), agent_id)


@dataclass(frozen=True)
class Written:
    path: Path
    fmt: str
    size: int


def export_brief(brief: Brief, path: Path, fmt: str) -> Written:
    """The brief rendered in ``fmt`` and written to ``path`` atomically, with the mode a
    file the user creates gets (a replaced file keeps its own)."""
    size = write_atomically(Path(path), render(brief, fmt), private=False)
    return Written(Path(path), fmt, size)
