"""Typed roll-ups in the what-if model, by hand-computed examples: a formula edge moves its
parent exactly (linear and non-linear expressions, derived KPIs reading KPIs anywhere in
the catalog), a sensitivity by exactly the slope, a weight as the scoring model; goal seek
by slope on a linear path and by bisection on a non-linear one."""

from __future__ import annotations

import pytest

from intelligentos.domain.catalog.models import Catalog, Direction, Frequency, Kpi, Level, Unit
from intelligentos.domain.formula import parse_formula
from intelligentos.domain.rollup import EdgeKind
from intelligentos.domain.whatif.model import (
    MODEL_NOTE,
    Change,
    Lever,
    ScenarioError,
    goal_seek,
    model_note,
    parse_levers,
    simulate,
)


def kpi(
    kpi_id: str,
    *,
    unit: str = "percent",
    direction: str = "higher",
    target: float | None = 50.0,
    parent: str | None = None,
    weight: float = 1.0,
    sensitivity: float | None = None,
    compute: str | None = None,
) -> Kpi:
    return Kpi(
        id=kpi_id,
        name=kpi_id.replace("_", " ").title(),
        level=Level.CEO if parent is None else Level.FUNCTIONAL,
        unit=Unit(unit),
        direction=Direction(direction),
        target=target,  # type: ignore[arg-type]  # a tracked KPI has none
        frequency=Frequency.MONTHLY,
        formula=compute or "measured",
        engine="growth",
        rolls_up_to=parent,
        weight=weight,
        sensitivity=sensitivity,
        compute=compute,
    )


def catalog(*kpis: Kpi) -> Catalog:
    return Catalog(kpis={k.id: k for k in kpis})


def run(cat: Catalog, now: dict[str, float | None], *texts: str) -> dict[str, float]:
    outcome = simulate(cat, parse_levers(texts), now)
    return {p.kpi.id: p.projected for p in outcome.kpis}


# The three ways logo churn can roll up to net revenue retention.
# nrr = 100 + expansion − contraction − logo_churn (a derived KPI: formula edges).
FORMULA = catalog(
    kpi("nrr", target=105, compute="100 + expansion - contraction - logo_churn"),
    kpi("expansion", target=8, parent="nrr", weight=0.4),
    kpi("contraction", direction="lower", target=2, parent="nrr", weight=0.3),
    kpi("logo_churn", direction="lower", target=2, parent="nrr", weight=0.3),
)
# 100 + 6 − 2.5 − 3.1 = 100.4
FORMULA_NOW: dict[str, float | None] = {
    "nrr": 100.4,
    "expansion": 6.0,
    "contraction": 2.5,
    "logo_churn": 3.1,
}
# nrr measured; churn's edge gives a sensitivity of −1 point of NRR per point of churn.
SENSITIVITY = catalog(
    kpi("nrr", target=105),
    kpi("logo_churn", direction="lower", target=2, parent="nrr", weight=0.4, sensitivity=-1.0),
)
# nrr measured; churn's edge a plain weight (the scoring model).
WEIGHT = catalog(
    kpi("nrr", target=105),
    kpi("logo_churn", direction="lower", target=2, parent="nrr", weight=0.4),
)
EDGE_NOW: dict[str, float | None] = {"nrr": 101.9, "logo_churn": 3.0}


def test_a_formula_edge_moves_the_parent_by_the_expression():
    # 100 + 6 − 2.5 − 2.1 = 101.4: exactly one point more for one point less churn.
    outcome = simulate(FORMULA, parse_levers(["logo_churn-=1"]), FORMULA_NOW)
    nrr = outcome.of("nrr")
    assert nrr is not None
    assert nrr.projected == pytest.approx(101.4) and nrr.change == pytest.approx(1.0)
    assert nrr.moved_by == (EdgeKind.FORMULA,)
    assert not nrr.clamped and not nrr.implausible
    assert outcome.note == "formulas exact"
    lever = outcome.of("logo_churn")
    assert lever is not None and lever.moved_by == () and lever.is_lever


def test_a_sensitivity_edge_moves_the_parent_by_the_sensitivity():
    # −1 × (2 − 3) = +1 point: 101.9 → 102.9, whatever the weight.
    outcome = simulate(SENSITIVITY, parse_levers(["logo_churn-=1"]), EDGE_NOW)
    nrr = outcome.of("nrr")
    assert nrr is not None and nrr.projected == pytest.approx(102.9)
    assert nrr.moved_by == (EdgeKind.SENSITIVITY,)
    assert outcome.note == "sensitivities linear"
    # A sensitivity of −2.5: 2 points of churn less is +5 points.
    steep = catalog(
        kpi("nrr", target=105),
        kpi("logo_churn", direction="lower", target=2, parent="nrr", sensitivity=-2.5),
    )
    assert run(steep, EDGE_NOW, "logo_churn-=2")["nrr"] == pytest.approx(101.9 + 5)


