"""The cockpit's data: one immutable :class:`CockpitData` per refresh, made off the event
loop by :class:`DataService` (evaluate the rules, then read the visible windows).

Screens only read a :class:`CockpitData`; a refresh replaces it whole, so nothing ever sees
half of one refresh and half of another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from intelligentos.domain.agents import Route, routes
from intelligentos.domain.alerts import Alert, Event, subject_name
from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.clock import end_of_day, period_upper_bound, stamp
from intelligentos.domain.incidents import Incident, gathered
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.okr.targets import judged_on, kpi_in
from intelligentos.domain.silences import Silence, SilenceEntry, silenced_alerts, silences_of
from intelligentos.domain.snapshots import (
    KpiSnapshot,
    ProjectedValue,
    snapshots,
    with_later_rows,
    with_open_breaches,
)
from intelligentos.services.bootstrap import open_store
from intelligentos.services.check import evaluate_store
from intelligentos.services.derived import compute_derived
from intelligentos.store import Store, StoreError

if TYPE_CHECKING:
    from intelligentos.domain.forecast import Projection

History = list[tuple[str, float | None]]


@dataclass(frozen=True)
class CockpitData:
    """Everything the screens show after one refresh."""

    # The catalog as judged on ``as_of``: each KPI's target the one in force that day (what
    # every screen shows and judges with). ``stored_catalog`` is the catalog as read.
    catalog: Catalog
    graph: LineageGraph
    snaps: dict[str, KpiSnapshot]
    open_alerts: list[Alert]
    window: int
    evaluated: bool  # False for the first, values-only read at start-up
    as_of: date
    # Stored forecasts' horizon points, by KPI (current or not: see Projection.is_current).
    projections: dict[str, Projection] = field(default_factory=dict)
    # The past date this was read as of (values up to it, alerts replayed to its end); None
    # when live.
    past: date | None = None
    # The catalog as read (defaults and quarterly targets): what a computation judging on
    # another day starts from; None when no target differs from ``catalog``'s.
    stored_catalog: Catalog | None = None
    # Every silence in the store, and the moment they are judged at (now when live, the end
    # of the day shown in the past): see :attr:`silenced`.
    silences: tuple[Silence, ...] = ()
    moment: datetime | None = None

    @property
    def stored(self) -> Catalog:
        """The catalog as read, to judge on a day other than ``as_of`` (never write it
        back judged: see :func:`intelligentos.domain.okr.targets.judged_on`)."""
        return self.stored_catalog or self.catalog

    @cached_property
    def silenced(self) -> dict[int, Silence]:
        """The open alerts an active silence covers, by id, with the silence: they are
        shown, marked, but do not count as unacknowledged."""
        if self.moment is None:
            return {}
        return silenced_alerts(
            self.open_alerts, self.silences, self.moment, self.catalog, self.graph
        )

    @cached_property
    def attention(self) -> list[Alert]:
        """Firing, unacknowledged alerts that are not grouped under another nor silenced."""
        silenced = self.silenced
        return [a for a in self.open_alerts if a.needs_attention and a.id not in silenced]

    @cached_property
    def silenced_kpis(self) -> frozenset[str]:
        """KPIs with an open alert that a silence hushes and none that asks for attention:
        the dashboard's silenced mark."""
        silenced = self.silenced
        hushed = {a.kpi_id for a in self.open_alerts if a.kpi_id and a.id in silenced}
        return frozenset(hushed - self.flashing_kpis)

    @cached_property
    def flashing_kpis(self) -> frozenset[str]:
        return frozenset(a.kpi_id for a in self.attention if a.kpi_id)

    def subject_name(self, alert: Alert) -> str:
        return subject_name(alert, self.catalog)

    def observed_periods(self) -> dict[str, str | None]:
        """Each KPI's latest period with a value: what its forecast must start from."""
        return {kpi_id: snap.observed_period for kpi_id, snap in self.snaps.items()}

    def projected(self, kpi_id: str) -> ProjectedValue | None:
        """The KPI's projected value at the horizon, when its forecast beat the baselines and
        was made from its latest observation."""
        projection = self.projections.get(kpi_id)
        snap = self.snaps.get(kpi_id)
        if projection is None or snap is None or not projection.reliable:
            return None
        if not projection.is_current(snap.observed_period):
            return None
        # Judged with the target in force when the forecast lands.
        return ProjectedValue(kpi_in(self.stored.kpis[kpi_id], projection.period), projection)

    def alerts_of_kpi(self, kpi_id: str) -> list[Alert]:
        return [a for a in self.open_alerts if a.kpi_id == kpi_id]


