"""Derived KPIs' observations: computed by the store from their expressions (on import, on
another process's insert through `check` and the cockpit's refresh, on re-sync), marked
computed, never imported; a period whose expression is undefined has no value and says why."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.services.bootstrap import init_store, open_store
from intelligentos.services.imports import import_files
from intelligentos.store import SCHEMA_VERSION, Store

from .conftest import MINI_CATALOG, write_catalog
from .stores import copy_store, make_version_4

runner = CliRunner()


def kpi(kpi_id: str, unit: str, compute: str | None = None) -> str:
    """A monthly KPI of the mini catalog's growth engine, rolling up to its CEO KPI."""
    return (
        f"""
[kpi.{kpi_id}]
name = "{kpi_id.title()}"
level = "leading"
unit = "{unit}"
direction = "higher"
target = 1.0
frequency = "monthly"
formula = "{compute or kpi_id}"
engine = "growth"
owner_function = "sales"
rolls_up_to = "revenue_growth"
weight = 0.1
"""
        + (f'compute = "{compute}"\n' if compute else "")
        + f"""
[[kpi.{kpi_id}.lineage]]
metric = "Booked revenue"
workflow = "opportunity_management"
step = "close"
fields = ["crm.opportunity.amount"]
"""
    )


DERIVED_KPIS = (
    kpi("cost", "currency")
    + kpi("revenue", "currency")
    + kpi("margin", "percent", "100 * (revenue - cost) / revenue")
    + kpi("volume", "count", "cost * revenue")
    + kpi("margin_points", "percent", "margin - 50")
)


def derived_catalog(directory: Path, extra: str = DERIVED_KPIS) -> Path:
    return write_catalog(
        directory, {**MINI_CATALOG, "kpis.toml": MINI_CATALOG["kpis.toml"] + extra}
    )


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "s.db"
    init_store(path, derived_catalog(tmp_path / "catalog"), demo=False)
    return path


def write_csv(path: Path, rows: list[tuple[str, str, float]]) -> Path:
    path.write_text(
        "kpi_id,period,value\n" + "".join(f"{k},{p},{v!r}\n" for k, p, v in rows),
        encoding="utf-8",
    )
    return path


def rows(path: Path, kpi_id: str) -> dict[str, tuple[float, int, str]]:
    conn = sqlite3.connect(path)
    try:
        found = conn.execute(
            "SELECT period, value, computed, source FROM observations WHERE kpi_id = ? "
            "ORDER BY period",
            (kpi_id,),
        ).fetchall()
    finally:
        conn.close()
    return {p: (v, c, s) for p, v, c, s in found}


def values(path: Path, kpi_id: str) -> dict[str, float]:
    return {p: v for p, (v, _, _) in rows(path, kpi_id).items()}


def test_an_import_computes_a_ratio_a_product_and_a_chain_by_hand(store_path, tmp_path):
    csv_file = write_csv(
        tmp_path / "in.csv",
        [
            ("cost", "2031-01-01", 60.0),
            ("revenue", "2031-01-01", 200.0),
            ("cost", "2031-02-01", 30.0),
            ("revenue", "2031-02-01", 120.0),
            ("cost", "2031-03-01", 10.0),  # no revenue in March: nothing derived
        ],
    )
    with open_store(store_path) as store:
        report = import_files(store, [csv_file])
    assert report.counts is not None and report.counts.inserted == 5
    # January: 100 * (200 - 60) / 200 = 70; February: 100 * (120 - 30) / 120 = 75.
    assert values(store_path, "margin") == {"2031-01-01": 70.0, "2031-02-01": 75.0}
    # 60 * 200 = 12000; 30 * 120 = 3600.
    assert values(store_path, "volume") == {"2031-01-01": 12000.0, "2031-02-01": 3600.0}
    # The chain: 70 - 50 = 20; 75 - 50 = 25.
    assert values(store_path, "margin_points") == {"2031-01-01": 20.0, "2031-02-01": 25.0}
    margin = rows(store_path, "margin")["2031-01-01"]
    assert margin[1:] == (1, "= 100 * (revenue - cost) / revenue")
    assert {c for _, c, _ in rows(store_path, "cost").values()} == {0}
    assert report.derived.written == 6 and report.derived.gap_count == 0


