"""Deviation rules (SPEC.md §4) with hand-computed expectations."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest

from intelligentos.domain.catalog.models import (
    DetectionOverrides,
    Direction,
    Frequency,
    Kpi,
    Level,
    Unit,
)
from intelligentos.domain.detection import (
    D2,
    Rule,
    Severity,
    Status,
    age_days,
    anomaly,
    cleared,
    drift,
    evaluate_kpi,
    moving_range_sigma,
    robust_z,
    stale,
    stale_sources,
    target_band,
    target_cleared,
    target_status,
)
from intelligentos.domain.snapshots import snapshot

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 9, 30)


def make_kpi(direction="higher", target=100.0, frequency="daily", **detection) -> Kpi:
    return Kpi(
        id="k",
        name="Test KPI",
        level=Level.FUNCTIONAL,
        unit=Unit.PERCENT,
        direction=Direction(direction),
        target=target,
        warning=0.05,
        critical=0.10,
        frequency=Frequency(frequency),
        formula="x",
        engine="growth",
        detection=DetectionOverrides(**detection),
    )


def series(values, end: date = TODAY) -> list[tuple[str, float | None]]:
    """Daily points ending on ``end``, oldest first."""
    start = end - timedelta(days=len(values) - 1)
    return [((start + timedelta(days=i)).isoformat(), v) for i, v in enumerate(values)]


def one(value, period="2026-11-27"):
    return [(period, value)]


# --- target band -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (95.0, None),  # (100 − 95)/100 = 0.05, equal to warning: not a warning
        (94.9, Severity.WARNING),  # 0.051 > 0.05
        (90.0, Severity.WARNING),  # 0.10, equal to critical: still a warning
        (89.0, Severity.CRITICAL),  # 0.11 > 0.10
        (120.0, None),  # above target is better
    ],
)
def test_target_band_higher_is_better_boundaries(value, expected):
    finding = target_band(make_kpi("higher", 100.0), one(value))
    assert (finding.severity if finding else None) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (21.0, None),  # (21 − 20)/20 = 0.05
        (21.5, Severity.WARNING),  # 0.075
        (23.0, Severity.CRITICAL),  # 0.15
        (15.0, None),  # below target is better
    ],
)
def test_target_band_lower_is_better(value, expected):
    finding = target_band(make_kpi("lower", 20.0), one(value))
    assert (finding.severity if finding else None) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (52.0, None),  # |52 − 50|/50 = 0.04
        (47.0, Severity.WARNING),  # 0.06
        (53.0, Severity.WARNING),  # 0.06 on the other side
        (44.0, Severity.CRITICAL),  # 0.12
        (56.0, Severity.CRITICAL),  # 0.12
    ],
)
def test_target_band_band_direction_counts_both_sides(value, expected):
    finding = target_band(make_kpi("band", 50.0), one(value))
    assert (finding.severity if finding else None) == expected


def test_target_band_finding_fields():
    finding = target_band(make_kpi("higher", 100.0), one(92.0))
    assert finding.rule is Rule.TARGET
    assert finding.value == 92.0
    assert finding.expected == 100.0
    assert finding.deviation == pytest.approx(0.08)  # (100 − 92)/100
    assert finding.period == "2026-11-27"


def test_target_band_zero_target_uses_absolute_scale_of_one():
    kpi = make_kpi("lower", 0.0)
    assert target_band(kpi, one(0.04)) is None  # (0.04 − 0)/1 = 0.04 ≤ 0.05
    finding = target_band(kpi, one(0.2))  # 0.2 > 0.10
    assert finding.severity is Severity.CRITICAL
    assert finding.deviation == pytest.approx(0.2)


def test_target_band_uses_latest_present_value():
    points = [("2026-11-25", 80.0), ("2026-11-26", None), ("2026-11-27", math.nan)]
    finding = target_band(make_kpi("higher", 100.0), points)
    assert finding.value == 80.0  # (100 − 80)/100 = 0.20 → critical
    assert finding.severity is Severity.CRITICAL
    assert finding.period == "2026-11-25"


def test_target_band_without_values_is_none():
    kpi = make_kpi()
    assert target_band(kpi, []) is None
    assert target_band(kpi, [("2026-11-27", None), ("2026-11-26", math.nan)]) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, Status.NO_DATA),
        (math.nan, Status.NO_DATA),
        (95.0, Status.OK),
        (94.0, Status.WARNING),
        (89.0, Status.CRITICAL),
    ],
)
def test_target_status(value, expected):
    assert target_status(make_kpi("higher", 100.0), value) is expected


def test_target_cleared_only_within_half_the_warning_threshold():
    kpi = make_kpi("higher", 100.0)  # half the warning: 0.05/2 = 0.025
    assert target_cleared(kpi, one(97.5))  # (100 − 97.5)/100 = 0.025 ≤ 0.025
    assert not target_cleared(kpi, one(97.0))  # 0.03: no warning, but not cleared either
    assert target_cleared(kpi, one(105.0))  # better than target
    assert not target_cleared(kpi, [])


def test_cleared_applies_hysteresis_to_target_only():
    kpi = make_kpi("higher", 100.0)
    hovering = one(97.0)  # shortfall 0.03: between half-warning and warning
    assert not cleared(kpi, Rule.TARGET, hovering, holds=False)
    assert cleared(kpi, Rule.TARGET, one(99.0), holds=False)
    assert cleared(kpi, Rule.ANOMALY, hovering, holds=False)
    assert cleared(kpi, Rule.DRIFT, hovering, holds=False)
    assert cleared(kpi, Rule.STALE, hovering, holds=False)
    assert not cleared(kpi, Rule.DRIFT, hovering, holds=True)
    assert not cleared(kpi, Rule.TARGET, one(99.0), holds=True)


# --- anomaly -----------------------------------------------------------------------------

BASELINE = [10.0, 11.0, 12.0, 13.0, 14.0]  # median 12; |x − 12| = 2,1,0,1,2 → MAD 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12.0, 0.0),
        (16.0, 2.698),  # 0.6745 · (16 − 12)/1
        (18.0, 4.047),  # 0.6745 · 6
        (8.0, -2.698),  # 0.6745 · (−4)
    ],
)
def test_robust_z_with_mad(value, expected):
    assert robust_z(value, BASELINE) == pytest.approx(expected)


def test_robust_z_even_baseline():
    # [10..21]: median (15 + 16)/2 = 15.5; |x − 15.5| sorted .5,.5,1.5,1.5,2.5,2.5,3.5,... → MAD 3
    baseline = [float(v) for v in range(10, 22)]
    assert robust_z(35.0, baseline) == pytest.approx(0.6745 * 19.5 / 3)  # 4.384


def test_robust_z_falls_back_to_mean_absolute_deviation_when_mad_is_zero():
    baseline = [5.0, 5.0, 5.0, 5.0, 9.0]  # median 5; |x − 5| = 0,0,0,0,4 → MAD 0, mean AD 0.8
    assert robust_z(7.0, baseline) == pytest.approx(2 / (1.2533 * 0.8))  # 1.995
    assert robust_z(10.0, baseline) == pytest.approx(5 / (1.2533 * 0.8))  # 4.987


def test_robust_z_constant_baseline():
    baseline = [7.0, 7.0, 7.0, 7.0]
    assert robust_z(7.0, baseline) == 0.0
    assert robust_z(8.0, baseline) == math.inf
    assert robust_z(6.0, baseline) == -math.inf


def test_anomaly_constant_baseline_flags_any_change():
    finding = anomaly(make_kpi("higher", 7.0), series([7.0, 7.0, 7.0, 7.0, 6.0]))
    assert finding.severity is Severity.WARNING  # a fall is adverse
    assert finding.deviation is None  # ±inf is not stored
    assert "∞" in finding.message
    assert anomaly(make_kpi("higher", 7.0), series([7.0, 7.0, 7.0, 7.0, 7.0])) is None


def test_anomaly_needs_four_points():
    kpi = make_kpi()
    assert anomaly(kpi, series([10.0, 11.0, 300.0])) is None
    assert anomaly(kpi, series([10.0, None, 11.0, 300.0])) is None  # only 3 present


def test_anomaly_adverse_side_warns_favourable_side_informs():
    kpi = make_kpi("higher", 12.0)
    low = anomaly(kpi, series([*BASELINE, 6.0]))  # 0.6745 · (6 − 12) = −4.047
    assert low.severity is Severity.WARNING
    assert low.expected == 12.0
    assert low.deviation == pytest.approx(-4.047)
    high = anomaly(kpi, series([*BASELINE, 18.0]))  # +4.047, a rise is good
    assert high.severity is Severity.INFO
    assert anomaly(kpi, series([*BASELINE, 14.0])) is None  # 1.349 ≤ 3.5


def test_anomaly_lower_is_better_spike_up_is_adverse():
    kpi = make_kpi("lower", 12.0)
    assert anomaly(kpi, series([*BASELINE, 18.0])).severity is Severity.WARNING
    assert anomaly(kpi, series([*BASELINE, 6.0])).severity is Severity.INFO


def test_anomaly_threshold_override():
    points = series([*BASELINE, 16.0])  # z = 2.698
    assert anomaly(make_kpi("lower", 12.0), points) is None  # default 3.5
    finding = anomaly(make_kpi("lower", 12.0, anomaly_threshold=2.5), points)
    assert finding.severity is Severity.WARNING


def test_anomaly_window_override():
    points = series([50.0, 60.0, 70.0, 10.0, 11.0, 12.0, 17.0])
    # Default window: baseline [50,60,70,10,11,12], median 31, MAD 20.5
    # → 0.6745 · (17 − 31)/20.5 = −0.46
    assert anomaly(make_kpi("lower", 12.0), points) is None
    # Window 3: baseline [10,11,12], median 11, MAD 1 → 0.6745 · 6 = 4.047
    finding = anomaly(make_kpi("lower", 12.0, anomaly_window=3), points)
    assert finding.severity is Severity.WARNING
    assert finding.expected == 11.0
    assert finding.deviation == pytest.approx(4.047)
    assert "last 3 periods" in finding.message


# --- drift -------------------------------------------------------------------------------

# Alternating 9/11: centre 10, every moving range 2 → σ = 2/1.128 = 1.773
# 1σ ≈ 1.77, 2σ ≈ 3.55, 3σ ≈ 5.32 from the centre.
STEADY = [9.0, 11.0] * 6
SIGMA = 2 / 1.128


def test_moving_range_sigma():
    # ranges |12−10|, |11−12|, |13−11| = 2, 1, 2 → mean 5/3 → σ = (5/3)/1.128 = 1.478
    assert moving_range_sigma([10.0, 12.0, 11.0, 13.0]) == pytest.approx((5 / 3) / 1.128)
    assert moving_range_sigma(STEADY) == pytest.approx(SIGMA)
    assert moving_range_sigma([5.0]) == 0.0
    assert D2 == 1.128


def test_drift_one_point_beyond_three_sigma_is_critical():
    finding = drift(make_kpi("higher", 10.0), series([*STEADY, *[10.0] * 7, 4.0]))
    assert finding.severity is Severity.CRITICAL  # (10 − 4)/1.773 = 3.38σ below
    assert finding.expected == pytest.approx(10.0)
    assert finding.deviation == pytest.approx(6 / SIGMA)
    assert finding.value == 4.0
    assert "3σ" in finding.message


def test_drift_two_of_three_beyond_two_sigma_warns():
    # 6 is (10 − 6)/1.773 = 2.26σ below; pattern 6, 10, 6
    finding = drift(make_kpi("higher", 10.0), series([*STEADY, *[10.0] * 5, 6.0, 10.0, 6.0]))
    assert finding.severity is Severity.WARNING
    assert "two of three" in finding.message


def test_drift_four_of_five_beyond_one_sigma_warns():
    # 8 is 2/1.773 = 1.128σ below; last five 8, 8, 10, 8, 8
    recent = [10.0, 10.0, 10.0, 8.0, 8.0, 10.0, 8.0, 8.0]
    finding = drift(make_kpi("higher", 10.0), series([*STEADY, *recent]))
    assert finding.severity is Severity.WARNING
    assert "four of five" in finding.message


def test_drift_eight_in_a_row_on_adverse_side_warns():
    # 9.5 is only 0.28σ below, but eight times in a row
    finding = drift(make_kpi("higher", 10.0), series([*STEADY, *[9.5] * 8]))
    assert finding.severity is Severity.WARNING
    assert "eight" in finding.message
    # Seven of eight is not enough.
    assert drift(make_kpi("higher", 10.0), series([*STEADY, 10.0, *[9.5] * 7])) is None


def test_drift_favourable_side_does_not_fire():
    kpi = make_kpi("higher", 10.0)
    assert drift(kpi, series([*STEADY, *[10.5] * 8])) is None
    assert drift(kpi, series([*STEADY, *[10.0] * 7, 16.0])) is None  # 3.38σ above: good news
    assert drift(kpi, series([*STEADY, *[12.0] * 8])) is None  # 1.128σ above, eight times


def test_drift_lower_is_better_rise_is_adverse():
    kpi = make_kpi("lower", 10.0)
    assert drift(kpi, series([*STEADY, *[10.5] * 8])).severity is Severity.WARNING
    assert drift(kpi, series([*STEADY, *[10.0] * 7, 16.0])).severity is Severity.CRITICAL
    assert drift(kpi, series([*STEADY, *[9.5] * 8])) is None


def test_drift_band_counts_both_sides_but_not_eight_in_a_row():
    kpi = make_kpi("band", 10.0)
    assert drift(kpi, series([*STEADY, *[10.0] * 7, 16.0])).severity is Severity.CRITICAL
    assert drift(kpi, series([*STEADY, *[10.0] * 7, 4.0])).severity is Severity.CRITICAL
    # 6 and 14 are both 2.26σ from the centre
    # Classic Western Electric: two of three beyond 2σ must be on the same side.
    same_side = drift(kpi, series([*STEADY, *[10.0] * 5, 6.0, 10.0, 6.0]))
    assert same_side.severity is Severity.WARNING
    assert drift(kpi, series([*STEADY, *[10.0] * 5, 6.0, 10.0, 14.0])) is None
    assert drift(kpi, series([*STEADY, *[10.5] * 8])) is None
    assert drift(kpi, series([*STEADY, *[9.5] * 8])) is None


def test_drift_zero_sigma_baseline_is_none():
    assert drift(make_kpi("higher", 10.0), series([*[10.0] * 12, *[4.0] * 8])) is None


def test_drift_needs_eight_recent_plus_four_baseline_points():
    kpi = make_kpi("higher", 10.0)
    assert drift(kpi, series([9.0, 11.0, 9.0, *[10.0] * 7, 4.0])) is None  # 11 points
    assert drift(kpi, series([9.0, 11.0, 9.0, 11.0, *[10.0] * 7, 4.0])) is not None  # 12


def test_drift_baseline_override():
    noisy = [20.0, 0.0] * 4
    points = series([*noisy, 9.0, 11.0, 9.0, 11.0, *[10.0] * 7, 4.0])
    # Default baseline (all 12): centre (80 + 40)/12 = 10, moving ranges 7·20 + 9 + 3·2 = 155
    # → σ = (155/11)/1.128 = 12.49; 4 is only 0.48σ away.
    assert drift(make_kpi("higher", 10.0), points) is None
    # Baseline 4: [9, 11, 9, 11] → centre 10, σ 1.773; 4 is 3.38σ below.
    finding = drift(make_kpi("higher", 10.0, drift_baseline=4), points)
    assert finding.severity is Severity.CRITICAL


# --- stale -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "today", "at_limit", "over_limit", "over_age"),
    [
        # Limit 2 · 1 = 2 days.
        ("daily", TODAY, "2026-11-25", "2026-11-24", 3),
        # Limit 2 · 7 = 14 days after the Sunday that ends the week: the week of Monday
        # 11-09 ended 11-15 (14 d before 11-29); Sunday 11-08 ended its own week (21 d).
        ("weekly", date(2026, 11, 29), "2026-11-09", "2026-11-08", 21),
        # Limit 2 · 30 = 60 days after the month's last day: September ended 09-30 (60 d
        # before 11-29); August ended 08-31 (90 d).
        ("monthly", date(2026, 11, 29), "2026-09-01", "2026-08-31", 90),
    ],
)
def test_stale_limits_by_frequency(frequency, today, at_limit, over_limit, over_age):
    kpi = make_kpi(frequency=frequency)
    assert stale(kpi, [(at_limit, 1.0)], today) is None
    finding = stale(kpi, [(over_limit, 1.0)], today)
    assert finding.rule is Rule.STALE
    assert finding.severity is Severity.WARNING
    assert finding.deviation == over_age
    assert finding.period == over_limit
    assert finding.value == 1.0


@pytest.mark.parametrize(
    ("frequency", "period", "today", "age"),
    [
        # A monthly value dated the 1st, a week after its month ended: 7 days, not 37.
        ("monthly", "2026-10-01", date(2026, 11, 7), 7),
        ("monthly", "2026-10-15", date(2026, 11, 7), 7),  # any day inside reads the same
        ("monthly", "2026-12-01", date(2026, 12, 31), 0),  # the last day of its month
        ("monthly", "2026-11-01", date(2026, 11, 20), 0),  # the month is still running
        ("monthly", "2026-02-01", date(2026, 3, 1), 1),  # February 2026 has 28 days
        ("monthly", "2028-02-01", date(2028, 3, 1), 1),  # 2028 is a leap year: 02-29
        ("weekly", "2026-11-16", date(2026, 11, 25), 3),  # Mon 11-16 to Sun 11-22
        ("daily", "2026-11-20", date(2026, 11, 25), 5),
        ("monthly", "2026-11-29", date(2026, 11, 27), -2),  # dated after today
    ],
)
def test_age_counts_from_the_end_of_the_period_a_value_covers(frequency, period, today, age):
    assert age_days([(period, 1.0)], today, Frequency(frequency)) == age


def test_a_monthly_value_a_week_after_its_month_reads_a_week_old():
    kpi = make_kpi(frequency="monthly")
    snap = snapshot(kpi, [("2026-09-01", 1.0), ("2026-10-01", 1.0)], date(2026, 11, 7))
    assert snap.age_days == 7 and snap.freshness_text == "updated 7 d ago"
    assert snap.status is not Status.STALE


def test_stale_periods_override():
    kpi = make_kpi(frequency="daily", stale_periods=3.5)  # limit 3.5 days
    assert stale(kpi, [("2026-11-24", 1.0)], TODAY) is None  # 3 days
    finding = stale(kpi, [("2026-11-23", 1.0)], TODAY)  # 4 days
    assert finding.deviation == 4.0
    assert "limit 3.5 d" in finding.message


def test_stale_without_data_is_none():
    assert stale(make_kpi(), [], TODAY) is None
    assert stale(make_kpi(), [("2026-01-01", None)], TODAY) is None


def test_stale_ignores_missing_latest_values():
    # The 26th has no value, so the last observation is 7 days old.
    finding = stale(make_kpi(), [("2026-11-20", 5.0), ("2026-11-26", None)], TODAY)
    assert finding.deviation == 7.0


def test_stale_accepts_datetime_and_date_now():
    points = [("2026-11-24", 1.0)]
    assert stale(make_kpi(), points, NOW) == stale(make_kpi(), points, TODAY)
    assert stale(make_kpi(), [("2026-11-25", 1.0)], NOW) is None


def test_stale_with_datetime_periods():
    kpi = make_kpi()
    assert stale(kpi, [("2026-11-25T10:00:00", 1.0)], NOW) is None  # 2 days by date
    finding = stale(kpi, [("2026-11-20T10:00:00", 1.0)], NOW)
    assert finding.deviation == 7.0
    assert finding.period == "2026-11-20T10:00:00"


# --- evaluate_kpi ------------------------------------------------------------------------


def test_evaluate_kpi_stale_returns_only_stale():
    # 80 against 100 would be a critical target breach, but it is 7 days old.
    findings = evaluate_kpi(make_kpi("higher", 100.0), [("2026-11-20", 80.0)], NOW)
    assert list(findings) == [Rule.STALE]


def test_evaluate_kpi_fresh_breach_and_disabled_rules():
    points = one(80.0)
    assert list(evaluate_kpi(make_kpi("higher", 100.0), points, NOW)) == [Rule.TARGET]
    disabled = make_kpi("higher", 100.0, disabled_rules=("target",))
    assert evaluate_kpi(disabled, points, NOW) == {}


def test_evaluate_kpi_disabled_stale_judges_values():
    kpi = make_kpi("higher", 100.0, disabled_rules=("stale",))
    findings = evaluate_kpi(kpi, [("2026-11-20", 80.0)], NOW)
    assert list(findings) == [Rule.TARGET]
    assert findings[Rule.TARGET].severity is Severity.CRITICAL


def test_evaluate_kpi_drops_informational_findings():
    kpi = make_kpi("higher", 10.0)
    points = series([*BASELINE, 18.0])  # favourable anomaly (INFO), above target
    assert anomaly(kpi, points).severity is Severity.INFO
    assert evaluate_kpi(kpi, points, NOW) == {}


# --- stale sources -----------------------------------------------------------------------


def test_stale_sources():
    systems = {"crm": ["a", "b"], "erp": ["c", "d"], "hr": ["e"], "bi": ["f", "x"]}
    stale_kpis = {"a", "b", "c", "f"}
    with_data = {"a", "b", "c", "d", "f"}
    assert stale_sources(systems, stale_kpis, with_data) == {
        "crm": ["a", "b"],  # every fed KPI stale
        "bi": ["f"],  # x has no data and is ignored
        # erp: d is fresh; hr: no KPI with data
    }
