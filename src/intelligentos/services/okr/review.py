"""An agent's performance review for a quarter, from the store: reads, never writes; the
same store, quarter and day give the same review.

What maps to the agent: the KPIs it owns (``owner_agent``); the alerts routed to it (the
store's ``alert_routes``) opened in the quarter; the saved scenarios created or updated in
the quarter whose levers move one of its KPIs (a scenario records the user who saved it, not
an agent); the target changes of its KPIs made in the quarter (for whichever quarter: next
quarter's targets are usually set during this one); and the plans of its KPIs off target on
the day reviewed, narrowed to the levers it owns. Every figure is as of the day reviewed:
the quarter's last day, or the as-of day while it runs; but the alerts opened in the quarter
are timed from their log up to the as-of day, so an alert opened late in a past quarter and
acknowledged after it counts its real wait.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from intelligentos.domain.alerts import subject_name
from intelligentos.domain.catalog.models import Catalog, Kpi
from intelligentos.domain.charts import sparkline
from intelligentos.domain.clock import period_date, period_upper_bound
from intelligentos.domain.detection import Status, target_status
from intelligentos.domain.explain.actions import plan_actions, plan_outcome
from intelligentos.domain.explain.model import ExplainError
from intelligentos.domain.forecast import MAX_HISTORY
from intelligentos.domain.forecast.periods import horizon_through
from intelligentos.domain.formatting import format_change, format_value
from intelligentos.domain.okr.grade import colour, mean
from intelligentos.domain.okr.review import (
    Accuracy,
    AlertTiming,
    KpiReview,
    OpenAction,
    Review,
    alert_timing,
    out_of_sample,
    waits,
)
from intelligentos.domain.okr.targets import judged_on
from intelligentos.domain.quarters import Quarter
from intelligentos.domain.whatif.propagation import Tree
from intelligentos.domain.whatif.scenarios import scenario_changes
from intelligentos.services.explain import recommend_kpi
from intelligentos.services.forecast import ForecastJob, forecast_many
from intelligentos.services.okr.grade import KpiGrade, check_quarter_started, grade_quarter
from intelligentos.services.okr.propose import OkrError
from intelligentos.store import Store

SPARK_WIDTH = 16  # characters of a KPI's trend; a longer quarter (daily values) is resampled


def _kpi_review(grade: KpiGrade, values: list[tuple[str, float]]) -> KpiReview:
    kpi, unit = grade.kpi, grade.kpi.unit
    return KpiReview(
        id=kpi.id,
        name=kpi.name,
        unit=unit.value,
        target=grade.target,
        target_text=format_value(grade.target, unit),
        start=grade.start,
        start_text=format_value(grade.start, unit),
        actual=grade.actual,
        actual_text=format_value(grade.actual, unit),
        change_text=format_change(grade.actual, grade.start, unit)
        if grade.score is not None
        else "—",
        score=grade.score,
        colour=None if grade.score is None else colour(grade.score).value,
        sparkline=sparkline([v for _, v in values], min(SPARK_WIDTH, len(values)))
        if values
        else "",
        values=tuple(values),
        reason=grade.reason,
    )


def _alerts(
    store: Store, catalog: Catalog, agent_id: str, quarter: Quarter, until: str, log_until: str
) -> list[AlertTiming]:
    """The alerts routed to ``agent_id`` opened in ``quarter`` up to ``until``, timed from
    their events up to ``log_until`` (an alert opened on the quarter's last day may be
    acknowledged the next)."""
    since = quarter.start.isoformat()
    routed = [a for a in store.alerts(agent=agent_id) if since <= a.opened_at <= until]
    routed.sort(key=lambda a: (a.opened_at, a.id or 0))
    return [
        alert_timing(a, store.alert_events(a.id), subject_name(a, catalog), log_until)
        for a in routed
        if a.id is not None
    ]


def _accuracy(store: Store, kpis: list[Kpi], quarter: Quarter, until: str) -> list[Accuracy]:
    """Each KPI forecast from its values before ``quarter`` only (on every core when there
    are many), scored on those inside it up to ``until``."""
    before_start = period_upper_bound(quarter.start - timedelta(1))
    jobs, befores = [], []
    for kpi in kpis:
        before = store.history(kpi.id, MAX_HISTORY, until=before_start)
        last = next((p for p, v in reversed(before) if v is not None), None)
        horizon = horizon_through(kpi, quarter.end, quarter.start, last) if last else 1
        jobs.append(ForecastJob(kpi, tuple(before), horizon))
        befores.append(before)
    inside = store.windows_between([k.id for k in kpis], before_start, until)
    return [
        out_of_sample(kpi, forecast, before, quarter, inside.get(kpi.id, []))
        for kpi, before, forecast in zip(kpis, befores, forecast_many(jobs), strict=True)
    ]


def _actions(
    store: Store, catalog: Catalog, agent_id: str, grades: list[KpiGrade], day: date
) -> list[OpenAction]:
    """The plans of the agent's KPIs off target on ``day`` (against the target in force),
    narrowed to the levers it owns; a KPI whose plan needs none of them is left out."""
    judged = judged_on(catalog, day)
    tree = Tree(judged)
    found = []
    for grade in grades:
        kpi = judged.kpis[grade.kpi.id]
        if grade.actual is None or target_status(kpi, grade.actual) is Status.OK:
            continue
        base = OpenAction(
            kpi.id,
            kpi.name,
            format_value(grade.actual, kpi.unit),
            format_value(kpi.target, kpi.unit),
        )
        try:
            answer = recommend_kpi(store, kpi.id, day, judged, tree)
        except ExplainError as error:
            found.append(replace(base, problem=str(error)))
            continue
        tasks = tuple(a.task for a in plan_actions(answer, None) if a.agent_id == agent_id)
        if tasks:
            found.append(replace(base, actions=tasks, outcome=plan_outcome(answer)))
    return found


def make_review(store: Store, quarter: Quarter, as_of: date, agent_id: str) -> Review:
    """``agent_id``'s review of ``quarter`` as of ``as_of``; :class:`OkrError` (one
    sentence) for an unknown agent or a quarter that has not started."""
    catalog = store.read_catalog()
    agent = catalog.agents.get(agent_id)
    if agent is None:
        known = ", ".join(sorted(catalog.agents)) or "none"
        raise OkrError(f"unknown agent {agent_id!r}; the catalog's agents: {known}")
    check_quarter_started(quarter, as_of)
    grades = grade_quarter(store, quarter, as_of, agent=agent_id, catalog=catalog)
    day = grades.as_of
    until = period_upper_bound(day)
    since = quarter.start.isoformat()
    owned = [g.kpi for g in grades.grades]
    ids = [k.id for k in owned]
    inside = store.windows_between(ids, period_upper_bound(quarter.start - timedelta(1)), until)
    kpis = []
    for grade in grades.grades:
        values = [(p, v) for p, v in inside.get(grade.kpi.id, []) if v is not None]
        start_period, start = grade.start_period, grade.start
        if (
            start_period is not None
            and start is not None
            and (not values or period_date(start_period) < period_date(values[0][0]))
        ):
            values.insert(0, (start_period, start))
        kpis.append(_kpi_review(grade, values))
    alerts = _alerts(store, catalog, agent_id, quarter, until, period_upper_bound(as_of))
    function = catalog.functions.get(agent.function or "")
    changes = store.target_changes(
        ids, since=quarter.start.isoformat(), until=(quarter.end + timedelta(1)).isoformat()
    )
    return Review(
        quarter=quarter,
        as_of=day,
        running=grades.running,
        agent_id=agent.id,
        agent_name=agent.name,
        function=function.name if function else agent.function,
        kpis=tuple(kpis),
        score=mean(g.score for g in grades.grades if g.score is not None),
        alerts=tuple(alerts),
        to_acknowledge=waits(a.to_acknowledge for a in alerts),
        to_resolve=waits(a.to_resolve for a in alerts),
        accuracy=tuple(_accuracy(store, owned, quarter, until)),
        scenarios=scenario_changes(
            store.scenarios(), lambda at: at is not None and since <= at <= until, ids
        ),
        target_changes=tuple(c for c in changes if c.at <= until),
        actions=tuple(_actions(store, catalog, agent_id, grades.grades, day)),
    )
