"""The brief's risk ranking by the edge type: exact through a formula or a sensitivity, the
scoring model (shortfall × path weight) on weights, computed by hand."""

from __future__ import annotations

from datetime import date

import pytest

from intelligentos.domain.brief.compose import BriefFacts, build_brief
from intelligentos.domain.brief.render import to_markdown, to_record
from intelligentos.domain.catalog.models import Catalog, Direction, Frequency, Kpi, Level, Unit
from intelligentos.domain.lineage import LineageGraph

AS_OF = date(2026, 11, 27)


def kpi(
    kpi_id: str,
    *,
    direction: str = "higher",
    target: float,
    parent: str | None = None,
    weight: float = 1.0,
    sensitivity: float | None = None,
    compute: str | None = None,
) -> Kpi:
    return Kpi(
        id=kpi_id,
        name=kpi_id.replace("_", " ").title(),
        level=Level.CEO if parent is None else Level.FUNCTIONAL,
        unit=Unit.PERCENT,
        direction=Direction(direction),
        target=target,
        frequency=Frequency.MONTHLY,
        formula=compute or "measured",
        engine="growth",
        rolls_up_to=parent,
        weight=weight,
        sensitivity=sensitivity,
        compute=compute,
    )


def brief_of(catalog: Catalog, values: dict[str, float]):
    facts = BriefFacts(
        catalog=catalog,
        graph=LineageGraph(catalog),
        as_of=AS_OF,
        windows={k: [("2026-11-01", v)] for k, v in values.items()},
        events=(),
        alerts={},
        open_alerts=(),
        projections={},
        scenarios=(),
    )
    return build_brief(facts)


# nrr = 100 + expansion − contraction − logo_churn = 100 + 6 − 2.5 − 3.1 = 100.4 (4.4 %
# short of 105: within its 5 % warning, so not a risk itself).
FORMULA = Catalog(
    kpis={
        k.id: k
        for k in (
            kpi("nrr", target=105, compute="100 + expansion - contraction - logo_churn"),
            kpi("expansion", target=8, parent="nrr", weight=0.4),
            kpi("contraction", direction="lower", target=2, parent="nrr", weight=0.3),
            kpi("logo_churn", direction="lower", target=2, parent="nrr", weight=0.3),
        )
    }
)
VALUES = {"nrr": 100.4, "expansion": 6.0, "contraction": 2.5, "logo_churn": 3.1}


def test_risks_through_a_formula_are_ranked_by_the_exact_change():
    # Back on target: expansion 6 → 8 is +2 pt of NRR (2/105 = 1.905 %), churn 3.1 → 2 is
    # +1.1 pt (1.048 %), contraction 2.5 → 2 is +0.5 pt (0.476 %). The weights would have
    # said churn 0.55 × 0.3 = 16.5 %, expansion 0.25 × 0.4 = 10 %, contraction 7.5 %.
    brief = brief_of(FORMULA, VALUES)
    assert [r.kpi.id for r in brief.risks] == ["expansion", "logo_churn", "contraction"]
    impacts = {r.kpi.id: r.impact for r in brief.risks}
    assert impacts == pytest.approx(
        {"expansion": 2 / 105, "logo_churn": 1.1 / 105, "contraction": 0.5 / 105}, abs=1e-6
    )
    churn = brief.risks[1]
    assert churn.impact_change == pytest.approx(1.1)
    assert churn.model == "formulas exact"
    assert churn.impact_summary == "+1.1 pt if Logo Churn were back on target, 1.0 % of its target"
    assert [(s.id, s.kind) for s in churn.path] == [("logo_churn", "formula"), ("nrr", None)]
    markdown = to_markdown(brief)
    assert (
        "**Impact on Nrr:** +1.1 pt if Logo Churn were back on target, 1.0 % of its target "
        "(formulas exact)"
    ) in markdown
    assert "Logo Churn (formula) → Nrr" in markdown
    assert "exact through formulas and sensitivities" in markdown
    record = to_record(brief)["risks"]["top"][1]
    assert record["impact_change"] == pytest.approx(1.1) and record["model"] == "formulas exact"
    assert record["path"][0]["edge"] == "formula"


def test_a_risk_through_a_sensitivity_moves_its_parent_by_the_slope():
    # churn 3.1 → 2 with −1.5 pt of NRR per pt: +1.65 pt; 1.65 / 105 = 1.571 %.
    catalog = Catalog(
        kpis={
            k.id: k
            for k in (
                kpi("nrr", target=105),
                kpi(
                    "logo_churn",
                    direction="lower",
                    target=2,
                    parent="nrr",
                    weight=0.3,
                    sensitivity=-1.5,
                ),
            )
        }
    )
    brief = brief_of(catalog, {"nrr": 101.0, "logo_churn": 3.1})
    [risk] = brief.risks
    assert risk.impact == pytest.approx(1.65 / 105, abs=1e-6)
    assert risk.impact_change == pytest.approx(1.65)
    assert risk.model == "sensitivities linear"
    assert "Logo Churn (sensitivity -1.5) → Nrr" in to_markdown(brief)


def test_a_risk_through_weights_keeps_the_scoring_model():
    # churn 55 % above target × weight 0.3 = 16.5 % of NRR's target.
    catalog = Catalog(
        kpis={
            k.id: k
            for k in (
                kpi("nrr", target=105),
                kpi("logo_churn", direction="lower", target=2, parent="nrr", weight=0.3),
            )
        }
    )
    brief = brief_of(catalog, {"nrr": 101.0, "logo_churn": 3.1})
    [risk] = brief.risks
    assert risk.impact == pytest.approx(0.165)
    assert risk.impact_change is None and risk.impact_summary == "16.5 % of its target"
    markdown = to_markdown(brief)
    assert "16.5 % of its target (shortfall 55.0 % × path weight 0.3)" in markdown
    assert "(shortfall × the roll-up weights up to it)" in markdown
