"""The lineage screen's Why pane: the waterfall's bars by hand, then the real cockpit on the
demo store, driven with keys: why a KPI moved, its root causes, the gap to target, and for a
KPI off target the recommendations and the plan opened in the what-if screen."""

from __future__ import annotations

from datetime import date

import pytest
from textual.widgets import Footer, Input, OptionList, Static

from intelligentos.domain.catalog.models import Direction, Frequency, Kpi, Level
from intelligentos.domain.explain.model import Basis, Contribution, Explanation
from intelligentos.domain.rollup import EdgeKind
from intelligentos.domain.units import Unit
from intelligentos.services.explain import ExplainRequest, explain_kpi, recommend_kpi
from intelligentos.store import Store
from intelligentos.tui.screens.lineage import LineageScreen
from intelligentos.tui.screens.whatif import ScenarioScreen
from intelligentos.tui.widgets.why_pane import Bar, WaterfallPlot, WhyPane, delta_text, waterfall

from .tui_helpers import make_app, settle, wait_until

SIZE = (120, 40)
AS_OF = date(2026, 11, 27)  # the fixed clock's day (tests/tui_helpers.py FIXED_NOW)


def kpi(kpi_id: str, unit: str = "percent", target: float | None = 40.0) -> Kpi:
    return Kpi(
        id=kpi_id,
        name=kpi_id.upper(),
        level=Level.FUNCTIONAL,
        unit=Unit(unit),
        direction=Direction.HIGHER,
        target=target,
        frequency=Frequency.MONTHLY,
        formula="a / b",
        engine="growth",
    )


def part(child: Kpi, contribution: float, contribution_p: float) -> Contribution:
    return Contribution(
        kpi=child,
        parent_id="p",
        depth=1,
        edge=EdgeKind.WEIGHT,
        path_weight=0.1,
        value_from=0.0,
        value_to=0.0,
        delta_p=0.0,
        contribution_p=contribution_p,
        contribution=contribution,
        share=None,
    )


def explanation(basis: Basis = Basis.CHANGE) -> Explanation:
    # P goes 40.0 → 43.0 (target 40, so Δp = 3 / 40 = 0.075); A explains −2.0 (−0.05 in
    # performance), B +1.0 (+0.025); the residual is 3.0 − (−2.0 + 1.0) = +4.0 (0.1).
    a, b = part(kpi("a"), -2.0, -0.05), part(kpi("b"), 1.0, 0.025)
    return Explanation(
        kpi=kpi("p"),
        basis=basis,
        period_from="2026-10-01",
        period_to="2026-11-01",
        value_from=40.0,
        value_to=43.0,
        delta_p=0.075,
        explained_p=-0.025,
        residual_p=0.1,
        residual=4.0,
        contributions=(a, b),
        root_causes=(),
        children=(a, b),
    )


def test_each_step_of_the_waterfall_starts_where_the_one_before_it_ended():
    assert waterfall(explanation()) == [
        Bar("start", 40.0, 40.0, "total", 40.0),
        Bar("A", 38.0, 40.0, "bad", -2.0),  # 40 − 2 = 38
        Bar("B", 38.0, 39.0, "good", 1.0),  # 38 + 1 = 39
        Bar("residual", 39.0, 43.0, "residual", 4.0),  # 39 + 4 = 43, the end
        Bar("end", 43.0, 43.0, "total", 43.0),
    ]


def test_contributions_beyond_the_cap_add_up_in_one_bar_and_target_names_the_ends():
    bars = waterfall(explanation(Basis.TARGET), cap=1)
    assert [b.label for b in bars] == ["target", "A", "1 others", "residual", "now"]
    assert bars[2] == Bar("1 others", 38.0, 39.0, "good", 1.0)


def test_a_change_reads_in_the_kpis_unit():
    assert delta_text(2.0, Unit.PERCENT) == "+2.0 pt"
    assert delta_text(-72_300.0, Unit.CURRENCY) == "−$72.3k"
    assert delta_text(-1.5, Unit.DAYS) == "−1.5 d"


# --- the cockpit --------------------------------------------------------------------------


@pytest.fixture
def app(demo_store, tmp_path):
    return make_app(demo_store, tmp_path / "config")


