"""The scenario model by hand-computed examples: performance against target, weighted linear
propagation up the roll-up tree, band KPIs, clamping, levers and goal seek."""

from __future__ import annotations

import math

import pytest

from intelligentos.domain.catalog.models import Catalog, Direction, Frequency, Kpi, Level, Unit
from intelligentos.domain.detection import Status
from intelligentos.domain.whatif.model import (
    MODEL_NOTE,
    Change,
    Lever,
    ScenarioError,
    Tree,
    clamp,
    goal_seek,
    moved,
    parse_lever,
    parse_levers,
    performance,
    plausible_range,
    simulate,
)


def kpi(
    kpi_id: str,
    *,
    unit: str = "percent",
    direction: str = "higher",
    target: float = 50.0,
    parent: str | None = None,
    weight: float = 1.0,
) -> Kpi:
    return Kpi(
        id=kpi_id,
        name=kpi_id.replace("_", " ").title(),
        level=Level.CEO if parent is None else Level.FUNCTIONAL,
        unit=Unit(unit),
        direction=Direction(direction),
        target=target,
        frequency=Frequency.MONTHLY,
        formula="a / b",
        engine="growth",
        rolls_up_to=parent,
        weight=weight,
    )


def catalog(*kpis: Kpi) -> Catalog:
    return Catalog(kpis={k.id: k for k in kpis})


# growth (CEO, % higher, target 40)
# ├── win (% higher, target 25, weight 0.5)
# │   └── leads (count higher, target 200, weight 0.4)
# └── cost (% lower, target 20, weight 0.3)
# churn (CEO, % lower, target 10)
# └── health (score higher, target 80, weight 0.5)
TREE = catalog(
    kpi("growth", target=40),
    kpi("win", target=25, parent="growth", weight=0.5),
    kpi("leads", unit="count", target=200, parent="win", weight=0.4),
    kpi("cost", direction="lower", target=20, parent="growth", weight=0.3),
    kpi("churn", direction="lower", target=10),
    kpi("health", unit="score", target=80, parent="churn", weight=0.5),
)
NOW: dict[str, float | None] = {
    "growth": 30.0,
    "win": 20.0,
    "leads": 150.0,
    "cost": 24.0,
    "churn": 12.0,
    "health": 70.0,
}


def run(cat: Catalog, now: dict[str, float | None], *texts: str) -> dict[str, float]:
    outcome = simulate(cat, parse_levers(texts), now)
    return {p.kpi.id: p.projected for p in outcome.kpis}


# --- performance and moving a value -------------------------------------------------------


def test_performance_against_target():
    assert performance(kpi("a", target=40), 30) == pytest.approx(-0.25)
    assert performance(kpi("a", direction="lower", target=20), 24) == pytest.approx(-0.2)
    assert performance(kpi("a", direction="lower", target=20), 15) == pytest.approx(0.25)
    assert performance(kpi("a", direction="band", target=75), 70) == pytest.approx(-5 / 75)
    assert performance(kpi("a", direction="band", target=75), 80) == pytest.approx(-5 / 75)
    # A negative target: the scale is |T|.
    assert performance(kpi("a", unit="score", target=-20), -10) == pytest.approx(0.5)
    # A zero target uses a scale of 1.
    assert performance(kpi("a", unit="count", direction="lower", target=0), 4) == -4


def test_moved_follows_the_good_direction():
    assert moved(kpi("a", target=40), 30, 0.1) == pytest.approx(34)
    assert moved(kpi("a", direction="lower", target=10), 12, 0.05) == pytest.approx(11.5)
    assert moved(kpi("a", unit="score", target=0), -10, 0.1) == pytest.approx(-9.9)


# --- propagation --------------------------------------------------------------------------


