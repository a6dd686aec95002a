"""The SQLite KPI store. The only place in the product that knows SQL.

Opening never modifies a file that is not ours: identity (SQLite header, our ``store_meta``
marker, the schema version) is checked on a read-only connection first.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intelligentos.domain import agents
from intelligentos.domain.agents import Route
from intelligentos.domain.alerts import OPEN_STATES, Alert, Event, State, by_severity, state_at
from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.detection import Severity
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.plausibility import PLAUSIBLE, StrayRows
from intelligentos.domain.whatif.scenarios import SavedScenario

if TYPE_CHECKING:  # the forecasts' types are imported where they are read, off launch
    from intelligentos.domain.forecast import Forecast, Projection

from intelligentos.store.catalog import Row, catalog_from_rows, catalog_to_rows
from intelligentos.store.schema import (
    ALERT_COLUMNS,
    APP_ID,
    CATALOG_TABLES,
    DELETE_CATALOG_TABLE,
    INSERT_ALERT,
    MIGRATIONS,
    ROUTING_VERSION,
    SCHEMA_V1,
    SCHEMA_VERSION,
    SELECT_CATALOG_TABLE,
    SELECT_FIRST_PERIOD,
    SELECT_FUTURE_ROWS,
    SELECT_IMPLAUSIBLE_VALUES,
    SELECT_LATER_PERIOD,
    SELECT_LATEST_WINDOW,
    SELECT_UNKNOWN_KPI_ROWS,
    SELECT_UNREADABLE_PERIODS,
    SET_BUSY_TIMEOUT,
    SET_WRITER_BUSY_TIMEOUT,
    TABLE_NAMES,
    UPDATE_ALERT,
    count_rows,
    set_user_version,
)

LOCK_PATIENCE_SECONDS = 60.0
NO_UPPER_BOUND = "\uffff"  # sorts after every period text


class StoreError(Exception):
    """A store cannot be opened, read or written; the message is one sentence for the user.

    Every public function and method of the store package raises this (never a raw
    ``sqlite3`` error); a database error underneath is chained as its ``__cause__``."""


class StoreDamaged(StoreError):
    """The quick check found the file damaged; nothing is written into it."""


def _database_error(path: Path, error: sqlite3.Error, writing: bool) -> StoreError:
    """The store's error for a database error met while reading or writing the store at
    ``path`` (a write's transaction is rolled back whole)."""
    text = str(error)
    consequence = "nothing was saved" if writing else "the store was left untouched"
    if "malformed" in text or "not a database" in text:
        return StoreError(f"{path} is damaged ({text}); {consequence}.")
    if text == "interrupted":  # only close() interrupts
        return StoreError(f"{path} was closed while in use; {consequence}.")
    return StoreError(
        f"{path} could not be {'written' if writing else 'read'} ({text}); {consequence}."
    )


class _Reader:
    """A reader connection and the lock its user holds while using it.

    Closing a connection while another thread is inside a statement on it can crash the
    interpreter (Python's sqlite3 reads the connection's handle again when the statement
    returns, and finds it gone), so :meth:`Store.close` closes a reader only with its lock.
    """

    __slots__ = ("closed", "conn", "lock")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.lock = threading.RLock()
        self.closed = False

    def close(self) -> None:
        # No module globals here: a lease may close its reader as the interpreter exits.
        with self.lock:
            if not self.closed:
                self.closed = True
                self.conn.close()


class _Lease:
    """A thread's hold on its reader, kept only in that thread's local storage.

    When the thread ends, its local storage is freed, and so is this lease, which closes the
    connection at once. The connection itself cannot be left to be freed: a
    ``sqlite3.Connection`` is in a reference cycle with its statement cache, so it would
    wait for the cyclic garbage collector, which the cockpit turns off and freezes.
    """

    __slots__ = ("reader", "readers", "readers_lock")

    def __init__(
        self, reader: _Reader, readers: set[_Reader], readers_lock: threading.RLock
    ) -> None:
        self.reader = reader
        self.readers = readers
        self.readers_lock = readers_lock

    def __del__(self) -> None:
        with self.readers_lock:
            self.readers.discard(self.reader)
        self.reader.close()


@dataclass(frozen=True)
class StoredForecast:
    """A forecast as kept in the store, with when it was made."""

    forecast: Forecast
    made_at: str


@dataclass(frozen=True)
class Observation:
    kpi_id: str
    period: str
    value: float | None
    source: str | None = None


def _describe_sqlite_error(path: Path, error: sqlite3.Error) -> str:
    text = str(error)
    if "not a database" in text or "malformed" in text:
        return f"{path} is damaged or is not a SQLite database ({text}); it was left untouched."
    return f"{path} could not be read as a KPI store ({text}); it was left untouched."


def identify_store(path: Path) -> int:
    """Return the schema version of our store at ``path`` or raise :class:`StoreError`.

    Uses a read-only connection, so a foreign or broken file is never modified.
    """
    path = Path(path)
    if not path.exists():
        raise StoreError(f"No KPI store at {path}; create one with `intelligentos-tui init`.")
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a KPI store file.")
    # Only SQLite opens the file: POSIX locks belong to the process, and closing any other
    # descriptor of it would drop the locks of this process's open connections.
    try:
        empty = path.stat().st_size == 0
        readable = os.access(path, os.R_OK)
    except OSError as error:
        raise StoreError(f"{path} cannot be read: {error.strerror}.") from error
    if empty:
        raise StoreError(
            f"{path} is an empty file, not an IntelligentOS KPI store; it was left untouched."
        )
    if not readable:
        raise StoreError(f"{path} cannot be read: Permission denied.")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise StoreError(_describe_sqlite_error(path, error)) from error
    try:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        has_meta = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'store_meta'"
        ).fetchone()
        app = (
            conn.execute("SELECT value FROM store_meta WHERE key = 'app'").fetchone()
            if has_meta
            else None
        )
    except sqlite3.Error as error:
        raise StoreError(_describe_sqlite_error(path, error)) from error
    finally:
        conn.close()
    if not app or app[0] != APP_ID:
        raise StoreError(
            f"{path} is a SQLite database of another application, not an IntelligentOS KPI "
            "store; it was left untouched."
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer IntelligentOS (schema {version}, this version "
            f"reads up to {SCHEMA_VERSION}); upgrade intelligentos-cockpit to open it."
        )
    return version


class Store:
    """One store file, shared by the threads of one process.

    Every thread reads through a connection of its own (WAL lets readers run beside a
    writer, in this process or another). Writes go through one writer connection, one
    transaction at a time. Waiting for another process's write lock happens in short
    slices with nothing held that readers need, and :meth:`close` ends such a wait (and
    interrupts running statements) at once, so that quitting never waits on the store.
    """

    def __init__(self, path: Path, readonly: bool) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._uri = f"{self.path.resolve().as_uri()}?mode={'ro' if readonly else 'rw'}"
        self._local = threading.local()
        # Every reader this store opened and has not closed: close() closes them all.
        self._readers: set[_Reader] = set()
        # Reentrant: a lease freed while this thread holds it discards its reader too.
        self._readers_lock = threading.RLock()
        self._write_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._writing_thread: int | None = None
        self._closed = threading.Event()
        # The quick check's verdict, once known: the first write waits for it, so that a
        # damaged file is never written, and saying it was left untouched is always true.
        self._verdict: str | None = None

    # --- opening and closing -------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False) -> Store:
        """Open our store at ``path`` (migrating an older schema); raise :class:`StoreError`
        for anything else. Blocking: the cockpit calls it from a worker thread."""
        path = Path(path)
        version = identify_store(path)
        if not readonly and not os.access(path, os.W_OK):
            readonly = True
        store = cls(path, readonly)
        try:
            reader = store._reader()
            with reader.lock:
                mode = reader.conn.execute("PRAGMA journal_mode").fetchone()[0]
            if not readonly and mode != "wal":
                # Switching rewrites the header: a write like any other (checked first). A
                # damaged file stays as it is, open for reading; every write refuses.
                with contextlib.suppress(StoreDamaged), store.session() as writer:
                    writer.execute("PRAGMA journal_mode = WAL")
        except sqlite3.Error as error:
            store.close()
            raise StoreError(_describe_sqlite_error(path, error)) from error
        except StoreError:
            store.close()
            raise
        if version < SCHEMA_VERSION:
            if readonly:
                store.close()
                raise StoreError(
                    f"{path} uses schema {version} and needs an upgrade, but it is read-only."
                )
            try:
                store._migrate(version)
            except BaseException:
                store.close()
                raise
        return store

    def _connect(self, busy_timeout: str) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._uri, uri=True, isolation_level=None, check_same_thread=False, timeout=5.0
        )
        try:
            conn.execute(busy_timeout)
        except BaseException:
            conn.close()
            raise
        return conn

    def _writer_connection(self) -> sqlite3.Connection:
        """The one connection that writes; call with the write lock held."""
        if self._closed.is_set():
            raise StoreError(f"{self.path} was closed; nothing was saved.")
        if self._writer is None:
            self._writer = self._connect(SET_WRITER_BUSY_TIMEOUT)
            self._writer.execute("PRAGMA synchronous = NORMAL")
        return self._writer

    def _reader(self) -> _Reader:
        """This thread's reader, opened on first use."""
        lease: _Lease | None = getattr(self._local, "lease", None)
        if lease is not None and not lease.reader.closed:
            return lease.reader
        if self._closed.is_set():
            raise StoreError(f"{self.path} was closed.")
        try:
            conn = self._connect(SET_BUSY_TIMEOUT)
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as error:
            raise _database_error(self.path, error, writing=False) from error
        reader = _Reader(conn)
        with self._readers_lock:
            # Checked under the lock that close() takes after setting it: a reader is
            # either seen by close() or never handed out.
            closing = self._closed.is_set()
            if not closing:
                self._readers.add(reader)
        if closing:
            reader.close()
            raise StoreError(f"{self.path} was closed.")
        self._local.lease = _Lease(reader, self._readers, self._readers_lock)
        return reader

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection for reading, held for the block (the writer, inside a
        transaction of this thread, so that a transaction reads what it has written); a
        database error in the block becomes a :class:`StoreError`."""
        if self._writing_thread == threading.get_ident() and self._writer is not None:
            try:
                yield self._writer
            except sqlite3.Error as error:
                raise _database_error(self.path, error, writing=True) from error
            return
        reader = self._reader()
        with reader.lock:
            if reader.closed:
                raise StoreError(f"{self.path} was closed.")
            try:
                yield reader.conn
            except sqlite3.Error as error:
                raise _database_error(self.path, error, writing=False) from error
            finally:
                if self._closed.is_set():
                    # close() stopped waiting for this block: its user closes the reader.
                    self._forget(reader)
                    reader.close()

    def _forget(self, reader: _Reader) -> None:
        with self._readers_lock:
            self._readers.discard(reader)

    def _migrate(self, version: int) -> None:
        with self.transaction() as conn:
            unrouted = version < ROUTING_VERSION
            while version < SCHEMA_VERSION:
                for statement in MIGRATIONS[version].split(";\n"):
                    if statement.strip():
                        conn.execute(statement)
                version += 1
                conn.execute(set_user_version(version))
            if unrouted:
                self._route_every_alert()

    def _route_every_alert(self) -> None:
        """Route the alerts of a store older than routing, by its catalog (the upgrade's
        transaction: every alert, resolved ones too, so that ``--agent`` finds its history)."""
        catalog = self.read_catalog()
        graph = LineageGraph(catalog)
        for row in self.query("SELECT id, kpi_id, system_id FROM alerts ORDER BY id"):
            self.save_routes(
                row["id"], agents.routes(row["kpi_id"], row["system_id"], catalog, graph)
            )

    def close(self, grace: float = 0.03, patience: float = 5.0) -> None:
        """Close every connection of the store, from any thread.

        A write in flight gets ``grace`` seconds to finish; after that it is interrupted
        (its transaction rolls back whole), as are running reads, and a wait for another
        process's lock ends at once. Each connection is closed when its user is out of it
        (at once, after an interruption); one still in use after ``patience`` seconds is
        closed by its user as it leaves it. Any later use raises :class:`StoreError`."""
        writer_idle = self._write_lock.acquire(timeout=grace)
        try:
            with self._readers_lock:
                self._closed.set()
                readers = list(self._readers)
            if not writer_idle:
                writer = self._writer
                if writer is not None:
                    # Safe beside its user: it only sets a flag, and Python's sqlite3 does
                    # not let the connection go meanwhile.
                    with contextlib.suppress(sqlite3.Error):
                        writer.interrupt()
            for reader in readers:
                # Interrupting an idle connection could stop a later statement's start, so
                # only a reader in use is interrupted.
                if not reader.lock.acquire(blocking=False):
                    with contextlib.suppress(sqlite3.Error):
                        reader.conn.interrupt()
                    if not reader.lock.acquire(timeout=patience):
                        continue
                try:
                    self._forget(reader)
                    reader.close()
                finally:
                    reader.lock.release()
            if not writer_idle:
                writer_idle = self._write_lock.acquire(timeout=patience)
            if writer_idle and self._writer is not None:
                # Last, so that it checkpoints the WAL into the file when no reader is left.
                self._writer.close()
                self._writer = None
        finally:
            if writer_idle:
                self._write_lock.release()

    @property
    def writer_busy(self) -> bool:
        """Whether a thread of this process has the writer connection (a transaction or a
        session under way, or waiting for another process's write lock): a write asked for
        now would wait."""
        return self._write_lock.locked()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions --------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the writer connection. BEGIN IMMEDIATE takes the write
        lock up front; while another process holds it, retry with backoff (up to
        ``LOCK_PATIENCE_SECONDS``) rather than surface "database is locked" to the user.
        A database error in the block rolls it back and becomes a :class:`StoreError`."""
        if self.readonly:
            raise StoreError(f"{self.path} is read-only; the change cannot be saved.")
        with self.session() as conn:
            self._begin_immediate(conn)
            self._writing_thread = threading.get_ident()
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            finally:
                self._writing_thread = None

    @contextlib.contextmanager
    def session(self) -> Iterator[sqlite3.Connection]:
        """The writer connection, this thread's alone until the block ends, without a
        transaction: for work on its private TEMP tables (staging an import) that a later
        :meth:`transaction` merges. A database error in the block becomes a
        :class:`StoreError`."""
        with self._write_lock:
            self.ensure_intact()
            try:
                yield self._writer_connection()
            except sqlite3.Error as error:
                raise _database_error(self.path, error, writing=True) from error
            finally:
                if self._closed.is_set() and self._writer is not None:
                    # close() stopped waiting for this block: its user closes the writer.
                    self._writer.close()
                    self._writer = None

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        delay = 0.05
        deadline = time.monotonic() + LOCK_PATIENCE_SECONDS
        while True:
            if self._closed.is_set():
                raise StoreError(f"{self.path} was closed; nothing was written.")
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                busy = "locked" in str(error) or "busy" in str(error)
                if not busy:
                    raise
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"{self.path} stayed locked by another process for "
                        f"{LOCK_PATIENCE_SECONDS:.0f} s; try again."
                    ) from error
            # Wake at once when the store closes (the app is quitting).
            self._closed.wait(delay)
            delay = min(delay * 2, 0.5)

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Row]:
        """Rows as dicts, read on this thread's connection."""
        with self._read() as conn:
            cursor = conn.execute(sql, params)
            columns = [c[0] for c in cursor.description or ()]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    # --- metadata ----------------------------------------------------------------------

    def data_version(self) -> int:
        """Changes whenever another connection commits to the file (cheap to poll)."""
        with self._read() as conn:
            version: int = conn.execute("PRAGMA data_version").fetchone()[0]
        return version

    def meta(self) -> dict[str, str]:
        return {row["key"]: row["value"] for row in self.query("SELECT key, value FROM store_meta")}

    def table_counts(self) -> dict[str, int]:
        names = [row["name"] for row in self.query(TABLE_NAMES)]
        with self._read() as conn:
            return {
                name: conn.execute(count_rows(name)).fetchone()[0]
                for name in names
                if name != "store_meta"
            }

    def set_meta(self, key: str, value: str) -> None:
        """Record a fact about the store; call inside :meth:`transaction`."""
        with self._read() as conn:
            conn.execute(
                "INSERT INTO store_meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # --- catalog -----------------------------------------------------------------------

    def read_catalog(self) -> Catalog:
        return catalog_from_rows(
            {table: self.query(sql) for table, sql in SELECT_CATALOG_TABLE.items()}
        )

    def write_catalog(self, catalog: Catalog) -> None:
        """Replace every catalog table with ``catalog`` and count a new catalog version;
        call inside :meth:`transaction`."""
        with self._read() as conn:
            for table in CATALOG_TABLES:
                conn.execute(DELETE_CATALOG_TABLE[table])
            _insert_catalog(conn, catalog)
            conn.execute(
                "INSERT INTO store_meta (key, value) VALUES ('catalog_version', '1') "
                "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
            )

    def catalog_version(self) -> int:
        """Grows with every catalog re-sync: a reader knows when to read the catalog again."""
        rows = self.query("SELECT value FROM store_meta WHERE key = 'catalog_version'")
        return int(rows[0]["value"]) if rows else 0

    def kpi_ids(self) -> set[str]:
        return {row["id"] for row in self.query("SELECT id FROM kpis")}

    def stray_observations(self, shown: int = 5, after: str | None = None) -> StrayRows:
        """Observation rows the importer would have refused: for a KPI the catalog does not
        know, with a period that is not an ISO-8601 date or datetime, or with a value outside
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
        )

    def agent_ids(self) -> set[str]:
        return {row["id"] for row in self.query("SELECT id FROM agents")}

    # --- observations ------------------------------------------------------------------

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
            ids = (
                list(kpi_ids)
                if kpi_ids is not None
                else [r[0] for r in conn.execute("SELECT id FROM kpis ORDER BY position")]
            )
            for kpi_id in ids:
                rows = conn.execute(SELECT_LATEST_WINDOW, (kpi_id, upper, size)).fetchall()
                rows.reverse()
                windows[kpi_id] = rows
        return windows

    def later_periods(self, after: str, kpi_ids: Iterable[str] | None = None) -> dict[str, str]:
        """Each KPI's latest period after ``after`` (the end of a day, see
        :func:`intelligentos.domain.clock.period_upper_bound`), for the KPIs that have one: one
        indexed seek per KPI."""
        found: dict[str, str] = {}
        with self._read() as conn:
            ids = (
                list(kpi_ids)
                if kpi_ids is not None
                else [r[0] for r in conn.execute("SELECT id FROM kpis ORDER BY position")]
            )
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
        """Observations in (kpi_id, period) order, read in pages (bounded memory)."""
        after = ("", "")
        while True:
            rows = self.query(
                "SELECT kpi_id, period, value, source, ingested_at FROM observations "
                "WHERE (kpi_id, period) > (?1, ?2) "
                "AND (?3 IS NULL OR kpi_id = ?3) AND (?4 IS NULL OR period >= ?4) "
                "AND (?5 IS NULL OR period <= ?5) ORDER BY kpi_id, period LIMIT ?6",
                (after[0], after[1], kpi_id, since, until, page),
            )
            if not rows:
                return
            yield from rows
            after = (rows[-1]["kpi_id"], rows[-1]["period"])

    def integrity_verdict(self) -> str:
        """``PRAGMA quick_check`` (linear in the file's size) on this thread's connection:
        ``"ok"``, or what is wrong."""
        with self._read() as conn:
            try:
                verdict: str = conn.execute("PRAGMA quick_check").fetchone()[0]
            except sqlite3.DatabaseError as error:
                return str(error)
        return verdict

    def ensure_intact(self, consequence: str = "nothing was written") -> None:
        """Never write into a damaged file: the quick check, once per store. Every write
        runs it first (so does opening a store not yet in WAL mode, which rewrites the
        header); it reads the whole file, so a command that only reads never pays for it."""
        if self._verdict is None:
            self._verdict = self.integrity_verdict()
        if self._verdict != "ok":
            raise StoreDamaged(
                f"{self.path} is damaged ({self._verdict}); {consequence} and the file was "
                "left untouched."
            )

    def probe(self) -> None:
        """Touch the catalog and the observation index: a damaged file fails here."""
        self.query("SELECT count(*) AS n FROM kpis")
        self.query("SELECT kpi_id, period FROM observations ORDER BY kpi_id DESC LIMIT 1")

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

    # --- forecasts -------------------------------------------------------------------------

    def save_forecasts(self, forecasts: Iterable[Forecast], made_at: str) -> int:
        """Replace the stored forecast of each given KPI, in one transaction."""
        count = 0
        with self.transaction() as conn:
            for forecast in forecasts:
                backtest = forecast.backtest
                conn.execute("DELETE FROM forecast_points WHERE kpi_id = ?", (forecast.kpi_id,))
                conn.execute(
                    "INSERT INTO forecasts (kpi_id, model, reliable, horizon, season, based_on, "
                    "made_at, note, backtest_origins, backtest_mase, backtest_coverage80, "
                    "backtest_scores) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (kpi_id) DO UPDATE SET model = excluded.model, "
                    "reliable = excluded.reliable, horizon = excluded.horizon, "
                    "season = excluded.season, based_on = excluded.based_on, "
                    "made_at = excluded.made_at, note = excluded.note, "
                    "backtest_origins = excluded.backtest_origins, "
                    "backtest_mase = excluded.backtest_mase, "
                    "backtest_coverage80 = excluded.backtest_coverage80, "
                    "backtest_scores = excluded.backtest_scores",
                    (
                        forecast.kpi_id,
                        forecast.model,
                        int(forecast.reliable),
                        forecast.horizon,
                        forecast.season,
                        forecast.based_on,
                        made_at,
                        forecast.note,
                        backtest.origins if backtest else None,
                        backtest.mase if backtest else None,
                        backtest.coverage80 if backtest else None,
                        json.dumps(backtest.scores, sort_keys=True) if backtest else None,
                    ),
                )
                conn.executemany(
                    "INSERT INTO forecast_points (kpi_id, period, mean, lo80, hi80, lo95, hi95) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (forecast.kpi_id, p.period, p.mean, p.lo80, p.hi80, p.lo95, p.hi95)
                        for p in forecast.points
                    ],
                )
                count += 1
        return count

    def projections(self) -> dict[str, Projection]:
        from intelligentos.domain.forecast import Projection

        """Each stored forecast's last point (its horizon), by KPI."""
        # The ends first, in one pass over the points' index (2,000 forecasts: 13 ms; a
        # subquery per point took 46).
        rows = self.query(
            "WITH ends AS (SELECT kpi_id, max(period) AS period FROM forecast_points "
            "GROUP BY kpi_id) "
            "SELECT f.kpi_id, f.model, f.reliable, f.based_on, f.horizon, p.period, p.mean, "
            "p.lo80, p.hi80 FROM forecasts AS f JOIN ends AS e ON e.kpi_id = f.kpi_id "
            "JOIN forecast_points AS p ON p.kpi_id = e.kpi_id AND p.period = e.period"
        )
        return {
            r["kpi_id"]: Projection(
                r["kpi_id"],
                r["model"],
                bool(r["reliable"]),
                r["based_on"],
                r["horizon"],
                r["period"],
                r["mean"],
                r["lo80"],
                r["hi80"],
            )
            for r in rows
        }

    def forecast_bases(self) -> dict[str, tuple[str | None, int]]:
        """What each stored forecast was made from and for: (latest period, horizon)."""
        rows = self.query("SELECT kpi_id, based_on, horizon FROM forecasts")
        return {r["kpi_id"]: (r["based_on"], r["horizon"]) for r in rows}

    def forecasts(self, kpi_ids: Iterable[str] | None = None) -> list[StoredForecast]:
        """Stored forecasts (of these KPIs), in catalog order, each with its points."""
        wanted = json.dumps(sorted(kpi_ids)) if kpi_ids is not None else None
        rows = self.query(
            "SELECT f.* FROM forecasts AS f JOIN kpis AS k ON k.id = f.kpi_id "
            "WHERE ?1 IS NULL OR f.kpi_id IN (SELECT value FROM json_each(?1)) "
            "ORDER BY k.position",
            (wanted,),
        )
        from intelligentos.domain.forecast import Backtest, Forecast, ForecastPoint

        points: dict[str, list[ForecastPoint]] = {}
        for p in self.query(
            "SELECT * FROM forecast_points WHERE ?1 IS NULL OR kpi_id IN "
            "(SELECT value FROM json_each(?1)) ORDER BY kpi_id, period",
            (wanted,),
        ):
            points.setdefault(p["kpi_id"], []).append(
                ForecastPoint(p["period"], p["mean"], p["lo80"], p["hi80"], p["lo95"], p["hi95"])
            )
        return [
            StoredForecast(
                Forecast(
                    kpi_id=r["kpi_id"],
                    model=r["model"],
                    reliable=bool(r["reliable"]),
                    horizon=r["horizon"],
                    season=r["season"],
                    based_on=r["based_on"],
                    points=tuple(points.get(r["kpi_id"], [])),
                    backtest=(
                        Backtest(
                            origins=r["backtest_origins"],
                            mase=r["backtest_mase"],
                            coverage80=r["backtest_coverage80"],
                            scores=json.loads(r["backtest_scores"] or "{}"),
                        )
                        if r["backtest_origins"] is not None
                        else None
                    ),
                    note=r["note"],
                ),
                made_at=r["made_at"],
            )
            for r in rows
        ]

    # --- scenarios ---------------------------------------------------------------------------

    @staticmethod
    def _scenario(row: Mapping[str, Any]) -> SavedScenario:
        levers = json.loads(row["levers"] or "[]")
        return SavedScenario(
            id=row["id"],
            name=row["name"],
            levers=tuple(str(lever) for lever in levers) if isinstance(levers, list) else (),
            created_by=row["created_by"],
            created_at=row["created_at"],
            note=row["note"],
            updated_by=row["updated_by"],
            updated_at=row["updated_at"],
        )

    def save_scenario(
        self, name: str, levers: Sequence[str], actor: str, at: str, note: str | None = None
    ) -> SavedScenario:
        """Save a scenario under ``name``, in one transaction: a new one records who created
        it and when; saving over an existing name replaces its levers and note and records
        who updated it and when (its creation is kept)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO scenarios (name, levers, note, created_by, created_at) "
                "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO UPDATE SET "
                "levers = excluded.levers, note = excluded.note, "
                "updated_by = excluded.created_by, updated_at = excluded.created_at",
                (name, json.dumps(list(levers)), note, actor, at),
            )
            saved = self.scenario(name)
        assert saved is not None
        return saved

    def scenarios(self) -> list[SavedScenario]:
        """Every saved scenario, by name."""
        rows = self.query("SELECT * FROM scenarios ORDER BY name COLLATE NOCASE, name")
        return [self._scenario(row) for row in rows]

    def scenario(self, name: str) -> SavedScenario | None:
        rows = self.query("SELECT * FROM scenarios WHERE name = ?", (name,))
        return self._scenario(rows[0]) if rows else None

    def delete_scenario(self, name: str) -> bool:
        """Delete the scenario saved under ``name``; False when there was none."""
        with self.transaction() as conn:
            cursor = conn.execute("DELETE FROM scenarios WHERE name = ?", (name,))
        return cursor.rowcount > 0

    # --- alerts ----------------------------------------------------------------------------

    @staticmethod
    def _alert(row: Mapping[str, Any]) -> Alert:
        return Alert(
            **{
                **row,
                "severity": Severity(row["severity"]),
                "state": State(row["state"]),
                "message": row["message"] or "",
            }
        )

    def alerts(self, states: Iterable[str] | None = None, agent: str | None = None) -> list[Alert]:
        """Alerts, most severe and oldest first; optionally only some states, and only
        those routed to ``agent``."""
        wanted = json.dumps([str(s) for s in states]) if states is not None else None
        rows = self.query(
            "SELECT * FROM alerts WHERE (?1 IS NULL OR state IN (SELECT value FROM json_each(?1))) "
            "AND (?2 IS NULL OR id IN (SELECT alert_id FROM alert_routes WHERE agent_id = ?2)) "
            "ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, "
            "opened_at, id",
            (wanted, agent),
        )
        return [self._alert(row) for row in rows]

    def open_alerts(self, agent: str | None = None) -> list[Alert]:
        return self.alerts(OPEN_STATES, agent)

    def alert(self, alert_id: int) -> Alert | None:
        rows = self.query("SELECT * FROM alerts WHERE id = ?", (alert_id,))
        return self._alert(rows[0]) if rows else None

    def save_alert(self, alert: Alert) -> Alert:
        """Insert a new alert or update an existing one; call inside :meth:`transaction`."""
        values: dict[str, Any] = {c: getattr(alert, c) for c in ALERT_COLUMNS}
        values["severity"] = alert.severity.value
        values["state"] = alert.state.value
        with self._read() as conn:
            if alert.id is None:
                cursor = conn.execute(INSERT_ALERT, values)
                return replace(alert, id=cursor.lastrowid)
            conn.execute(UPDATE_ALERT, {**values, "id": alert.id})
        return alert

    def append_event(self, alert_id: int, event: Event) -> None:
        """Log a transition; call inside :meth:`transaction`, with the alert's change."""
        with self._read() as conn:
            conn.execute(
                "INSERT INTO alert_events (alert_id, at, actor, action, from_state, to_state, "
                "note, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    alert_id,
                    event.at,
                    event.actor,
                    event.action,
                    event.from_state.value if event.from_state else None,
                    event.to_state.value,
                    event.note,
                    event.value,
                ),
            )

    def record(
        self, alert: Alert, event: Event | None, routes: Sequence[Route] | None = None
    ) -> Alert:
        """Save an alert and log its transition together, with where it is routed when
        ``routes`` is given (a new alert's); call inside :meth:`transaction`."""
        saved = self.save_alert(alert)
        if event is not None:
            assert saved.id is not None
            self.append_event(saved.id, event)
        if routes is not None:
            assert saved.id is not None
            self.save_routes(saved.id, routes)
        return saved

    def save_routes(self, alert_id: int, routes: Sequence[Route]) -> None:
        """Set the agents an alert is routed to, in order (replacing any it had); call
        inside :meth:`transaction`."""
        with self._read() as conn:
            conn.execute("DELETE FROM alert_routes WHERE alert_id = ?", (alert_id,))
            conn.executemany(
                "INSERT INTO alert_routes (alert_id, agent_id, reason, position) "
                "VALUES (?, ?, ?, ?)",
                [(alert_id, r.agent_id, r.reason, i) for i, r in enumerate(routes)],
            )

    def routes_of(self, alert_ids: Iterable[int] | None = None) -> dict[int, list[Route]]:
        """Where each alert is routed, in route order: every given id (an alert routed
        nowhere has an empty list), or every routed alert when ``None``."""
        ids = None if alert_ids is None else sorted(set(alert_ids))
        found: dict[int, list[Route]] = {i: [] for i in ids or ()}
        rows = self.query(
            "SELECT alert_id, agent_id, reason FROM alert_routes WHERE ?1 IS NULL OR alert_id "
            "IN (SELECT value FROM json_each(?1)) ORDER BY alert_id, position, agent_id",
            (None if ids is None else json.dumps(ids),),
        )
        for r in rows:
            found.setdefault(r["alert_id"], []).append(Route(r["agent_id"], r["reason"]))
        return found

    def alert_events(self, alert_id: int | None = None) -> list[Event]:
        """The transitions of one alert (of every alert when ``None``), oldest first."""
        rows = self.query(
            "SELECT * FROM alert_events WHERE ?1 IS NULL OR alert_id = ?1 ORDER BY alert_id, id",
            (alert_id,),
        )
        return [_event(r) for r in rows]

    def alert_rows(self) -> list[Row]:
        """Every alert as its plain row, by id (for export)."""
        return self.query("SELECT * FROM alerts ORDER BY id")

    def event_rows(self) -> list[Row]:
        """Every alert event as its plain row, by alert and order (for export)."""
        return self.query("SELECT * FROM alert_events ORDER BY alert_id, id")

    # --- time travel -------------------------------------------------------------------------

    def first_period(self) -> str | None:
        """The earliest observation's period (``None``: no observations): one index seek
        per KPI, however long the history."""
        rows = self.query(SELECT_FIRST_PERIOD)
        first: str | None = rows[0]["first"] if rows else None
        return first

    def alerts_as_of(self, moment: str) -> list[Alert]:
        """Every alert opened at or before ``moment`` (a store timestamp, or a day's upper
        bound from :func:`intelligentos.domain.clock.period_upper_bound`), as it stood then,
        replayed from the event log (:func:`intelligentos.domain.alerts.state_at`); most severe and
        oldest first. Alerts opened later did not exist yet; one resolved later was open."""
        rows = self.query("SELECT * FROM alerts WHERE opened_at <= ? ORDER BY id", (moment,))
        events: dict[int, list[Event]] = {}
        for r in self.query(
            # Later events too: a later escalation tells the severity before it.
            "SELECT * FROM alert_events WHERE alert_id IN "
            "(SELECT id FROM alerts WHERE opened_at <= ?) ORDER BY alert_id, id",
            (moment,),
        ):
            events.setdefault(r["alert_id"], []).append(_event(r))
        past = (state_at(self._alert(row), events.get(row["id"], []), moment) for row in rows)
        return by_severity(alert for alert in past if alert is not None)


