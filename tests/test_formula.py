"""A derived KPI's expression: what it reads, what it refuses, what it computes."""

from __future__ import annotations

import re

import pytest

from intelligentos.domain.formula import FormulaError, Undefined, parse_formula


def test_inputs_and_divisors_in_first_appearance_order():
    formula = parse_formula("100 * sql_count / mql_count")
    assert formula.inputs == ("sql_count", "mql_count")
    assert formula.divisors == ("mql_count",)
    nested = parse_formula("a / (b - c) + a * d")
    assert nested.inputs == ("a", "b", "c", "d")
    assert nested.divisors == ("b", "c")


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("mrr * 12", {"mrr": 4.0}, 48.0),
        (
            "new_arr + expansion_arr - churned_arr",
            {"new_arr": 5, "expansion_arr": 2, "churned_arr": 3},
            4.0,
        ),
        ("100 * sql_count / mql_count", {"sql_count": 30, "mql_count": 120}, 25.0),
        # 100 + 4 - 1.5 - 2 = 100.5
        (
            "100 + expansion - contraction - churn",
            {"expansion": 4, "contraction": 1.5, "churn": 2},
            100.5,
        ),
        ("-a + (b)", {"a": 2, "b": 7}, 5.0),
        ("min(a, b, 3) + max(a, b) + abs(c)", {"a": 1, "b": 9, "c": -4}, 1 + 9 + 4),
        ("a × b ÷ c − 1", {"a": 6, "b": 2, "c": 4}, 2.0),
    ],
)
def test_evaluates_by_hand(text, values, expected):
    assert parse_formula(text).evaluate(values) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("mrr *", "not an expression"),
        ("mrr ** 2", "operator ** is not allowed"),
        ("mrr % 2", "operator % is not allowed"),
        ("sqrt(mrr)", "sqrt() is not a known function"),
        ("__import__('os')", "not a known function"),
        ("mrr.real", "not allowed"),
        ("Mrr * 2", "'Mrr' is not a KPI id"),
        ("mrr if a else b", "not allowed"),
        ("a < b", "not allowed"),
        ("abs(a, b)", "abs() takes 1 argument"),
        ("min(a)", "min() takes at least 2 argument"),
        ("min(*a, b)", "plain arguments"),
        ("max(a, key=b)", "not a known function"),
        ("True + a", "not a number"),
        ("'12' + a", "not allowed"),
        ("min + 1", "min is a function"),
        ("[a, b]", "not allowed"),
        ("lambda: 1", "not allowed"),
    ],
)
def test_refuses_what_is_not_on_the_list(text, says):
    with pytest.raises(FormulaError, match=re.escape(says)):
        parse_formula(text)


def test_a_division_by_zero_or_a_missing_input_has_no_value():
    ratio = parse_formula("100 * sql_count / mql_count")
    with pytest.raises(Undefined, match="mql_count is zero"):
        ratio.evaluate({"sql_count": 3, "mql_count": 0})
    with pytest.raises(Undefined, match="mql_count has no value"):
        ratio.evaluate({"sql_count": 3})
    assert ratio.value_or_none({"sql_count": 3, "mql_count": None}) is None
    assert ratio.value_or_none({"sql_count": 3, "mql_count": float("nan")}) is None
    assert parse_formula("a / (b - c)").value_or_none({"a": 1, "b": 2, "c": 2}) is None


def test_a_result_that_is_not_finite_has_no_value():
    with pytest.raises(Undefined, match="not a finite number"):
        parse_formula("a * a").evaluate({"a": 1e200})


# --- the roll-up edges and the order derived KPIs are computed in ---------------------------


def kpi(kpi_id: str, **fields):
    from intelligentos.domain.catalog.models import Direction, Frequency, Kpi, Level, Unit

    base = {
        "name": kpi_id,
        "level": Level.FUNCTIONAL,
        "unit": Unit.COUNT,
        "direction": Direction.HIGHER,
        "target": 1.0,
        "frequency": Frequency.MONTHLY,
        "formula": kpi_id,
        "engine": "growth",
    }
    return Kpi(id=kpi_id, **(base | fields))


def test_each_edge_has_the_type_its_parent_and_child_give_it():
    from intelligentos.domain.catalog.models import Catalog
    from intelligentos.domain.rollup import EdgeKind, edge_of

    kpis = {
        "nrr": kpi("nrr", compute="100 + expansion - churn"),
        "expansion": kpi("expansion", rolls_up_to="nrr"),
        "churn": kpi("churn", rolls_up_to="nrr"),
        "health": kpi("health"),
        "csat": kpi("csat", rolls_up_to="health", weight=0.4),
        "nps": kpi("nps", rolls_up_to="health", weight=0.6, sensitivity=0.25),
        "orphan": kpi("orphan", rolls_up_to="gone"),
    }
    catalog = Catalog(kpis=kpis)
    assert edge_of(kpis["churn"], catalog).kind is EdgeKind.FORMULA
    assert edge_of(kpis["csat"], catalog).kind is EdgeKind.WEIGHT
    nps = edge_of(kpis["nps"], catalog)
    assert (nps.kind, nps.sensitivity, nps.weight) == (EdgeKind.SENSITIVITY, 0.25, 0.6)
    assert edge_of(kpis["nrr"], catalog) is None
    assert edge_of(kpis["orphan"], catalog) is None


def test_derived_kpis_come_after_the_derived_kpis_they_read_and_a_loop_is_named():
    from intelligentos.domain.rollup import CycleError, derived_order, readers

    kpis = {
        "arr": kpi("arr", compute="mrr * 12"),
        "mrr": kpi("mrr", compute="new_mrr + base_mrr"),
        "new_mrr": kpi("new_mrr"),
        "base_mrr": kpi("base_mrr"),
        "ratio": kpi("ratio", compute="arr / new_mrr"),
    }
    assert derived_order(kpis) == ["mrr", "arr", "ratio"]
    assert readers(kpis) == {
        "new_mrr": ["mrr", "ratio"],
        "base_mrr": ["mrr"],
        "mrr": ["arr"],
        "arr": ["ratio"],
    }
    looped = kpis | {"new_mrr": kpi("new_mrr", compute="ratio * 2")}
    with pytest.raises(CycleError, match="arr → mrr → new_mrr → ratio → arr"):
        derived_order(looped)
