"""Store creation, identity checks, refusal of foreign files, permissions, queries."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from intelligentos.domain.observations import Observation
from intelligentos.services.bootstrap import init_store
from intelligentos.services.catalog import load_catalog
from intelligentos.store import SCHEMA_VERSION, Store, StoreError, create_store
from intelligentos.store.schema import CATALOG_TABLES
from intelligentos.store.store import identify_store

from .stores import file_state, open_descriptors, store_content


def table_names(store: Store) -> set[str]:
    return {r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_new_store_has_schema_wal_and_owner_only_permissions(mini_catalog, tmp_path):
    path = tmp_path / "s.db"
    init_store(path, mini_catalog, demo=False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with Store.open(path) as store:
        mode = store.query("PRAGMA journal_mode")[0]["journal_mode"]
        version = store.query("PRAGMA user_version")[0]["user_version"]
        timeout = store.query("PRAGMA busy_timeout")[0]["timeout"]
        tables = table_names(store)
    assert mode == "wal"
    assert version == SCHEMA_VERSION
    assert timeout >= 1000
    assert {*CATALOG_TABLES, "observations", "alerts", "alert_events"} <= tables
    assert not list(tmp_path.glob(".*building"))


def test_catalog_round_trips_through_the_store(demo_store):
    from intelligentos.config.paths import builtin_catalog_dir

    original = load_catalog(builtin_catalog_dir())
    with Store.open(demo_store) as store:
        stored = store.read_catalog()
    assert stored == original


def test_observations_unique_per_kpi_and_period_and_upsert(mini_catalog, tmp_path):
    path = tmp_path / "s.db"
    init_store(path, mini_catalog, demo=False)
    with Store.open(path) as store:
        store.upsert_observations([Observation("win_rate", "2026-01-05", 20.0, "crm")])
        store.upsert_observations([Observation("win_rate", "2026-01-05", 21.5, "crm")])
        assert store.history("win_rate") == [("2026-01-05", 21.5)]
        duplicate = "INSERT INTO observations (kpi_id, period, value) VALUES ('win_rate', ?, 1)"
        with (
            pytest.raises(StoreError, match="UNIQUE constraint") as raised,
            store.transaction() as conn,
        ):
            conn.execute(duplicate, ("2026-01-05",))
        assert isinstance(raised.value.__cause__, sqlite3.IntegrityError)
        assert store.history("win_rate") == [("2026-01-05", 21.5)]


def test_latest_windows_returns_the_latest_points_oldest_first(demo_store):
    with Store.open(demo_store) as store:
        windows = store.latest_windows(30)
        uptime = store.history("uptime")
    assert len(windows["uptime"]) == 30
    assert windows["uptime"] == uptime[-30:]
    periods = [p for p, _ in windows["uptime"]]
    assert periods == sorted(periods)


def test_latest_window_query_uses_the_primary_key_index(demo_store):
    with Store.open(demo_store) as store:
        plan = store.query(
            "EXPLAIN QUERY PLAN SELECT period, value FROM observations WHERE kpi_id = ? "
            "AND period <= ? ORDER BY period DESC LIMIT 30",
            ("uptime", "9"),
        )
    text = " ".join(str(row["detail"]) for row in plan)
    assert "PRIMARY KEY" in text and "TEMP B-TREE" not in text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty file"),
        (b"kpi_id,period,value\nx,2026-01-01,1\n", "not a SQLite database"),
        (b"SQLite format 3\x00" + b"\x00" * 200, "damaged"),
    ],
)
def test_non_store_files_are_refused_and_untouched(tmp_path, content, expected):
    path = tmp_path / "thing.db"
    path.write_bytes(content)
    before = file_state(path)
    with pytest.raises(StoreError, match=expected):
        Store.open(path)
    assert file_state(path) == before


def test_foreign_sqlite_database_is_refused_and_untouched(tmp_path, mini_catalog):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO notes (body) VALUES ('keep me')")
    conn.commit()
    conn.close()
    before = file_state(path), store_content(path)
    with pytest.raises(StoreError, match="another application"):
        Store.open(path)
    with pytest.raises(StoreError, match="Refusing to replace"):
        init_store(path, mini_catalog, demo=False, force=True)
    assert (file_state(path), store_content(path)) == before
    assert not (tmp_path / "other.db-wal").exists()


def test_newer_schema_is_refused_and_untouched(tmp_path, mini_catalog):
    path = tmp_path / "s.db"
    init_store(path, mini_catalog, demo=False)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = file_state(path), store_content(path)
    with pytest.raises(StoreError, match="newer IntelligentOS"):
        Store.open(path)
    assert (file_state(path), store_content(path)) == before


def test_existing_store_needs_force(tmp_path, mini_catalog):
    path = tmp_path / "s.db"
    init_store(path, mini_catalog, demo=False)
    with pytest.raises(StoreError, match="--force"):
        init_store(path, mini_catalog, demo=False)
    init_store(path, mini_catalog, demo=True, force=True)
    with Store.open(path) as store:
        assert store.table_counts()["observations"] > 0


def test_missing_file_and_missing_directory(tmp_path, mini_catalog):
    with pytest.raises(StoreError, match="No KPI store"):
        Store.open(tmp_path / "absent.db")
    with pytest.raises(StoreError, match="does not exist"):
        init_store(tmp_path / "no" / "dir" / "s.db", mini_catalog, demo=False)


def test_migrations_upgrade_older_stores(tmp_path, mini_catalog, monkeypatch):
    from intelligentos.store import schema
    from intelligentos.store import store as store_module

    path = tmp_path / "s.db"
    init_store(path, mini_catalog, demo=False)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(
        schema.MIGRATIONS, SCHEMA_VERSION, "CREATE TABLE added_later (id INTEGER PRIMARY KEY)"
    )
    monkeypatch.setattr(store_module, "MIGRATIONS", schema.MIGRATIONS)
    with Store.open(path) as store:
        assert "added_later" in table_names(store)
        assert store.query("PRAGMA user_version")[0]["user_version"] == SCHEMA_VERSION + 1


def test_create_store_is_atomic_when_building_fails(tmp_path, mini_catalog):
    catalog = load_catalog(mini_catalog)

    def broken_rows():
        yield Observation("win_rate", "2026-01-05", 1.0)
        raise RuntimeError("boom")

    path = tmp_path / "s.db"
    with pytest.raises(RuntimeError):
        create_store(path, catalog, broken_rows())
    assert not path.exists()
    assert list(tmp_path.iterdir()) == [mini_catalog]


def test_checking_a_store_never_drops_the_locks_of_connections_already_open(demo_store: Path):
    """POSIX advisory locks belong to the process, and closing *any* descriptor of the file
    releases them all. Checking a store must not open the file outside SQLite: if it did,
    opening a second Store in a process that already has one (a test, a tool) would let
    another process think it holds the last connection and delete the WAL index under it."""
    import sys

    from .processes import run

    with Store.open(demo_store) as first:
        first.forecast_bases()  # the first connection holds its shared lock from here on
        shm = demo_store.with_name(demo_store.name + "-shm")
        assert shm.exists()
        identify_store(demo_store)
        # Another process opens and closes the store: were it the only user, it would
        # checkpoint and delete the WAL and its index on closing.
        run(
            [
                sys.executable,
                "-c",
                "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                "c.execute('SELECT count(*) FROM kpis').fetchone(); c.close()",
                str(demo_store),
            ],
            check=True,
            timeout=60,
        )
        assert shm.exists()
        first.forecast_bases()


def test_a_finished_thread_leaves_no_connection_behind(demo_store: Path):
    """Each thread reads on its own connection; the cockpit runs every worker on a new
    thread, so a connection must go when its thread does, not pile up until the store
    closes (each holds a page cache), and without the garbage collector, which the cockpit
    turns off."""
    import gc
    import threading

    enabled = gc.isenabled()
    gc.disable()
    try:
        with Store.open(demo_store) as store:
            store.forecast_bases()

            def read() -> None:
                store.table_counts()

            # SQLite may keep a closed connection's descriptor of the file for its next
            # connection (closing it would drop the locks of the others): count after one.
            thread = threading.Thread(target=read)
            thread.start()
            thread.join()
            after_one = len(open_descriptors(demo_store))
            for _ in range(20):
                thread = threading.Thread(target=read)
                thread.start()
                thread.join()
            # Had the ended threads' connections stayed open, each would hold the file.
            assert len(open_descriptors(demo_store)) == after_one
            store.table_counts()  # the store still reads
    finally:
        if enabled:
            gc.enable()


REFUSE_NEW_OBSERVATIONS = """
CREATE TRIGGER refuse_new_observations BEFORE INSERT ON observations
BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END
"""


def test_database_errors_leave_the_store_as_its_own_error(demo_store: Path):
    """SQLite's errors, from reads and from writes through every part of the store package,
    reach the caller as StoreError, one sentence, with SQLite's error as the cause."""
    from intelligentos.store.bulk import Staging

    conn = sqlite3.connect(demo_store)
    conn.execute(REFUSE_NEW_OBSERVATIONS)
    conn.execute("DROP TABLE outbox")
    conn.close()
    with Store.open(demo_store) as store:
        before = store.table_counts()
        attempts = [
            lambda: store.upsert_observations([Observation("uptime", "2031-01-01", 1.0)]),
            lambda: store.query("SELECT * FROM no_such_table"),
            lambda: store.outbox(),
            lambda: store.fan_out("sink", [1], 1, "2026-11-27T00:00:00Z"),
        ]

        def stage_and_merge() -> None:
            staging = Staging(store)
            staging.add([("uptime", "2031-01-02", 1.0, None, 0, 2)])
            staging.merge()

        attempts.append(stage_and_merge)
        messages = []
        for attempt in attempts:
            with pytest.raises(StoreError) as raised:
                attempt()
            assert isinstance(raised.value.__cause__, sqlite3.Error)
            messages.append(str(raised.value))
        assert store.table_counts() == before
    assert messages[0] == (
        f"{demo_store} could not be written (refused by a trigger); nothing was saved."
    )
    assert messages[1] == (
        f"{demo_store} could not be read (no such table: no_such_table); the store was left "
        "untouched."
    )
    assert "no such table: outbox" in messages[2] and "left untouched" in messages[2]
    assert "no such table: outbox" in messages[3] and "nothing was saved" in messages[3]
    assert "refused by a trigger" in messages[4] and "nothing was saved" in messages[4]
