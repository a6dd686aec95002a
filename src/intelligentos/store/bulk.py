"""Bulk work on a store: staged atomic imports, exports, and catalog re-sync.

Imports are staged in a TEMP table (the connection's own temporary database, on disk), which
needs no lock on the store: other processes keep reading and writing while a large file is
parsed. Only the final merge takes the write lock, in one transaction, so a crash leaves
either none or all of an import's rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from intelligentos.domain.agents import routes
from intelligentos.domain.alerts import withdraw
from intelligentos.domain.catalog.changes import KpiChange, kpi_changes
from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.clock import stamp, utc_now
from intelligentos.domain.formatting import plural
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.rollup import formula_of
from intelligentos.store.connection import Row, StoreError
from intelligentos.store.schema import CREATE_DERIVED_TRIGGERS, DROP_DERIVED_TRIGGERS
from intelligentos.store.store import Store

# (kpi_id, period, value, source, file index, row number)
StagedRow = tuple[str, str, float, str | None, int, int]

STAGE_SCHEMA = """
CREATE TEMP TABLE IF NOT EXISTS import_stage (
    kpi_id     TEXT NOT NULL,
    period     TEXT NOT NULL,
    value      REAL NOT NULL,
    source     TEXT,
    file_index INTEGER NOT NULL,
    row        INTEGER NOT NULL,
    PRIMARY KEY (kpi_id, period)
) WITHOUT ROWID
"""
MERGE = """
INSERT INTO observations (kpi_id, period, value, source, ingested_at)
SELECT kpi_id, period, value, source, ? FROM temp.import_stage WHERE true
ON CONFLICT (kpi_id, period) DO UPDATE SET
    value = excluded.value, source = excluded.source, ingested_at = excluded.ingested_at,
    computed = 0
WHERE observations.value IS NOT excluded.value OR observations.source IS NOT excluded.source
    OR observations.computed != 0
"""
COUNT_CHANGES = """
SELECT
    sum(o.kpi_id IS NULL),
    sum(o.kpi_id IS NOT NULL AND (o.value IS NOT s.value OR o.source IS NOT s.source)),
    sum(o.kpi_id IS NOT NULL AND o.value IS s.value AND o.source IS s.source)
