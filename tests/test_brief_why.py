"""The brief's "Why it moved" and "Recommended actions": which CEO KPIs they cover, and what
they say, worked out by hand on a hand-built catalog (domain) and on a small store (services
and the command), in every format, for the CEO and for an agent."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.domain.brief.compose import BriefFacts, build_brief
from intelligentos.domain.brief.render import to_html, to_markdown, to_record
from intelligentos.domain.brief.why import week_reason
from intelligentos.domain.catalog.models import (
    Agent,
    Catalog,
    Direction,
    Frequency,
    Kpi,
    Level,
    Unit,
)
from intelligentos.domain.explain.model import explain
from intelligentos.domain.explain.recommend import Sigma, recommend
from intelligentos.domain.lineage import LineageGraph
from intelligentos.domain.observations import Observation
from intelligentos.domain.whatif.propagation import Tree
from intelligentos.services.brief import make_brief
from intelligentos.store import Store

from .why_store import make_why_store

runner = CliRunner()
AS_OF = date(2026, 11, 7)  # the week 2026-11-01 – 2026-11-07 holds November's values


def kpi(kpi_id: str, name: str, unit: Unit, target: float, **more) -> Kpi:
    return Kpi(
        id=kpi_id,
        name=name,
        level=Level.CEO if "rolls_up_to" not in more else Level.FUNCTIONAL,
        unit=unit,
        direction=Direction.HIGHER,
        target=target,
        frequency=Frequency.MONTHLY,
        formula="measured",
        engine="growth",
        **more,
    )


# Customer Health (score, target 80) with CSAT (percent, target 90) rolling up by 0.4.
CATALOG = Catalog(
    kpis={
        "health": kpi("health", "Customer Health", Unit.SCORE, 80),
        "csat": kpi(
            "csat", "CSAT", Unit.PERCENT, 90, rolls_up_to="health", weight=0.4, owner_agent="cs"
        ),
    },
    agents={"cs": Agent(id="cs", name="CS Agent")},
)
START = {"health": 80.0, "csat": 90.0}
END = {"health": 60.0, "csat": 80.0}


def facts(explanations=None, recommendations=None) -> BriefFacts:
    windows = {k: [("2026-10-01", START[k]), ("2026-11-01", END[k])] for k in START}
    return BriefFacts(
        catalog=CATALOG,
        graph=LineageGraph(CATALOG),
        as_of=AS_OF,
        windows=windows,
        events=(),
        alerts={},
        open_alerts=(),
        projections={},
        scenarios=(),
        explanations=explanations or {},
        recommendations=recommendations or {},
    )


def test_which_kpis_moved_beyond_their_warning_band_or_changed_status():
    health = CATALOG.kpis["health"]  # warning 5 % of 80: a band of 4.0 pt
    assert week_reason(health, 84.0, 80.0) == "beyond its warning band (±4.0 pt)"
    assert week_reason(health, 83.0, 80.0) is None  # 3 pt, and ok both times
    # 3 pt, but 76.5 is 4.4 % short and 75.5 is 5.6 % short: ok → warning.
    assert week_reason(health, 78.5, 75.5) == "status ok → warning"
    assert week_reason(health, 80.0, 60.0) == (
        "beyond its warning band (±4.0 pt); status ok → critical"
    )
    assert week_reason(health, None, 60.0) is None  # no value before the week
    assert week_reason(health, 60.0, 60.0) is None


def test_the_domain_composes_the_sections_from_an_explanation_and_a_plan():
    tree = Tree(CATALOG)
    explanation = explain(
        tree, "health", START, END, period_from="2026-10-01", period_to="2026-11-01"
    )
    # σ of CSAT: 5 pt.
    plan = recommend(tree, "health", END, {"csat": Sigma(5.0, 4)})
    brief = build_brief(facts({"health": explanation}, {"health": plan}))
    text = to_markdown(brief)
    # Health 80 → 60: Δp = −20/80 = −0.25. CSAT 90 → 80: 0.4 × (−10/90) = −0.04444 of
    # health's performance, × 80 = −3.6 pt, 0.04444/0.25 = 18 % of the move. Health's own
    # data: −0.25 + 0.04444 = −0.20556, × 80 = −16.4 pt, 82 %.
    assert "### Customer Health: 80.0 → 60.0 (−20.0 pt)" in text
    assert "- **Listed:** beyond its warning band (±4.0 pt); status ok → critical" in text
    assert "- **Compared:** 2026-10-01 with 2026-11-01" in text
    assert "  - CSAT: −3.6 pt (18 % of the move); itself 90.0% → 80.0% (−10.0 pt)" in text
    assert (
        "- **Its own data** (what the KPIs below do not explain): −16.4 pt (82 % of the move)"
        in text
    )
    assert (
        "- **Root causes:** Customer Health's own data (82 % of the move); CSAT (18 % of the "
        "move): CS Agent"
    ) in text
    # Back to 80 needs CSAT + 20 / (0.4 × 80/90) = +56.25: beyond 100 %, where it stops:
    # +20 pt is 20/5 = +4.0 σ, and health reaches 60 + 20 × 0.35556 = 67.1.
    assert "### Customer Health: 60.0, target 80.0 (■ critical)" in text
    assert "1. CS Agent: CSAT 80.0% → 100.0% (+4.0 σ), at its limit" in text
    assert (
        "The plan (1 lever) does not reach 80.0: the levers with a σ reach their limits "
        "before the goal reaches its aim; it brings Customer Health to 67.1."
    ) in text
    record = to_record(brief)
    [why] = record["why_it_moved"]
    assert why["contributors"][0]["share"] == pytest.approx(0.4 * 10 / 90 / 0.25, abs=1e-6)
    assert why["residual"] == pytest.approx(-0.205556 * 80, abs=1e-3)
    assert [c["own_data"] for c in why["root_causes"]] == [True, False]
    [actions] = record["recommended_actions"]
    assert actions["lands"] is False
    assert actions["actions"][0]["change_sigma"] == pytest.approx(4.0)
    assert actions["actions"][0]["text"] == "CS Agent: CSAT 80.0% → 100.0% (+4.0 σ), at its limit"


def test_a_kpi_that_could_not_be_explained_says_why():
    problem = "Customer Health (health) has no observation on or before 2026-10-31"
    brief = build_brief(facts({"health": problem}, {"health": "no target"}))
    text = to_markdown(brief)
    assert f"- **Not explained:** {problem}" in text
    assert "No recommendation: no target" in text


def test_nothing_moved_and_nothing_off_target_is_said_so():
    calm = {k: [("2026-10-01", 80.0), ("2026-11-01", 81.0)] for k in ("health",)}
    calm["csat"] = [("2026-10-01", 90.0), ("2026-11-01", 91.0)]
    brief = build_brief(
        BriefFacts(
            catalog=CATALOG,
            graph=LineageGraph(CATALOG),
            as_of=AS_OF,
            windows=calm,
            events=(),
            alerts={},
            open_alerts=(),
            projections={},
            scenarios=(),
        )
    )
    assert brief.why == () and brief.actions == ()
    text = to_markdown(brief)
    assert "No CEO KPI moved by its warning band or changed status this week." in text
    assert "## Recommended actions\n\nNo CEO KPI is off target." in text


# --- on a store -----------------------------------------------------------------------------


@pytest.fixture
def why_store(tmp_path: Path) -> Path:
    return make_why_store(tmp_path)


def brief_text(path: Path, as_of: date = AS_OF, agent: str | None = None) -> str:
    with Store.open(path, readonly=True) as store:
        return to_markdown(make_brief(store, as_of, agent))


def test_the_ceo_brief_explains_each_kpi_that_moved_this_week(why_store):
    text = brief_text(why_store)
    why = text[text.index("## Why it moved") : text.index("## Top risks")]
    # NRR 105 → 99 (see tests/why_store.py): expansion −4 pt (67 %), churn −2 pt (33 %).
    assert "### Net Revenue Retention: 105.0% → 99.0% (−6.0 pt)" in why
    assert "- **Listed:** beyond its warning band (±4.2 pt); status ok → warning" in why
    assert "  - Expansion: −4.0 pt (67 % of the move); itself 7.0% → 3.0% (−4.0 pt)" in why
    assert "  - Churn: −2.0 pt (33 % of the move); itself 2.0% → 4.0% (+2.0 pt)" in why
    assert (
        "- **Root causes:** Expansion (67 % of the move): CRO Agent, Renewals → Upsell, "
        "Billing; Churn (33 % of the move): CS Agent, Renewals → Renew, Billing"
    ) in why
    # Health 80 → 75: CSAT −3.6 pt (71 %), its own data −1.4 pt (29 %).
    assert "### Customer Health: 80.0 → 75.0 (−5.0 pt)" in why
    assert "  - CSAT: −3.6 pt (71 % of the move); itself 90.0% → 80.0% (−10.0 pt)" in why
    assert "(what the KPIs below do not explain): −1.4 pt (29 % of the move)" in why
    # A formula explains its whole move: no "own data" line for NRR.
    assert why.count("**Its own data**") == 1


def test_the_ceo_brief_recommends_the_first_levers_of_each_plan(why_store):
    text = brief_text(why_store)
    actions = text[text.index("## Recommended actions") : text.index("## Stale")]
    # NRR short by 6 pt; σ² of expansion's changes (+1, −1, +1, −4) = 16.75/3 = 67/12, of
    # churn's (0, +1, −1, +2) = 5/3 = 20/12. The least-effort plan moves each by
    # 6 × σ² × slope / Σ σ² slope² (slopes +1 and −1): expansion +6 × 67/87 = +4.62
    # (3.0 → 7.6, 4.62/2.363 = +2.0 σ), churn −6 × 20/87 = −1.38 (4.0 → 2.6, −1.38/1.291 =
    # −1.1 σ).
    assert "### Net Revenue Retention: 99.0%, target 105.0% (▲ warning)" in actions
    assert (
        "1. CRO Agent: Renewals → Upsell: Expansion 3.0% → 7.6% (+2.0 σ)\n"
        "2. CS Agent: Renewals → Renew: Churn 4.0% → 2.6% (−1.1 σ)\n\n"
        "The plan (2 levers) brings Net Revenue Retention to 105.0%."
    ) in actions
    # Health short by 5: CSAT moves it 0.4 × 80/90 = 0.3556 per pt, so +14.06 pt (80.0 →
    # 94.1); σ of CSAT's changes (+2, −1, +1, −10) = √(90/3) = 5.477: +2.6 σ.
    assert "1. CS Agent: Renewals → Survey: CSAT 80.0% → 94.1% (+2.6 σ)" in actions


def test_an_agents_brief_lists_only_the_actions_that_fall_to_it(why_store):
    cro = brief_text(why_store, agent="cro")
    actions = cro[cro.index("## Recommended actions") : cro.index("## Stale")]
    assert "1. CRO Agent: Renewals → Upsell: Expansion 3.0% → 7.6% (+2.0 σ)" in actions
    assert "CS Agent" not in actions and "Customer Health" not in actions
    # It moves NRR only: its "Why it moved" covers NRR, not Customer Health.
    why = cro[cro.index("## Why it moved") : cro.index("## Top risks")]
    assert "### Net Revenue Retention" in why and "### Customer Health" not in why
    cs = brief_text(why_store, agent="cs")
    actions = cs[cs.index("## Recommended actions") : cs.index("## Stale")]
    assert "1. CS Agent: Renewals → Renew: Churn 4.0% → 2.6% (−1.1 σ)" in actions
    assert "1. CS Agent: Renewals → Survey: CSAT 80.0% → 94.1% (+2.6 σ)" in actions
    assert "CRO Agent" not in actions


def test_every_format_carries_the_sections(why_store):
    with Store.open(why_store, readonly=True) as store:
        brief = make_brief(store, AS_OF)
    record = json.loads(json.dumps(to_record(brief)))
    nrr = record["why_it_moved"][0]
    assert (nrr["id"], nrr["status"]) == ("nrr", {"from": "ok", "to": "warning"})
    assert [c["id"] for c in nrr["contributors"]] == ["expansion", "churn"]
    assert [c["contribution"] for c in nrr["contributors"]] == pytest.approx([-4.0, -2.0])
    assert nrr["residual"] == pytest.approx(0.0, abs=1e-9)
    plan = record["recommended_actions"][0]
    assert [a["lever"] for a in plan["actions"]] == ["expansion", "churn"]
    assert [a["value"] for a in plan["actions"]] == pytest.approx([3 + 402 / 87, 4 - 120 / 87])
    assert plan["lands"] is True
    page = to_html(brief)
    assert "<h2>Why it moved</h2>" in page and "<h2>Recommended actions</h2>" in page
    assert "CRO Agent: Renewals → Upsell: Expansion 3.0% → 7.6% (+2.0 σ)" in page


def test_a_past_weeks_brief_reads_the_same_after_new_data(why_store):
    before = brief_text(why_store)
    with Store.open(why_store) as store:
        # December: everything recovers; the brief of the first week of November is history.
        store.upsert_observations(
            [
                Observation("expansion", "2026-12-01", 8.0),
                Observation("churn", "2026-12-01", 1.0),
                Observation("nrr", "2026-12-01", 107.0),
                Observation("csat", "2026-12-01", 95.0),
                Observation("health", "2026-12-01", 82.0),
            ]
        )
    assert brief_text(why_store) == before


def test_a_week_without_a_new_value_moved_nothing_but_still_has_its_actions(why_store):
    text = brief_text(why_store, date(2026, 11, 27))
    assert "No CEO KPI moved by its warning band or changed status this week." in text
    assert "1. CRO Agent: Renewals → Upsell: Expansion 3.0% → 7.6% (+2.0 σ)" in text


def test_the_command_prints_the_sections(why_store):
    result = runner.invoke(
        app, ["brief", "--db", str(why_store), "--as-of", AS_OF.isoformat(), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert [m["id"] for m in record["why_it_moved"]] == ["nrr", "health"]
    assert [k["id"] for k in record["recommended_actions"]] == ["nrr", "health"]
