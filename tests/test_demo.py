"""The deterministic demo history."""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from datetime import date

from intelligentos.config.paths import builtin_catalog_dir
from intelligentos.domain.catalog import Frequency
from intelligentos.domain.demo import PLANTS, demo_observations, periods
from intelligentos.domain.detection import Status, target_status
from intelligentos.domain.lineage import LineageGraph
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
