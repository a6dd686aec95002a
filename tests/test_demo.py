"""The deterministic demo history."""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from datetime import date

import pytest

from intelligentos.config.paths import builtin_catalog_dir
from intelligentos.domain.catalog import Frequency
from intelligentos.domain.demo import PLANTS, demo_observations, periods
from intelligentos.domain.detection import Status, target_status
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.whatif.model import parse_lever, simulate
from intelligentos.services.bootstrap import init_store
from intelligentos.services.catalog import load_catalog

from .conftest import DEMO_END


def store_content(path) -> str:
    conn = sqlite3.connect(path)
    digest = hashlib.sha256()
    for table in ("kpis", "lineage", "observations"):
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
            digest.update(repr(row).encode())
    conn.close()
    return digest.hexdigest()


def test_same_seed_gives_identical_store_content(tmp_path):
    a, b, c = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"
    init_store(a, end=DEMO_END, seed=7)
    init_store(b, end=DEMO_END, seed=7)
    init_store(c, end=DEMO_END, seed=8)
    assert store_content(a) == store_content(b)
    assert store_content(a) != store_content(c)


def test_periods_follow_frequency():
    end = date(2026, 11, 27)
    daily = periods(Frequency.DAILY, end)
    weekly = periods(Frequency.WEEKLY, end)
    monthly = periods(Frequency.MONTHLY, end)
    assert len(daily) == 730 and daily[-1] == end
    assert all(d.weekday() == 0 for d in weekly) and 103 <= len(weekly) <= 105
    assert all(d.day == 1 for d in monthly) and len(monthly) == 24
    assert monthly[-1] == date(2026, 11, 1)


def test_series_stay_in_plausible_ranges():
    catalog = load_catalog(builtin_catalog_dir())
    for obs in demo_observations(catalog, DEMO_END):
        kpi = catalog.kpis[obs.kpi_id]
        if kpi.unit.value == "percent":
            assert 0 <= obs.value <= (2 * kpi.target if kpi.target > 100 else 100), obs
        elif kpi.unit.value == "score":
            assert -100 <= obs.value <= 100, obs
        else:
            assert obs.value >= 0, obs


def test_planted_deviations_are_there():
    catalog = load_catalog(builtin_catalog_dir())
    rows = list(demo_observations(catalog, DEMO_END))
    latest = {}
    for obs in rows:
        latest[obs.kpi_id] = obs
    assert len(PLANTS) >= 5
    assert target_status(catalog.kpis["win_rate"], latest["win_rate"].value) is Status.CRITICAL
    assert target_status(catalog.kpis["turnover"], latest["turnover"].value) is Status.WARNING
    stale_system = next(p.target for p in PLANTS if p.kind == "stale")
    stale_kpis = LineageGraph(catalog).kpis_by_system[stale_system]
    assert stale_kpis
    for kpi_id in stale_kpis:
        assert latest[kpi_id].period < "2026-11-27"
    healthy = Counter(target_status(catalog.kpis[k], o.value) for k, o in latest.items())
    assert healthy[Status.OK] > len(latest) / 2


def test_the_sql_spike_collapses_the_conversion_computed_from_it():
    catalog = load_catalog(builtin_catalog_dir())
    by_kpi = demo_values(catalog)
    sqls, mqls, conversion = (by_kpi[k] for k in ("sqls", "mqls", "mql_to_sql"))
    last, before = "2026-11-27", "2026-11-26"
    # The spike sets the last SQL count to its target × (1 − 2.5 × critical 0.18): 180 × 0.55.
    assert sqls[last] == 99.0
    assert conversion[last] == 100 * 99.0 / mqls[last]
    # Conversion falls from about 30 % to about 16 %: critical (30 × (1 − 0.18) = 24.6).
    assert 28 < conversion[before] < 33 and 15 < conversion[last] < 18
    assert target_status(catalog.kpis["mql_to_sql"], conversion[last]) is Status.CRITICAL
    assert target_status(catalog.kpis["mql_to_sql"], conversion[before]) is Status.OK