async def open_why(pilot, kpi_id: str) -> WhyPane:
    await settle(pilot)
    pilot.app.navigator.open_lineage(kpi_id)
    await settle(pilot)
    assert isinstance(pilot.app.screen, LineageScreen)
    await pilot.press("w")
    pane = pilot.app.screen.query_one(WhyPane)
    await wait_until(pilot, lambda: pane.explanation is not None or pane.recommendations)
    await settle(pilot)
    return pane


def text_of(pane: WhyPane, selector: str) -> str:
    return str(pane.query_one(selector, Static).render())


async def test_w_shows_why_revenue_growth_moved_with_its_residual_and_root_causes(app, demo_store):
    with Store.open(demo_store, readonly=True) as store:
        expected = explain_kpi(store, ExplainRequest("revenue_growth", AS_OF))
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_why(pilot, "revenue_growth")
        assert pane.display and not app.screen.query_one("#details").display
        shown = pane.explanation
        assert shown is not None and shown.kpi.id == "revenue_growth"
        assert (shown.value_from, shown.value_to) == (expected.value_from, expected.value_to)
        header = text_of(pane, "#why-header")
        assert "Revenue Growth Rate" in header and "its own data" in header
        bars = pane.query_one(WaterfallPlot).bars
        # Start, one bar per direct child (six at most, the rest in one), residual, end.
        steps = min(len(expected.children), 6) + (len(expected.children) > 6)
        assert len(bars) == steps + 3
        assert bars[-2].kind == "residual" and bars[-2].amount == expected.residual
        # The steps walk from the start value to the end value.
        level = bars[0].amount
        for bar in bars[1:-1]:
            level += bar.amount
        assert level == pytest.approx(bars[-1].amount)
        causes = pane.query_one("#why-causes", OptionList)
        assert [causes.get_option_at_index(i).id for i in range(causes.option_count)] == [
            c.kpi.id for c in expected.root_causes
        ]
        footer = app.screen.query_one(Footer)
        assert sum(item.size.width for item in footer.query("FooterKey")) <= 118


async def test_enter_on_a_root_cause_drills_the_lineage_into_it(app, demo_store):
    with Store.open(demo_store, readonly=True) as store:
        causes = explain_kpi(store, ExplainRequest("revenue_growth", AS_OF)).root_causes
    below = [i for i, c in enumerate(causes) if c.kpi.id != "revenue_growth"]
    assert below, "the demo's revenue growth has a root cause below it"
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_why(pilot, "revenue_growth")
        assert pane.query_one("#why-causes", OptionList).has_focus
        await pilot.press(*["down"] * below[0], "enter")  # the largest is highlighted
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LineageScreen)
        assert screen.kpi_id == causes[below[0]].kpi.id
        assert not pane.display  # closed: the lineage shows the root cause
        await pilot.press("escape")  # back along the trail
        await settle(pilot)
        assert screen.kpi_id == "revenue_growth"


async def test_v_explains_the_gap_to_target_and_back(app):
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_why(pilot, "revenue_growth")
        await pilot.press("v")
        await wait_until(pilot, lambda: pane.explanation is not None)
        assert pane.explanation.basis is Basis.TARGET
        assert pane.explanation.value_from == 40.0  # revenue growth's catalog target
        assert "against its target 40.0%" in text_of(pane, "#why-header")
        assert pane.query_one(WaterfallPlot).bars[0].label == "target"
        await pilot.press("v")
        await wait_until(pilot, lambda: pane.explanation is not None)
        assert pane.explanation.basis is Basis.CHANGE
        await pilot.press("escape")  # closes the pane, not the screen
        await settle(pilot)
        assert isinstance(app.screen, LineageScreen) and not pane.display


def off_target_ceo_kpi(path) -> str:
    """The first CEO KPI the store says misses its target (whichever the demo data makes)."""
    with Store.open(path, readonly=True) as store:
        catalog = store.read_catalog()
        for kpi in catalog.ceo_kpis():
            if kpi.target is not None and not recommend_kpi(store, kpi.id, AS_OF, catalog).met:
                return kpi.id
    raise AssertionError("no CEO KPI is off target in the demo store")