def _event(r: Mapping[str, Any]) -> Event:
    return Event(
        at=r["at"],
        actor=r["actor"],
        action=r["action"],
        from_state=State(r["from_state"]) if r["from_state"] else None,
        to_state=State(r["to_state"]),
        note=r["note"],
        value=r["value"],
        alert_id=r["alert_id"],
    )


# --- creating a store ------------------------------------------------------------------


def _insert_catalog(conn: sqlite3.Connection, catalog: Catalog) -> None:
    import sqlite_utils  # not needed on the cockpit's start-up path

    db = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
    for table, rows in catalog_to_rows(catalog).items():
        if rows:
            db.table(table).insert_all(rows)


def _refuse_to_replace(path: Path, force: bool) -> None:
    if not path.exists():
        return
    try:
        identify_store(path)
    except StoreError as error:
        raise StoreError(f"Refusing to replace {path}: {error}") from error
    if not force:
        raise StoreError(f"A KPI store already exists at {path}; pass --force to replace it.")


def _reserve_beside(path: Path, purpose: str) -> Path:
    """A new owner-only file beside ``path`` to build it in, before it is moved into place
    (the same directory, so that the move is atomic)."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{purpose}")
    try:
        os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as error:
        raise StoreError(f"Cannot create {path}: {error.strerror}.") from error
    return temp


def create_store(
    path: Path,
    catalog: Catalog,
    observations: Iterable[Observation] = (),
    *,
    meta: dict[str, str] | None = None,
    force: bool = False,
    make_parents: bool = False,
) -> Path:
    """Build a new store beside ``path`` and move it into place atomically.

    An existing file is only replaced when it is one of our stores and ``force`` is set;
    anything else (another app's database, a text file, a broken file) is refused.
    """
    path = Path(path)
    _refuse_to_replace(path, force)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.parent.is_dir():
        raise StoreError(f"The directory {path.parent} does not exist.")
    temp = _reserve_beside(path, "building")
    try:
        conn = sqlite3.connect(temp, isolation_level=None)
        try:
            conn.executescript(SCHEMA_V1)
            for version in sorted(MIGRATIONS):
                conn.executescript(MIGRATIONS[version])
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO store_meta (key, value) VALUES (?, ?)",
                [("app", APP_ID), *sorted((meta or {}).items())],
            )
            _insert_catalog(conn, catalog)
            conn.executemany(
                "INSERT INTO observations (kpi_id, period, value, source, ingested_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    (o.kpi_id, o.period, o.value, o.source, f"{o.period[:10]}T23:00:00Z")
                    for o in observations
                ),
            )
            conn.execute(set_user_version(SCHEMA_VERSION))
            conn.execute("COMMIT")
            # Set WAL now, so the first open of the new store does not rewrite its header.
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
        for suffix in ("-wal", "-shm"):
            # A stale WAL from the replaced store would be replayed into the new file.
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.replace(temp, path)
    except sqlite3.Error as error:
        temp.unlink(missing_ok=True)
        raise StoreError(f"Cannot create {path} ({error}); nothing was written.") from error
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path