def test_two_levels():
    # leads 150 → 250: Δp = 100/200 = 0.5; win Δp = 0.4 × 0.5 = 0.2 → 20 + 0.2 × 25 = 25;
    # growth Δp = 0.5 × 0.2 = 0.1 → 30 + 0.1 × 40 = 34.
    outcome = simulate(TREE, [parse_lever("leads=250")], NOW)
    assert [p.kpi.id for p in outcome.kpis] == ["leads", "win", "growth"]
    assert [p.is_lever for p in outcome.kpis] == [True, False, False]
    projected = {p.kpi.id: p.projected for p in outcome.kpis}
    assert projected == pytest.approx({"leads": 250, "win": 25, "growth": 34})
    assert not any(p.clamped for p in outcome.kpis)
    assert [p.kpi.id for p in outcome.ceo] == ["growth"]
    assert outcome.note == MODEL_NOTE == "catalog weights, linear"
    win = outcome.of("win")
    assert win is not None and win.current == 20 and win.change == pytest.approx(5)
    assert outcome.of("churn") is None


def test_several_levers_add_up():
    # cost 24 → 19 (lower is better): Δp = (20 − 19)/20 − (20 − 24)/20 = 0.25.
    # growth Δp = 0.5 × 0.2 (from leads through win) + 0.3 × 0.25 = 0.175 → 30 + 7 = 37.
    projected = run(TREE, NOW, "leads=250", "cost-=5")
    assert projected == pytest.approx({"leads": 250, "cost": 19, "win": 25, "growth": 37})
    # Levers in their order first, then the rest from the nearest to the CEO KPI.
    outcome = simulate(TREE, parse_levers(["cost-=5", "leads=250"]), NOW)
    assert [p.kpi.id for p in outcome.kpis] == ["cost", "leads", "win", "growth"]


def test_levers_under_different_ceo_kpis():
    projected = run(TREE, NOW, "win+=1", "health+=8")
    # win: Δp = 1/25 = 0.04 → growth + 0.5 × 0.04 × 40 = 30.8;
    # health: Δp = 8/80 = 0.1 → churn Δp 0.05 → 12 − 0.05 × 10 = 11.5 (lower is better).
    assert projected == pytest.approx({"win": 21, "health": 78, "growth": 30.8, "churn": 11.5})


def test_lower_is_better_parent_moves_down_when_it_improves():
    assert run(TREE, NOW, "health+=8")["churn"] == pytest.approx(11.5)
    assert run(TREE, NOW, "health-=8")["churn"] == pytest.approx(12.5)


def test_worse_lever_moves_parents_the_wrong_way():
    # cost 24 → 28: Δp = −0.2; growth Δp = 0.3 × −0.2 = −0.06 → 30 − 2.4 = 27.6.
    assert run(TREE, NOW, "cost+=4")["growth"] == pytest.approx(27.6)


def test_relative_levers():
    assert run(TREE, NOW, "win+=10%")["win"] == pytest.approx(22)
    # win 20 → 18: Δp = −2/25 = −0.08 → growth 30 + 0.5 × −0.08 × 40 = 28.4.
    assert run(TREE, NOW, "win-=10%") == pytest.approx({"win": 18, "growth": 28.4})
    assert run(TREE, NOW, "leads+=50%")["leads"] == pytest.approx(225)


def test_a_lever_that_changes_nothing_still_lists_the_kpis_above_it():
    outcome = simulate(TREE, [parse_lever("leads+=0")], NOW)
    assert [(p.kpi.id, p.projected) for p in outcome.kpis] == [
        ("leads", 150),
        ("win", 20),
        ("growth", 30),
    ]


