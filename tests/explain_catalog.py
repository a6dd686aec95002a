"""A small catalog built in code for the explain and recommend tests, with the values of
two dates, every number chosen so the explanation can be worked out by hand (the tests
write the arithmetic in comments).

growth (CEO, % higher, T 40; measured: it moves more than its children explain)
├── win (% higher, T 25, weight 0.5)
│   └── leads (count higher, T 200, weight 0.4)            depth 2: path weight 0.2
├── cost (% lower, T 20, weight 0.3)                         lower is better
└── util (% band, T 80, weight 0.2)                          a band child
health (CEO, score higher, T 80; measured)
└── csat (% higher, T 80, sensitivity 0.5)                   0.5 points of health a point
    └── response (hours lower, T 4, weight 0.2)
nrr = 100 + expansion − churn (CEO, % higher, T 105)         a sum
├── expansion (% higher, T 8)
└── churn (% lower, T 2)
arpu = revenue / customers (CEO, currency higher, T 10)       a ratio
├── revenue (currency higher, T 1000)
└── customers (count, tracked: no target)
    └── signups (count, tracked, sensitivity 1)
capacity (CEO, % band, T 80; measured)                        a band parent
└── staff (count higher, T 50, weight 1)
"""

from __future__ import annotations

from intelligentos.domain.catalog.models import (
    Agent,
    Catalog,
    Direction,
    Frequency,
    Function,
    Kpi,
    Level,
    LineageLink,
    Step,
    System,
    Unit,
    Workflow,
)

RULE = "Every pipeline gap must map to a CEO KPI risk."


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
    agent: str | None = None,
    lineage: tuple[LineageLink, ...] = (),
) -> Kpi:
    return Kpi(
        id=kpi_id,
        name=kpi_id.replace("_", " ").title(),
        level=Level.CEO if parent is None else Level.FUNCTIONAL,
        unit=Unit(unit),
        direction=Direction(direction),
        target=target,
        frequency=Frequency.MONTHLY,
        formula=compute or kpi_id,
        engine="growth",
        owner_function="sales",
        owner_agent=agent,
        rolls_up_to=parent,
        weight=weight,
        sensitivity=sensitivity,
        compute=compute,
        lineage=lineage,
    )


def link(workflow: str, step: str, field: str) -> tuple[LineageLink, ...]:
    return (LineageLink(metric=field, workflow=workflow, step=step, fields=(field,)),)


PIPELINE = link("pipeline", "qualify", "crm.lead.source")
BILLING = link("finance", "bill", "erp.invoice.amount")

KPIS = (
    kpi("growth", target=40, agent="ceo", lineage=BILLING),
    kpi("win", target=25, parent="growth", weight=0.5, agent="cro", lineage=PIPELINE),
    kpi("leads", unit="count", target=200, parent="win", weight=0.4, lineage=PIPELINE),
    kpi("cost", direction="lower", target=20, parent="growth", weight=0.3, lineage=BILLING),
    kpi("util", direction="band", target=80, parent="growth", weight=0.2),
    kpi("health", unit="score", target=80),
    kpi("csat", target=80, parent="health", sensitivity=0.5),
    kpi("response", unit="hours", direction="lower", target=4, parent="csat", weight=0.2),
    kpi("nrr", target=105, compute="100 + expansion - churn"),
    kpi("expansion", target=8, parent="nrr"),
    kpi("churn", direction="lower", target=2, parent="nrr"),
    kpi("arpu", unit="currency", target=10, compute="revenue / customers"),
    kpi("revenue", unit="currency", target=1000, parent="arpu"),
    kpi("customers", unit="count", target=None, parent="arpu"),
    kpi("signups", unit="count", target=None, parent="customers", sensitivity=1.0),
    kpi("capacity", direction="band", target=80),
    kpi("staff", unit="count", target=50, parent="capacity"),
)

CATALOG = Catalog(
    kpis={k.id: k for k in KPIS},
    functions={"sales": Function(id="sales", name="Sales", agent="cro")},
    agents={
        "cro": Agent(id="cro", name="CRO Agent", function="sales", owns=("win",), rules=(RULE,)),
        "ceo": Agent(id="ceo", name="CEO Agent"),
    },
    workflows={
        "pipeline": Workflow(
            id="pipeline",
            name="Pipeline",
            owner_function="sales",
            steps=(Step(id="qualify", name="Qualify lead", system="crm"),),
        ),
        "finance": Workflow(
            id="finance",
            name="Financial Close",
            owner_function="sales",
            steps=(Step(id="bill", name="Bill", system="erp"),),
        ),
    },
    systems={
        "crm": System(id="crm", name="CRM", tables={"lead": ("source",)}),
        "erp": System(id="erp", name="ERP", tables={"invoice": ("amount",)}),
    },
)

# The two dates ("from" October, "to" November).
START: dict[str, float | None] = {
    "growth": 30.0,
    "win": 20.0,
    "leads": 150.0,
    "cost": 24.0,
    "util": 90.0,
    "health": 70.0,
    "csat": 84.0,
    "response": 5.0,
    "nrr": 103.0,
    "expansion": 6.0,
    "churn": 3.0,
    "arpu": 8.0,
    "revenue": 800.0,
    "customers": 100.0,
    "signups": 10.0,
    "capacity": 70.0,
    "staff": 40.0,
}
END: dict[str, float | None] = {
    "growth": 28.0,
    "win": 18.0,
    "leads": 140.0,
    "cost": 22.0,
    "util": 76.0,
    "health": 72.0,
    "csat": 86.0,
    "response": 4.75,
    "nrr": 104.5,  # 100 + 7 − 2.5
    "expansion": 7.0,
    "churn": 2.5,
    "arpu": 10.0,  # 1200 / 120
    "revenue": 1200.0,
    "customers": 120.0,
    "signups": 15.0,
    "capacity": 85.0,
    "staff": 45.0,
}
