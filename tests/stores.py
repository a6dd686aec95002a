"""Copies of a store for tests that change one: made with SQLite's backup API, never by
reading the file's bytes (that would miss what is still in the write-ahead log, and on Linux
reading it through a second descriptor drops the locks this process holds on it)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

__all__ = [
    "copy_store",
    "file_state",
    "make_version_4",
    "open_descriptors",
    "overwrite",
    "settled_copy",
    "store_content",
]


def store_content(path: Path) -> str:
    """A digest of a database's schema and rows, read through SQLite on a read-only
    connection (never the file's bytes): equal before and after means nothing was written."""
    import hashlib

    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    finally:
        conn.close()


def file_state(path: Path) -> tuple[int, int]:
    """A file's size and modification time (nanoseconds): a write changes them, a read
    leaves them; for files that are not databases as much as for stores."""
    found = path.stat()
    return found.st_size, found.st_mtime_ns


def copy_store(source: Path, destination: Path) -> Path:
    """Copy the store at ``source`` to ``destination`` (a new file), as it stands now, and
    return ``destination``: SQLite's backup API reads the source in one read transaction,
    the WAL's committed content included, beside any writer, and never writes it. The copy
    is in WAL mode, as a new store is, so its first open need not rewrite it."""
    source, destination = Path(source), Path(destination)
    if destination.exists():
        raise FileExistsError(f"{destination} already exists")
    reading = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(destination, isolation_level=None)
        try:
            reading.backup(target)
            target.execute("PRAGMA journal_mode = WAL")
        finally:
            target.close()
    finally:
        reading.close()
    return destination


def settled_copy(source: Path, destination: Path) -> Path:
    """A whole copy of ``source`` at ``destination``, made with the backup API, in its
    journal mode but with nothing left in a WAL: a single file, for tests that damage a store
    on purpose (:func:`overwrite`, :func:`os.truncate`). The source is never read byte by
    byte."""
    copy = copy_store(source, destination)
    conn = sqlite3.connect(copy)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()  # the last connection: a WAL, now empty, goes with it
    return copy


def overwrite(path: Path, offset: int, data: bytes) -> None:
    """Write ``data`` over the file's bytes from ``offset``, in place (damage on purpose);
    nothing of the file is read."""
    with path.open("r+b") as damaged:
        damaged.seek(offset)
        damaged.write(data)


def open_descriptors(db: Path) -> list[str]:
    """What this process has open of the store's file, its WAL and its shared memory (Linux:
    read from /proc): a connection left open holds them."""
    names = {str(db.resolve()) + suffix for suffix in ("", "-wal", "-shm")}
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed meanwhile (the listing's own descriptor)
        if target.removesuffix(" (deleted)") in names:
            found.append(target)
    return found


def make_version_4(path: Path) -> None:
    """The store at ``path`` as version 4 wrote it: no derived KPIs (no ``compute`` or
    ``sensitivity`` column of ``kpis``, no ``computed`` column of ``observations``, none of
    the ``derived_*`` tables or their triggers, no quarterly targets, no incidents,
    assignees, silences, notices or outbox), user_version 4. Older versions' helpers start
    from it."""
    conn = sqlite3.connect(path)
    try:
        for trigger in (
            "derived_pending_on_insert",
            "derived_pending_on_update",
            "derived_pending_on_delete",
        ):
            conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        conn.execute("DROP INDEX IF EXISTS alerts_by_incident")
        conn.execute("ALTER TABLE alerts DROP COLUMN incident_id")
        conn.execute("ALTER TABLE alerts DROP COLUMN assignee")
        for table in (
            "outbox",
            "notices",
            "incidents",
            "silences",
            "target_changes",
            "kpi_targets",
            "derived_gaps",
            "derived_pending",
            "derived_inputs",
        ):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("ALTER TABLE observations DROP COLUMN computed")
        # Version 4's kpis: a target that may not be NULL, no columns for derived KPIs.
        columns = [row[1] for row in conn.execute("PRAGMA table_info(kpis)")]
        kept = ", ".join(c for c in columns if c not in ("compute", "sensitivity"))
        conn.executescript(
            "CREATE TABLE kpis_v4 (id TEXT PRIMARY KEY, name TEXT NOT NULL, short_name TEXT, "
            "level TEXT NOT NULL, unit TEXT NOT NULL, direction TEXT NOT NULL, "
            "target REAL NOT NULL, warning REAL NOT NULL, critical REAL NOT NULL, "
            "frequency TEXT NOT NULL, formula TEXT NOT NULL, engine_id TEXT, "
            "owner_function_id TEXT, owner_agent_id TEXT, rolls_up_to TEXT, weight REAL, "
            "description TEXT, detection TEXT, position INTEGER, source TEXT);"
            f"INSERT INTO kpis_v4 ({kept}) SELECT {kept} FROM kpis;"
            "DROP TABLE kpis; ALTER TABLE kpis_v4 RENAME TO kpis;"
        )
        conn.execute("PRAGMA user_version = 4")
        conn.commit()
    finally:
        conn.close()