def test_a_zero_divisor_leaves_the_period_without_a_value_and_says_why(store_path, tmp_path):
    csv_file = write_csv(
        tmp_path / "in.csv",
        [("cost", "2031-01-01", 5.0), ("revenue", "2031-01-01", 0.0)],
    )
    result = runner.invoke(app, ["import", str(csv_file), "--db", str(store_path)])
    assert result.exit_code == 0, result.output
    assert "margin 2031-01-01: revenue is zero" in result.output
    assert values(store_path, "margin") == {}
    assert values(store_path, "margin_points") == {}  # its input has no value: nor has it
    assert values(store_path, "volume") == {"2031-01-01": 0.0}  # 5 * 0 = 0
    checked = runner.invoke(app, ["check", "--db", str(store_path)])
    assert "1 period of derived KPIs has no value" in checked.output
    assert "margin 2031-01-01: revenue is zero" in checked.output
    # A revenue for that month closes the gap: 100 * (40 - 5) / 40 = 87.5.
    fixed = write_csv(tmp_path / "fix.csv", [("revenue", "2031-01-01", 40.0)])
    with open_store(store_path) as store:
        import_files(store, [fixed])
        assert store.gaps() == ((), 0)
    assert values(store_path, "margin") == {"2031-01-01": 87.5}


def test_an_imported_value_for_a_derived_kpi_is_refused_and_nothing_is_written(
    store_path, tmp_path
):
    csv_file = write_csv(
        tmp_path / "in.csv",
        [("cost", "2031-01-01", 5.0), ("margin", "2031-01-01", 40.0)],
    )
    result = runner.invoke(app, ["import", str(csv_file), "--db", str(store_path)])
    assert result.exit_code != 0
    assert (
        f"{csv_file}:3:kpi_id: margin is computed from its expression "
        "(100 * (revenue - cost) / revenue); import its inputs instead"
    ) in result.output
    assert "nothing was imported" in result.output
    assert values(store_path, "cost") == {} and values(store_path, "margin") == {}


def test_check_computes_what_another_process_inserted(store_path):
    conn = sqlite3.connect(store_path)
    conn.executemany(
        "INSERT INTO observations (kpi_id, period, value) VALUES (?, ?, ?)",
        [("cost", "2031-04-01", 25.0), ("revenue", "2031-04-01", 100.0)],
    )
    conn.commit()
    conn.close()
    assert values(store_path, "margin") == {}
    runner.invoke(app, ["check", "--db", str(store_path)])
    # 100 * (100 - 25) / 100 = 75; 25 * 100 = 2500; 75 - 50 = 25.
    assert values(store_path, "margin") == {"2031-04-01": 75.0}
    assert values(store_path, "volume") == {"2031-04-01": 2500.0}
    assert values(store_path, "margin_points") == {"2031-04-01": 25.0}
    # Another process deletes an input: the derived values go with it.
    conn = sqlite3.connect(store_path)
    conn.execute("DELETE FROM observations WHERE kpi_id = 'cost'")
    conn.commit()
    conn.close()
    runner.invoke(app, ["check", "--db", str(store_path)])
    assert values(store_path, "margin") == {} and values(store_path, "volume") == {}


def test_a_value_written_around_the_importer_for_a_derived_kpi_is_replaced(store_path):
    conn = sqlite3.connect(store_path)
    conn.executemany(
        "INSERT INTO observations (kpi_id, period, value) VALUES (?, ?, ?)",
        [
            ("cost", "2031-05-01", 10.0),
            ("revenue", "2031-05-01", 50.0),
            ("margin", "2031-05-01", 1.0),
        ],
    )
    conn.commit()
    conn.close()
    runner.invoke(app, ["check", "--db", str(store_path)])
    # 100 * (50 - 10) / 50 = 80, not the 1 written by hand.
    assert rows(store_path, "margin")["2031-05-01"][:2] == (80.0, 1)


