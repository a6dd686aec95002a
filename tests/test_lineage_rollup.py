"""The lineage of a derived KPI and of a weighted parent: the expression with its inputs and
their values (the CLI and the cockpit), and each child edge's type with the catalog's slope
beside history's (the cockpit, fitted in a worker), on a real SQLite store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.domain.observations import Observation
from intelligentos.services.catalog import load_catalog
from intelligentos.store import create_store
from intelligentos.tui.messages import OpenLineage
from intelligentos.tui.screens.lineage import LineageScreen

from .conftest import MINI_CATALOG, write_catalog
from .tui_helpers import make_app, settle, wait_until

FUNNEL = """
[kpi.conversion]
name = "MQL to SQL Conversion"
level = "functional"
unit = "percent"
direction = "higher"
target = 20.0
frequency = "monthly"
formula = "SQLs / MQLs"
compute = "100 * sqls / mqls"
engine = "growth"
owner_function = "sales"
rolls_up_to = "revenue_growth"
weight = 0.5
[[kpi.conversion.lineage]]
metric = "Leads"
workflow = "opportunity_management"
step = "close"
fields = ["crm.opportunity.stage"]
"""


def _count_kpi(kpi_id: str, name: str) -> str:
    return f"""
[kpi.{kpi_id}]
name = "{name}"
level = "leading"
unit = "count"
direction = "higher"
target = 100.0
frequency = "monthly"
formula = "Count of {name}"
engine = "growth"
owner_function = "sales"
rolls_up_to = "conversion"
weight = 0.5
[[kpi.{kpi_id}.lineage]]
metric = "Leads"
workflow = "opportunity_management"
step = "close"
fields = ["crm.opportunity.stage"]
"""


def _months(count: int) -> list[str]:
    return [date(2024 + m // 12, m % 12 + 1, 1).isoformat() for m in range(count)]


@pytest.fixture
def funnel_store(tmp_path: Path) -> Path:
    """The mini catalog, Win Rate monthly (weight 0.5 to Revenue Growth Rate) beside a
    derived conversion (weight 0.5) computed from SQL and MQL counts (its formula edges).
    Revenue Growth's changes are exactly 2 × Win Rate's + 1, over 8 months of changes."""
    files = dict(MINI_CATALOG)
    kpis = files["kpis.toml"].replace('frequency = "weekly"', 'frequency = "monthly"')
    files["kpis.toml"] = (
        kpis + FUNNEL + _count_kpi("sqls", "Sales Qualified Leads") + _count_kpi("mqls", "MQLs")
    )
    catalog = load_catalog(write_catalog(tmp_path / "catalog", files))
    months = _months(9)
    child, parent = [20.0], [30.0]
    for x in (-3, -2, -1, 0, 0, 1, 2, 3):
        child.append(child[-1] + x)
        parent.append(parent[-1] + 2 * x + 1)
    rows = [Observation("win_rate", m, v) for m, v in zip(months, child, strict=True)]
    rows += [Observation("revenue_growth", m, v) for m, v in zip(months, parent, strict=True)]
    rows += [Observation("sqls", m, 40.0) for m in months]
    rows += [Observation("mqls", m, 250.0) for m in months]
    path = tmp_path / "funnel.db"
    create_store(path, catalog, rows)
    return path


def test_cli_lineage_shows_a_derived_kpis_expression_and_its_inputs(funnel_store):
    result = CliRunner().invoke(app, ["lineage", "conversion", "--db", str(funnel_store)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "MQL to SQL Conversion = 100 * sqls / mqls"
    assert lines[1].startswith("  Sales Qualified Leads (sqls)  40 ")
    assert lines[2].startswith("  MQLs (mqls)  250 ")
    measured = CliRunner().invoke(app, ["lineage", "win_rate", "--db", str(funnel_store)])
    assert " = " not in measured.output.splitlines()[0]  # a measured KPI: the tree only


def _details(screen: LineageScreen) -> str:
    """The details pane's text: the KPI's details, then (below its chart) its children."""
    return "\n".join(
        str(screen.query_one(selector).render()) for selector in ("#details-text", "#rollup")
    )


async def _open(pilot, kpi_id: str) -> LineageScreen:
    app = pilot.app
    await wait_until(pilot, lambda: app.data is not None)
    app.post_message(OpenLineage(kpi_id))
    await wait_until(pilot, lambda: isinstance(app.screen, LineageScreen))
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, LineageScreen) and screen.kpi_id == kpi_id
    return screen


async def test_the_details_show_a_derived_kpis_expression_and_its_inputs(funnel_store, tmp_path):
    app = make_app(funnel_store, tmp_path / "config")
    async with app.run_test(size=(140, 50)) as pilot:
        screen = await _open(pilot, "conversion")
        details = _details(screen)
        assert "Computed 100 * sqls / mqls" in details
        assert "Sales Qualified Leads (sqls)  40" in details
        assert "MQLs (mqls)  250" in details
        # Its children roll up by formula: nothing to fit.
        assert "Sales Qualified Leads  formula: read by its expression" in details


async def test_the_details_show_each_weighted_childs_slopes_fitted_in_a_worker(
    funnel_store, tmp_path
):
    app = make_app(funnel_store, tmp_path / "config")
    async with app.run_test(size=(140, 50)) as pilot:
        screen = await _open(pilot, "revenue_growth")
        await wait_until(pilot, lambda: "history +" in _details(screen))
        details = _details(screen)
        # Catalog: 0.5 × scale 30 / scale 25 = 0.6 pt per pt; history: exactly 2 pt per pt
        # (changes 2x + 1), R² 1, 8 monthly changes.
        assert "Win Rate  weight" in details
        assert "catalog 0.50 → +0.6 pt of Revenue Growth Rate per pt" in details
        assert "history +2.0 pt per pt, R² 1.00, 8 monthly changes" in details
        assert "MQL to SQL Conversion  weight" in details
        assert "revenue_growth" in screen.calibrations  # fitted once, kept for the screen
        # Below the chart, however many children there are: the chart stays in view.
        assert "Rolls up from" not in str(screen.query_one("#details-text").render())
