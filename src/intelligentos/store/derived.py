"""Derived KPIs' observations: the periods pending computation, their inputs' values, the
computed rows and the gaps (see :mod:`intelligentos.domain.derived`).

Triggers on ``observations`` (:data:`intelligentos.store.schema.CREATE_DERIVED_TRIGGERS`)
record in ``derived_pending`` every period whose inputs any process wrote; a computation
reads those periods in batches, in order, and writes each batch's results before the next.
Every method here but :meth:`DerivedQueries.has_pending` and :meth:`DerivedQueries.gaps`
runs inside the caller's :meth:`~intelligentos.store.connection.StoreConnections.transaction`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from intelligentos.domain.plausibility import Gap
from intelligentos.store.connection import StoreConnections

# (value, computed) of a KPI's row for a period; the value may be NULL ("no value").
Stored = tuple[float | None, int]

SELECT_GAPS = (
    "SELECT kpi_id, period, reason, count(*) OVER () AS total FROM derived_gaps "
    "ORDER BY kpi_id, period LIMIT ?"
)
SELECT_PENDING = "SELECT period FROM derived_pending WHERE period > ? ORDER BY period LIMIT ?"
# A KPI's rows from one pending period to another: one range scan of the primary key. The
# batches' ranges never overlap, so however sparse the pending periods, every row is read at
# most once per computation.
SELECT_RANGE_VALUES = (
    "SELECT period, value FROM observations WHERE kpi_id = ? AND period >= ? AND period <= ? "
    "AND typeof(value) = 'real'"
)
SELECT_RANGE_ROWS = (
    "SELECT period, value, computed FROM observations "
    "WHERE kpi_id = ? AND period >= ? AND period <= ?"
)
SELECT_PENDING_GAPS = (
    "SELECT g.kpi_id, g.period FROM derived_pending AS p "
    "JOIN derived_gaps AS g ON g.period = p.period WHERE p.period >= ? AND p.period <= ?"
)
UPSERT_COMPUTED = (
    "INSERT INTO observations (kpi_id, period, value, source, ingested_at, computed) "
    "VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (kpi_id, period) DO UPDATE SET "
    "value = excluded.value, source = excluded.source, ingested_at = excluded.ingested_at, "
    "computed = 1"
)
# Every period a KPI (derived or an input) has a row for, pending: a whole history to compute
# again (a catalog that adds or changes an expression).
MARK_HISTORY_PENDING = (
    "INSERT OR IGNORE INTO derived_pending (period) SELECT period FROM observations "
    "WHERE kpi_id IN (SELECT value FROM json_each(?))"
)


class DerivedQueries(StoreConnections):
    """The derived KPIs' bookkeeping."""

    def has_pending(self) -> bool:
        """Whether some period's derived values must be computed again (one index seek)."""
        return bool(self.query("SELECT EXISTS (SELECT 1 FROM derived_pending) AS any")[0]["any"])

    def pending_periods(self, after: str, limit: int) -> list[str]:
        """The next ``limit`` pending periods after ``after``, in order."""
        with self._read() as conn:
            return [row[0] for row in conn.execute(SELECT_PENDING, (after, limit))]

    def pending_values(
        self, kpi_ids: Iterable[str], first: str, last: str
    ) -> dict[str, dict[str, float]]:
        """For each of these KPIs, its numeric values from period ``first`` to ``last`` (the
        first and last of a batch of pending periods): KPI id -> period -> value (a NULL or a
        text written by hand is no value)."""
        with self._read() as conn:
            return {
                kpi_id: dict(conn.execute(SELECT_RANGE_VALUES, (kpi_id, first, last)))
                for kpi_id in kpi_ids
            }

    def pending_rows(
        self, kpi_ids: Iterable[str], first: str, last: str
    ) -> dict[str, dict[str, Stored]]:
        """For each of these KPIs, its rows from period ``first`` to ``last``, whatever they
        hold: KPI id -> period -> (value, computed)."""
        found: dict[str, dict[str, Stored]] = {}
        with self._read() as conn:
            for kpi_id in kpi_ids:
                found[kpi_id] = {
                    period: (value, computed)
                    for period, value, computed in conn.execute(
                        SELECT_RANGE_ROWS, (kpi_id, first, last)
                    )
                }
        return found

    def pending_gaps(self, first: str, last: str) -> set[tuple[str, str]]:
        """The (KPI id, period) gaps recorded for the pending periods from ``first`` to
        ``last``."""
        with self._read() as conn:
            return {(k, p) for k, p in conn.execute(SELECT_PENDING_GAPS, (first, last))}

    def write_derived(
        self,
        upserts: Sequence[tuple[str, str, float, str, str]],
        deletes: Sequence[tuple[str, str]],
        gaps: Sequence[tuple[str, str, str]],
        cleared: Sequence[tuple[str, str]],
    ) -> None:
        """Write computed rows (kpi, period, value, source, ingested_at), delete rows
        (kpi, period), record gaps (kpi, period, reason) and forget gaps (kpi, period)."""
        with self._read() as conn:
            if upserts:
                conn.executemany(UPSERT_COMPUTED, upserts)
            if deletes:
                conn.executemany(
                    "DELETE FROM observations WHERE kpi_id = ? AND period = ?", deletes
                )
            if gaps:
                conn.executemany(
                    "INSERT INTO derived_gaps (kpi_id, period, reason) VALUES (?, ?, ?) "
                    "ON CONFLICT (kpi_id, period) DO UPDATE SET reason = excluded.reason",
                    gaps,
                )
            if cleared:
                conn.executemany(
                    "DELETE FROM derived_gaps WHERE kpi_id = ? AND period = ?", cleared
                )

    def clear_pending(self, first: str, last: str) -> None:
        """Forget the pending periods from ``first`` to ``last`` (computed)."""
        with self._read() as conn:
            conn.execute(
                "DELETE FROM derived_pending WHERE period >= ? AND period <= ?", (first, last)
            )

    def mark_history_pending(self, kpi_ids: Iterable[str]) -> None:
        """Make every period these KPIs have a row for pending."""
        with self._read() as conn:
            conn.execute(MARK_HISTORY_PENDING, (json.dumps(sorted(kpi_ids)),))

    def gaps(self, shown: int = 5) -> tuple[tuple[Gap, ...], int]:
        """The first ``shown`` gaps (by KPI and period) and how many there are."""
        rows = self.query(SELECT_GAPS, (shown,))
        return (
            tuple(Gap(r["kpi_id"], r["period"], r["reason"]) for r in rows),
            rows[0]["total"] if rows else 0,
        )
