"""A small store whose moves are worked out by hand: two CEO KPIs that fell in November.

* **Net Revenue Retention** (derived, percent, target 105, warning 4 %) =
  100 + expansion − churn. October 100 + 7 − 2 = 105; November 100 + 3 − 4 = 99: −6 pt,
  beyond its warning band (4 % × 105 = 4.2 pt), and 6/105 = 5.7 % short: ok → warning.
  Expansion (CRO Agent) gave −4 pt (4/6 = 67 % of the move), churn (CS Agent) −2 pt (33 %).
* **Customer Health** (measured score, target 80, warning 5 %) with CSAT (percent, target
  90) rolling up by a weight of 0.4. October 80, November 75: −5 pt (band 4.0 pt), 6.25 %
  short: ok → warning. CSAT 90 → 80 is Δp = −10/90; × 0.4 = −0.04444 of health's
  performance, × 80 = −3.56 pt (0.04444 / 0.0625 = 71 % of the move); health's own data
  (residual) −0.0625 + 0.04444 = −0.01806, × 80 = −1.44 pt (29 %).

Five months, July to November, so each lever has four changes for its σ.
"""

from __future__ import annotations

from pathlib import Path

from intelligentos.domain.observations import Observation
from intelligentos.services.catalog import load_catalog
from intelligentos.store import create_store

from .conftest import write_catalog

__all__ = ["KPIS", "MONTHS", "ORG", "make_why_store"]

ORG = """
[engine.growth]
name = "Growth"
owners = ["sales", "cs"]
rollup_kpis = ["nrr", "health"]

[function.sales]
name = "Sales"
agent = "cro"

[function.cs]
name = "Customer Success"
agent = "cs"

[agent.cro]
name = "CRO Agent"
function = "sales"
owns = ["expansion"]
rules = ["Every pipeline gap maps to a CEO KPI risk"]

[agent.cs]
name = "CS Agent"
function = "cs"
owns = ["churn", "csat"]

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
id = "upsell"
name = "Upsell"
system = "billing"
[[workflow.renewals.steps]]
id = "renew"
name = "Renew"
system = "billing"
[[workflow.renewals.steps]]
id = "survey"
name = "Survey"
system = "billing"
"""


def _kpi(kpi_id: str, name: str, body: str, step: str, field: str) -> str:
    return f"""
[kpi.{kpi_id}]
name = "{name}"
frequency = "monthly"
formula = "{name}"
engine = "growth"
{body}
[[kpi.{kpi_id}.lineage]]
metric = "{name}"
workflow = "renewals"
step = "{step}"
fields = ["billing.{field}"]
"""


KPIS = (
    _kpi(
        "nrr",
        "Net Revenue Retention",
        'level = "ceo"\nunit = "percent"\ndirection = "higher"\ntarget = 105\n'
        'warning = 0.04\ncompute = "100 + expansion - churn"\nowner_function = "cs"\n'
        'owner_agent = "ceo"',
        "renew",
        "subscription.mrr",
    )
    + _kpi(
        "health",
        "Customer Health",
        'level = "ceo"\nunit = "score"\ndirection = "higher"\ntarget = 80\n'
        'owner_function = "cs"\nowner_agent = "ceo"',
        "survey",
        "survey.score",
    )
    + _kpi(
        "expansion",
        "Expansion",
        'level = "functional"\nunit = "percent"\ndirection = "higher"\ntarget = 8\n'
        'owner_function = "sales"\nowner_agent = "cro"\nrolls_up_to = "nrr"\nweight = 0.5',
        "upsell",
        "subscription.mrr",
    )
    + _kpi(
        "churn",
        "Churn",
        'level = "functional"\nunit = "percent"\ndirection = "lower"\ntarget = 2\n'
        'owner_function = "cs"\nowner_agent = "cs"\nrolls_up_to = "nrr"\nweight = 0.5',
        "renew",
        "subscription.status",
    )
    + _kpi(
        "csat",
        "CSAT",
        'level = "functional"\nunit = "percent"\ndirection = "higher"\ntarget = 90\n'
        'owner_function = "cs"\nowner_agent = "cs"\nrolls_up_to = "health"\nweight = 0.4',
        "survey",
        "survey.score",
    )
)

# July to November; nrr = 100 + expansion − churn.
MONTHS = {
    "2026-07-01": {"expansion": 6.0, "churn": 2.0, "csat": 88.0, "health": 78.0},
    "2026-08-01": {"expansion": 7.0, "churn": 2.0, "csat": 90.0, "health": 79.0},
    "2026-09-01": {"expansion": 6.0, "churn": 3.0, "csat": 89.0, "health": 80.0},
    "2026-10-01": {"expansion": 7.0, "churn": 2.0, "csat": 90.0, "health": 80.0},
    "2026-11-01": {"expansion": 3.0, "churn": 4.0, "csat": 80.0, "health": 75.0},
}


def make_why_store(directory: Path) -> Path:
    """The store, built in ``directory`` from the catalog's TOML as a user's would be."""
    catalog = load_catalog(
        write_catalog(directory / "catalog", {"org.toml": ORG, "kpis.toml": KPIS})
    )
    observations = []
    for period, values in MONTHS.items():
        observations += [Observation(k, period, v) for k, v in values.items()]
        nrr = 100 + values["expansion"] - values["churn"]
        observations.append(Observation("nrr", period, nrr))
    return create_store(directory / "why.db", catalog, observations)