async def test_an_off_target_kpi_shows_what_to_do_and_o_opens_the_plan_in_what_if(app, demo_store):
    goal = off_target_ceo_kpi(demo_store)
    with Store.open(demo_store, readonly=True) as store:
        expected = recommend_kpi(store, goal, AS_OF)
    assert expected.plan is not None and expected.plan.lands
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_why(pilot, goal)
        await wait_until(pilot, lambda: pane.recommendations is not None)
        advice = text_of(pane, "#why-recommend")
        assert "What to do" in advice and "Plan" in advice
        first = expected.recommendations[0]
        assert first.lever.name in advice
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, ScenarioScreen))
        await settle(pilot)
        screen = app.screen
        assert screen.query_one("#scenario-levers", Input).value == ", ".join(expected.plan.levers)
        projected = next(p for p in screen.outcome.kpis if p.kpi.id == goal)
        # The what-if screen itself projects the goal onto its target.
        assert projected.projected == pytest.approx(expected.target, abs=1e-6)
        assert "Plan for" in str(screen.query_one("#scenario-goal", Static).render())
        assert screen.selected_kpi_id() == goal


async def test_an_on_target_kpi_says_so_in_one_line(app, demo_store):
    with Store.open(demo_store, readonly=True) as store:
        ceo = [k.id for k in store.read_catalog().ceo_kpis()]
        on_target = next(k for k in ceo if recommend_kpi(store, k, AS_OF).met)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_why(pilot, on_target)
        await wait_until(pilot, lambda: pane.recommendations is not None)
        advice = text_of(pane, "#why-recommend")
        assert "is on target" in advice and "\n" not in advice.strip()
        await pilot.press("o")  # no plan: nothing opens
        await settle(pilot)
        assert isinstance(app.screen, LineageScreen)


async def test_the_palette_opens_the_why_pane(app):
    from .test_tui_scenarios import palette

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.navigator.open_lineage("revenue_growth")
        await settle(pilot)
        await palette(pilot, "Why did it move")
        pane = app.screen.query_one(WhyPane)
        await wait_until(pilot, lambda: pane.explanation is not None)
        assert pane.display and pane.kpi_id == "revenue_growth"


async def test_a_failing_explanation_is_reported(app, monkeypatch):
    import intelligentos.services.explain as service

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "explain_kpi", broken)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.navigator.open_lineage("revenue_growth")
        await settle(pilot)
        await pilot.press("w")
        await wait_until(pilot, lambda: any("disk on fire" in n.message for n in app.notices))
        notice = next(n for n in app.notices if "disk on fire" in n.message)
        assert notice.title == "Explaining the KPI failed" and notice.severity == "error"


def test_help_lists_the_why_keys():
    from intelligentos.tui.screens.help import binding_rows, cockpit_bindings

    listed = set(binding_rows(cockpit_bindings(), {}))
    assert ("Lineage", "w", "Why") in listed
    assert ("Why pane", "v", "Vs change/target") in listed
    assert ("Why pane", "o", "Plan in what-if") in listed
    remapped = set(binding_rows(cockpit_bindings(), {"lineage-why": "y"}))
    assert ("Lineage", "y", "Why") in remapped


async def test_time_travel_explains_as_of_the_date_viewed(app, demo_store):
    # Five weeks back: 2026-11-27 − 35 days = 2026-10-23, so the latest month is October.
    earlier = date(2026, 10, 23)
    with Store.open(demo_store, readonly=True) as store:
        expected = explain_kpi(store, ExplainRequest("revenue_growth", earlier))
    assert expected.period_to.startswith("2026-10-01")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_why(pilot, "revenue_growth")
        assert pane.explanation is not None and pane.explanation.period_to.startswith("2026-11")
        await pilot.press(*["less_than_sign"] * 5)
        await wait_until(
            pilot,
            lambda: (
                pane.explanation is not None and pane.explanation.period_to == expected.period_to
            ),
        )
        await settle(pilot)
        assert pane.explanation.value_to == expected.value_to
        assert pane.explanation.value_from == expected.value_from


async def test_a_kpi_with_nothing_below_it_owns_its_whole_move(app, demo_store):
    with Store.open(demo_store, readonly=True) as store:
        expected = explain_kpi(store, ExplainRequest("utilization", AS_OF))
    assert not expected.children
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_why(pilot, "utilization")
        assert "the change is its own" in text_of(pane, "#why-header")
        start, residual, end = pane.query_one(WaterfallPlot).bars
        # Nothing explains it: the residual is the whole change, end − start.
        assert residual.kind == "residual"
        assert residual.amount == pytest.approx(end.amount - start.amount)
        assert (start.amount, end.amount) == (expected.value_from, expected.value_to)
