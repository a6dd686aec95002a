"""The deterministic demo history."""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
import statistics
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
    # The spike sets the last SQL count to its target × (1 − 1.5 × critical 0.18): 180 × 0.73
    # = 131.4, a count: 131.
    assert sqls[last] == 131.0
    assert conversion[last] == 100 * 131.0 / mqls[last]
    # Conversion falls from about 30 % to about 21 %: critical (30 × (1 − 0.18) = 24.6).
    assert 28 < conversion[before] < 33 and 20 < conversion[last] < 24.6
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
    """Computed from their inputs, NRR climbs from about 112 % towards its 115 % target (its
    expansion moves with expansion ARR, which moves it little), GRR to 93 %, conversion from
    about 25 % to 30 %, and ARR stays near $48M."""
    catalog = load_catalog(builtin_catalog_dir())
    values = demo_values(catalog)
    nrr, grr = values["nrr"], values["grr"]
    assert 108 < nrr["2024-12-01"] < 113.5 and 113.5 < nrr["2026-11-01"] < 119
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


def test_the_sales_cycle_stretches_over_this_months_weeks_to_its_worst_on_the_latest():
    """The slump: the weekly points dated after last month's end, worsening by a tenth of the
    worst each week to 1.9 × critical at the latest; the ones before stay healthy."""
    catalog = load_catalog(builtin_catalog_dir())
    cycle = demo_values(catalog)["sales_cycle_length"]
    # Target 65 days, lower is better, critical 0.25: the worst shortfall is 1.9 × 0.25 =
    # 0.475; November 2026's Mondays (2, 9, 16, 23) get 0.7, 0.8, 0.9 and 1.0 of it:
    # 65 × (1 + 0.3325) = 86.6125, 65 × 1.38 = 89.7, 65 × 1.4275 = 92.7875, 65 × 1.475 = 95.875.
    assert [cycle[d] for d in ("2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23")] == [
        86.61,
        89.7,
        92.79,
        95.88,
    ]
    assert cycle["2026-10-26"] < 65 * 1.1  # inside its warning band before the month


def test_the_slump_falls_into_this_month_whatever_the_day(tmp_path):
    """On a Monday early in the month, the month holds one weekly point: it alone is the
    worst, and the week before (last month) is not planted."""
    catalog = load_catalog(builtin_catalog_dir())
    end = date(2026, 12, 7)
    cycle = {
        o.period: o.value
        for o in demo_observations(catalog, end)
        if o.kpi_id == "sales_cycle_length"
    }
    assert cycle["2026-12-07"] == 95.88  # 65 × (1 + 0.475) = 95.875
    assert cycle["2026-11-30"] < 65 * 1.1


def test_revenue_growth_falls_off_target_because_of_the_sales_pipeline(demo_store):
    """The story the demo tells: revenue growth fell last month and is off target (beyond
    its warning band); it is explained by its children (a small residual of its own: real
    data has some), win rate and new ARR first, and the causes end at the sales cycle and
    the pipeline coverage, which the CRO agent owns."""
    from intelligentos.services.explain import ExplainRequest, explain_kpi, recommend_kpi
    from intelligentos.store import Store

    with Store.open(demo_store, readonly=True) as store:
        catalog = store.read_catalog()
        why = explain_kpi(store, ExplainRequest("revenue_growth", DEMO_END))
        plan = recommend_kpi(store, "revenue_growth", DEMO_END).plan
    assert why.value_to < why.value_from
    assert target_status(catalog.kpis["revenue_growth"], why.value_to) is Status.WARNING
    assert 0 < abs(why.residual_p) < 0.2 * abs(why.delta_p)
    assert [c.kpi.id for c in why.children[:2]] in (
        ["new_arr", "win_rate"],
        ["win_rate", "new_arr"],
    )
    causes = {cause.kpi.id: cause for cause in why.root_causes}
    assert list(causes)[:2] in (
        ["pipeline_coverage", "sales_cycle_length"],
        ["sales_cycle_length", "pipeline_coverage"],
    )
    cycle = causes["sales_cycle_length"]
    assert cycle.agent is not None and cycle.agent.id == "cro"
    assert (cycle.workflow_id, cycle.step_id) == ("opportunity_management", "create_opportunity")
    assert plan is not None and plan.lands
    # Believable: no lever of the least-effort plan moves more than a few σ of its history.
    assert all(abs(step.change_sigma) < 6 for step in plan.steps)


def test_a_measured_parent_moves_with_its_children():
    """Win rate rolls up from the sales cycle alone (weight 1): week to week its
    performance changes by the sales cycle's, plus a little noise of its own."""
    catalog = load_catalog(builtin_catalog_dir())
    values = demo_values(catalog)
    win, cycle = values["win_rate"], values["sales_cycle_length"]
    weeks = sorted(win)[-52:]
    # Performance: win rate higher-is-better (x − 28) / 28; the sales cycle lower-is-better
    # (65 − x) / 65. Weight 1: Δp(win rate) = Δp(sales cycle) + its own noise.
    win_p = [(win[w] - 28) / 28 for w in weeks]
    cycle_p = [(65 - cycle[w]) / 65 for w in weeks]
    moves = [b - a for a, b in itertools.pairwise(win_p)]
    explained = [b - a for a, b in itertools.pairwise(cycle_p)]
    residuals = [m - e for m, e in zip(moves, explained, strict=True)]
    assert any(r != 0 for r in residuals)
    assert statistics.pstdev(residuals) < 0.5 * statistics.pstdev(moves)


def test_only_the_stopped_feed_is_a_stale_system_below_a_ceo_kpi(demo_store):
    """The stale plant: the social listening feed stopped, so every KPI it feeds is stale and
    an explanation of brand health names it stale; the feeds of fresh KPIs are not."""
    from intelligentos.domain.whatif.propagation import Tree
    from intelligentos.services.explain import stale_systems, subtree
    from intelligentos.store import Store

    with Store.open(demo_store, readonly=True) as store:
        catalog = store.read_catalog()
        tree = Tree(catalog)
        brand = stale_systems(store, catalog, subtree(tree, "brand_health"), DEMO_END)
        revenue = stale_systems(store, catalog, subtree(tree, "revenue_growth"), DEMO_END)
    assert brand == {"social_listening"}
    assert revenue == set()