def test_a_levers_own_value_is_what_the_lever_says():
    # leads=250 would move win to 25, but win is itself a lever set to 21: it stays at 21 and
    # growth moves by win's lever only: 30 + 0.5 × (1/25) × 40 = 30.8.
    outcome = simulate(TREE, parse_levers(["leads=250", "win=21"]), NOW)
    assert [(p.kpi.id, p.is_lever) for p in outcome.kpis] == [
        ("leads", True),
        ("win", True),
        ("growth", False),
    ]
    projected = {p.kpi.id: p.projected for p in outcome.kpis}
    assert projected == pytest.approx({"leads": 250, "win": 21, "growth": 30.8})
    # A lever on the CEO KPI itself ignores every lever below it.
    assert run(TREE, NOW, "leads=250", "growth=33") == pytest.approx(
        {"leads": 250, "win": 25, "growth": 33}
    )


def test_status_before_and_after():
    outcome = simulate(TREE, [parse_lever("leads=400")], NOW)
    growth = outcome.of("growth")
    assert growth is not None
    assert growth.projected == pytest.approx(40)
    assert growth.status is Status.CRITICAL  # 25 % short of target
    assert growth.projected_status is Status.OK


def test_a_tree_built_once_gives_the_same_outcome():
    tree = Tree(TREE)
    for _ in range(2):
        assert simulate(tree, [parse_lever("leads=250")], NOW) == simulate(
            TREE, [parse_lever("leads=250")], NOW
        )


# --- band KPIs ----------------------------------------------------------------------------

# margin (CEO, % higher, target 50)
# └── util (% band, target 75, weight 0.4)
#     └── hires (count higher, target 10, weight 0.5)
BAND = catalog(
    kpi("margin", target=50),
    kpi("util", direction="band", target=75, parent="margin", weight=0.4),
    kpi("hires", unit="count", target=10, parent="util", weight=0.5),
)


def band_run(util: float, lever: str) -> dict[str, float]:
    return run(BAND, {"margin": 45.0, "util": util, "hires": 8.0}, lever)


def test_band_parent_moves_toward_its_target_from_below_and_above():
    # hires +1: Δp = 0.1 → util Δp = 0.05 → 0.05 × 75 = 3.75 toward 75.
    assert band_run(70, "hires+=1")["util"] == pytest.approx(73.75)
    assert band_run(80, "hires+=1")["util"] == pytest.approx(76.25)


def test_band_parent_never_moves_past_its_target():
    # hires +4: util Δp = 0.2 = 15 points, but util is 5 points off: it stops on 75, and
    # passes up only what it moved: 5/75 → margin 45 + 0.4 × (5/75) × 50 = 46.333…
    projected = band_run(70, "hires+=4")
    assert projected["util"] == pytest.approx(75)
    assert projected["margin"] == pytest.approx(45 + 0.4 * (5 / 75) * 50)
    # On target already: it stays there and margin does not move.
    on_target = band_run(75, "hires+=4")
    assert on_target == pytest.approx({"hires": 12, "util": 75, "margin": 45})


def test_band_parent_moves_away_on_its_side_when_worse():
    assert band_run(70, "hires-=1")["util"] == pytest.approx(66.25)
    assert band_run(80, "hires-=1")["util"] == pytest.approx(83.75)
    # Exactly on target: away above it.
    assert band_run(75, "hires-=1")["util"] == pytest.approx(78.75)


def test_band_lever():
    # util 70 → 74: Δp = −1/75 − (−5/75) = 4/75 → margin + 0.4 × 4/75 × 50.
    projected = band_run(70, "util=74")
    assert projected["margin"] == pytest.approx(45 + 0.4 * 4 / 75 * 50)
    # Past the target on the other side: 70 → 78 is 3 off instead of 5.
    assert band_run(70, "util=78")["margin"] == pytest.approx(45 + 0.4 * 2 / 75 * 50)


# --- zero targets and clamping ------------------------------------------------------------