def test_a_plain_weight_is_the_scoring_model_as_before():
    # churn 3 → 2 against a target of 2: Δp = (2 − 2)/2 − (2 − 3)/2 = 0.5; nrr Δp = 0.4 ×
    # 0.5 = 0.2 → 101.9 + 0.2 × 105 = 122.9 (the scoring model, not a causal one).
    outcome = simulate(WEIGHT, parse_levers(["logo_churn-=1"]), EDGE_NOW)
    nrr = outcome.of("nrr")
    assert nrr is not None and nrr.projected == pytest.approx(122.9)
    assert nrr.moved_by == (EdgeKind.WEIGHT,)
    assert outcome.note == MODEL_NOTE == "catalog weights, linear"


def test_several_inputs_of_one_expression_move_together_exactly():
    # 100 + 7 − 2 − 2.1 = 102.9
    projected = run(FORMULA, FORMULA_NOW, "logo_churn-=1", "expansion+=1", "contraction=2")
    assert projected["nrr"] == pytest.approx(102.9)


def test_the_expression_moves_the_latest_value_by_its_change():
    # The latest NRR (99.0) was measured in a period whose inputs are not the latest ones:
    # it moves by the expression's change, +1, not to the expression's value.
    assert run(FORMULA, {**FORMULA_NOW, "nrr": 99.0}, "logo_churn-=1")["nrr"] == pytest.approx(
        100.0
    )


# conversion = 100 × sql / mql (a ratio) rolls up by weight to growth; sql rolls up by weight
# to pipeline: the expression reads sql across the tree.
# growth (CEO, %, target 40)            pipeline (CEO, count, target 100)
# └── conversion = 100 sql/mql (w 0.5)  ├── sql (count, target 50, w 0.5)
#                                       └── mql (count, target 200, w 0.5)
RATIO = catalog(
    kpi("growth", target=40),
    kpi("conversion", target=25, parent="growth", weight=0.5, compute="100 * sql / mql"),
    kpi("pipeline", unit="count", target=100),
    kpi("sql", unit="count", target=50, parent="pipeline", weight=0.5),
    kpi("mql", unit="count", target=200, parent="pipeline", weight=0.5),
)
# conversion = 100 × 40 / 200 = 20
RATIO_NOW: dict[str, float | None] = {
    "growth": 30.0,
    "conversion": 20.0,
    "pipeline": 80.0,
    "sql": 40.0,
    "mql": 200.0,
}


def test_a_ratio_is_exact_not_linear():
    # 100 × 40 / 160 = 25 (+5), but 100 × 40 / 240 = 16.666… (−3.333…): not symmetric.
    assert run(RATIO, RATIO_NOW, "mql-=40")["conversion"] == pytest.approx(25)
    assert run(RATIO, RATIO_NOW, "mql+=40")["conversion"] == pytest.approx(100 * 40 / 240)
    # Both inputs: 100 × 50 / 160 = 31.25.
    assert run(RATIO, RATIO_NOW, "sql+=10", "mql-=40")["conversion"] == pytest.approx(31.25)


def test_a_derived_kpi_reading_across_the_tree_moves_and_passes_on_by_its_own_edge():
    # sql 40 → 50 moves its tree parent by weight: Δp = 10/50 = 0.2 → pipeline Δp 0.1 →
    # 80 + 0.1 × 100 = 90; and conversion, which reads it: 100 × 50 / 200 = 25, whose
    # Δp = 5/25 = 0.2 passes up its own weighted edge: growth Δp 0.1 → 30 + 4 = 34.
    outcome = simulate(RATIO, parse_levers(["sql+=10"]), RATIO_NOW)
    assert [p.kpi.id for p in outcome.kpis] == ["sql", "conversion", "growth", "pipeline"]
    projected = {p.kpi.id: p.projected for p in outcome.kpis}
    assert projected == pytest.approx({"sql": 50, "conversion": 25, "pipeline": 90, "growth": 34})
    by = {p.kpi.id: p.moved_by for p in outcome.kpis}
    assert by["conversion"] == (EdgeKind.FORMULA,) and by["growth"] == (EdgeKind.WEIGHT,)
    assert outcome.note == "formulas exact; weights linear"


