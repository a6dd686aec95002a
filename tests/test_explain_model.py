"""Why a KPI moved, by hand: the contributions, path weights and residuals of a small
catalog built in code (tests/explain_catalog.py), for weighted, sensitivity and formula
edges, a band and a lower-is-better KPI, against the change and against target, and the
root causes at the bottom."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intelligentos.domain.catalog.models import Catalog
from intelligentos.domain.explain.model import (
    Basis,
    Contribution,
    ExplainError,
    Explanation,
    explain,
    local_rate,
    movers,
    path_weights,
    performance,
    rate,
)
from intelligentos.domain.formula import parse_formula
from intelligentos.domain.rollup import EdgeKind
from intelligentos.domain.whatif.propagation import Tree

from .explain_catalog import CATALOG, END, START, kpi

TREE = Tree(CATALOG)


def run(kpi_id: str, end: dict[str, float | None] | None = None, **options) -> Explanation:
    return explain(TREE, kpi_id, START, END if end is None else end, **options)


def by_id(found: Explanation) -> dict[str, Contribution]:
    return {c.kpi.id: c for c in found.contributions}


def check(c: Contribution, **expected: float | None) -> None:
    for name, value in expected.items():
        got = getattr(c, name)
        if value is None:
            assert got is None, name
        else:
            assert got == pytest.approx(value, abs=1e-12), (c.kpi.id, name)


# --- performance and its rate -------------------------------------------------------------


def test_performance_and_rate_by_direction():
    # higher: (x − T)/|T|; lower: (T − x)/|T|; band: −|x − T|/|T|; tracked: the value.
    assert performance(CATALOG.kpis["win"], 20) == pytest.approx(-0.2)  # (20 − 25)/25
    assert performance(CATALOG.kpis["cost"], 24) == pytest.approx(-0.2)  # (20 − 24)/20
    assert performance(CATALOG.kpis["util"], 90) == pytest.approx(-0.125)  # −10/80
    assert performance(CATALOG.kpis["customers"], 120) == 120
    assert performance(kpi("down", direction="lower", target=None), 3) == -3
    # Zero target: a scale of one.
    assert performance(kpi("zero", target=0), 0.5) == pytest.approx(0.5)
    # The rate over a comparison is Δp / Δx: a band crossing its target gets the rate that
    # makes its change add up: 70 → 85 is −0.125 → −0.0625, +0.0625 over +15 = 1/240.
    assert rate(CATALOG.kpis["capacity"], 70, 85) == pytest.approx(1 / 240)
    # Not moving: the slope where it stands: below a band's target +1/80, above or on it −1/80.
    assert rate(CATALOG.kpis["capacity"], 70, 70) == pytest.approx(1 / 80)
    assert rate(CATALOG.kpis["capacity"], 85, 85) == pytest.approx(-1 / 80)
    assert local_rate(CATALOG.kpis["capacity"], 80) == pytest.approx(-1 / 80)
    assert local_rate(CATALOG.kpis["cost"], 24) == pytest.approx(-1 / 20)
    assert local_rate(CATALOG.kpis["customers"], 100) == 1


def test_movers_are_the_inputs_of_a_derived_kpi_else_its_children():
    assert movers(TREE, "arpu") == [("revenue", EdgeKind.FORMULA), ("customers", EdgeKind.FORMULA)]
    assert movers(TREE, "growth") == [
        ("win", EdgeKind.WEIGHT),
        ("cost", EdgeKind.WEIGHT),
        ("util", EdgeKind.WEIGHT),
    ]
    assert movers(TREE, "health") == [("csat", EdgeKind.SENSITIVITY)]
    assert movers(TREE, "leads") == []


# --- weighted edges ----------------------------------------------------------------------


def test_weighted_children_a_lower_is_better_and_a_band_child_and_the_residual():
    found = run("growth")
    # growth 30 → 28: p −0.25 → −0.30, Δp = −0.05; its rate k = −0.05 / −2 = 1/40.
    assert (found.value_from, found.value_to) == (30, 28)
    assert found.delta_p == pytest.approx(-0.05)
    c = by_id(found)
    # win 20 → 18: p −0.2 → −0.28, Δp −0.08; × 0.5 = −0.04 = −1.6 pt of growth (÷ 1/40);
    # share −0.04 / −0.05 = 0.8. Its child leads explains 0.4 × −0.05 = −0.02 of its −0.08,
    # so its residual is 0.5 × (−0.08 − (−0.02)) = −0.03 of growth's performance.
    check(
        c["win"],
        depth=1,
        path_weight=0.5,
        value_from=20,
        value_to=18,
        delta_p=-0.08,
        contribution_p=-0.04,
        contribution=-1.6,
        share=0.8,
        residual_p=-0.03,
    )
    assert c["win"].parent_id == "growth" and c["win"].edge is EdgeKind.WEIGHT
    # leads 150 → 140: Δp (140 − 150)/200 = −0.05, path weight 0.5 × 0.4 = 0.2 (the
    # product along the path), so −0.01 = −0.4 pt; share 0.2. A leaf: no residual listed.
    check(
        c["leads"],
        depth=2,
        path_weight=0.2,
        delta_p=-0.05,
        contribution_p=-0.01,
        contribution=-0.4,
        share=0.2,
        residual_p=None,
    )
    assert c["leads"].parent_id == "win" and c["leads"].path == ("growth", "win")
    # cost (lower) 24 → 22: p −0.2 → −0.1, Δp +0.1; × 0.3 = +0.03 = +1.2 pt; share −0.6.
    check(c["cost"], path_weight=0.3, delta_p=0.1, contribution_p=0.03, contribution=1.2)
    check(c["cost"], share=-0.6)
    # util (band, T 80) 90 → 76 crosses its target: p −10/80 → −4/80, Δp +0.075; × 0.2 =
    # +0.015 = +0.6 pt; share −0.3.
    check(c["util"], path_weight=0.2, delta_p=0.075, contribution_p=0.015, contribution=0.6)
    check(c["util"], share=-0.3)
    # Explained −0.04 + 0.03 + 0.015 = +0.005; the residual −0.05 − 0.005 = −0.055 (−2.2 pt):
    # growth's own data. In points: −1.6 + 1.2 + 0.6 − 2.2 = −2 = 28 − 30.
    assert found.explained_p == pytest.approx(0.005)
    assert found.residual_p == pytest.approx(-0.055)
    assert found.residual == pytest.approx(-2.2)
    # Ordered by |contribution_p|: win 0.04, cost 0.03, util 0.015, leads 0.01.
    assert [x.kpi.id for x in found.contributions] == ["win", "cost", "util", "leads"]
    assert [x.kpi.id for x in found.children] == ["win", "cost", "util"]
    assert found.top is not None and found.top.kpi.id == "win"
    assert found.moved and found.basis is Basis.CHANGE and found.notes == ()


def test_a_sensitivity_edge_and_a_weight_below_it():
    found = run("health")
    # health 70 → 72: Δp 2/80 = 0.025, k = 1/80.
    assert found.delta_p == pytest.approx(0.025)
    c = by_id(found)
    # csat 84 → 86 moves health by 0.5 × 2 = 1 point = 1/80 = 0.0125 of its performance;
    # path weight k_health × 0.5 / k_csat = (1/80) × 0.5 / (1/80) = 0.5; share 0.5.
    check(c["csat"], path_weight=0.5, delta_p=0.025, contribution_p=0.0125, contribution=1.0)
    assert c["csat"].edge is EdgeKind.SENSITIVITY and c["csat"].share == pytest.approx(0.5)
    # response (lower, T 4) 5 → 4.75: p −0.25 → −0.1875, Δp +0.0625; in csat's performance
    # 0.2 × 0.0625 = 0.0125, in health's 0.5 × 0.0125 = 0.00625 = 0.5 pt (path weight
    # 0.5 × 0.2 = 0.1); csat's residual 0.5 × (0.025 − 0.0125) = 0.00625.
    check(c["response"], depth=2, path_weight=0.1, delta_p=0.0625, contribution_p=0.00625)
    check(c["response"], contribution=0.5, share=0.25)
    check(c["csat"], residual_p=0.00625)
    # health's residual 0.025 − 0.0125 = 0.0125 = 1 point.
    assert found.residual_p == pytest.approx(0.0125)
    assert found.residual == pytest.approx(1.0)


# --- formula edges -----------------------------------------------------------------------


def test_a_sum_splits_into_its_terms_changes_with_no_residual():
    found = run("nrr")
    # nrr = 100 + expansion − churn: 103 → 104.5, Δp = 1.5/105.
    assert found.delta_p == pytest.approx(1.5 / 105)
    c = by_id(found)
    # expansion +1 → nrr +1 point (1/105 of performance); its own Δp 1/8, so its path
    # weight is (1/105)/(1/8) = 8/105; share 1/1.5.
    check(c["expansion"], path_weight=8 / 105, delta_p=0.125, contribution_p=1 / 105)
    check(c["expansion"], contribution=1.0, share=2 / 3)
    # churn (lower, T 2) 3 → 2.5 → nrr +0.5 point; its Δp (2 − 2.5)/2 − (2 − 3)/2 = 0.25,
    # path weight (0.5/105)/0.25 = 2/105; share 1/3.
    check(c["churn"], path_weight=2 / 105, delta_p=0.25, contribution_p=0.5 / 105)
    check(c["churn"], contribution=0.5, share=1 / 3)
    assert c["churn"].edge is EdgeKind.FORMULA
    # Zero by construction: a derived KPI is its expression.
    assert found.residual_p == 0.0 and found.residual == 0.0
    assert found.explained_p == pytest.approx(found.delta_p)


def test_a_ratio_splits_by_shapley_with_a_tracked_input_and_no_residual():
    found = run("arpu")
    # arpu = revenue / customers: 800/100 = 8 → 1200/120 = 10; Δp 0.2, k = 0.1.
    assert found.delta_p == pytest.approx(0.2)
    c = by_id(found)
    # φ_revenue = ((1200 − 800)/100 + (1200 − 800)/120) / 2 = (4 + 10/3)/2 = 11/3;
    # φ_customers = ((800/120 − 8) + (10 − 12)) / 2 = (−4/3 − 2)/2 = −5/3; 11/3 − 5/3 = 2.
    # revenue: 11/30 of performance, share 11/6; path weight 0.1 × (11/3 / 400) / (1/1000)
    # = 11/12.
    check(c["revenue"], contribution=11 / 3, contribution_p=11 / 30, share=11 / 6)
    check(c["revenue"], path_weight=11 / 12, delta_p=0.4)
    # customers is tracked: its performance is its value (Δp 20, rate 1); path weight
    # 0.1 × (−5/3 / 20) / 1 = −1/120.
    check(c["customers"], contribution=-5 / 3, contribution_p=-1 / 6, share=-5 / 6)
    check(c["customers"], path_weight=-1 / 120, delta_p=20)
    # signups (tracked, sensitivity 1) 10 → 15 explains 5 of customers' 20: −5/120 of
    # arpu's performance; customers' own residual −1/120 × (20 − 5) = −0.125.
    check(c["signups"], depth=2, path_weight=-1 / 120, delta_p=5, contribution_p=-5 / 120)
    check(c["customers"], residual_p=-0.125)
    assert found.residual_p == 0.0


def test_an_input_that_did_not_move_passes_its_childrens_moves_at_its_slope():
    # customers holds at 100 while signups rise 10 → 15: arpu 8 → 10 is all revenue's.
    end = {**END, "customers": 100.0, "arpu": 10.0, "revenue": 1000.0}
    found = run("arpu", end)
    c = by_id(found)
    check(c["customers"], contribution_p=0.0, delta_p=0.0)
    check(c["revenue"], contribution_p=0.2, contribution=2.0)
    # customers' slope where the inputs end (central difference): ∂(r/c)/∂c = −1000/100² =
    # −0.1 per customer, × k 0.1 / rate 1 = −0.01; signups +5 → −0.05, and customers' own
    # data the opposite +0.05: its children and its residual add up to its 0.
    assert c["customers"].path_weight == pytest.approx(-0.01, rel=1e-6)
    assert c["signups"].contribution_p == pytest.approx(-0.05, rel=1e-6)
    assert c["customers"].residual_p == pytest.approx(0.05, rel=1e-6)


# --- a band parent -----------------------------------------------------------------------


def test_a_band_parent_crossing_its_target():
    found = run("capacity")
    # capacity (band, T 80) 70 → 85: p −0.125 → −0.0625, Δp +0.0625 over +15: k = 1/240.
    assert found.delta_p == pytest.approx(0.0625)
    # staff 40 → 45: Δp (45 − 40)/50 = 0.1, × 1 = 0.1 = 24 points at 1/240; the residual
    # 0.0625 − 0.1 = −0.0375 = −9 points: 24 − 9 = 15 = 85 − 70.
    staff = by_id(found)["staff"]
    check(staff, contribution_p=0.1, contribution=24.0, share=1.6, path_weight=1.0)
    assert found.residual_p == pytest.approx(-0.0375)
    assert found.residual == pytest.approx(-9.0)


@pytest.mark.parametrize(
    ("held", "points"),
    [
        # Below its target the band's slope is +1/80: staff's +0.1 is +8 points.
        (70.0, 8.0),
        # Above (or on) it, −1/80: the same +0.1 brings it 8 points down towards 80.
        (85.0, -8.0),
        (80.0, -8.0),
    ],
)
def test_a_band_parent_that_did_not_move(held: float, points: float):
    found = explain(TREE, "capacity", {**START, "capacity": held}, {**END, "capacity": held})
    assert not found.moved and found.delta_p == 0
    staff = by_id(found)["staff"]
    # Nothing moved: no share; the children's part comes back as the residual.
    assert staff.share is None
    assert staff.contribution_p == pytest.approx(0.1)
    assert staff.contribution == pytest.approx(points)
    assert found.residual_p == pytest.approx(-0.1)
    assert found.residual == pytest.approx(-points)
    assert found.root_causes == ()


# --- against target ----------------------------------------------------------------------


def test_against_target_explains_the_gap():
    found = run("growth", basis=Basis.TARGET)
    # Every KPI goes from its target to its value: growth 40 → 28, Δp −0.3.
    assert (found.value_from, found.value_to) == (40, 28)
    assert found.delta_p == pytest.approx(-0.3) and found.period_from is None
    c = by_id(found)
    # win 25 → 18: Δp −0.28, × 0.5 = −0.14; leads 200 → 140: Δp −0.3, × 0.2 = −0.06;
    # win's residual 0.5 × (−0.28 − 0.4 × −0.3) = −0.08.
    check(c["win"], contribution_p=-0.14, residual_p=-0.08, contribution=-5.6)
    check(c["leads"], contribution_p=-0.06)
    # cost 20 → 22: Δp −0.1, × 0.3 = −0.03; util 80 → 76: Δp −0.05, × 0.2 = −0.01.
    check(c["cost"], contribution_p=-0.03)
    check(c["util"], contribution_p=-0.01)
    # −0.14 − 0.03 − 0.01 = −0.18 explained; residual −0.3 + 0.18 = −0.12 (−4.8 pt).
    assert found.explained_p == pytest.approx(-0.18)
    assert found.residual_p == pytest.approx(-0.12)
    assert found.residual == pytest.approx(-4.8)


def test_against_target_a_derived_kpis_residual_is_what_its_targets_disagree_by():
    found = run("nrr", basis=Basis.TARGET)
    # nrr from 105 to 104.5. Its inputs from their targets: 100 + 8 − 2 = 106 → 104.5:
    # expansion 8 → 7 is −1, churn 2 → 2.5 is −0.5. The targets disagree by 106 − 105 = 1:
    # the residual is −0.5 − (−1.5) = +1 point.
    c = by_id(found)
    check(c["expansion"], contribution=-1.0)
    check(c["churn"], contribution=-0.5)
    assert found.residual == pytest.approx(1.0)
    assert found.residual_p == pytest.approx(1 / 105)
    # arpu is on target (10 → 10); revenue 1000 → 1200 over the held 120 customers (a
    # tracked KPI has no target: it stays at its value) adds 10/6 = 1.667; the targets
    # disagree by 1000/120 − 10 = −1.667: the residual.
    arpu = run("arpu", basis=Basis.TARGET)
    assert arpu.delta_p == 0 and not arpu.moved
    c = by_id(arpu)
    check(c["revenue"], contribution=10 / 6)
    check(c["customers"], contribution=0.0)
    assert arpu.residual == pytest.approx(-10 / 6)


def test_against_target_needs_a_target():
    with pytest.raises(ExplainError, match=r"^Customers \(customers\) has no target"):
        run("customers", basis=Basis.TARGET)


# --- depth, leaves and root causes -------------------------------------------------------


def test_root_causes_are_the_leaf_most_parts_carrying_the_move():
    found = run("growth", stale_systems={"crm"})
    # Own parts in the direction of the move (−0.05): growth's residual −0.055, win's
    # residual −0.03, leads −0.01 (cost and util pushed the other way). Each carries at
    # least 10 % of the move (0.005): all three, the largest first.
    causes = found.root_causes
    assert [c.kpi.id for c in causes] == ["growth", "win", "leads"]
    assert [c.contribution_p for c in causes] == pytest.approx([-0.055, -0.03, -0.01])
    assert [c.share for c in causes] == pytest.approx([1.1, 0.6, 0.2])
    growth, win, leads = causes
    # Where someone can act: the owner (or the owning function's agent), the workflow and
    # step the lineage names, the system and whether its data is stale.
    assert win.agent is not None and win.agent.id == "cro"
    assert leads.agent is not None and leads.agent.id == "cro"  # the function's agent
    assert (win.workflow_id, win.workflow, win.step_id, win.step) == (
        "pipeline",
        "Pipeline",
        "qualify",
        "Qualify lead",
    )
    assert (win.system_id, win.system, win.stale) == ("crm", "CRM", True)
    assert leads.stale
    assert growth.agent is not None and growth.agent.id == "ceo"
    assert (growth.workflow, growth.step, growth.system, growth.stale) == (
        "Financial Close",
        "Bill",
        "ERP",
        False,
    )
    assert not run("growth").root_causes[1].stale


def test_a_root_cause_carries_at_least_a_tenth_of_the_move():
    # leads 150 → 149: Δp −0.005, × 0.2 = −0.001 < 10 % of 0.05: not named. win's residual
    # 0.5 × (−0.08 − 0.4 × −0.005) = −0.039.
    found = run("growth", {**END, "leads": 149.0})
    assert [c.kpi.id for c in found.root_causes] == ["growth", "win"]
    assert found.root_causes[1].contribution_p == pytest.approx(-0.039)


def test_when_no_part_carries_a_tenth_the_largest_is_named():
    # growth 30 → 29.9 (Δp −0.0025) with its children as before: its residual
    # −0.0025 − 0.005 = −0.0075 is the largest part moving the same way.
    found = run("growth", {**END, "growth": 29.9, "leads": 149.9, "win": 19.99})
    assert found.delta_p == pytest.approx(-0.0025)
    # win 20 → 19.99: Δp −0.0004, part −0.0002; leads Δp −0.0005, −0.0001 through 0.2;
    # win's residual 0.5 × (−0.0004 + 0.0002) = −0.0001; explained −0.0002 + 0.03 + 0.015
    # = 0.0448; growth's residual −0.0025 − 0.0448 = −0.0473: the only one above 10 %.
    assert [c.kpi.id for c in found.root_causes] == ["growth"]
    assert found.residual_p == pytest.approx(-0.0473)


def test_a_kpi_without_children_owns_its_whole_move():
    found = run("leads")
    # leads 150 → 140: Δp −0.05, all of it its own.
    assert found.contributions == () and found.children == () and found.top is None
    assert found.residual_p == pytest.approx(-0.05)
    assert found.residual == pytest.approx(-10.0)
    assert found.explained_p == 0
    assert [c.kpi.id for c in found.root_causes] == ["leads"]
    assert found.root_causes[0].share == pytest.approx(1.0)


def test_depth_one_lists_the_children_only():
    found = run("growth", depth=1)
    assert [c.kpi.id for c in found.contributions] == ["win", "cost", "util"]
    assert by_id(found)["win"].residual_p is None
    # win is not followed down: its whole −0.04 is its own.
    assert [c.kpi.id for c in found.root_causes] == ["growth", "win"]
    assert found.root_causes[1].contribution_p == pytest.approx(-0.04)
    assert found.depth == 1
    with pytest.raises(ExplainError, match=r"^the depth must be at least 1$"):
        run("growth", depth=0)


def test_missing_values_stay_in_the_residual_with_a_note():
    found = run("growth", {**END, "cost": None})
    assert "cost" not in by_id(found)
    # −0.04 + 0.015 explained; the residual −0.05 − (−0.025) = −0.025 takes cost's part.
    assert found.residual_p == pytest.approx(-0.025)
    assert found.notes == (
        "Cost (cost) has no value at either date: its part in Growth stays in the residual",
    )
    # A derived KPI missing an input: nothing is split, the whole change is residual.
    arpu = run("arpu", {**END, "customers": None})
    assert arpu.contributions == () and arpu.residual_p == pytest.approx(0.2)
    with pytest.raises(ExplainError, match=r"^Growth \(growth\) has no value to explain$"):
        run("growth", {**END, "growth": None})
    with pytest.raises(ExplainError, match=r"^unknown KPI 'nope'$"):
        run("nope")


def test_a_weighted_edge_to_a_tracked_kpi_cannot_be_measured():
    catalog = Catalog(
        kpis={
            "top": kpi("top", target=10),
            "free": kpi("free", target=None, parent="top", weight=0.5),
        }
    )
    found = explain(Tree(catalog), "top", {"top": 8.0, "free": 1.0}, {"top": 9.0, "free": 3.0})
    assert found.contributions == ()
    assert found.residual_p == pytest.approx(0.1)  # (9 − 8)/10, all its own
    assert found.notes == (
        "Free (free) has no target, so the weighted edge from Free to Top cannot be "
        "measured: its part stays in the residual (give the edge a sensitivity, or the KPI "
        "a target)",
    )


# --- the parts add up, on random catalogs --------------------------------------------------


def random_catalog(seed: int) -> tuple[Catalog, dict[str, float | None], dict[str, float | None]]:
    """A random tree of weighted, sensitivity and formula edges (sums, products and ratios),
    with random directions (bands included), targets and values."""
    rng = random.Random(seed)
    kpis = [kpi("k0", target=rng.uniform(10, 90))]
    todo = ["k0"]
    count = 1
    while todo and count < 14:
        parent_id = todo.pop(0)
        n = rng.randint(0, 3)
        if n == 0:
            continue
        names = [f"k{count + i}" for i in range(n)]
        count += n
        derived = rng.random() < 0.4
        parent = next(k for k in kpis if k.id == parent_id)
        if derived:
            op = rng.choice([" + ", " * ", " / ", " - "])
            kpis[kpis.index(parent)] = kpi(
                parent_id,
                direction=parent.direction.value,
                target=parent.target,
                parent=parent.rolls_up_to,
                weight=parent.weight,
                sensitivity=parent.sensitivity,
                compute=op.join(names),
            )
        for name in names:
            direction = rng.choice(["higher", "lower", "band"])
            target = rng.choice([rng.uniform(5, 95), None]) if derived else rng.uniform(5, 95)
            sensitivity = None if derived or rng.random() < 0.6 else rng.uniform(-2, 2)
            kpis.append(
                kpi(
                    name,
                    unit="count",
                    direction=direction,
                    target=target,
                    parent=parent_id,
                    weight=rng.uniform(0, 1),
                    sensitivity=sensitivity,
                )
            )
            todo.append(name)
    catalog = Catalog(kpis={k.id: k for k in kpis})
    tree = Tree(catalog)
    start = {k.id: rng.uniform(1, 100) for k in kpis}
    end = {k.id: rng.choice([start[k.id], rng.uniform(1, 100)]) for k in kpis}
    # Derived KPIs take their expression's values.
    for values in (start, end):
        for k in reversed(kpis):
            formula = tree.catalog.kpis[k.id].compute
            if formula is not None:
                expression = parse_formula(formula)
                values[k.id] = expression.evaluate({i: values[i] for i in expression.inputs})
    return catalog, dict(start), dict(end)


@settings(derandomize=True, deadline=None, max_examples=60)
@given(seed=st.integers(min_value=0, max_value=10**6), basis=st.sampled_from(list(Basis)))
def test_the_parts_add_up_at_every_node(seed: int, basis: Basis):
    catalog, start, end = random_catalog(seed)
    found = explain(Tree(catalog), "k0", start, end, basis=basis)
    scale = max(1.0, abs(found.delta_p), *(abs(c.contribution_p) for c in found.contributions))
    tolerance = 1e-9 * scale
    # The top: its children's parts and its residual add up to its move.
    assert sum(c.contribution_p for c in found.children) + found.residual_p == pytest.approx(
        found.delta_p, abs=tolerance
    )
    assert found.explained_p + found.residual_p == pytest.approx(found.delta_p, abs=tolerance)
    # Every explored KPI: its children's contributions and its residual add up to its own.
    for c in found.contributions:
        if c.residual_p is None:
            continue
        below = [d.contribution_p for d in found.contributions if d.path == (*c.path, c.kpi.id)]
        assert sum(below) + c.residual_p == pytest.approx(c.contribution_p, abs=tolerance)
    # A derived KPI's residual is zero (against the change).
    if basis is Basis.CHANGE and catalog.kpis["k0"].derived:
        assert found.residual_p == 0.0
    for c in found.contributions:
        if basis is Basis.CHANGE and c.kpi.derived and c.residual_p is not None:
            assert c.residual_p == pytest.approx(0.0, abs=tolerance)


def test_a_band_kpi_crossing_its_target_to_the_same_distance_still_adds_up():
    # h (score, T 80) ← c (% band, T 80, sensitivity 0.5) ← r (hours lower, T 4, weight 0.2);
    # d = a + b (a derived band KPI, T 80, sensitivity 0.5) under h too.
    catalog = Catalog(
        kpis={
            k.id: k
            for k in (
                kpi("h", unit="score", target=80),
                kpi("c", direction="band", target=80, parent="h", sensitivity=0.5),
                kpi("r", unit="hours", direction="lower", target=4, parent="c", weight=0.2),
                kpi("d", direction="band", target=80, parent="h", sensitivity=0.5, compute="a + b"),
                kpi("a", target=40, parent="d"),
                kpi("b", target=40, parent="d"),
            )
        }
    )
    start = {"h": 70.0, "c": 76.0, "r": 5.0, "d": 76.0, "a": 40.0, "b": 36.0}
    end = {"h": 76.0, "c": 84.0, "r": 4.75, "d": 84.0, "a": 44.0, "b": 40.0}
    found = explain(Tree(catalog), "h", start, end)
    c = by_id(found)
    # c 76 → 84: p −0.05 → −0.05, Δp 0, but its value moved h by 0.5 × 8 = 4 points:
    # 4/80 = 0.05 of h's performance. Its path weight takes its slope where it starts
    # (+1/80 below its target): (1/80) × 0.5 / (1/80) = 0.5.
    check(c["c"], delta_p=0.0, contribution_p=0.05, contribution=4.0, path_weight=0.5)
    # r 5 → 4.75: Δp +0.0625, × 0.2 in c's performance, × 0.5 in h's: 0.00625; what c
    # moved that r does not explain is c's own: 0.05 − 0.00625 = 0.04375.
    check(c["r"], contribution_p=0.00625)
    check(c["c"], residual_p=0.04375)
    # d 76 → 84 likewise moves h by 0.05, and splits into its inputs at its slope where
    # it starts (1/80): a +4 and b +4 are 0.5 × 4/80 = 0.025 each; a derived KPI: no
    # residual.
    check(c["d"], delta_p=0.0, contribution_p=0.05, residual_p=0.0)
    check(c["a"], contribution_p=0.025, contribution=2.0)
    check(c["b"], contribution_p=0.025)
    # h 70 → 76: Δp 0.075, residual 0.075 − 0.05 − 0.05 = −0.025.
    assert found.residual_p == pytest.approx(-0.025)


def test_path_weights_where_the_kpis_stand():
    # Weights multiply along the path: leads 0.5 × 0.4.
    assert path_weights(TREE, "growth", END) == pytest.approx(
        {"win": 0.5, "leads": 0.2, "cost": 0.3, "util": 0.2}
    )
    # arpu = revenue / customers at 1200 / 120, arpu's slope 1/10: revenue
    # 0.1 × (1/120) / (1/1000) = 0.8333; customers 0.1 × (−1200/120²) / 1 = −1/120; signups
    # (sensitivity 1, tracked) the same.
    weights = path_weights(TREE, "arpu", END)
    assert weights == pytest.approx(
        {"revenue": 100 / 120, "customers": -1 / 120, "signups": -1 / 120}, rel=1e-6
    )
    assert path_weights(TREE, "leads", END) == {}
