"""What-if on a real store whose catalog has a derived KPI and a sensitivity: the command
line and the cockpit's what-if screen show the exact move, which edge moved each KPI, and
the model's note. The catalog is written as TOML files and loaded as a user's would be."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.domain.observations import Observation
from intelligentos.services.catalog import load_catalog
from intelligentos.store import create_store
from intelligentos.tui.screens.whatif import ScenarioScreen

from .conftest import write_catalog
from .tui_helpers import make_app, settle, wait_until

runner = CliRunner()
AS_OF = "2026-11-27"

ORG = """
[engine.growth]
name = "Growth"
owners = ["cs"]
rollup_kpis = ["nrr"]

[function.cs]
name = "Customer Success"
agent = "cs"

[agent.cs]
name = "CS Agent"
function = "cs"

[agent.ceo]
name = "CEO Agent"

[system.billing]
name = "Billing"
[system.billing.tables]
subscription = ["mrr", "status"]
survey = ["score"]

[workflow.renewals]
name = "Renewals"
owner_function = "cs"
[[workflow.renewals.steps]]
id = "renew"
name = "Renew"
system = "billing"
"""

LINEAGE = """
[[kpi.{id}.lineage]]
metric = "Subscriptions"
workflow = "renewals"
step = "renew"
fields = ["billing.subscription.mrr"]
"""


def measured(kpi_id: str, name: str, *, target: float, parent: str, extra: str = "") -> str:
    return f"""
[kpi.{kpi_id}]
name = "{name}"
level = "functional"
unit = "percent"
direction = "{"higher" if kpi_id in ("expansion", "csat") else "lower"}"
target = {target}
frequency = "monthly"
formula = "{name}"
engine = "growth"
owner_function = "cs"
rolls_up_to = "{parent}"
{extra}
""" + LINEAGE.format(id=kpi_id)


# nrr = 100 + expansion − contraction − logo_churn (derived); health is measured, and csat
# moves it by a sensitivity of 0.5 points per point.
KPIS = (
    """
[kpi.nrr]
name = "Net Revenue Retention"
level = "ceo"
unit = "percent"
direction = "higher"
target = 105
frequency = "monthly"
formula = "100 + expansion - contraction - churn"
compute = "100 + expansion - contraction - logo_churn"
engine = "growth"
owner_function = "cs"
owner_agent = "ceo"
"""
    + LINEAGE.format(id="nrr")
    + """
[kpi.health]
name = "Customer Health"
level = "ceo"
unit = "score"
direction = "higher"
target = 80
frequency = "monthly"
formula = "health score"
engine = "growth"
owner_function = "cs"
owner_agent = "ceo"
"""
    + LINEAGE.format(id="health")
    + measured("expansion", "Expansion", target=8, parent="nrr", extra="weight = 0.4")
    + measured("contraction", "Contraction", target=2, parent="nrr", extra="weight = 0.3")
    + measured("logo_churn", "Logo Churn", target=2, parent="nrr", extra="weight = 0.3")
    + measured("csat", "CSAT", target=90, parent="health", extra="sensitivity = 0.5")
)
# November: 100 + 6.0 − 2.5 − 3.1 = 100.4; October: 100 + 5.5 − 2.0 − 3.0 = 100.5.
MONTHS = {
    "2026-10-01": {"expansion": 5.5, "contraction": 2.0, "logo_churn": 3.0, "csat": 84.0},
    "2026-11-01": {"expansion": 6.0, "contraction": 2.5, "logo_churn": 3.1, "csat": 85.0},
}
HEALTH = {"2026-10-01": 70.0, "2026-11-01": 71.0}


@pytest.fixture
def derived_store(tmp_path: Path) -> Path:
    catalog = load_catalog(
        write_catalog(tmp_path / "catalog", {"org.toml": ORG, "kpis.toml": KPIS})
    )
    assert catalog.kpis["nrr"].derived and catalog.kpis["csat"].sensitivity == 0.5
    observations = []
    for period, values in MONTHS.items():
        observations += [Observation(k, period, v) for k, v in values.items()]
        nrr = 100 + values["expansion"] - values["contraction"] - values["logo_churn"]
        observations += [
            Observation("nrr", period, nrr),
            Observation("health", period, HEALTH[period]),
        ]
    return create_store(tmp_path / "saas.db", catalog, observations)


def whatif_json(store: Path, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["whatif", *args, "--db", str(store), "--as-of", AS_OF, "--json"])
    assert result.exit_code == 0, result.output
    record: dict[str, Any] = json.loads(result.stdout)
    return record


def test_the_command_line_moves_nrr_by_one_point_for_one_point_of_churn(derived_store):
    record = whatif_json(derived_store, "logo_churn-=1")
    assert record["model"] == "formulas exact"
    nrr = {k["id"]: k for k in record["kpis"]}["nrr"]
    # 100 + 6.0 − 2.5 − 2.1 = 101.4
    assert nrr["current"] == pytest.approx(100.4)
    assert nrr["projected"] == pytest.approx(101.4)
    assert nrr["moved_by"] == ["formula"] and nrr["implausible"] is False
    # csat +2 → health +0.5 × 2 = +1: 71 → 72.
    health = {k["id"]: k for k in whatif_json(derived_store, "csat+=2")["kpis"]}["health"]
    assert health["projected"] == pytest.approx(72) and health["moved_by"] == ["sensitivity"]
    # The table says the same, with the note and how each KPI moved.
    result = runner.invoke(
        app,
        ["whatif", "logo_churn-=1", "csat+=2", "--db", str(derived_store), "--as-of", AS_OF],
        env={"COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output
    text = result.output
    assert "formulas exact; sensitivities linear" in " ".join(text.split())
    assert "101.4%" in text and "by formula" in text and "by sensitivity" in text


def test_goal_seek_on_the_command_line(derived_store):
    # nrr must gain 4.6 points: expansion 6.0 → 10.6.
    seek = whatif_json(derived_store, "--goal", "nrr", "--lever", "expansion")
    assert seek["model"] == "formulas exact"
    assert seek["required"] == pytest.approx(10.6)
    assert seek["reason"] == "linear path: nrr moves +1 per unit of expansion"


async def test_the_what_if_screen_shows_the_exact_move(derived_store, tmp_path):
    cockpit = make_app(derived_store, tmp_path / "config")
    async with cockpit.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        cockpit.navigator.scenario("logo_churn")
        await settle(pilot)
        screen = cockpit.screen
        assert isinstance(screen, ScenarioScreen)
        # The catalog's model: expressions and a sensitivity, no plain weight.
        title = str(screen.query_one("#scenario-title", Static).render())
        assert "formulas exact; sensitivities linear" in title
        box = screen.query_one("#scenario-levers", Input)
        box.value = ""
        await pilot.press(*"logo_churn-=1", "enter")
        table = screen.query_one("#scenario-table", DataTable)
        await wait_until(pilot, lambda: "nrr" in [key.value for key in table.rows])
        cells = [str(cell) for cell in table.get_row("nrr")]
        # 100 + 6.0 − 2.5 − 2.1 = 101.4: one point.
        assert "100.4%" in cells[1] and "101.4%" in cells[2] and "+1.0 pt" in cells[3]
        assert "formula" in cells[4]
        ceo = str(screen.query_one("#scenario-ceo", Static).render())
        assert "101.4%" in ceo and "(formulas exact)" in ceo