def test_a_product_is_exact():
    # revenue = price × volume: 60 × 1100 = 66 000 (a linear model would say 65 000);
    # arr = revenue × 12 reads a derived KPI: 792 000.
    cat = catalog(
        kpi("arr", unit="currency", target=1e6, compute="revenue * 12"),
        kpi("revenue", unit="currency", target=80_000, compute="price * volume"),
        kpi("price", unit="currency", target=60),
        kpi("volume", unit="count", target=1200),
    )
    now: dict[str, float | None] = {
        "arr": 600_000.0,
        "revenue": 50_000.0,
        "price": 50.0,
        "volume": 1000.0,
    }
    outcome = simulate(cat, parse_levers(["price+=10", "volume+=100"]), now)
    projected = {p.kpi.id: p.projected for p in outcome.kpis}
    assert projected == pytest.approx(
        {"price": 60, "volume": 1100, "revenue": 66_000, "arr": 792_000}
    )
    assert [p.kpi.id for p in outcome.kpis] == ["price", "volume", "revenue", "arr"]


def test_a_formula_result_is_not_clamped_but_flagged_when_implausible():
    # 100 × 240 / 200 = 120 %: what the levers ask cannot happen, and the model says so
    # rather than hiding it at 100 %.
    outcome = simulate(RATIO, parse_levers(["sql+=200"]), RATIO_NOW)
    conversion = outcome.of("conversion")
    assert conversion is not None
    assert conversion.projected == pytest.approx(120)
    assert conversion.implausible and not conversion.clamped


def test_a_sensitivity_result_is_clamped_like_a_weighted_one():
    # 101.9 − 1 × (−150): churn 3 → 0 gives only +3; a sensitivity of −50 gives +150 →
    # 251.9, in a percentage with a target above 100: no upper bound. A target of 95 has
    # one (100): clamped.
    cat = catalog(
        kpi("nrr", target=95),
        kpi("logo_churn", direction="lower", target=2, parent="nrr", sensitivity=-50),
    )
    outcome = simulate(cat, parse_levers(["logo_churn-=3"]), EDGE_NOW)
    nrr = outcome.of("nrr")
    assert nrr is not None and (nrr.projected, nrr.clamped) == (100, True)


def test_a_division_by_zero_is_a_sentence():
    with pytest.raises(ScenarioError, match=r"Conversion \(conversion\) = 100 \* sql / mql"):
        simulate(RATIO, parse_levers(["mql=0"]), RATIO_NOW)


def test_an_input_without_a_value_is_named():
    with pytest.raises(ScenarioError, match=r"Mql \(mql\) has no value to start from"):
        simulate(RATIO, parse_levers(["sql+=1"]), {**RATIO_NOW, "mql": None})


def test_derived_kpis_that_read_each_other_in_a_loop_are_refused():
    cat = catalog(kpi("a", compute="b + 1"), kpi("b", compute="a + 1"), kpi("c"))
    with pytest.raises(ScenarioError, match="loop"):
        simulate(cat, parse_levers(["c+=1"]), {"a": 1.0, "b": 1.0, "c": 1.0})


def test_a_roll_up_against_an_expression_in_a_circle_is_refused():
    cat = catalog(
        kpi("base"),
        kpi("total", parent="base", compute="part + 1"),
        kpi("part", parent="total"),
    )
    # part → total by formula, total → base by weight: fine (no circle).
    assert run(cat, {"base": 50.0, "total": 41.0, "part": 40.0}, "part+=1")["total"] == 42
    # d reads e and rolls up to it: a change of e moves d, which moves e again.
    looped = catalog(kpi("d", compute="e * 2", parent="e"), kpi("e"), kpi("f", parent="e"))
    with pytest.raises(ScenarioError, match="circle"):
        simulate(looped, parse_levers(["f+=1"]), {"d": 2.0, "e": 1.0, "f": 1.0})


def test_a_tracked_kpi_on_a_weighted_edge_is_named():
    cat = catalog(kpi("top"), kpi("seen", target=None, parent="top", weight=0.5))
    with pytest.raises(ScenarioError, match=r"Seen \(seen\) has no target"):
        simulate(cat, parse_levers(["seen+=1"]), {"top": 40.0, "seen": 10.0})
    # On a sensitivity or a formula edge it needs none.
    sens = catalog(kpi("top"), kpi("seen", target=None, parent="top", sensitivity=2))
    assert run(sens, {"top": 40.0, "seen": 10.0}, "seen+=1")["top"] == 42
    derived = catalog(kpi("top", target=None, compute="seen * 2"), kpi("seen", target=None))
    assert run(derived, {"top": 20.0, "seen": 10.0}, "seen+=1")["top"] == 22