# uptime (CEO, % higher, target 99)
# └── incidents (count lower, target 0, weight 0.5)
# backlog (CEO, count lower, target 100)
# └── staff (count higher, target 10, weight 1)
# balance (CEO, score higher, target 0)
# └── sales (count higher, target 100, weight 0.5)
EDGES = catalog(
    kpi("uptime", target=99),
    kpi("incidents", unit="count", direction="lower", target=0, parent="uptime", weight=0.5),
    kpi("backlog", unit="count", direction="lower", target=100),
    kpi("staff", unit="count", target=10, parent="backlog"),
    kpi("balance", unit="score", target=0),
    kpi("sales", unit="count", target=100, parent="balance", weight=0.5),
)
EDGES_NOW: dict[str, float | None] = {
    "uptime": 98.0,
    "incidents": 4.0,
    "backlog": 30.0,
    "staff": 8.0,
    "balance": -10.0,
    "sales": 90.0,
}


def test_zero_target_uses_a_scale_of_one():
    # balance: target 0, scale 1. sales +20: Δp = 0.2 → balance Δp 0.1 → −10 + 0.1.
    assert run(EDGES, EDGES_NOW, "sales+=20")["balance"] == pytest.approx(-9.9)
    # incidents: target 0, scale 1. 4 → 3.98: Δp = 0.02 → uptime Δp 0.01 → 98 + 0.99.
    assert run(EDGES, EDGES_NOW, "incidents-=0.02")["uptime"] == pytest.approx(98.99)


def test_percent_above_100_is_clamped_and_flagged():
    # incidents 4 → 2: Δp = 2 (scale 1) → uptime Δp 1 → 98 + 99 = 197 → 100.
    outcome = simulate(EDGES, [parse_lever("incidents-=2")], EDGES_NOW)
    uptime = outcome.of("uptime")
    incidents = outcome.of("incidents")
    assert uptime is not None and incidents is not None
    assert (uptime.projected, uptime.clamped) == (100, True)
    assert (incidents.projected, incidents.clamped) == (2, False)


def test_negative_count_is_clamped_and_flagged():
    # staff 8 → 18: Δp = 1 → backlog 30 − 100 = −70 → 0.
    outcome = simulate(EDGES, [parse_lever("staff+=10")], EDGES_NOW)
    backlog = outcome.of("backlog")
    assert backlog is not None and (backlog.projected, backlog.clamped) == (0, True)


def test_a_clamped_lever_passes_up_what_it_shows():
    # staff = −5 is clamped to 0: Δp = (0 − 8)/10 = −0.8 → backlog 30 + 80 = 110.
    outcome = simulate(EDGES, [parse_lever("staff=-5")], EDGES_NOW)
    staff, backlog = outcome.kpis
    assert (staff.kpi.id, staff.projected, staff.clamped) == ("staff", 0, True)
    assert (backlog.projected, backlog.clamped) == (pytest.approx(110), False)
    # A clamped parent passes up its clamped value too.
    cat = catalog(
        kpi("top", target=50),
        kpi("mid", target=90, parent="top", weight=0.5),
        kpi("low", unit="count", target=10, parent="mid"),
    )
    # low +5: Δp 0.5 → mid 95 + 45 = 140 → 100 (Δp actually shown: 5/90) → top + 0.5 × 5/90 × 50.
    projected = run(cat, {"top": 40.0, "mid": 95.0, "low": 10.0}, "low+=5")
    assert projected == pytest.approx({"low": 15, "mid": 100, "top": 40 + 0.5 * 5 / 90 * 50})


def test_plausible_ranges():
    assert plausible_range(kpi("a")) == (0, 100)
    assert plausible_range(kpi("nrr", target=115)) == (0, math.inf)
    assert plausible_range(kpi("budget", direction="band", target=100)) == (0, math.inf)
    assert plausible_range(kpi("done", target=100)) == (0, 100)
    assert plausible_range(kpi("a", unit="score")) == (-100, 100)
    for unit in ("currency", "months", "days", "hours", "count", "ratio"):
        assert plausible_range(kpi("a", unit=unit)) == (0, math.inf)
    assert clamp(kpi("a", unit="score"), -130) == (-100, True)
    assert clamp(kpi("a", unit="score"), -30) == (-30, False)


