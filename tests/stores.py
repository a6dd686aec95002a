"""Copies of a store for tests that change one: made with SQLite's backup API, never by
reading the file's bytes (that would miss what is still in the write-ahead log, and on Linux
reading it through a second descriptor drops the locks this process holds on it)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def copy_store(source: Path, target: Path, *, mode: int = 0o600) -> Path:
    """``source`` copied to ``target`` (which must not exist) with SQLite's backup API: a
    consistent snapshot, committed pages in the WAL included. The copy keeps the source's
    journal mode and gets file ``mode``."""
    if target.exists():
        raise FileExistsError(target)
    # Read-only and without creating anything: a missing source is an error, not an empty copy.
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    target.chmod(mode)
    return target


def store_bytes(source: Path, scratch: Path) -> bytes:
    """The bytes of a whole copy of ``source``, in its journal mode but with nothing left in
    a WAL, for tests that damage a store on purpose: made at ``scratch`` with the backup API
    (and removed), so the source itself is never read byte by byte."""
    copy = copy_store(source, scratch)
    conn = sqlite3.connect(copy)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()  # the last connection: a WAL, now empty, goes with it
    data = copy.read_bytes()
    copy.unlink()
    return data