def test_sync_catalog_computes_a_new_expressions_history(tmp_path):
    path = tmp_path / "s.db"
    plain = DERIVED_KPIS.replace(kpi("volume", "count", "cost * revenue"), kpi("volume", "count"))
    catalog = derived_catalog(tmp_path / "catalog", plain)
    init_store(path, catalog, demo=False)
    csv_file = write_csv(
        tmp_path / "in.csv",
        [("cost", "2031-01-01", 2.0), ("revenue", "2031-01-01", 8.0)],
    )
    with open_store(path) as store:
        import_files(store, [csv_file])
    assert values(path, "volume") == {}
    derived_catalog(catalog, DERIVED_KPIS)
    result = runner.invoke(app, ["sync-catalog", "--db", str(path), "--catalog", str(catalog)])
    assert result.exit_code == 0, result.output
    assert "Derived KPIs computed again (volume)" in result.output
    assert values(path, "volume") == {"2031-01-01": 16.0}  # 2 * 8


def test_a_catalog_without_derived_kpis_has_no_triggers(tmp_path, mini_catalog):
    path = tmp_path / "plain.db"
    init_store(path, mini_catalog, demo=False)
    conn = sqlite3.connect(path)
    triggers = conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    conn.close()
    assert triggers == []


def test_a_version_4_store_upgrades_in_place(demo_store):
    with Store.open(demo_store) as store:
        observations = store.query("SELECT count(*) AS n FROM observations")[0]["n"]
    make_version_4(demo_store)
    with open_store(demo_store) as store:
        assert store.query("PRAGMA user_version")[0]["user_version"] == SCHEMA_VERSION == 7
        assert (
            store.query("SELECT count(*) AS n FROM observations WHERE computed = 0")[0]["n"]
            == observations
        )
        names = {r["name"] for r in store.query("SELECT name FROM sqlite_master")}
        assert {"derived_inputs", "derived_pending", "derived_gaps"} <= names
        assert all(k.compute is None for k in store.read_catalog().kpis.values())


# --- the property: stored equals the expression over the stored inputs -----------------------

PERIODS = [f"2031-{m:02d}-01" for m in range(1, 7)]
MAYBE = st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.5, 40.0, 300.0, 1e6]))


def expected(cost: float | None, revenue: float | None) -> dict[str, float | None]:
    """The derived values, by hand, from the stored inputs (None: no value)."""
    margin = (
        None
        if cost is None or revenue is None or revenue == 0
        else 100 * (revenue - cost) / revenue
    )
    return {
        "margin": margin,
        "volume": None if cost is None or revenue is None else cost * revenue,
        "margin_points": None if margin is None else margin - 50,
    }