def test_model_note():
    assert model_note([]) == MODEL_NOTE
    assert model_note([EdgeKind.WEIGHT]) == "catalog weights, linear"
    assert (
        model_note([EdgeKind.WEIGHT, EdgeKind.FORMULA, EdgeKind.SENSITIVITY])
        == "formulas exact; sensitivities and weights linear"
    )


def test_linear_in():
    assert parse_formula("100 + a - b").linear_in("a")
    assert parse_formula("100 * sql / mql").linear_in("sql")
    assert not parse_formula("100 * sql / mql").linear_in("mql")
    assert not parse_formula("price * volume * price").linear_in("price")
    assert parse_formula("price * volume").linear_in("price")
    assert not parse_formula("min(a, 30)").linear_in("a")
    assert parse_formula("min(b, 30) + a").linear_in("a")


# --- goal seek ----------------------------------------------------------------------------


def test_goal_seek_on_a_linear_formula_is_exact():
    # nrr 100.4 must reach 105: +4.6 points of expansion, 6 → 10.6.
    seek = goal_seek(FORMULA, "nrr", "expansion", FORMULA_NOW)
    assert seek.reachable and seek.required == pytest.approx(10.6)
    assert seek.reason == "linear path: nrr moves +1 per unit of expansion"
    assert seek.note == "formulas exact"
    # Through churn it would take −1.5 %: out of range.
    churn = goal_seek(FORMULA, "nrr", "logo_churn", FORMULA_NOW)
    assert not churn.reachable and "-1.5" in churn.reason and "plausible range" in churn.reason


def test_goal_seek_through_a_sensitivity():
    # −2 points of NRR per point of churn: 105 − 101.9 = 3.1 points → churn 3 − 1.55.
    cat = catalog(
        kpi("nrr", target=105),
        kpi("logo_churn", direction="lower", target=2, parent="nrr", sensitivity=-2),
    )
    seek = goal_seek(cat, "nrr", "logo_churn", EDGE_NOW)
    assert seek.reachable and seek.required == pytest.approx(1.45)
    assert seek.note == "sensitivities linear"


def test_goal_seek_across_the_tree_through_a_ratio_read_linearly():
    # growth 30 → 40 needs Δp 0.25 → conversion Δp 0.5: p from −0.2 to 0.3, 25 × 1.3 =
    # 32.5 % → sql = 32.5 × 200 / 100 = 65 (the ratio is linear in its numerator).
    seek = goal_seek(RATIO, "growth", "sql", RATIO_NOW)
    assert seek.reachable and seek.required == pytest.approx(65)
    assert seek.reason.startswith("linear path")


def test_goal_seek_by_bisection_on_a_ratio():
    # 100 × 40 / mql = 25 → mql = 160.
    seek = goal_seek(RATIO, "conversion", "mql", RATIO_NOW)
    assert seek.reachable and seek.reason == "by bisection on a non-linear path"
    assert seek.required == pytest.approx(160, rel=1e-9)
    outcome = simulate(RATIO, [Lever("mql", Change.SET, seek.required)], RATIO_NOW)
    conversion = outcome.of("conversion")
    assert conversion is not None and conversion.projected == pytest.approx(25, abs=1e-8)
    # growth through the same ratio: conversion must reach 32.5 → mql = 4000 / 32.5.
    growth = goal_seek(RATIO, "growth", "mql", RATIO_NOW)
    assert growth.required == pytest.approx(4000 / 32.5, rel=1e-9)


def test_goal_seek_by_bisection_on_a_product():
    # area = side × side must reach 144 from 100: side 10 → 12.
    cat = catalog(
        kpi("area", unit="count", target=144, compute="side * side"),
        kpi("side", unit="count", target=12),
    )
    seek = goal_seek(cat, "area", "side", {"area": 100.0, "side": 10.0})
    assert seek.reachable and seek.required == pytest.approx(12, rel=1e-9)


def test_goal_seek_unreachable_in_range_says_so():
    # capped = min(win, 30) never reaches 40 %, whatever win does (0–100 %).
    cat = catalog(kpi("capped", target=40, compute="min(win, 30)"), kpi("win", target=35))
    seek = goal_seek(cat, "capped", "win", {"capped": 20.0, "win": 20.0})
    assert not seek.reachable and seek.required is None
    assert seek.reason == (
        "no value of win in its plausible range (0.0%–100.0%) brings capped to 40.0% "
        "under the model"
    )


def test_goal_seek_refuses_a_tracked_goal():
    cat = catalog(kpi("top", target=None, compute="a * 2"), kpi("a"))
    with pytest.raises(ScenarioError, match="has no target"):
        goal_seek(cat, "top", "a", {"top": 2.0, "a": 1.0})