FROM temp.import_stage AS s
LEFT JOIN observations AS o ON o.kpi_id = s.kpi_id AND o.period = s.period
"""

# The periods of the staged rows that read into a derived KPI and that the merge changes
# (see the triggers, intelligentos.store.schema.CREATE_DERIVED_TRIGGERS).
MARK_STAGED_PENDING = """
INSERT OR IGNORE INTO derived_pending (period)
SELECT s.period FROM temp.import_stage AS s
WHERE EXISTS (SELECT 1 FROM derived_inputs AS d WHERE d.input_id = s.kpi_id)
AND NOT EXISTS (
    SELECT 1 FROM observations AS o WHERE o.kpi_id = s.kpi_id AND o.period = s.period
    AND o.value IS s.value AND o.source IS s.source AND o.computed = 0
)
"""
DERIVED_TRIGGERS_PRESENT = (
    "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
    "AND name = 'derived_pending_on_insert'"
)


@dataclass(frozen=True)
class MergeCounts:
    inserted: int
    updated: int
    unchanged: int


class Staging:
    """A private staging area for one import, on the store's writer connection (TEMP tables
    belong to one connection, and the merge must see them)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.rows = 0
        self.duplicate_rows: list[tuple[int, int, int, int]] = []
        store.ensure_intact("nothing was imported")
        with store.session() as conn:
            conn.execute("PRAGMA temp_store = FILE")
            conn.execute(STAGE_SCHEMA)
            conn.execute("DELETE FROM temp.import_stage")

    def add(self, rows: list[StagedRow]) -> None:
        """Stage (kpi_id, period, value, source, file_index, row) tuples.

        The primary key drops a second row for the same (kpi_id, period); only when that
        happens is the batch looked at row by row, to say which row repeats which.
        """
        with self.store.session() as conn:
            conn.execute("BEGIN")  # temp tables only: no lock on the store itself
            try:
                cursor = conn.executemany(
                    "INSERT OR IGNORE INTO temp.import_stage VALUES (?, ?, ?, ?, ?, ?)", rows
                )
                staged = max(cursor.rowcount, 0)
                if staged < len(rows):
                    self._find_duplicates(conn, rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            self.rows += staged

    def _find_duplicates(self, conn: sqlite3.Connection, rows: list[StagedRow]) -> None:
        for kpi_id, period, _value, _source, file_index, row in rows:
            first = conn.execute(
                "SELECT file_index, row FROM temp.import_stage WHERE kpi_id = ? AND period = ?",
                (kpi_id, period),
            ).fetchone()
            if first is not None and tuple(first) != (file_index, row):
                self.duplicate_rows.append((file_index, row, first[0], first[1]))

    def duplicates(self) -> list[tuple[int, int, int, int]]:
        """(file, row, first file, first row) of every repeated (kpi_id, period)."""
        return sorted(self.duplicate_rows)

    def preview(self) -> MergeCounts:
        """What :meth:`merge` would do, without writing (for --dry-run)."""
        with self.store.session() as conn:
            inserted, updated, unchanged = conn.execute(COUNT_CHANGES).fetchone()
        return MergeCounts(inserted or 0, updated or 0, unchanged or 0)

    def merge(
        self, now: datetime | None = None, then: Callable[[], object] | None = None
    ) -> MergeCounts:
        """Upsert every staged row into ``observations`` in one write transaction; ``then``
        runs in the same transaction after the merge (computing derived values): its
        failure leaves nothing of the import."""
        moment = stamp(now or utc_now())
        with self.store.transaction() as conn:
            inserted, updated, unchanged = conn.execute(COUNT_CHANGES).fetchone()
            watched = conn.execute(DERIVED_TRIGGERS_PRESENT).fetchone()[0] > 0
            if watched:
                # One statement marks the periods the merge changes, instead of a trigger
                # per row; the triggers are back before the transaction ends, so before
                # anyone else can write.
                conn.execute(MARK_STAGED_PENDING)
                for statement in DROP_DERIVED_TRIGGERS:
                    conn.execute(statement)
            conn.execute(MERGE, (moment,))
            if then is not None:
                then()  # its computed rows need no trigger either
            if watched:
                for statement in CREATE_DERIVED_TRIGGERS:
                    conn.execute(statement)
        return MergeCounts(inserted or 0, updated or 0, unchanged or 0)

    def close(self) -> None:
        with self.store.session() as conn:
            conn.execute("DROP TABLE IF EXISTS temp.import_stage")


# --- export ------------------------------------------------------------------------------


def alerts_with_events(store: Store) -> list[Row]:
    """Every alert as its row, with its events' rows under ``events``."""
    events: dict[int, list[Row]] = {}
    for event in store.event_rows():
        events.setdefault(event["alert_id"], []).append(event)
    return [{**alert, "events": events.get(alert["id"], [])} for alert in store.alert_rows()]


# --- catalog re-sync ---------------------------------------------------------------------


@dataclass(frozen=True)
class SyncReport:
    added: list[str]
    removed: list[str]
    kept: int
    pruned_observations: int
    resolved_alerts: int = 0
    changes: list[KpiChange] = field(default_factory=list)
    rerouted_alerts: int = 0  # open alerts whose routes the new catalog changed
    # Derived KPIs whose expression is new or changed: their history is computed again.
    recomputed: list[str] = field(default_factory=list)


def sync_catalog(
    store: Store,
    catalog: Catalog,
    *,
    prune: bool = False,
    force: bool = False,
    source: str | None = None,
    now: datetime | None = None,
    who: str = "",
) -> SyncReport:
    """Replace the catalog tables with ``catalog`` in one transaction, keeping observations
    and alert history. A catalog that would remove more than half of the store's KPIs
    (most likely the wrong catalog) is refused unless ``force``; a removed KPI that has
    observations is refused unless ``prune``; a removed KPI's or system's open alerts are
    resolved through the lifecycle, each with its event. The open alerts left are routed
    again by the new catalog (its agents, owners and lineage); resolved alerts keep the
    routes they had. ``source``, the catalog's directory, is recorded as the store's
    catalog (``store_meta``'s ``catalog``). A new or changed quarterly target is recorded as
    set by ``who`` (the acting user) from the catalog."""
    moment = now or utc_now()
    with store.transaction():
        before = store.read_catalog()
        changes = kpi_changes(before, catalog)
        existing = store.kpi_ids()
        removed = sorted(existing - set(catalog.kpis))
        added = sorted(set(catalog.kpis) - existing)
        if not force and len(removed) * 2 > len(existing):
            origin = f"The catalog at {source}" if source else "The new catalog"
            raise StoreError(
                f"{origin} would remove {len(removed)} of the store's "
                f"{plural(len(existing), 'KPI')} "
                f"({', '.join(removed)}); nothing was changed. Check that it is the catalog "
                "you meant (--catalog DIR), or pass --force to sync it anyway."
            )
        history = store.observation_counts(removed) if removed else {}
        if history and not prune:
            listed = ", ".join(f"{k} ({n} observations)" for k, n in sorted(history.items()))
            raise StoreError(
                f"The new catalog drops KPIs that have history: {listed}; nothing was "
                "changed. Pass --prune to delete their observations."
            )
        pruned = store.delete_observations(removed) if removed else 0
        resolved = 0
        for alert in store.open_alerts():
            if alert.kpi_id in removed:
                reason = f"KPI {alert.kpi_id} was removed from the catalog"
            elif alert.system_id is not None and alert.system_id not in catalog.systems:
                reason = f"system {alert.system_id} was removed from the catalog"
            else:
                continue
            store.record(*withdraw(alert, reason, moment))
            resolved += 1
        store.write_catalog(catalog, who=who, at=stamp(moment))
        recomputed = _mark_new_expressions(store, before, catalog)
        rerouted = _reroute_open_alerts(store, catalog)
        store.set_meta("catalog_synced", stamp(moment))
        if source is not None:
            store.set_meta("catalog", source)
    kept = len(existing & set(catalog.kpis))
    return SyncReport(added, removed, kept, pruned, resolved, changes, rerouted, recomputed)


def _mark_new_expressions(store: Store, before: Catalog, catalog: Catalog) -> list[str]:
    """The derived KPIs whose expression is new or changed, with every period of theirs and
    of their inputs made pending (their whole history is computed again); call inside the
    re-sync's transaction."""
    recomputed: list[str] = []
    touched: set[str] = set()
    for kpi in catalog.kpis.values():
        formula = formula_of(kpi)
        old = before.kpis.get(kpi.id)
        if formula is None or (old is not None and old.compute == kpi.compute):
            continue
        recomputed.append(kpi.id)
        touched |= {kpi.id, *formula.inputs}
    if touched:
        store.mark_history_pending(touched)
    return recomputed


def _reroute_open_alerts(store: Store, catalog: Catalog) -> int:
    """Route every open alert by ``catalog``, writing only the changed routes; how many
    changed. Call inside the re-sync's transaction."""
    graph = LineageGraph(catalog)
    open_alerts = [a for a in store.open_alerts() if a.id is not None]
    before = store.routes_of(a.id for a in open_alerts if a.id is not None)
    changed = 0
    for alert in open_alerts:
        assert alert.id is not None
        now = routes(alert.kpi_id, alert.system_id, catalog, graph)
        if now != before.get(alert.id, []):
            store.save_routes(alert.id, now)
            changed += 1
    return changed
