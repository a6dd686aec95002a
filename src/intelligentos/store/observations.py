"""The observations' queries: the latest windows, the periods read, the rows the importer
would have refused, and upserts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator

from intelligentos.domain.observations import Observation
from intelligentos.domain.plausibility import PLAUSIBLE, Gap, StrayRows
from intelligentos.store.connection import Row, StoreConnections
from intelligentos.store.derived import SELECT_GAPS
from intelligentos.store.schema import (
    SELECT_FIRST_PERIOD,
    SELECT_FIRST_PERIOD_OF,
    SELECT_FUTURE_ROWS,
    SELECT_IMPLAUSIBLE_VALUES,
    SELECT_LATER_PERIOD,
    SELECT_LATEST_WINDOW,
    SELECT_UNKNOWN_KPI_ROWS,
    SELECT_UNREADABLE_PERIODS,
    SELECT_WINDOW_BETWEEN,
)

NO_UPPER_BOUND = "\uffff"  # sorts after every period text


def _kpi_ids(conn: sqlite3.Connection, kpi_ids: Iterable[str] | None) -> list[str]:
    """The KPIs asked for, else every KPI in catalog order."""
    if kpi_ids is not None:
        return list(kpi_ids)
    return [r[0] for r in conn.execute("SELECT id FROM kpis ORDER BY position")]


class ObservationQueries(StoreConnections):
    """Reading and writing the observations."""

    def latest_windows(
        self, size: int, kpi_ids: Iterable[str] | None = None, until: str | None = None
    ) -> dict[str, list[tuple[str, float | None]]]:
        """The latest ``size`` observations of each KPI, oldest first; ``until`` bounds
        the periods read (see :func:`intelligentos.domain.clock.period_upper_bound`).

        One indexed range scan per KPI (the primary key is ``(kpi_id, period)``), so the
        cost grows with what is shown, not with the length of the history.
        """
        upper = until or NO_UPPER_BOUND
        windows: dict[str, list[tuple[str, float | None]]] = {}
        with self._read() as conn:
            ids = _kpi_ids(conn, kpi_ids)
            for kpi_id in ids:
                rows = conn.execute(SELECT_LATEST_WINDOW, (kpi_id, upper, size)).fetchall()
                rows.reverse()
                windows[kpi_id] = rows
        return windows

    def windows_between(
        self, kpi_ids: Iterable[str], after: str, until: str
    ) -> dict[str, list[tuple[str, float | None]]]:
        """Each KPI's observations with ``after < period <= until``, oldest first: one
        indexed range scan per KPI."""
        windows: dict[str, list[tuple[str, float | None]]] = {}
        with self._read() as conn:
            for kpi_id in kpi_ids:
                rows = conn.execute(SELECT_WINDOW_BETWEEN, (kpi_id, after, until))
                windows[kpi_id] = rows.fetchall()
        return windows

    def later_periods(self, after: str, kpi_ids: Iterable[str] | None = None) -> dict[str, str]:
        """Each KPI's latest period after ``after`` (the end of a day, see
        :func:`intelligentos.domain.clock.period_upper_bound`), for the KPIs that have one: one
        indexed seek per KPI."""
        found: dict[str, str] = {}
        with self._read() as conn:
            ids = _kpi_ids(conn, kpi_ids)
            for kpi_id in ids:
                row = conn.execute(SELECT_LATER_PERIOD, (kpi_id, after)).fetchone()
                if row is not None:
                    found[kpi_id] = row[0]
        return found

    def history(
        self, kpi_id: str, limit: int = 100_000, until: str | None = None
    ) -> list[tuple[str, float | None]]:
        return self.latest_windows(limit, [kpi_id], until)[kpi_id]

    def observation_counts(self, kpi_ids: Iterable[str]) -> dict[str, int]:
        wanted = json.dumps(sorted(kpi_ids))
        rows = self.query(
            "SELECT kpi_id, count(*) AS n FROM observations "
            "WHERE kpi_id IN (SELECT value FROM json_each(?)) GROUP BY kpi_id",
            (wanted,),
        )
        return {row["kpi_id"]: row["n"] for row in rows}

    def delete_observations(self, kpi_ids: Iterable[str]) -> int:
        """Delete every observation of these KPIs; call inside :meth:`transaction`."""
        with self._read() as conn:
            cursor = conn.execute(
                "DELETE FROM observations WHERE kpi_id IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(kpi_ids)),),
            )
            return cursor.rowcount

    def iter_observations(
        self,
        kpi_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        page: int = 5000,
    ) -> Iterator[Row]:
        """Observations in (kpi_id, period) order, read in pages (bounded memory); not the
        values the store computed for derived KPIs (an import of these rows computes them
        again, and refuses them as values)."""
        after = ("", "")
        while True:
            rows = self.query(
                "SELECT kpi_id, period, value, source, ingested_at FROM observations "
                "WHERE (kpi_id, period) > (?1, ?2) "
                "AND (?3 IS NULL OR kpi_id = ?3) AND (?4 IS NULL OR period >= ?4) "
                "AND (?5 IS NULL OR period <= ?5) AND computed = 0 "
                "ORDER BY kpi_id, period LIMIT ?6",
                (after[0], after[1], kpi_id, since, until, page),
            )
            if not rows:
                return
            yield from rows
            after = (rows[-1]["kpi_id"], rows[-1]["period"])

    def upsert_observations(self, observations: Iterable[Observation]) -> int:
        """Insert or update observations in one transaction; return how many were written."""
        written = 0
        with self.transaction() as conn:
            for obs in observations:
                conn.execute(
                    "INSERT INTO observations (kpi_id, period, value, source) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (kpi_id, period) DO UPDATE SET value = excluded.value, "
                    "source = excluded.source, ingested_at = excluded.ingested_at",
                    (obs.kpi_id, obs.period, obs.value, obs.source),
                )
                written += 1
        return written

    def stray_observations(self, shown: int = 5, after: str | None = None) -> StrayRows:
        """Observation rows the importer would have refused, and the periods derived KPIs
        have no value for (``derived_gaps``). Refused: for a KPI the catalog does not know,
        with a period that is not an ISO-8601 date or datetime, or with a value outside
        its unit's plausible range; and, given ``after`` (the end of today, from
        :func:`intelligentos.domain.clock.period_upper_bound`), rows dated after it, which no read
        takes as a value yet. One pass per kind over the observations."""
        future = self.query(SELECT_FUTURE_ROWS, (after, shown)) if after is not None else []
        unknown = self.query(SELECT_UNKNOWN_KPI_ROWS)
        bad = self.query(SELECT_UNREADABLE_PERIODS, (shown,))
        bounds = [(unit.value, low, high) for unit, (low, high) in PLAUSIBLE.items()]
        implausible = self.query(
            SELECT_IMPLAUSIBLE_VALUES, (*(v for bound in bounds for v in bound), shown)
        )
        gaps = self.query(SELECT_GAPS, (shown,))
        return StrayRows(
            unknown_kpis=tuple((r["kpi_id"], r["n"]) for r in unknown),
            bad_periods=tuple((r["kpi_id"], r["period"]) for r in bad),
            bad_period_count=bad[0]["total"] if bad else 0,
            implausible=tuple(
                (r["kpi_id"], r["period"], r["value"], r["unit"]) for r in implausible
            ),
            implausible_count=implausible[0]["total"] if implausible else 0,
            future=tuple((r["kpi_id"], r["period"]) for r in future),
            future_count=future[0]["total"] if future else 0,
            today=after[:10] if after is not None else "",
            undefined=tuple(Gap(r["kpi_id"], r["period"], r["reason"]) for r in gaps),
            undefined_count=gaps[0]["total"] if gaps else 0,
        )

    def first_period_of(self, kpi_id: str) -> str | None:
        """One KPI's earliest period with a value (``None``: it has none)."""
        rows = self.query(SELECT_FIRST_PERIOD_OF, (kpi_id,))
        return str(rows[0]["period"]) if rows else None

    def first_period(self) -> str | None:
        """The earliest observation's period (``None``: no observations): one index seek
        per KPI, however long the history."""
        rows = self.query(SELECT_FIRST_PERIOD)
        first: str | None = rows[0]["first"] if rows else None
        return first
