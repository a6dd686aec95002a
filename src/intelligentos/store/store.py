"""The SQLite KPI store. The only place in the product that knows SQL.

Opening never modifies a file that is not ours: identity (SQLite header, our ``store_meta``
marker, the schema version) is checked on a read-only connection first.

:class:`Store` gathers the queries of every feature (``observations``, ``alerts``,
``forecast``, ``whatif``, ``catalog``, ``derived``) over the connections of ``connection``;
this module opens, upgrades, creates and copies store files.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.observations import Observation
from intelligentos.store.alerts import AlertQueries
from intelligentos.store.catalog import CatalogQueries, insert_catalog
from intelligentos.store.connection import StoreDamaged, StoreError
from intelligentos.store.derived import DerivedQueries
from intelligentos.store.forecast import ForecastQueries
from intelligentos.store.incidents import IncidentQueries
from intelligentos.store.notify import NotifyQueries
from intelligentos.store.observations import ObservationQueries
from intelligentos.store.okr import OkrQueries
from intelligentos.store.schema import (
    APP_ID,
    MIGRATIONS,
    SCHEMA_V1,
    SCHEMA_VERSION,
    TABLE_NAMES,
    count_rows,
    set_user_version,
)
from intelligentos.store.whatif import ScenarioQueries


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


# What an upgrade adds to an older store's data beyond its schema: called with the store, inside
# the upgrade's transaction, and the schema version the file had.
Upgrade = Callable[["Store", int], None]


class Store(
    CatalogQueries,
    ObservationQueries,
    AlertQueries,
    ForecastQueries,
    ScenarioQueries,
    DerivedQueries,
    OkrQueries,
    IncidentQueries,
    NotifyQueries,
):
    """One store file: its connections (:class:`~intelligentos.store.connection.StoreConnections`)
    and every feature's queries over them."""

    # --- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False, upgrade: Upgrade | None = None) -> Store:
        """Open our store at ``path`` (migrating an older schema); raise :class:`StoreError`
        for anything else. Blocking: the cockpit calls it from a worker thread.

        The migrations only change the schema. ``upgrade``, when given, runs in the same
        transaction after them, with the version the file had: the data an older store lacks
        that only the domain can derive (:func:`intelligentos.services.bootstrap.open_store`,
        which the product opens stores with, routes the alerts of a store older than
        routing there)."""
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
                store._migrate(version, upgrade)
            except BaseException:
                store.close()
                raise
        return store

    def _migrate(self, version: int, upgrade: Upgrade | None) -> None:
        with self.transaction() as conn:
            found = version
            while version < SCHEMA_VERSION:
                for statement in MIGRATIONS[version].split(";\n"):
                    if statement.strip():
                        conn.execute(statement)
                version += 1
                conn.execute(set_user_version(version))
            if upgrade is not None:
                upgrade(self, found)

    # --- metadata ----------------------------------------------------------------------

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

    def probe(self) -> None:
        """Touch the catalog and the observation index: a damaged file fails here."""
        self.query("SELECT count(*) AS n FROM kpis")
        self.query("SELECT kpi_id, period FROM observations ORDER BY kpi_id DESC LIMIT 1")


# --- creating a store ------------------------------------------------------------------


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
            insert_catalog(conn, catalog)
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
