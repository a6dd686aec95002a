"""Explain and recommend from a real SQLite store: which dates are read (a KPI's latest
period against the one before, the KPIs below it at each period's end, never past the
as-of date), ``--from``/``--to``, σ from a year of history, and every bad input, each one
sentence, with nothing written."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from intelligentos.domain.observations import Observation
from intelligentos.services.explain import (
    Basis,
    ExplainError,
    ExplainRequest,
    explain_kpi,
    recommend_kpi,
)
from intelligentos.store import Store, create_store

from .explain_catalog import CATALOG, END, START

AS_OF = date(2026, 11, 27)
GROWTH_TREE = ("growth", "win", "leads", "cost", "util")
SEPTEMBER = {"growth": 32.0, "win": 21.0, "leads": 160.0, "cost": 25.0, "util": 85.0}
AUGUST = {"growth": 33.0, "win": 19.0, "leads": 150.0}


def observations() -> list[Observation]:
    rows = []
    for kpi_id, value in AUGUST.items():
        rows.append(Observation(kpi_id, "2026-08-01", value))
    for kpi_id, value in SEPTEMBER.items():
        rows.append(Observation(kpi_id, "2026-09-01", value))
    for kpi_id in CATALOG.kpis:
        if kpi_id in ("signups", "capacity", "staff"):
            continue
        rows.append(Observation(kpi_id, "2026-10-01", START[kpi_id]))
        # win is measured again inside November: its value at the month's end is the 20th's.
        november = 19.5 if kpi_id == "win" else END[kpi_id]
        rows.append(Observation(kpi_id, "2026-11-01", november))
    rows += [
        Observation("win", "2026-11-20", 18.0),
        # After the as-of date: never read.
        Observation("win", "2026-12-01", 99.0),
        Observation("growth", "2026-12-01", 50.0),
        # One observation only.
        Observation("capacity", "2026-11-01", 85.0),
        Observation("staff", "2026-11-01", 45.0),
    ]
    return rows


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return create_store(tmp_path / "explain.db", CATALOG, observations())


@pytest.fixture
def store(db: Path) -> Iterator[Store]:
    opened = Store.open(db)  # writable: the services must still write nothing
    watcher = sqlite3.connect(db)
    version = watcher.execute("PRAGMA data_version").fetchone()[0]
    count = watcher.execute("SELECT count(*) FROM observations").fetchone()[0]
    try:
        yield opened
        # Nothing written: no other connection committed, and the rows are the same.
        assert watcher.execute("PRAGMA data_version").fetchone()[0] == version
        assert watcher.execute("SELECT count(*) FROM observations").fetchone()[0] == count
    finally:
        watcher.close()
        opened.close()


def ask(store: Store, kpi_id: str, **options: object):
    return explain_kpi(store, ExplainRequest(kpi_id, AS_OF, **options))  # type: ignore[arg-type]


def fails(store: Store, kpi_id: str, **options: object) -> str:
    with pytest.raises(ExplainError) as caught:
        ask(store, kpi_id, **options)
    return str(caught.value)


# --- the dates read ----------------------------------------------------------------------


def test_by_default_the_latest_period_against_the_one_before(store: Store):
    found = ask(store, "growth")
    # growth's latest period up to 27 November is November (December's is after the as-of
    # date), the one before October; win is read as it stood on 27 November (its 20
    # November value, 18) and on 31 October (20): the hand-computed explanation of the
    # model's tests.
    assert (found.period_from, found.period_to) == ("2026-10-01", "2026-11-01")
    assert (found.value_from, found.value_to) == (30, 28)
    assert found.delta_p == pytest.approx(-0.05)
    win = next(c for c in found.contributions if c.kpi.id == "win")
    assert (win.value_from, win.value_to) == (20, 18)
    assert win.contribution_p == pytest.approx(-0.04)
    assert found.residual_p == pytest.approx(-0.055)
    assert [c.kpi.id for c in found.root_causes] == ["growth", "win", "leads"]
    # No system is stale as of 27 November: each feeds a KPI measured this month.
    assert not any(c.stale for c in found.root_causes)


def test_from_and_to_give_the_two_days(store: Store):
    found = ask(store, "growth", date_from=date(2026, 9, 15), date_to=date(2026, 10, 20))
    # growth on 15 September is September's 32, on 20 October October's 30:
    # Δp (30 − 32)/40 = −0.05; win 21 → 20: Δp −0.04, × 0.5 = −0.02.
    assert (found.period_from, found.period_to) == ("2026-09-01", "2026-10-01")
    assert (found.value_from, found.value_to) == (32, 30)
    win = next(c for c in found.contributions if c.kpi.id == "win")
    assert win.contribution_p == pytest.approx(-0.02)
    # --to alone: the latest period up to that day against the one before it.
    only_to = ask(store, "growth", date_to=date(2026, 10, 20))
    assert (only_to.period_from, only_to.period_to) == ("2026-09-01", "2026-10-01")
    # --from alone: against the latest period (November, win read on 27 November).
    only_from = ask(store, "growth", date_from=date(2026, 8, 31))
    assert (only_from.period_from, only_from.period_to) == ("2026-08-01", "2026-11-01")
    assert (only_from.value_from, only_from.value_to) == (33, 28)


def test_a_kpi_measured_twice_in_a_period_compares_its_two_latest(store: Store):
    found = ask(store, "win")
    # win's two latest up to 27 November: 1 November (19.5) and 20 November (18).
    assert (found.period_from, found.period_to) == ("2026-11-01", "2026-11-20")
    assert (found.value_from, found.value_to) == (19.5, 18)
    # leads is read on the 1st's period end, capped below the 20th: its November value.
    leads = next(c for c in found.contributions if c.kpi.id == "leads")
    assert (leads.value_from, leads.value_to) == (140, 140)


def test_against_target(store: Store):
    found = ask(store, "growth", basis=Basis.TARGET)
    assert found.period_from is None and found.period_to == "2026-11-01"
    assert (found.value_from, found.value_to) == (40, 28)
    assert found.residual_p == pytest.approx(-0.12)


def test_a_kpi_without_children_owns_its_move(store: Store):
    found = ask(store, "leads")
    # 150 → 140: Δp −0.05, all residual.
    assert found.contributions == ()
    assert found.residual_p == pytest.approx(-0.05) == found.delta_p


# --- bad input ---------------------------------------------------------------------------


def test_every_bad_input_is_one_sentence(store: Store):
    assert fails(store, "nope") == "unknown KPI 'nope'; `intelligentos-tui kpis` lists them"
    assert fails(store, "growth", date_to=date(2026, 7, 1)) == (
        "Growth (growth) has no observation on or before 2026-07-01 (its first is 2026-08-01)"
    )
    assert fails(store, "growth", date_from=date(2026, 7, 15)) == (
        "Growth (growth) has no observation on or before 2026-07-15 (its first is 2026-08-01)"
    )
    assert fails(store, "growth", date_to=date(2026, 12, 5)) == (
        "--to 2026-12-05 is after the as-of date 2026-11-27"
    )
    assert fails(store, "growth", date_from=date(2026, 11, 28)) == (
        "--from 2026-11-28 is after the as-of date 2026-11-27"
    )
    assert fails(store, "growth", date_from=date(2026, 11, 1), date_to=date(2026, 10, 1)) == (
        "--from 2026-11-01 is after --to 2026-10-01: give an earlier --from"
    )
    assert fails(store, "growth", date_from=date(2026, 10, 1), date_to=date(2026, 10, 1)) == (
        "--from 2026-10-01 is the same day as --to 2026-10-01: give an earlier --from"
    )
    assert fails(store, "capacity") == (
        "Capacity (capacity) has one observation up to 2026-11-27: there is no earlier "
        "period to compare with (give --from, or --vs target)"
    )
    assert fails(store, "signups") == "Signups (signups) has no observations"
    assert fails(store, "growth", basis=Basis.TARGET, date_from=date(2026, 9, 1)) == (
        "--from compares two dates: against target there is only --to"
    )
    assert fails(store, "customers", basis=Basis.TARGET) == (
        "Customers (customers) has no target: it has no gap to explain"
    )
    assert fails(store, "growth", depth=0) == "the depth must be at least 1"


def test_a_from_in_the_latest_period_is_refused(store: Store):
    # No --to: "to" is growth's latest period (November, read on 27 November); a --from in
    # that period compares it with itself.
    assert fails(store, "growth", date_from=date(2026, 11, 15)) == (
        "Growth (growth) has no observation after --from 2026-11-15 up to 2026-11-27 "
        "(its latest is 2026-11-01): give an earlier --from"
    )
    # Likewise two days inside one period of the KPI.
    assert fails(store, "growth", date_from=date(2026, 10, 2), date_to=date(2026, 10, 30)) == (
        "Growth (growth) has no observation after --from 2026-10-02 up to 2026-10-30 "
        "(its latest is 2026-10-01): give an earlier --from"
    )


# --- recommend ---------------------------------------------------------------------------


def test_recommend_from_the_store(store: Store):
    found = recommend_kpi(store, "growth", AS_OF)
    # growth 28 against 40: (28 − 40)/40 = −0.3.
    assert found.current == 28 and found.gap_p == pytest.approx(-0.3) and not found.met
    r = {x.lever.id: x for x in found.recommendations}
    # win's year: 19 (Aug), 21 (Sep), 20 (Oct), 19.5 and 18 (Nov): changes +2, −1, −0.5,
    # −1.5; mean −0.25; σ² = (5.0625 + 0.5625 + 0.0625 + 1.5625)/3 = 7.25/3.
    assert r["win"].sigma.value == pytest.approx((7.25 / 3) ** 0.5)
    assert r["win"].sigma.changes == 4
    # Alone: growth needs +0.3 of performance, win 0.5 a unit of its: +0.6 → 18 + 0.6 × 25 =
    # 33 %; 15 points over σ.
    assert r["win"].required == pytest.approx(33)
    assert r["win"].change_sigma == pytest.approx(15 / (7.25 / 3) ** 0.5)
    # cost has three observations, two changes: too little history for σ. It can bring
    # growth to target alone (+0.3 / 0.3 = +1 of its performance: 22 → 2 %), so it ranks
    # after every reachable lever with a σ and before util, which cannot (a band KPI
    # can gain 0.125 of performance at most, not 0.3 / 0.2 = 1.5).
    assert r["cost"].sigma.value is None
    assert r["cost"].sigma.reason == (
        "too little history for σ: 2 change(s) in the last year, 3 needed"
    )
    assert r["cost"].reachable and r["cost"].required == pytest.approx(2)
    assert not r["util"].reachable
    assert [x.lever.id for x in found.recommendations] == ["win", "leads", "cost", "util"]
    plan = found.plan
    assert plan is not None and plan.lands and plan.projected == pytest.approx(40)
    assert "cost" not in {s.lever.id for s in plan.steps}


def test_recommend_a_kpi_on_target_says_so(store: Store):
    # arpu is 1200 / 120 = 10, its target: met, nothing to do.
    found = recommend_kpi(store, "arpu", AS_OF)
    assert found.met and found.recommendations == () and found.plan is None


def test_recommend_errors(store: Store):
    with pytest.raises(ExplainError) as caught:
        recommend_kpi(store, "nope", AS_OF)
    assert str(caught.value) == "unknown KPI 'nope'; `intelligentos-tui kpis` lists them"
    with pytest.raises(ExplainError) as caught:
        recommend_kpi(store, "customers", AS_OF)
    assert str(caught.value) == "Customers (customers) has no target: nothing to recommend"
    with pytest.raises(ExplainError) as caught:
        recommend_kpi(store, "growth", date(2026, 7, 1))
    assert str(caught.value) == "Growth (growth) has no observation on or before 2026-07-01"


def test_root_causes_say_when_their_systems_data_is_stale(store: Store):
    # Six months on, nothing has been measured since December: every system is stale.
    later = explain_kpi(store, ExplainRequest("growth", date(2027, 6, 1), date_to=AS_OF))
    assert (later.period_from, later.period_to) == ("2026-10-01", "2026-11-01")
    assert [(c.kpi.id, c.system_id, c.stale) for c in later.root_causes] == [
        ("growth", "erp", True),
        ("win", "crm", True),
        ("leads", "crm", True),
    ]