def test_percent_with_a_target_above_100_has_no_upper_bound():
    cat = catalog(kpi("nrr", target=115), kpi("grr", target=90, parent="nrr", weight=0.5))
    outcome = simulate(cat, [parse_lever("grr=99")], {"nrr": 118.0, "grr": 90.0})
    nrr = outcome.of("nrr")
    assert nrr is not None
    # grr Δp = 9/90 = 0.1 → nrr + 0.05 × 115.
    assert (nrr.projected, nrr.clamped) == (pytest.approx(118 + 5.75), False)


# --- goal seek ----------------------------------------------------------------------------


def round_trip(cat: Catalog, now: dict[str, float | None], goal: str, lever: str) -> float:
    seek = goal_seek(cat, goal, lever, now)
    assert seek.reachable and seek.required is not None, seek.reason
    outcome = simulate(cat, [Lever(lever, Change.SET, seek.required)], now)
    projection = outcome.of(goal)
    assert projection is not None
    assert projection.projected == pytest.approx(cat.kpis[goal].target, abs=1e-9)
    return seek.required


def test_goal_seek_two_levels():
    # growth needs Δp = 10/40 = 0.25; the path weighs 0.4 × 0.5 = 0.2, so leads needs
    # Δp = 1.25 = 250 leads: 150 → 400.
    seek = goal_seek(TREE, "growth", "leads", NOW)
    assert seek.reachable and seek.required == pytest.approx(400)
    assert seek.current == 150 and seek.change == pytest.approx(250)
    assert seek.reason == "path weight 0.2"
    assert round_trip(TREE, NOW, "growth", "leads") == pytest.approx(400)


def test_goal_seek_round_trips():
    # win needs Δp 0.25/0.5 = 0.5: 20 + 0.5 × 25.
    assert round_trip(TREE, NOW, "growth", "win") == pytest.approx(32.5)
    # win itself as the goal: Δp 5/25 = 0.2, /0.4 = 0.5 → leads 150 + 100.
    assert round_trip(TREE, NOW, "win", "leads") == pytest.approx(250)
    # A lower-is-better lever: cost must fall by (0.25/0.3) × 20.
    assert round_trip(TREE, NOW, "growth", "cost") == pytest.approx(24 - 0.25 / 0.3 * 20)
    # A lower-is-better goal: churn 11 needs Δp 0.1 → health Δp 0.2 → 70 + 16.
    assert round_trip(TREE, {**NOW, "churn": 11.0}, "churn", "health") == pytest.approx(86)
    # A band goal, from either side.
    for util in (70.0, 80.0):
        round_trip(BAND, {"margin": 45.0, "util": util, "hires": 8.0}, "util", "hires")
    # A band lever that still has room to move toward its target.
    round_trip(BAND, {"margin": 49.0, "util": 70.0, "hires": 8.0}, "margin", "util")
    # A zero target on the way.
    round_trip(EDGES, {**EDGES_NOW, "uptime": 98.9}, "uptime", "incidents")


def test_goal_seek_on_a_goal_above_target_asks_the_lever_to_go_down():
    now = {**NOW, "growth": 45.0}
    seek = goal_seek(TREE, "growth", "leads", now)
    # Δp −0.125 / 0.2 = −0.625 → 150 − 125 = 25.
    assert seek.reachable and seek.required == pytest.approx(25)
    assert seek.change == pytest.approx(-125)
    round_trip(TREE, now, "growth", "leads")
    assert seek.met and seek.goal_current == 45.0