@pytest.fixture(scope="module")
def property_template(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("property")
    path = directory / "template.db"
    init_store(path, derived_catalog(directory / "catalog"), demo=False)
    return path


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(
        st.lists(
            st.tuples(st.sampled_from(["cost", "revenue"]), st.sampled_from(PERIODS), MAYBE),
            max_size=8,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_stored_derived_values_always_equal_their_expression(
    property_template, tmp_path_factory, batches
):
    path = copy_store(property_template, tmp_path_factory.mktemp("prop") / "s.db")
    directory = path.parent
    for index, batch in enumerate(batches):
        # None: another process deletes that input (the importer never writes a NULL).
        kept = {(k, p): v for k, p, v in batch}
        imported = [(k, p, v) for (k, p), v in kept.items() if v is not None]
        deleted = [(k, p) for (k, p), v in kept.items() if v is None]
        if imported:
            with open_store(path) as store:
                report = import_files(store, [write_csv(directory / f"{index}.csv", imported)])
                assert report.counts is not None, report.problems
        if deleted:
            conn = sqlite3.connect(path)
            conn.executemany("DELETE FROM observations WHERE kpi_id = ? AND period = ?", deleted)
            conn.commit()
            conn.close()
    runner.invoke(app, ["check", "--db", str(path)])
    cost, revenue = values(path, "cost"), values(path, "revenue")

    with Store.open(path) as store:
        shown, _ = store.gaps(100)
        gaps = {(g.kpi_id, g.period) for g in shown}
    for period in PERIODS:
        want = expected(cost.get(period), revenue.get(period))
        for kpi_id, value in want.items():
            stored = values(path, kpi_id).get(period)
            if value is None:
                assert stored is None
            else:
                assert stored == pytest.approx(value, rel=1e-12)
        undefined = cost.get(period) is not None and revenue.get(period) == 0
        assert (("margin", period) in gaps) == undefined
    path.unlink()


def test_the_cockpits_refresh_computes_what_another_process_inserted(store_path):
    from datetime import UTC, datetime

    from intelligentos.services.snapshots import DataService

    services = DataService(store_path, clock=lambda: datetime(2031, 7, 1, 9, tzinfo=UTC))
    services.open()
    try:
        assert services.compute_derived() is None  # nothing pending: not even the lock
        conn = sqlite3.connect(store_path)  # another writer, as a script would be
        conn.executemany(
            "INSERT INTO observations (kpi_id, period, value) VALUES (?, ?, ?)",
            [
                ("cost", "2031-06-01", 30.0),
                ("revenue", "2031-06-01", 150.0),
                ("cost", "2031-05-01", 1.0),
                ("revenue", "2031-05-01", 0.0),
            ],
        )
        conn.commit()
        conn.close()
        notice = services.compute_derived()
    finally:
        services.close()
    # June: 100 * (150 - 30) / 150 = 80; May: a division by a zero revenue, said.
    assert values(store_path, "margin") == {"2031-06-01": 80.0}
    assert notice is not None and "margin 2031-05-01: revenue is zero" in notice


@pytest.mark.slow
def test_the_derived_import_benchmark_runs_small():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import derived_import  # benchmarks/derived_import.py

    result = derived_import.measure(rows=5_000, reps=1)
    # 5,000 rows over 10 KPIs: 500 periods. The product m2 * m3 has a value in each; the
    # ratio 100 * m0 / m1 in each but where m1 is zero: m1 is row 10 s + 1, valued
    # (10 s + 1) % 997 / 10, zero only at s = 299 (10 * 299 + 1 = 2991 = 3 * 997).
    assert result["gaps"] == 1
    assert result["derived_values"] == 500 + 499
    assert result["ratio"] > 0


# --- a batch evaluates as each period would alone ---------------------------------------------

EXPRESSIONS = [
    "100 * (revenue - cost) / revenue",
    "cost * revenue",
    "-cost + revenue / (cost - 1)",
    "min(cost, revenue) / max(cost, 2) - abs(revenue)",
]
CELL = st.one_of(st.none(), st.sampled_from([0.0, 1.0, -2.0, 3.5, 1e308, float("nan")]))


@given(
    text=st.sampled_from(EXPRESSIONS),
    cells=st.lists(st.tuples(CELL, CELL), min_size=1, max_size=12),
)
def test_a_batch_evaluates_each_period_as_it_would_alone(text, cells):
    from intelligentos.domain.formula import Undefined, parse_formula

    formula = parse_formula(text)
    columns = {"cost": [c for c, _ in cells], "revenue": [r for _, r in cells]}
    batch = formula.evaluate_many(columns, len(cells))
    for (cost, revenue), got in zip(cells, batch, strict=True):
        try:
            alone: float | str = formula.evaluate({"cost": cost, "revenue": revenue})
        except Undefined as why:
            alone = str(why)
        assert got == alone


def test_an_export_leaves_computed_values_out_and_reimports(store_path, tmp_path):
    csv_file = write_csv(
        tmp_path / "in.csv", [("cost", "2031-01-01", 1.0), ("revenue", "2031-01-01", 4.0)]
    )
    with open_store(store_path) as store:
        import_files(store, [csv_file])
    out = tmp_path / "export.csv"
    result = runner.invoke(
        app, ["export", "observations", "--db", str(store_path), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    exported = out.read_text(encoding="utf-8")
    assert "margin" not in exported and "cost" in exported
    again = runner.invoke(app, ["import", str(out), "--db", str(store_path)])
    assert again.exit_code == 0, again.output
    assert "2 unchanged" in again.output
    assert values(store_path, "margin") == {"2031-01-01": 75.0}  # 100 * (4 - 1) / 4


def test_after_an_import_another_writers_inputs_are_still_noticed(store_path, tmp_path):
    csv_file = write_csv(
        tmp_path / "in.csv", [("cost", "2031-01-01", 1.0), ("revenue", "2031-01-01", 2.0)]
    )
    with open_store(store_path) as store:
        import_files(store, [csv_file])
    conn = sqlite3.connect(store_path)
    conn.execute("UPDATE observations SET value = 5.0 WHERE kpi_id = 'revenue'")
    conn.commit()
    conn.close()
    runner.invoke(app, ["check", "--db", str(store_path)])
    assert values(store_path, "volume") == {"2031-01-01": 5.0}  # 1 * 5
