"""Alert routing along formula edges: an alert on a KPI also goes to the owners of the
derived KPIs whose expressions read it, wherever they sit in the tree, and on through
derived KPIs reading those; the roll-up tree routes as before."""

from __future__ import annotations

from intelligentos.domain.agents import Route, fed_kpis, routes
from intelligentos.domain.catalog.models import (
    Agent,
    Catalog,
    Direction,
    Frequency,
    Kpi,
    Level,
    Unit,
)
from intelligentos.domain.lineage import LineageGraph


def kpi(kpi_id: str, owner: str, *, parent: str | None = None, compute: str | None = None) -> Kpi:
    return Kpi(
        id=kpi_id,
        name=kpi_id.replace("_", " ").title(),
        level=Level.CEO if parent is None else Level.FUNCTIONAL,
        unit=Unit.PERCENT,
        direction=Direction.HIGHER,
        target=50.0,
        frequency=Frequency.MONTHLY,
        formula=compute or "measured",
        engine="growth",
        owner_agent=owner,
        rolls_up_to=parent,
        compute=compute,
    )


# growth (ceo)                          pipeline (cro)
# └── conversion = 100 sql/mql (mkt)    ├── sql (sales)
#     funnel_index = conversion × 2     └── mql (sales)
#     (analytics; at the top)
CATALOG = Catalog(
    kpis={
        k.id: k
        for k in (
            kpi("growth", "ceo"),
            kpi("conversion", "mkt", parent="growth", compute="100 * sql / mql"),
            kpi("funnel_index", "analytics", compute="conversion * 2"),
            kpi("pipeline", "cro"),
            kpi("sql", "sales", parent="pipeline"),
            kpi("mql", "sales", parent="pipeline"),
        )
    },
    agents={
        a: Agent(id=a, name=a.title(), function=None if a == "ceo" else a)
        for a in ("ceo", "mkt", "analytics", "cro", "sales")
    },
)
GRAPH = LineageGraph(CATALOG)


def test_an_input_routes_to_the_owners_of_the_derived_kpis_reading_it():
    assert routes("sql", None, CATALOG, GRAPH) == [
        Route("sales", "owner"),
        Route("cro", "rolls up to Pipeline"),
        Route("mkt", "feeds Conversion"),
        Route("analytics", "feeds Funnel Index"),
    ]
    assert fed_kpis("sql", CATALOG) == ["conversion", "funnel_index"]


def test_a_derived_kpi_routes_up_its_tree_and_to_its_own_readers():
    # conversion rolls up to growth by its edge (the tree, as before) and feeds funnel_index.
    assert routes("conversion", None, CATALOG, GRAPH) == [
        Route("mkt", "owner"),
        Route("ceo", "rolls up to Growth"),
        Route("analytics", "feeds Funnel Index"),
    ]


def test_a_kpi_no_expression_reads_routes_as_before():
    assert routes("mql", None, CATALOG, GRAPH)[:2] == [
        Route("sales", "owner"),
        Route("cro", "rolls up to Pipeline"),
    ]
    assert routes("pipeline", None, CATALOG, GRAPH) == [
        Route("cro", "owner"),
        Route("ceo", "CEO KPI"),
    ]
    assert fed_kpis("pipeline", CATALOG) == []