def test_goal_seek_on_a_goal_far_above_target_says_it_is_met():
    # Holding growth at 40 from 80 would need leads at 150 − 5 × 200 < 0: no lever value,
    # yet the goal is met, and that is the answer (not "out of reach").
    far = goal_seek(TREE, "growth", "leads", {**NOW, "growth": 80.0})
    assert far.met and far.reachable and far.required is None and far.change is None
    assert far.reason == "growth already meets its target"
    # A lever that does not roll up to the goal is still an error, met or not.
    sibling = goal_seek(TREE, "win", "cost", {**NOW, "win": 30.0})
    assert sibling.met and not sibling.reachable and "does not roll up" in sibling.reason
    # Below target the goal is not met.
    assert not goal_seek(TREE, "growth", "leads", NOW).met


def test_goal_seek_on_target_needs_no_change():
    seek = goal_seek(TREE, "growth", "leads", {**NOW, "growth": 40.0})
    assert seek.reachable and seek.required == pytest.approx(150) and seek.change == 0


def test_goal_seek_unreachable():
    # Not below the goal: a sibling, a KPI under another CEO KPI, the goal itself, a parent.
    for goal, lever in (("win", "cost"), ("churn", "win"), ("growth", "growth"), ("win", "growth")):
        seek = goal_seek(TREE, goal, lever, NOW)
        assert not seek.reachable and seek.required is None, (goal, lever)
    assert goal_seek(TREE, "churn", "win", NOW).reason == "win does not roll up to churn"
    # The lever out of its plausible range: health would need 70 + 0.4 × 80 = 102 > 100.
    seek = goal_seek(TREE, "churn", "health", NOW)
    assert not seek.reachable and "102" in seek.reason and "plausible range" in seek.reason
    # A zero weight on the way.
    zero = catalog(kpi("top", target=40), kpi("part", target=25, parent="top", weight=0))
    seek = goal_seek(zero, "top", "part", {"top": 30.0, "part": 20.0})
    assert not seek.reachable and "zero" in seek.reason


def test_goal_seek_unreachable_through_a_band_or_a_clamp_on_the_way():
    # margin needs Δp 0.1 → util Δp 0.25 = 18.75 points, but util is 5 points off 75.
    seek = goal_seek(BAND, "margin", "hires", {"margin": 45.0, "util": 70.0, "hires": 8.0})
    assert not seek.reachable and "band" in seek.reason and "util" in seek.reason
    # A band lever cannot do better than on target.
    seek = goal_seek(BAND, "margin", "util", {"margin": 45.0, "util": 70.0, "hires": 8.0})
    assert not seek.reachable and "band" in seek.reason
    # win would have to pass 100 % on the way from leads to growth.
    cat = catalog(
        kpi("top", target=40),
        kpi("mid", target=90, parent="top", weight=0.1),
        kpi("low", unit="count", target=10, parent="mid"),
    )
    seek = goal_seek(cat, "top", "low", {"top": 30.0, "mid": 80.0, "low": 10.0})
    assert not seek.reachable and "mid" in seek.reason and "plausible range" in seek.reason


# --- bad input ----------------------------------------------------------------------------


def test_parse_lever_forms():
    assert parse_lever("win=30") == Lever("win", Change.SET, 30)
    assert parse_lever("win-=3") == Lever("win", Change.SUBTRACT, 3)
    assert parse_lever("win+=3") == Lever("win", Change.ADD, 3)
    assert parse_lever(" win += 2.5 % ") == Lever("win", Change.ADD, 2.5, relative=True)
    assert parse_lever("win-=10%") == Lever("win", Change.SUBTRACT, 10, relative=True)
    assert parse_lever("net_burn=-5") == Lever("net_burn", Change.SET, -5)
    assert parse_lever("net_burn-=-5") == Lever("net_burn", Change.SUBTRACT, -5)
    assert parse_lever("a-b=1e3") == Lever("a-b", Change.SET, 1000)
    for lever in (Lever("win", Change.SUBTRACT, 0.1), Lever("x", Change.ADD, 12.5, True)):
        assert parse_lever(lever.text) == lever
    assert Lever("win", Change.SET, 30).text == "win=30"


