"""Saved scenarios in the store: the version-3 migration, the public ``scenarios`` table, and
saving, listing, replacing and deleting by name."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from intelligentos.domain.whatif.scenarios import SavedScenario, check_name, split_levers
from intelligentos.store import SCHEMA_VERSION, Store, StoreError
from intelligentos.store.schema import MIGRATIONS, SCHEMA_V3_SCENARIOS

from .stores import copy_store, make_version_4


def make_version_2(path: Path) -> None:
    """The store as version 2 wrote it: forecasts but no scenarios (or later), user_version 2."""
    make_version_4(path)
    conn = sqlite3.connect(path)
    for later in ("deliveries", "alert_routes"):  # version 4
        conn.execute(f"DROP TABLE {later}")
    conn.execute("DROP TABLE scenarios")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()


def columns(store: Store, table: str) -> dict[str, dict]:
    return {r["name"]: r for r in store.query(f"PRAGMA table_info({table})")}


def test_a_version_2_store_migrates_to_3_on_open_and_keeps_its_data(demo_store):
    make_version_2(demo_store)
    conn = sqlite3.connect(demo_store)
    observations = conn.execute("SELECT count(*) FROM observations").fetchone()[0]
    alerts = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
    conn.close()
    assert SCHEMA_VERSION >= 3 and MIGRATIONS[2] == SCHEMA_V3_SCENARIOS
    with Store.open(demo_store) as store:
        assert store.query("PRAGMA user_version")[0]["user_version"] == SCHEMA_VERSION
        assert store.scenarios() == []
        assert store.query("SELECT count(*) AS n FROM observations")[0]["n"] == observations
        assert store.query("SELECT count(*) AS n FROM alerts")[0]["n"] == alerts
        saved = store.save_scenario("Win more", ["win_rate+=3"], "ana", "2026-11-27T09:30:00Z")
    assert saved.levers == ("win_rate+=3",)


def test_a_migrated_store_has_the_same_scenarios_table_as_a_new_one(demo_store, tmp_path):
    fresh = tmp_path / "fresh.db"
    copy_store(demo_store, fresh)
    make_version_2(demo_store)
    with Store.open(demo_store) as migrated, Store.open(fresh) as new:
        assert columns(migrated, "scenarios") == columns(new, "scenarios")
    table = columns(Store.open(fresh, readonly=True), "scenarios")
    assert list(table) == [
        "id",
        "name",
        "levers",
        "note",
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
    ]
    assert {name for name, c in table.items() if c["notnull"]} == {
        "name",
        "levers",
        "created_by",
        "created_at",
    }


def test_save_list_get_and_delete_round_trip(demo_store):
    with Store.open(demo_store) as store:
        first = store.save_scenario(
            "Win more", ["win_rate+=3", "mql_to_sql=20"], "ana", "2026-11-27T09:30:00Z"
        )
        store.save_scenario("activation push", ["activation_rate+=5%"], "bo", "2026-11-27T10:00Z")
        assert first == SavedScenario(
            id=first.id,
            name="Win more",
            levers=("win_rate+=3", "mql_to_sql=20"),
            created_by="ana",
            created_at="2026-11-27T09:30:00Z",
        )
        # By name, whatever the case.
        assert [s.name for s in store.scenarios()] == ["activation push", "Win more"]
        assert store.scenario("Win more") == first
        assert store.scenario("win more") is None
        row = store.query("SELECT levers FROM scenarios WHERE name = 'Win more'")[0]
        assert json.loads(row["levers"]) == ["win_rate+=3", "mql_to_sql=20"]
        assert store.delete_scenario("Win more") is True
        assert store.delete_scenario("Win more") is False
        assert [s.name for s in store.scenarios()] == ["activation push"]


def test_saving_over_a_name_replaces_the_levers_and_keeps_who_created_it(demo_store):
    with Store.open(demo_store) as store:
        first = store.save_scenario("Plan", ["win_rate+=3"], "ana", "2026-11-27T09:30:00Z")
        second = store.save_scenario(
            "Plan", ["win_rate+=5"], "bo", "2026-11-28T08:00:00Z", note="bolder"
        )
        assert len(store.scenarios()) == 1
    assert second.id == first.id
    assert second.levers == ("win_rate+=5",) and second.note == "bolder"
    assert (second.created_by, second.created_at) == ("ana", "2026-11-27T09:30:00Z")
    assert (second.updated_by, second.updated_at) == ("bo", "2026-11-28T08:00:00Z")


def test_names_are_stored_literally(demo_store):
    hostile = "[bold red]x[/] \\u2028 ü 𝕏 ' ; DROP TABLE scenarios; --"
    with Store.open(demo_store) as store:
        store.save_scenario(hostile, ["win_rate=1"], "[i]eve[/i]", "2026-11-27T09:30:00Z")
        (saved,) = store.scenarios()
    assert saved.name == hostile and saved.created_by == "[i]eve[/i]"


def test_a_read_only_store_refuses_to_save_and_writes_nothing(demo_store):
    with Store.open(demo_store, readonly=True) as store:
        with pytest.raises(StoreError, match="read-only"):
            store.save_scenario("Plan", ["win_rate+=3"], "ana", "2026-11-27T09:30:00Z")
        with pytest.raises(StoreError, match="read-only"):
            store.delete_scenario("Plan")
        assert store.scenarios() == []


def test_saving_a_scenario_changes_no_observation_or_alert(demo_store):
    def contents() -> tuple:
        conn = sqlite3.connect(demo_store)
        try:
            return tuple(
                conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
                for table in ("observations", "alerts", "alert_events")
            )
        finally:
            conn.close()

    before = contents()
    with Store.open(demo_store) as store:
        store.save_scenario("Plan", ["win_rate+=3"], "ana", "2026-11-27T09:30:00Z")
        store.delete_scenario("Plan")
    assert contents() == before


@pytest.mark.parametrize(
    ("text", "levers"),
    [
        ("win_rate+=3", ["win_rate+=3"]),
        ("win_rate += 3, mql_to_sql = 20", ["win_rate+=3", "mql_to_sql=20"]),
        ("  win_rate-=2 % ,,activation_rate+=5%  ", ["win_rate-=2%", "activation_rate+=5%"]),
        ("a=1 b=-2", ["a=1", "b=-2"]),
        ("", []),
        ("win_rate", ["win_rate"]),  # left for parse_lever to refuse
    ],
)
def test_split_levers(text, levers):
    assert split_levers(text) == levers


def test_check_name():
    assert check_name("  Win   more ") == "Win more"
    for bad in ("", "   ", "x" * 81, "bell\x07"):
        with pytest.raises(ValueError):
            check_name(bad)
