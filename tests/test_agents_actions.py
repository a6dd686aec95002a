"""The agents view lists the recommended actions that fall to each agent: for each
off-target CEO KPI, the plan's steps and the levers that could do it alone, where the agent
owns the lever; worked out by hand on a small store (tests/why_store.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from intelligentos.domain.catalog.models import Agent, Catalog, Direction, Frequency, Kpi, Level
from intelligentos.domain.catalog.models import Unit as U
from intelligentos.domain.explain.actions import agent_actions
from intelligentos.domain.explain.recommend import Sigma, recommend
from intelligentos.domain.whatif.propagation import Tree
from intelligentos.tui.screens.agents import AgentsScreen
from intelligentos.tui.screens.lineage import LineageScreen
from intelligentos.tui.widgets.kpi_tree import KpiTree

from .tui_helpers import make_app, settle, wait_until
from .why_store import make_why_store


def test_an_agent_gets_the_plan_steps_and_lone_levers_it_owns():
    def kpi(kpi_id: str, target: float, **more) -> Kpi:
        return Kpi(
            id=kpi_id,
            name=kpi_id.title(),
            level=Level.FUNCTIONAL if "rolls_up_to" in more else Level.CEO,
            unit=U.PERCENT,
            direction=Direction.HIGHER,
            target=target,
            frequency=Frequency.MONTHLY,
            formula="measured",
            engine="growth",
            **more,
        )

    # Goal = a + b (derived), target 20, now 10 + 4 = 14: 6 short. σ of a: 2, of b: 1.
    catalog = Catalog(
        kpis={
            "goal": kpi("goal", 20, compute="a + b"),
            "a": kpi("a", 12, rolls_up_to="goal", owner_agent="x"),
            "b": kpi("b", 8, rolls_up_to="goal", owner_agent="y"),
        },
        agents={"x": Agent(id="x", name="X Agent"), "y": Agent(id="y", name="Y Agent")},
    )
    found = recommend(
        Tree(catalog),
        "goal",
        {"goal": 14.0, "a": 10.0, "b": 4.0},
        {"a": Sigma(2.0, 4), "b": Sigma(1.0, 4)},
    )
    # Least effort: a moves 6 × 4/5 = 4.8 (10 → 14.8, +2.4 σ), b 6 × 1/5 = 1.2 (4 → 5.2,
    # +1.2 σ); alone, a must reach 16 (+3.0 σ), b 10 (+6.0 σ).
    x = [a.sentence for a in agent_actions([found], "x")]
    assert x == ["X Agent: A 10.0% → 14.8% (+2.4 σ)", "X Agent: A 10.0% → 16.0% (+3.0 σ)"]
    y = agent_actions([found], "y")
    assert [(a.task, a.in_plan) for a in y] == [
        ("B 4.0% → 5.2% (+1.2 σ)", True),
        ("B 4.0% → 10.0% (+6.0 σ)", False),
    ]
    assert agent_actions([found], "nobody") == []


@pytest.fixture
def why_store(tmp_path: Path) -> Path:
    return make_why_store(tmp_path)


def actions_shown(tree: KpiTree) -> list[str] | None:
    for node in tree.root.children:
        if str(node.label).startswith("Recommended actions ("):
            return [str(child.label) for child in node.children]
    return None


async def test_the_agents_view_lists_each_agents_actions(why_store, tmp_path):
    cockpit = make_app(why_store, tmp_path / "config")
    async with cockpit.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("G")
        await settle(pilot)
        screen = cockpit.screen
        assert isinstance(screen, AgentsScreen)
        table = screen.query_one("#agents-table", DataTable)
        tree = screen.query_one("#playbook", KpiTree)
        table.move_cursor(row=table.get_row_index("cro"), animate=False)
        # As of 27 November NRR (99 %) and Customer Health (75) are off target. NRR's plan
        # moves expansion 3.0 → 7.6 (+2.0 σ; see tests/test_brief_why.py); alone it must
        # reach 3 + 6 = 9.0, 6/2.363 = +2.5 σ.
        cro = [
            "Net Revenue Retention plan: Renewals → Upsell: Expansion 3.0% → 7.6% (+2.0 σ)",
            "Net Revenue Retention alone: Renewals → Upsell: Expansion 3.0% → 9.0% (+2.5 σ)",
        ]
        await wait_until(pilot, lambda: actions_shown(tree) == cro)
        table.move_cursor(row=table.get_row_index("cs"), animate=False)
        # Churn alone would have to reach 4 − 6 = −2 %: not listed. CSAT is health's only
        # lever: the plan and the lever alone agree, 80.0 → 94.1 (+2.6 σ).
        cs = [
            "Net Revenue Retention plan: Renewals → Renew: Churn 4.0% → 2.6% (−1.1 σ)",
            "Customer Health plan: Renewals → Survey: CSAT 80.0% → 94.1% (+2.6 σ)",
            "Customer Health alone: Renewals → Survey: CSAT 80.0% → 94.1% (+2.6 σ)",
        ]
        await wait_until(pilot, lambda: actions_shown(tree) == cs)
        table.move_cursor(row=table.get_row_index("ceo"), animate=False)
        await wait_until(pilot, lambda: actions_shown(tree) == ["none"])
        # Enter on an action opens its lever's lineage.
        table.move_cursor(row=table.get_row_index("cro"), animate=False)
        await wait_until(pilot, lambda: actions_shown(tree) == cro)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.focused is tree
        assert tree.select_kpi("expansion")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(cockpit.screen, LineageScreen)
        assert cockpit.screen.kpi_id == "expansion"