def demo_values(catalog) -> dict[str, dict[str, float]]:
    values: dict[str, dict[str, float]] = {}
    for obs in demo_observations(catalog, DEMO_END):
        values.setdefault(obs.kpi_id, {})[obs.period] = obs.value
    return values


# The demo catalog's derived KPIs, each written out by hand: the values the demo gives them
# must be exactly these, in every period where all their inputs have a value, and only there.
BY_HAND = {
    "arr": (("mrr",), lambda v: v["mrr"] * 12),
    "grr": (
        ("contraction_rate", "churn_rate"),
        lambda v: 100 - v["contraction_rate"] - v["churn_rate"],
    ),
    "nrr": (("grr", "expansion_rate"), lambda v: v["grr"] + v["expansion_rate"]),
    "mql_to_sql": (("sqls", "mqls"), lambda v: 100 * v["sqls"] / v["mqls"]),
}


def test_every_derived_kpis_demo_value_is_its_expression_over_its_inputs():
    catalog = load_catalog(builtin_catalog_dir())
    assert {k.id for k in catalog.kpis.values() if k.derived} == set(BY_HAND)
    values = demo_values(catalog)
    for kpi_id, (inputs, by_hand) in BY_HAND.items():
        shared = set.intersection(*(set(values[name]) for name in inputs))
        assert shared, kpi_id
        assert set(values[kpi_id]) == shared, kpi_id
        for period in shared:
            assert values[kpi_id][period] == by_hand(
                {name: values[name][period] for name in inputs}
            ), (kpi_id, period)


def test_derived_demo_kpis_are_plausible():
    """Computed from their inputs, NRR climbs from the mid-100s to its 115 % target, GRR
    to 93 %, conversion from about 25 % to 30 %, and ARR stays near $48M."""
    catalog = load_catalog(builtin_catalog_dir())
    values = demo_values(catalog)
    nrr, grr = values["nrr"], values["grr"]
    assert 104 < nrr["2024-12-01"] < 110 and 113 < nrr["2026-11-01"] < 119
    assert 88 < grr["2024-12-01"] < 92 and 92 < grr["2026-11-01"] < 95
    assert all(100 < v < 120 for v in nrr.values()) and all(85 < v < 97 for v in grr.values())
    conversion = values["mql_to_sql"]
    assert all(15 < v < 35 for v in conversion.values())
    first_month = [v for period, v in conversion.items() if period < "2024-12-29"]
    assert 24 < sum(first_month) / len(first_month) < 28  # rising towards 30 %
    assert all(40e6 < v < 52e6 for v in values["arr"].values())


def test_a_what_if_on_mrr_moves_arr_exactly_twelvefold():
    catalog = load_catalog(builtin_catalog_dir())
    current = {kpi_id: series[max(series)] for kpi_id, series in demo_values(catalog).items()}
    outcome = simulate(catalog, [parse_lever("mrr+=100000")], current)
    arr = outcome.of("arr")
    assert arr is not None
    # ARR = MRR × 12: $100k more MRR is $1.2M more ARR.
    assert arr.projected - arr.current == pytest.approx(1_200_000)


def test_a_short_history_plants_what_fits(tmp_path):
    """30 days hold one value of a monthly KPI: its planted breach (four periods) keeps to
    the points there are, instead of failing the whole store."""
    path = tmp_path / "short.db"
    init_store(path, end=DEMO_END, history_days=30, scale_kpis=300)
    with sqlite3.connect(path) as conn:
        monthly = conn.execute(
            "SELECT count(*) FROM observations WHERE kpi_id = 'revenue_growth'"
        ).fetchone()[0]
        kpis = conn.execute("SELECT count(*) FROM kpis").fetchone()[0]
    assert monthly >= 1
    assert kpis == 300
