"""Bulk work on a store: staged atomic imports, exports, and catalog re-sync.

Imports are staged in a TEMP table (the connection's own temporary database, on disk), which
needs no lock on the store: other processes keep reading and writing while a large file is
parsed. Only the final merge takes the write lock, in one transaction, so a crash leaves
either none or all of an import's rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from intelligentos.catalog.models import Catalog
from intelligentos.store.store import Store, StoreError, _catalog_rows

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
    value = excluded.value, source = excluded.source, ingested_at = excluded.ingested_at
WHERE observations.value IS NOT excluded.value OR observations.source IS NOT excluded.source
"""
COUNT_CHANGES = """
SELECT
    sum(o.kpi_id IS NULL),
    sum(o.kpi_id IS NOT NULL AND (o.value IS NOT s.value OR o.source IS NOT s.source)),
    sum(o.kpi_id IS NOT NULL AND o.value IS s.value AND o.source IS s.source)
FROM temp.import_stage AS s
LEFT JOIN observations AS o ON o.kpi_id = s.kpi_id AND o.period = s.period
"""


@dataclass(frozen=True)
class MergeCounts:
    inserted: int
    updated: int
    unchanged: int


class Staging:
    """A private staging area for one import on one connection."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.rows = 0
        self.duplicate_rows: list[tuple[int, int, int, int]] = []
        with store._lock:
            conn = store._conn
            store.ensure_intact("nothing was imported")
            conn.execute("PRAGMA temp_store = FILE")
            conn.execute(STAGE_SCHEMA)
            conn.execute("DELETE FROM temp.import_stage")

    def add(self, rows: list[tuple]) -> None:
        """Stage (kpi_id, period, value, source, file_index, row) tuples.

        The primary key drops a second row for the same (kpi_id, period); only when that
        happens is the batch looked at row by row, to say which row repeats which.
        """
        with self.store._lock:
            conn = self.store._conn
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

    def _find_duplicates(self, conn, rows: list[tuple]) -> None:
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
        with self.store._lock:
            inserted, updated, unchanged = self.store._conn.execute(COUNT_CHANGES).fetchone()
        return MergeCounts(inserted or 0, updated or 0, unchanged or 0)

    def merge(self, now: datetime | None = None) -> MergeCounts:
        """Upsert every staged row into ``observations`` in one write transaction."""
        moment = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.store.transaction() as conn:
            inserted, updated, unchanged = conn.execute(COUNT_CHANGES).fetchone()
            conn.execute(MERGE, (moment,))
        return MergeCounts(inserted or 0, updated or 0, unchanged or 0)

    def close(self) -> None:
        with self.store._lock:
            self.store._conn.execute("DROP TABLE IF EXISTS temp.import_stage")


def kpi_ids(store: Store) -> set[str]:
    return {row["id"] for row in store._query("SELECT id FROM kpis")}


# --- export ------------------------------------------------------------------------------


def iter_observations(
    store: Store, kpi_id: str | None = None, since: str | None = None, until: str | None = None
) -> Iterator[dict]:
    """Observations in (kpi_id, period) order, streamed in pages (bounded memory)."""
    after = ("", "")
    while True:
        with store._lock:
            rows = store._conn.execute(
                "SELECT kpi_id, period, value, source, ingested_at FROM observations "
                "WHERE (kpi_id, period) > (?1, ?2) "
                "AND (?3 IS NULL OR kpi_id = ?3) AND (?4 IS NULL OR period >= ?4) "
                "AND (?5 IS NULL OR period <= ?5) ORDER BY kpi_id, period LIMIT 5000",
                (after[0], after[1], kpi_id, since, until),
            ).fetchall()
        if not rows:
            return
        for kpi, period, value, source, ingested in rows:
            yield {
                "kpi_id": kpi,
                "period": period,
                "value": value,
                "source": source,
                "ingested_at": ingested,
            }
        after = (rows[-1][0], rows[-1][1])


def alerts_with_events(store: Store) -> list[dict]:
    alerts = store._query("SELECT * FROM alerts ORDER BY id")
    events: dict[int, list[dict]] = {}
    for event in store._query("SELECT * FROM alert_events ORDER BY alert_id, id"):
        events.setdefault(event["alert_id"], []).append(event)
    return [{**alert, "events": events.get(alert["id"], [])} for alert in alerts]


# --- catalog re-sync ---------------------------------------------------------------------


@dataclass(frozen=True)
class SyncReport:
    added: list[str]
    removed: list[str]
    kept: int
    pruned_observations: int


def kpis_with_history(store: Store, ids: Iterable[str]) -> dict[str, int]:
    wanted = json.dumps(sorted(ids))
    rows = store._query(
        "SELECT kpi_id, count(*) AS n FROM observations "
        "WHERE kpi_id IN (SELECT value FROM json_each(?)) GROUP BY kpi_id",
        (wanted,),
    )
    return {row["kpi_id"]: row["n"] for row in rows}


def sync_catalog(store: Store, catalog: Catalog, *, prune: bool = False) -> SyncReport:
    """Replace the catalog tables with ``catalog`` in one transaction, keeping observations
    and alert history. A removed KPI that has observations is refused unless ``prune``."""
    from intelligentos.store.schema import CATALOG_TABLES, DELETE_CATALOG_TABLE

    with store.transaction() as conn:
        existing = {row[0] for row in conn.execute("SELECT id FROM kpis")}
        removed = sorted(existing - set(catalog.kpis))
        added = sorted(set(catalog.kpis) - existing)
        history = kpis_with_history(store, removed) if removed else {}
        if history and not prune:
            listed = ", ".join(f"{k} ({n} observations)" for k, n in sorted(history.items()))
            raise StoreError(
                f"The new catalog drops KPIs that have history: {listed}; nothing was "
                "changed. Pass --prune to delete their observations."
            )
        pruned = 0
        if removed:
            gone = json.dumps(removed)
            pruned = conn.execute(
                "DELETE FROM observations WHERE kpi_id IN (SELECT value FROM json_each(?))",
                (gone,),
            ).rowcount
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            conn.execute(
                "UPDATE alerts SET state = 'resolved', resolved_at = ?, updated_at = ? "
                "WHERE state != 'resolved' AND kpi_id IN (SELECT value FROM json_each(?))",
                (now, now, gone),
            )
        for table in CATALOG_TABLES:
            conn.execute(DELETE_CATALOG_TABLE[table])
        for table, rows in _catalog_rows(catalog).items():
            if rows:
                store.db[table].insert_all(rows)
        conn.execute(
            "INSERT INTO store_meta (key, value) VALUES ('catalog_synced', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),),
        )
    return SyncReport(added, removed, len(existing & set(catalog.kpis)), pruned)