@pytest.mark.parametrize(
    "text",
    ["win", "win 3", "=3", "win=", "win==3", "win=+=3", "win=3%", "win+=3%%", "win*=2", ""],
)
def test_malformed_levers(text: str):
    with pytest.raises(ScenarioError):
        parse_lever(text)


@pytest.mark.parametrize("text", ["win=abc", "win=3,5", "win+=x%"])
def test_non_numeric_levers(text: str):
    with pytest.raises(ScenarioError, match="not a number"):
        parse_lever(text)


@pytest.mark.parametrize("text", ["win=nan", "win=NaN", "win+=inf", "win-=-Infinity", "win+=nan%"])
def test_non_finite_levers(text: str):
    with pytest.raises(ScenarioError, match="finite"):
        parse_lever(text)


def test_same_kpi_twice():
    with pytest.raises(ScenarioError, match="more than one lever"):
        parse_levers(["win=30", "win+=1"])
    with pytest.raises(ScenarioError, match="more than one lever"):
        simulate(TREE, [Lever("win", Change.SET, 30), Lever("win", Change.ADD, 1)], NOW)


def test_no_levers():
    with pytest.raises(ScenarioError, match="at least one lever"):
        simulate(TREE, [], NOW)


def test_unknown_kpi():
    with pytest.raises(ScenarioError, match="unknown KPI 'nope'"):
        simulate(TREE, [parse_lever("nope=3")], NOW)
    with pytest.raises(ScenarioError, match="unknown KPI 'nope'"):
        goal_seek(TREE, "nope", "leads", NOW)
    with pytest.raises(ScenarioError, match="unknown KPI 'nope'"):
        goal_seek(TREE, "growth", "nope", NOW)


@pytest.mark.parametrize("missing", [None, math.nan, math.inf, "absent"])
@pytest.mark.parametrize("kpi_id", ["leads", "win", "growth"])
def test_a_kpi_without_a_value(kpi_id: str, missing: float | str | None):
    now = dict(NOW)
    if missing == "absent":
        del now[kpi_id]
    else:
        now[kpi_id] = missing  # type: ignore[assignment]
    with pytest.raises(ScenarioError, match="no value to start from"):
        simulate(TREE, [parse_lever("leads+=10")], now)
    with pytest.raises(ScenarioError, match="no value to start from"):
        goal_seek(TREE, "growth", "leads", now)


def test_a_lever_that_leaves_the_numbers():
    now = {**NOW, "leads": 1e308}
    with pytest.raises(ScenarioError, match="finite"):
        simulate(TREE, [Lever("leads", Change.ADD, 1e308)], now)
    with pytest.raises(ScenarioError, match="finite"):
        simulate(TREE, [Lever("leads", Change.SET, math.nan)], NOW)


def test_a_cycle_in_the_roll_up_is_an_error_not_a_loop():
    # The catalog's checks refuse cycles; a store whose kpis table was edited by hand can
    # still hold one, and the model must say so.
    cycle = catalog(
        kpi("a", parent="c"),
        kpi("b", parent="a"),
        kpi("c", parent="b"),
        kpi("d", parent="c"),
    )
    now: dict[str, float | None] = {k: 50.0 for k in "abcd"}
    for lever in ("a", "d"):
        with pytest.raises(ScenarioError, match="circle"):
            simulate(cycle, [parse_lever(f"{lever}+=1")], now)
    with pytest.raises(ScenarioError, match="circle"):
        goal_seek(cycle, "a", "d", now)
    itself = catalog(kpi("a", parent="a"))
    with pytest.raises(ScenarioError, match="circle"):
        simulate(itself, [parse_lever("a+=1")], {"a": 1.0})


def test_a_parent_missing_from_the_catalog_ends_the_chain():
    orphan = catalog(kpi("a", parent="gone"))
    outcome = simulate(orphan, [parse_lever("a+=1")], {"a": 1.0})
    assert [p.kpi.id for p in outcome.kpis] == ["a"]
