"""Governance of derived KPIs' expressions and of weights: unknown ids, a KPI reading itself,
loops, mixed units, divisions by a KPI that can be zero, and weighted children's weights."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.config.paths import builtin_catalog_dir
from intelligentos.domain.catalog.governance import (
    Violation,
    catalog_warnings,
    expression_warnings,
    weight_warnings,
)
from intelligentos.domain.rollup import CycleError, derived_order
from intelligentos.services.catalog import CatalogError, check_catalog, load_catalog

from .conftest import MINI_CATALOG, write_catalog


def kpi_block(
    kpi_id: str,
    unit: str = "percent",
    *,
    compute: str | None = None,
    rolls_up_to: str = "revenue_growth",
    weight: float = 0.5,
    sensitivity: float | None = None,
    target: float = 10.0,
) -> str:
    """A functional KPI of the mini catalog, valid but for what a test gives it."""
    lines = [
        f"[kpi.{kpi_id}]",
        f'name = "{kpi_id.replace("_", " ").title()}"',
        'level = "functional"',
        f'unit = "{unit}"',
        'direction = "higher"',
        f"target = {target}",
        'frequency = "monthly"',
        'formula = "as measured"',
        'engine = "growth"',
        'owner_function = "sales"',
        f'rolls_up_to = "{rolls_up_to}"',
        f"weight = {weight}",
    ]
    if compute is not None:
        lines.append(f'compute = "{compute}"')
    if sensitivity is not None:
        lines.append(f"sensitivity = {sensitivity}")
    lines += [
        f"[[kpi.{kpi_id}.lineage]]",
        'metric = "Closed opportunities"',
        'workflow = "opportunity_management"',
        'step = "close"',
        'fields = ["crm.opportunity.stage"]',
    ]
    return "\n".join(lines) + "\n"


def catalog_with(tmp_path: Path, *blocks: str, win_rate_weight: float = 0.5) -> Path:
    files = dict(MINI_CATALOG)
    kpis = files["kpis.toml"].replace("weight = 0.5", f"weight = {win_rate_weight}")
    files["kpis.toml"] = kpis + "\n" + "\n".join(blocks)
    return write_catalog(tmp_path / "catalog", files)


def of_rule(violations: list[Violation], rule: str) -> list[Violation]:
    return [v for v in violations if v.rule == rule]


# --- violations ----------------------------------------------------------------------------


def test_an_expression_reading_an_unknown_kpi_is_a_violation_naming_file_and_key(tmp_path):
    directory = catalog_with(tmp_path, kpi_block("pipeline", compute="win_rate + nope"))
    assert check_catalog(directory) == [
        Violation(
            "reference", "kpis.toml", "kpi.pipeline.compute", "unknown KPI 'nope' in the expression"
        )
    ]
    with pytest.raises(CatalogError):
        load_catalog(directory)  # init and sync-catalog refuse it: nothing is written


def test_an_expression_reading_its_own_kpi_is_a_violation(tmp_path):
    directory = catalog_with(tmp_path, kpi_block("pipeline", compute="pipeline * 2 + win_rate"))
    assert [str(v) for v in check_catalog(directory)] == [
        "kpis.toml: kpi.pipeline.compute: [cycle] the expression reads pipeline itself"
    ]


def test_every_kpi_on_a_loop_of_derived_kpis_is_named_with_the_loop(tmp_path):
    directory = catalog_with(
        tmp_path,
        kpi_block("alpha", compute="beta + 1", weight=0.1),
        kpi_block("beta", compute="gamma * 2", weight=0.1),
        kpi_block("gamma", compute="alpha - win_rate", weight=0.1),
        kpi_block("delta", compute="alpha / 2", weight=0.2),  # reads the loop, is not on it
    )
    loops = {v.key: v.message for v in of_rule(check_catalog(directory), "cycle")}
    prefix = "derived KPIs read each other in a loop: "
    assert loops == {
        "kpi.alpha.compute": prefix + "alpha → beta → gamma → alpha",
        "kpi.beta.compute": prefix + "beta → gamma → alpha → beta",
        "kpi.gamma.compute": prefix + "gamma → alpha → beta → gamma",
    }
    # The same loop the roll-up module's order refuses.
    catalog = _parsed(directory)
    with pytest.raises(CycleError, match="alpha → beta → gamma → alpha"):
        derived_order(catalog.kpis)


def _parsed(directory: Path):
    from intelligentos.services.catalog import parse_catalog

    catalog, problems = parse_catalog(directory)
    assert problems == []
    return catalog


def test_a_catalog_without_loops_passes_and_derived_order_agrees(tmp_path):
    directory = catalog_with(
        tmp_path,
        kpi_block("alpha", compute="beta + win_rate", weight=0.25),
        kpi_block("beta", compute="win_rate * 2", weight=0.25),
    )
    assert check_catalog(directory) == []
    assert derived_order(_parsed(directory).kpis) == ["beta", "alpha"]


# --- warnings ------------------------------------------------------------------------------


def test_adding_kpis_of_different_units_is_a_warning_naming_both(tmp_path):
    directory = catalog_with(
        tmp_path,
        kpi_block("bookings", "currency", weight=0.2),
        kpi_block("mixed", compute="win_rate + bookings", weight=0.3),
    )
    assert check_catalog(directory) == []  # a warning, not a violation
    [warning] = expression_warnings(load_catalog(directory))
    assert warning == Violation(
        "units",
        "kpis.toml",
        "kpi.mixed.compute",
        "the expression adds or subtracts KPIs of different units: win_rate (percent) and "
        "bookings (currency)",
    )


def test_min_and_max_compare_units_too(tmp_path):
    directory = catalog_with(
        tmp_path,
        kpi_block("backlog", "count", weight=0.2),
        kpi_block("floor", compute="max(win_rate, backlog)", weight=0.3),
    )
    [warning] = expression_warnings(load_catalog(directory))
    assert warning.message == (
        "the expression compares KPIs of different units: win_rate (percent) and backlog (count)"
    )


def test_an_expression_giving_another_unit_than_its_kpi_is_a_warning(tmp_path):
    # bookings × 12 is money (a currency KPI times a number); the KPI says percent.
    directory = catalog_with(
        tmp_path,
        kpi_block("bookings", "currency", weight=0.2),
        kpi_block("yearly", "percent", compute="bookings * 12", weight=0.3),
    )
    [warning] = expression_warnings(load_catalog(directory))
    assert warning.message == (
        "the expression gives currency (the unit of bookings), but yearly is in percent"
    )


@pytest.mark.parametrize(
    ("unit", "compute"),
    [
        ("currency", "bookings * 12"),  # money times a number is money
        ("currency", "bookings + bookings / 2 - 100"),  # numbers fit any unit
        ("percent", "100 - win_rate"),
        ("percent", "win_rate * 100"),  # a percentage times a number may be a conversion
        ("ratio", "bookings / costs"),  # a quotient of two KPIs: its unit is not named
        ("percent", "abs(win_rate - 5)"),
    ],
)
def test_unit_sense_that_holds_or_cannot_be_judged_is_not_warned(tmp_path, unit, compute):
    directory = catalog_with(
        tmp_path,
        kpi_block("bookings", "currency", weight=0.1),
        kpi_block("costs", "currency", weight=0.1),
        kpi_block("derived", unit, compute=compute, weight=0.3),
    )
    assert of_rule(expression_warnings(load_catalog(directory)), "units") == []


def test_a_division_by_a_kpi_that_can_be_zero_is_a_warning(tmp_path):
    directory = catalog_with(
        tmp_path,
        kpi_block("sqls", "count", weight=0.1),
        kpi_block("mqls", "count", weight=0.1),
        kpi_block("conversion", compute="100 * sqls / mqls", weight=0.3),
    )
    assert expression_warnings(load_catalog(directory)) == [
        Violation(
            "division",
            "kpis.toml",
            "kpi.conversion.compute",
            "the expression divides by mqls, which can be zero (count): a period where it is "
            "zero gets no value",
        )
    ]


def test_weighted_childrens_weights_not_summing_to_one_name_the_parent_and_the_sum(tmp_path):
    # win_rate 0.5 (a weight) and pipeline 0.35 (a sensitivity edge keeps its weight):
    # 0.5 + 0.35 = 0.85.
    directory = catalog_with(tmp_path, kpi_block("pipeline", weight=0.35, sensitivity=0.2))
    assert weight_warnings(load_catalog(directory)) == [
        Violation(
            "weights",
            "kpis.toml",
            "kpi.revenue_growth",
            "Revenue Growth Rate: the weights of its 2 weighted children sum to 0.85, not 1 "
            "(win_rate 0.5, pipeline 0.35)",
        )
    ]


def test_the_children_of_a_derived_parent_are_not_summed(tmp_path):
    # total = win_rate + pipeline: both roll up to it by formula, with any weight; bonus
    # rolls up to it by weight, but a derived KPI is its expression, not a weighted sum.
    directory = catalog_with(
        tmp_path,
        kpi_block("total", compute="win_rate + pipeline", weight=0.5),
        kpi_block("pipeline", rolls_up_to="total", weight=0.9),
        kpi_block("bonus", rolls_up_to="total", weight=0.3),
    )
    catalog = load_catalog(directory)
    assert weight_warnings(catalog) == []  # revenue_growth: win_rate 0.5 + total 0.5


def test_validate_prints_the_expression_warnings_and_still_passes(tmp_path):
    directory = catalog_with(
        tmp_path,
        kpi_block("sqls", "count", weight=0.1),
        kpi_block("mqls", "count", weight=0.1),
        kpi_block("conversion", compute="100 * sqls / mqls", weight=0.3),
    )
    result = CliRunner().invoke(app, ["validate", "--catalog", str(directory)])
    assert result.exit_code == 0, result.output
    assert (
        "kpis.toml: kpi.conversion.compute: [division] warning: the expression divides by mqls"
    ) in result.output
    assert "passes every governance rule (1 warning above)" in result.output


def test_validate_fails_on_an_unknown_id_in_an_expression(tmp_path):
    directory = catalog_with(tmp_path, kpi_block("pipeline", compute="nope * 2"))
    result = CliRunner().invoke(app, ["validate", "--catalog", str(directory)])
    assert result.exit_code == 1
    assert (
        "kpis.toml: kpi.pipeline.compute: [reference] unknown KPI 'nope' in the expression"
    ) in result.output


def test_the_builtin_catalog_has_no_violation_and_no_weight_or_unit_warning():
    assert check_catalog(builtin_catalog_dir()) == []
    warnings = catalog_warnings(load_catalog(builtin_catalog_dir()))
    # A division warning is true of every ratio computed from counts; the rest would be wrong.
    assert [w for w in warnings if w.rule != "division"] == []
