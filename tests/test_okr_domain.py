"""Quarters, targets in force, proposals from a forecast's distribution, grades and the
cascade: pure domain, every expected value worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.forecast import Forecast, ForecastPoint
from intelligentos.domain.okr.cascade import cascade
from intelligentos.domain.okr.grade import Colour, colour, mean, score
from intelligentos.domain.okr.propose import (
    Outlook,
    Proposal,
    ProposalError,
    hit_with,
    outlook_of,
    p_hit,
)
from intelligentos.domain.okr.targets import (
    QuarterTarget,
    TargetSource,
    next_change,
    target_in_force,
)
from intelligentos.domain.quarters import Quarter, QuarterError
from intelligentos.domain.whatif.propagation import Tree

from .explain_catalog import kpi

# Φ⁻¹(0.9), the 80 % interval's half-width in standard deviations (tables: 1.2815516).
Z80 = 1.2815515655446004


# --- quarters ---------------------------------------------------------------------------------


def test_a_quarter_reads_yyyyqn_and_knows_its_days():
    q = Quarter.parse("2027Q1")
    assert (q.year, q.number, str(q)) == (2027, 1, "2027Q1")
    assert (q.start, q.end) == (date(2027, 1, 1), date(2027, 3, 31))
    assert Quarter.parse("2026Q4").end == date(2026, 12, 31)
    assert Quarter.parse("2028Q1").end == date(2028, 3, 31)
    assert Quarter.of(date(2026, 8, 15)) == Quarter(2026, 3)
    assert Quarter(2026, 4).next() == Quarter(2027, 1)
    assert Quarter(2027, 1).previous() == Quarter(2026, 4)
    assert Quarter(2026, 4) < Quarter(2027, 1) < Quarter(2027, 2)
    assert date(2027, 3, 31) in Quarter(2027, 1) and date(2027, 4, 1) not in Quarter(2027, 1)


@pytest.mark.parametrize("text", ["2027-Q1", "2027q1", "2027Q5", "2027Q0", "27Q1", "", "Q1"])
def test_anything_else_is_refused_in_one_sentence(text):
    with pytest.raises(QuarterError, match=r"is not a quarter: write YYYYQn, e\.g\. 2027Q1"):
        Quarter.parse(text)


# --- targets in force -------------------------------------------------------------------------


def test_the_target_in_force_changes_on_the_first_day_of_its_quarter():
    targets = [
        QuarterTarget("win", Quarter(2027, 3), 35.0, TargetSource.PROPOSAL),
        QuarterTarget("win", Quarter(2027, 1), 30.0),
    ]
    # Default 25 until 2027Q1 starts; 30 through Q1 and Q2 (no Q2 target); 35 from Q3.
    assert target_in_force(25.0, targets, date(2026, 12, 31)) == 25.0
    assert target_in_force(25.0, targets, date(2027, 1, 1)) == 30.0
    assert target_in_force(25.0, targets, date(2027, 5, 1)) == 30.0
    assert target_in_force(25.0, targets, date(2027, 7, 1)) == 35.0
    assert target_in_force(None, [], date(2027, 7, 1)) is None
    assert next_change(targets, date(2027, 2, 1)) == targets[0]
    assert next_change(targets, date(2027, 7, 1)) is None


# --- proposals --------------------------------------------------------------------------------

# mean 100 and an 80 % interval of ±10 z: σ = 10 on both sides.
SYMMETRIC = Outlook(100.0, 100.0 - 10 * Z80, 100.0 + 10 * Z80)


def test_the_interval_is_the_10_and_90_percent_quantiles():
    assert SYMMETRIC.sigma_lo == pytest.approx(10.0)
    assert SYMMETRIC.sigma_hi == pytest.approx(10.0)
    assert SYMMETRIC.quantile(0.1) == pytest.approx(SYMMETRIC.lo80)
    assert SYMMETRIC.quantile(0.9) == pytest.approx(SYMMETRIC.hi80)
    assert SYMMETRIC.cdf(100.0) == 0.5


def test_p_hit_commit_and_stretch_of_a_higher_is_better_kpi():
    win = kpi("win", target=110.0)
    proposal = Proposal(win, 110.0, SYMMETRIC, "ets", True)
    # P(X ≥ 110) = 1 − Φ(1) = 1 − 0.841345 = 0.158655
    assert proposal.p_hit_current == pytest.approx(0.158655, abs=1e-6)
    # Commit: hit with p 0.9 = the 10 % quantile = 100 − 1.281552 × 10 = 87.18448
    assert proposal.commit == pytest.approx(87.18448, abs=1e-5)
    assert proposal.p_hit_commit == pytest.approx(0.9)
    # Stretch: hit with p 0.35 = the 65 % quantile = 100 + Φ⁻¹(0.65) × 10 = 100 + 3.853205
    assert proposal.stretch == pytest.approx(103.853205, abs=1e-5)
    assert proposal.p_hit_stretch == pytest.approx(0.35)


def test_a_lower_is_better_kpi_takes_the_other_tail():
    cost = kpi("cost", unit="currency", direction="lower", target=95.0)
    # P(X ≤ 95) = Φ(−0.5) = 0.308538
    assert p_hit(cost, SYMMETRIC, 95.0) == pytest.approx(0.308538, abs=1e-6)
    # Commit: the 90 % quantile = 112.81552; stretch: the 35 % quantile = 96.146795
    assert hit_with(cost, SYMMETRIC, 0.9) == pytest.approx(112.81552, abs=1e-5)
    assert hit_with(cost, SYMMETRIC, 0.35) == pytest.approx(96.146795, abs=1e-5)


def test_a_target_beyond_what_the_unit_allows_is_capped_with_its_own_chance():
    satisfaction = kpi("csat", direction="higher", target=95.0)  # a percentage: 0 to 100
    # Stretch: the 65 % quantile = 100 + Φ⁻¹(0.65) × σ = 100 + 0.385320 × 10 = 103.853,
    # above 100 %: capped at 100, hit with P(X ≥ 100) = 0.5 (100 is the mean).
    proposal = Proposal(satisfaction, 95.0, SYMMETRIC, "ets", True)
    assert proposal.stretch == 100.0
    assert proposal.p_hit_stretch == pytest.approx(0.5)


def test_an_asymmetric_interval_scales_each_side_on_its_own():
    # mean 100, interval [90, 120]: σ_lo = 10 / 1.281552 = 7.803041,
    # σ_hi = 20 / 1.281552 = 15.606083
    outlook = Outlook(100.0, 90.0, 120.0)
    assert outlook.sigma_lo == pytest.approx(7.803041, abs=1e-6)
    assert outlook.sigma_hi == pytest.approx(15.606083, abs=1e-6)
    # P(X ≤ 95) = Φ(−5 / 7.803041) = Φ(−0.640776) = 1 − (0.738914 + 0.000776 × 0.3251) = 0.260834
    assert outlook.cdf(95.0) == pytest.approx(0.260834, abs=2e-6)
    # P(X ≤ 110) = Φ(10 / 15.606083) = Φ(0.640776) = 0.739166
    assert outlook.cdf(110.0) == pytest.approx(0.739166, abs=2e-6)


def test_a_band_kpi_is_judged_within_its_band_and_keeps_its_target():
    util = kpi("util", direction="band", target=100.0)  # warning 0.05: band ±5
    # P(95 ≤ X ≤ 105) = Φ(0.5) − Φ(−0.5) = 0.691462 − 0.308538 = 0.382925
    assert p_hit(util, SYMMETRIC, 100.0) == pytest.approx(0.382925, abs=1e-6)
    proposal = Proposal(util, 100.0, SYMMETRIC, "ets", True)
    assert proposal.commit == proposal.stretch == 100.0


def test_a_kpi_without_a_reliable_forecast_has_a_reason_and_no_numbers():
    proposal = Proposal(kpi("win"), 50.0, None, None, False, "no reliable forecast")
    assert proposal.p_hit_current is None and proposal.commit is None
    assert proposal.stretch is None and proposal.p_hit_commit is None


def test_an_interval_that_does_not_hold_its_mean_is_refused():
    with pytest.raises(ProposalError, match="does not hold its mean"):
        Outlook(100.0, 101.0, 120.0)


# --- grades -----------------------------------------------------------------------------------


def test_progress_from_the_quarters_start_to_its_target():
    win = kpi("win", target=30.0)
    # (25 − 20) / (30 − 20) = 0.5; past the target clips at 1; backwards at 0
    assert score(win, 30.0, 20.0, 25.0) == pytest.approx(0.5)
    assert score(win, 30.0, 20.0, 35.0) == 1.0
    assert score(win, 30.0, 20.0, 18.0) == 0.0
    cost = kpi("cost", direction="lower", target=6.0)
    # lower is better: (10 − 8) / (10 − 6) = 0.5
    assert score(cost, 6.0, 10.0, 8.0) == pytest.approx(0.5)


def test_a_target_met_at_the_start_is_graded_on_holding_it():
    win = kpi("win", target=30.0)  # warning 0.05: band 1.5
    assert score(win, 30.0, 32.0, 31.0) == 1.0
    # 1 short: 1 − 1 / 1.5 = 0.333333
    assert score(win, 30.0, 32.0, 29.0) == pytest.approx(1 / 3)


def test_a_band_kpi_is_graded_on_distance_kept():
    util = kpi("util", direction="band", target=100.0)  # band 5
    assert score(util, 100.0, 90.0, 102.0) == pytest.approx(0.6)  # 1 − 2 / 5
    assert score(util, 100.0, 90.0, 110.0) == 0.0


def test_colours_and_means():
    assert [colour(s) for s in (0.0, 0.39, 0.4, 0.69, 0.7, 1.0)] == [
        Colour.RED,
        Colour.RED,
        Colour.YELLOW,
        Colour.YELLOW,
        Colour.GREEN,
        Colour.GREEN,
    ]
    assert mean([0.5, 1.0, 0.0]) == pytest.approx(0.5)
    assert mean([]) is None


# --- the cascade ------------------------------------------------------------------------------


def two_levels() -> Tree:
    kpis = [
        kpi("growth", target=40.0),
        kpi("win", target=25.0, parent="growth", weight=0.6),
        kpi("cost", direction="lower", target=10.0, parent="growth", weight=0.4),
        kpi("nrr", target=15.0, compute="grr + expansion"),
        kpi("grr", target=10.0, parent="nrr"),
        kpi("expansion", target=5.0, parent="nrr"),
    ]
    return Tree(Catalog(kpis={k.id: k for k in kpis}))


def test_the_implied_target_of_a_weighted_parent_by_hand():
    tree = two_levels()
    targets = {"growth": 45.0, "win": 30.0, "cost": 8.0, "nrr": 17.0, "grr": 12.0, "expansion": 5.0}
    links = {link.parent_id: link for link in cascade(tree, targets)}
    # win: (30 − 25) / 25 = +0.2; cost (lower): (10 − 8) / 10 = +0.2;
    # growth: 0.6 × 0.2 + 0.4 × 0.2 = +0.2 of its default target 40 → implied 48.
    # Its own 45 is (45 − 40) / 40 = 0.125: gap 0.125 − 0.2 = −0.075, inconsistent.
    growth = links["growth"]
    assert growth.implied_target == pytest.approx(48.0)
    assert growth.gap_p == pytest.approx(-0.075)
    assert not growth.consistent
    # nrr = grr + expansion: 12 + 5 = 17, its own target: consistent.
    nrr = links["nrr"]
    assert nrr.implied_target == pytest.approx(17.0)
    assert nrr.gap_p == pytest.approx(0.0) and nrr.consistent


def test_default_targets_that_agree_are_consistent():
    tree = two_levels()
    defaults = {k: v.target for k, v in tree.catalog.kpis.items()}
    links = cascade(tree, defaults)
    assert {link.parent_id for link in links} == {"growth", "nrr"}
    assert all(link.consistent for link in links)
    # Raising growth alone to 48 is what its children would have to deliver: consistent at
    # 48 only once the children's targets imply it.
    raised = cascade(tree, {**defaults, "growth": 48.0, "win": 30.0, "cost": 8.0})
    assert next(link for link in raised if link.parent_id == "growth").consistent


def test_the_implied_target_of_weights_and_a_sensitivity_on_one_parent_by_hand():
    kpis = [
        kpi("growth", target=40.0),
        kpi("win", target=25.0, parent="growth", weight=0.6),
        kpi("cost", direction="lower", target=10.0, parent="growth", weight=0.4),
        kpi("leads", unit="count", target=200.0, parent="growth", weight=0.0, sensitivity=0.05),
    ]
    tree = Tree(Catalog(kpis={k.id: k for k in kpis}))
    targets = {"growth": 45.0, "win": 30.0, "cost": 8.0, "leads": 240.0}
    (link,) = cascade(tree, targets)
    # Weighted: win (30 − 25) / 25 = +0.2, cost (10 − 8) / 10 = +0.2: 0.6 × 0.2 + 0.4 × 0.2
    # = +0.2 of growth's performance, 0.2 × 40 = +8 points. Sensitivity: 0.05 × (240 − 200)
    # = +2 points. Implied: 40 + 8 + 2 = 50. Gap: (45 − 40) / 40 − (50 − 40) / 40 = −0.125.
    assert link.parent_id == "growth" and link.parent_target == 45.0
    assert link.implied_target == pytest.approx(50.0)
    assert link.gap_p == pytest.approx(-0.125)
    assert not link.consistent
    # Asking exactly what the children imply is consistent.
    (agreed,) = cascade(tree, {**targets, "growth": 50.0})
    assert agreed.consistent and agreed.gap_p == pytest.approx(0.0)


def test_a_forecast_says_why_it_gives_no_distribution_at_the_quarters_end():
    monthly = kpi("growth")  # monthly periods on the first of the month
    made = Forecast(
        kpi_id="growth",
        model="ets",
        reliable=True,
        horizon=2,
        season=None,
        based_on="2026-12-01",
        points=(
            ForecastPoint("2027-01-01", 30.0, 28.0, 32.0, 27.0, 33.0),
            ForecastPoint("2027-02-01", 31.0, 28.0, 34.0, 27.0, 35.0),
        ),
        backtest=None,
        note="ets",
    )
    # 2027Q1's last period is March: February's point stops short of it.
    outlook, why = outlook_of(monthly, made, Quarter(2027, 1), "2026-12-01")
    assert outlook is None and "ends 2027-02-01, before 2027Q1 ends (2027-03-31)" in why
    # 2026Q4's last period (December) is already observed: nothing is left to forecast.
    outlook, why = outlook_of(monthly, made, Quarter(2026, 4), "2026-12-01")
    assert outlook is None and why.startswith("its data already reach the last period of 2026Q4")
    # A forecast made before the latest data is out of date.
    outlook, why = outlook_of(monthly, made, Quarter(2027, 1), "2027-01-01")
    assert outlook is None and "forecast it again" in why
