"""A store file's connections: one reader per thread, one writer, and the transactions and
errors every query of the store goes through."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from intelligentos.store.schema import SET_BUSY_TIMEOUT, SET_WRITER_BUSY_TIMEOUT

LOCK_PATIENCE_SECONDS = 60.0

Row = dict[str, Any]  # a row as a dict of its columns


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
    returns, and finds it gone), so :meth:`StoreConnections.close` closes a reader only with
    its lock.
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


class StoreConnections:
    """One store file, shared by the threads of one process.

    Every thread reads through a connection of its own (WAL lets readers run beside a
    writer, in this process or another). Writes go through one writer connection, one
    transaction at a time. Waiting for another process's write lock happens in short
    slices with nothing held that readers need, and :meth:`close` ends such a wait (and
    interrupts running statements) at once, so that quitting never waits on the store.

    The queries of each feature are methods of subclasses (:class:`intelligentos.store.Store`
    gathers them); they read with :meth:`query` or :meth:`_read`, and write inside
    :meth:`transaction`.
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

    def __enter__(self) -> Self:
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

    @property
    def writer_busy(self) -> bool:
        """Whether a thread of this process has the writer connection (a transaction or a
        session under way, or waiting for another process's write lock): a write asked for
        now would wait."""
        return self._write_lock.locked()

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

    def data_version(self) -> int:
        """Changes whenever another connection commits to the file (cheap to poll)."""
        with self._read() as conn:
            version: int = conn.execute("PRAGMA data_version").fetchone()[0]
        return version

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
