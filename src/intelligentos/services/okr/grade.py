"""Grading a quarter: each judged KPI's score, and the means of agents and engines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from intelligentos.domain.catalog.models import Catalog, Kpi
from intelligentos.domain.clock import period_upper_bound
from intelligentos.domain.okr.grade import mean, score
from intelligentos.domain.okr.targets import target_on
from intelligentos.domain.quarters import Quarter
from intelligentos.services.okr.propose import OkrError
from intelligentos.store import Store


@dataclass(frozen=True)
class KpiGrade:
    kpi: Kpi
    target: float  # the target in force for the quarter (at its end)
    start: float | None  # the value the quarter started from (the latest before it)
    actual: float | None  # the latest value in the quarter, up to the day graded
    start_period: str | None
    actual_period: str | None
    score: float | None  # None: no value in the quarter (the reason says why)
    reason: str = ""


@dataclass(frozen=True)
class QuarterGrades:
    quarter: Quarter
    as_of: date  # the day graded: the quarter's end, or earlier while it runs
    running: bool  # the quarter has not ended by ``as_of``
    grades: list[KpiGrade]  # in catalog order
    by_agent: dict[str, float | None]  # owner agent id -> mean score of its KPIs
    by_engine: dict[str, float | None]  # engine id -> mean score of its KPIs


def check_quarter_started(quarter: Quarter, as_of: date) -> None:
    """:class:`OkrError` for a quarter that has not started by ``as_of``: it has no value to
    grade (nor anything to review)."""
    if as_of < quarter.start:
        raise OkrError(
            f"{quarter} starts on {quarter.start.isoformat()}, after {as_of.isoformat()}: "
            "it has not started, so there is nothing to grade yet"
        )


def grade_quarter(
    store: Store,
    quarter: Quarter,
    as_of: date,
    *,
    agent: str | None = None,
    catalog: Catalog | None = None,
) -> QuarterGrades:
    """Grade every judged KPI (of ``agent``, when given) for ``quarter`` as of ``as_of``:
    from its latest value before the quarter (else its first value in it) to its latest
    value in the quarter up to ``as_of``, against the target in force at the quarter's end.
    A quarter that starts after ``as_of`` has nothing to grade: every KPI says so."""
    catalog = catalog or store.read_catalog()
    graded_day = min(as_of, quarter.end)
    kpis = [
        k
        for k in catalog.kpis.values()
        if not k.tracked and (agent is None or k.owner_agent == agent)
    ]
    ids = [k.id for k in kpis]
    before = store.latest_windows(1, ids, until=period_upper_bound(quarter.start - timedelta(1)))
    within = store.windows_between(
        ids,
        period_upper_bound(quarter.start - timedelta(1)),
        period_upper_bound(graded_day),
    )
    grades = []
    for kpi in kpis:
        target = target_on(kpi, graded_day)
        assert target is not None  # judged KPIs only
        values = [(p, v) for p, v in within.get(kpi.id, []) if v is not None]
        starts = [(p, v) for p, v in before.get(kpi.id, []) if v is not None] or values[:1]
        if not values or graded_day < quarter.start:
            grades.append(
                KpiGrade(kpi, target, None, None, None, None, None, f"no value in {quarter} yet")
            )
            continue
        (start_period, start), (actual_period, actual) = starts[-1], values[-1]
        grades.append(
            KpiGrade(
                kpi,
                target,
                start,
                actual,
                start_period,
                actual_period,
                score(kpi, target, start, actual),
            )
        )
    by_agent: dict[str, list[float]] = {}
    by_engine: dict[str, list[float]] = {}
    for grade in grades:
        if grade.score is None:
            continue
        if grade.kpi.owner_agent:
            by_agent.setdefault(grade.kpi.owner_agent, []).append(grade.score)
        by_engine.setdefault(grade.kpi.engine, []).append(grade.score)
    return QuarterGrades(
        quarter,
        graded_day,
        as_of < quarter.end,
        grades,
        {a: mean(s) for a, s in by_agent.items()},
        {e: mean(s) for e, s in by_engine.items()},
    )