@dataclass
class DataService:
    """Opens one store and reads it for the cockpit. Every method blocks: call them from
    worker threads. The store gives each thread its own read connection."""

    path: Path
    clock: Callable[[], datetime]
    fixed_as_of: date | None = None
    store: Store | None = field(default=None, init=False)
    integrity_checked: bool = field(default=False, init=False)
    stray_checked: bool = field(default=False, init=False)  # once per session, as integrity
    catalog_version: int | None = field(default=None, init=False)
    first_day: date | None = field(default=None, init=False)  # of the first observation
    # The last catalog judged, on which day, and the result: a refresh on the same day
    # reuses it, so what is built on it (the what-if tree) is kept.
    judged: tuple[Catalog, date, Catalog] | None = field(default=None, init=False)

    @property
    def as_of(self) -> date:
        return self.fixed_as_of or self.clock().date()

    def until(self, past: date | None) -> str:
        """Upper bound on the periods read: the end of ``past``, or of today when live (a
        row dated after today is not a value yet)."""
        return period_upper_bound(past or self.clock().date())

    def set_as_of(self, day: date | None) -> None:
        """View the store as of the end of ``day`` (``None``: live). Takes effect with the
        next read; a read already under way finishes with the date it started with (its
        :attr:`CockpitData.past` says which), so the caller can drop it."""
        self.fixed_as_of = day

    def judge(self, catalog: Catalog, day: date) -> Catalog:
        """``catalog`` (as read) judged on ``day``: the target in force that day."""
        last = self.judged
        if last is not None and last[0] is catalog and last[1] == day:
            return last[2]
        judged = judged_on(catalog, day)
        self.judged = (catalog, day, judged)
        return judged

    def open(self) -> Store:
        """Open the store (and migrate an older schema); raises :class:`StoreError`."""
        self.store = store = open_store(self.path)
        first = store.first_period()
        self.first_day = date.fromisoformat(first[:10]) if first else None
        return store

    def _store(self) -> Store:
        if self.store is None:
            raise StoreError(f"{self.path} is not open.")
        return self.store

    def read(
        self,
        window: int,
        catalog: Catalog | None = None,
        graph: LineageGraph | None = None,
        *,
        projections: bool = False,
    ) -> CockpitData:
        """The visible windows and open alerts, without evaluating (fast: the first paint;
        the forecasts' projections come with the evaluated read that follows it)."""
        return self._read(window, catalog, graph, projections, self.fixed_as_of)

    def _read(
        self,
        window: int,
        catalog: Catalog | None,
        graph: LineageGraph | None,
        projections: bool,
        past: date | None,
    ) -> CockpitData:
        store = self._store()
        if catalog is None:
            catalog, graph = self.read_catalog()
        graph = graph or LineageGraph(catalog)
        until = self.until(past)
        windows = store.latest_windows(max(window, 2), until=until)
        as_of = past or self.clock().date()
        # Judged on the day shown: time travel to 2026Q3 judges with the 2026Q3 target.
        judged = self.judge(catalog, as_of)
        snaps = snapshots(judged, windows, as_of)
        moment = self.clock() if past is None else end_of_day(past)
        if past is None:
            open_alerts = store.open_alerts()
            # Live, a row dated after today is flagged (in the past, later rows are history).
            snaps = with_later_rows(snaps, store.later_periods(until), as_of)
        else:
            open_alerts = [a for a in store.alerts_as_of(until) if a.is_open]
        return CockpitData(
            catalog=judged,
            graph=graph,
            snaps=with_open_breaches(snaps, open_alerts),
            open_alerts=open_alerts,
            window=window,
            evaluated=False,
            as_of=as_of,
            # Forecasts are made from the latest data: none of them existed in the past.
            projections=store.projections() if projections and past is None else {},
            past=past,
            stored_catalog=None if judged is catalog else catalog,
            silences=tuple(store.silences()),
            moment=moment,
        )

    def check_integrity(self) -> str | None:
        """Once per session: a damaged file is never written. The problem, if any (the
        store is then treated as read-only)."""
        store = self._store()
        if self.integrity_checked or store.readonly:
            return None
        self.integrity_checked = True
        try:
            store.ensure_intact("the cockpit will not write to it")
        except StoreError as error:
            store.readonly = True
            return str(error)
        return None

    def stray_rows(self) -> str | None:
        """Observation rows written around the importer that it would have refused, as one
        message; None when there are none."""
        stray = self._store().stray_observations(after=self.until(None))
        return stray.message() if stray else None

    def compute_derived(self) -> str | None:
        """Compute the derived values of the periods whose inputs another process wrote (a
        write transaction only when some are pending; never for a read-only store). The
        sentence for the periods it left without a value, if any."""
        store = self._store()
        if store.readonly:
            return None
        catalog = store.read_catalog() if store.has_pending() else None
        if catalog is None:
            return None
        run = compute_derived(store, catalog, self.clock())
        return run.gaps_sentence()

    def evaluate_and_read(self, window: int, previous: CockpitData | None) -> CockpitData:
        """Run the rules (writing alert changes; not when viewing the past), then read."""
        store = self._store()
        if previous is not None and store.catalog_version() == self.catalog_version:
            catalog, graph = previous.stored, previous.graph
        else:
            # First read, or the catalog was re-synced meanwhile (sync-catalog).
            catalog, graph = self.read_catalog()
        graph.warm()
        past = self.fixed_as_of  # once: a change meanwhile applies to the next read
        if past is None:
            # The catalog as read: the evaluation judges it on its own day.
            evaluate_store(store, catalog, self.clock(), graph)
        return replace(self._read(window, catalog, graph, True, past), evaluated=True)

    def read_catalog(self) -> tuple[Catalog, LineageGraph]:
        """The catalog and its (lazily built) lineage graph."""
        store = self._store()
        # The version first: a re-sync between the two reads is then seen next time.
        self.catalog_version = store.catalog_version()
        catalog = store.read_catalog()
        return catalog, LineageGraph(catalog)

    def refresh_forecasts(
        self,
        catalog: Catalog,
        latest: Mapping[str, str | None],
        as_of: date,
        stop: Callable[[], bool],
    ) -> int:
        """Recompute the out-of-date forecasts in the background (see
        :func:`intelligentos.services.forecast.refresh_outdated`; ``latest``: each KPI's
        latest observed period, :func:`observed_periods`); never for a past date or a store
        the cockpit must not write."""
        store = self._store()
        if self.fixed_as_of is not None or store.readonly:
            return 0
        from intelligentos.services.forecast import refresh_outdated

        return refresh_outdated(store, catalog, latest, as_of, self.clock, stop)

    # The readers below take the as-of date the caller read from :attr:`fixed_as_of` when it
    # started, and tag its result with it: a result for another date is dropped.

    def history(self, kpi_id: str, limit: int | None, past: date | None) -> History:
        return self._store().history(kpi_id, limit or 100_000, until=self.until(past))

    def alerts(self, states: Iterable[str] | None, past: date | None) -> list[Alert]:
        """Alerts in these states (every state: ``None``); as they stood at the end of
        ``past``, replayed from the event log, when given."""
        moment = period_upper_bound(past)
        if moment is None:
            return self._store().alerts(states)
        wanted = None if states is None else {str(s) for s in states}
        found = self._store().alerts_as_of(moment)
        return [a for a in found if wanted is None or a.state.value in wanted]

    def alert_routes(self, alert_ids: Iterable[int]) -> dict[int, list[Route]]:
        """Where each of these alerts is routed (set when it opened: the same for a past
        date)."""
        return self._store().routes_of(alert_ids)

    def events(self, alert_id: int, past: date | None) -> list[Event]:
        """An alert's transitions, up to the end of ``past`` when given."""
        moment = period_upper_bound(past)
        events = self._store().alert_events(alert_id)
        return events if moment is None else [e for e in events if e.at <= moment]

    def silence_history(
        self, alert: Alert, past: date | None, catalog: Catalog, graph: LineageGraph
    ) -> list[SilenceEntry]:
        """The log of the silences that covered ``alert`` in its life (who added each and
        why, who expired it, or when it ended), up to the end of ``past`` when given: what
        the alert's history shows beside its own transitions (see
        :func:`intelligentos.domain.silences.silences_of`)."""
        moment = self.clock() if past is None else end_of_day(past)
        held = [s for s in self._store().silences() if s.starts_at <= stamp(moment)]
        if not held:
            return []
        agents = [r.agent_id for r in routes(alert.kpi_id, alert.system_id, catalog, graph)]
        kpi = alert.kpi_id
        systems = graph.systems_of(kpi) if kpi is not None and kpi in catalog.kpis else []
        return silences_of(alert, held, moment, agents, systems)

    # --- incidents and silences (the alerts screen) --------------------------------------

    def incidents(self, past: date | None) -> list[Incident]:
        """Every incident with its alerts (as they stood at the end of ``past``, when
        given), oldest first."""
        groups = {i.id: i.group for i in self._store().incidents() if i.id is not None}
        return gathered(self.alerts(None, past), groups)

    def silences(self, past: date | None) -> list[Silence]:
        """The silences holding at the end of ``past`` or later (live: now or later)."""
        moment = period_upper_bound(past) or stamp(self.clock())
        return self._store().silences(include_ended_before=moment)

    def data_version(self) -> int:
        return self._store().data_version()

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
