"""``review``: an agent's performance review for a quarter, on the store graded by hand
(tests/okr_store.py) with alerts, scenarios and target changes written at fixed times."""

from __future__ import annotations

import json
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.domain.agents import Route
from intelligentos.domain.alerts import acknowledge, open_alert, reconcile
from intelligentos.domain.catalog.models import Direction, Frequency, Kpi, Level, Unit
from intelligentos.domain.detection import Finding, Rule, Severity
from intelligentos.domain.forecast import Forecast, ForecastPoint
from intelligentos.domain.okr.review import out_of_sample, waits
from intelligentos.domain.okr.targets import QuarterTarget, TargetSource
from intelligentos.domain.quarters import Quarter
from intelligentos.store import Store

from .okr_store import WIN_RATE_IN_Q3, make_okr_store
from .stores import store_content

runner = CliRunner()

FINDING = Finding(Rule.TARGET, Severity.WARNING, 22.0, 25.0, 0.12, "12.0% adverse", "2026-07-06")
HOUR = 3600.0
# (agent, KPI, opened, acknowledged, resolved), None where it never happened; one open
# alert per KPI and rule at a time.
ALERTS = [
    # Before the quarter: not reviewed.
    ("cro", "win_rate", datetime(2026, 6, 15, 9), datetime(2026, 6, 15, 10), datetime(2026, 6, 16)),
    ("cro", "win_rate", datetime(2026, 7, 1, 9), datetime(2026, 7, 1, 10), datetime(2026, 7, 2, 9)),
    ("cro", "cycle_time", datetime(2026, 7, 10, 8), datetime(2026, 7, 10, 11), None),
    ("cco", "nps", datetime(2026, 7, 5, 9), datetime(2026, 7, 5, 9, 30), None),  # the CCO's
    ("cro", "win_rate", datetime(2026, 8, 1, 0), None, datetime(2026, 8, 1, 6)),  # cleared
    ("cro", "csat", datetime(2026, 8, 20, 12), datetime(2026, 8, 21, 0), datetime(2026, 8, 22, 12)),
    # Acknowledged after the quarter: not yet on 5 October, after 6 days on the 7th.
    ("cro", "win_rate", datetime(2026, 9, 30, 10), datetime(2026, 10, 6, 10), None),
]


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def write_alerts(store: Store) -> None:
    for agent, kpi_id, opened, acked, resolved in ALERTS:
        moves = [(opened, "open"), (acked, "ack"), (resolved, "resolve")]
        alert = None
        for moment, move in sorted(((m, k) for m, k in moves if m is not None)):
            with store.transaction():
                if move == "open":
                    alert, event = open_alert(FINDING, moment, kpi_id=kpi_id)
                    alert = store.record(alert, event, [Route(agent, "owns the KPI")])
                elif move == "ack":
                    assert alert is not None
                    alert, event = acknowledge(alert, "ana", "on it", moment)
                    alert = store.record(alert, event)
                else:
                    assert alert is not None
                    alert, resolution = reconcile(alert, None, True, moment)
                    alert = store.record(alert, resolution)


@pytest.fixture
def reviewed_store(tmp_path: Path) -> Path:
    path = make_okr_store(tmp_path)
    with Store.open(path) as store:
        write_alerts(store)
        store.save_scenario("push win", ["win_rate+=2"], "ana", "2026-07-15T10:00:00Z", "Q3 push")
        store.save_scenario("shorter cycle", ["cycle_time-=5"], "ana", "2026-05-01T10:00:00Z")
        store.save_scenario("shorter cycle", ["cycle_time-=4"], "bo", "2026-08-01T10:00:00Z")
        store.save_scenario("nps drive", ["nps=55"], "cy", "2026-07-20T10:00:00Z")  # CCO's
        store.save_scenario("later", ["win_rate+=1"], "ana", "2026-10-02T10:00:00Z")
        with store.transaction():
            store.set_quarter_targets(
                [
                    QuarterTarget(
                        "win_rate",
                        Quarter(2026, 4),
                        26.0,
                        TargetSource.HAND,
                        "ana",
                        "2026-09-15T10:00:00Z",
                        "raise | <b>it</b>",
                    )
                ]
            )
        with store.transaction():
            store.set_quarter_targets(
                [
                    QuarterTarget(
                        "csat",
                        Quarter(2026, 4),
                        92.0,
                        TargetSource.HAND,
                        "bo",
                        "2026-10-03T10:00:00Z",
                    )
                ]
            )
    return path


def review_json(db: Path, as_of: str = "2026-10-05", agent: str = "cro") -> dict:
    result = run(
        "review", "--db", str(db), "--quarter", "2026Q3", "--agent", agent,
        "--format", "json", "--as-of", as_of,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_its_kpis_with_target_actual_grade_and_trend(reviewed_store):
    found = review_json(reviewed_store)
    assert (found["quarter"], found["as_of"], found["running"]) == ("2026Q3", "2026-09-30", False)
    assert found["agent"] == {"id": "cro", "name": "CRO Agent", "function": "Sales"}
    kpis = {k["id"]: k for k in found["kpis"]}
    assert list(kpis) == ["win_rate", "cycle_time", "csat"]  # its own, not the CEO's
    win = kpis["win_rate"]
    assert (win["target"], win["start"], win["actual"]) == (25.0, 20.0, 23.0)
    assert win["score"] == pytest.approx(0.6) and win["colour"] == "yellow"
    # The trend: the start (29 June) and the quarter's 13 weeks.
    assert [v["value"] for v in win["trend"]["values"]] == [20.0, *WIN_RATE_IN_Q3]
    assert win["trend"]["change_text"] == "+3.0 pt"
    assert len(win["trend"]["sparkline"]) == 14
    assert kpis["cycle_time"]["score"] == pytest.approx(0.2)
    # Its grade: (0.6 + 0.2 + 0.5556) / 3.
    assert found["score"] == pytest.approx((0.6 + 0.2 + (1 - 2 / 4.5)) / 3)


def test_alerts_are_timed_from_the_log_median_and_worst(reviewed_store):
    found = review_json(reviewed_store)["alerts"]
    routed = found["routed"]
    # Its five opened in the quarter; not June's, not the CCO's.
    assert [a["opened_at"][:10] for a in routed] == [
        "2026-07-01", "2026-07-10", "2026-08-01", "2026-08-20", "2026-09-30"
    ]  # fmt: skip
    assert [a["to_acknowledge_seconds"] for a in routed] == [
        1 * HOUR, 3 * HOUR, None, 12 * HOUR, None
    ]  # fmt: skip
    # Acknowledged after 1, 3 and 12 h: median 3 h, worst 12 h; two not acknowledged.
    assert found["to_acknowledge"] == {
        "measured": 3, "pending": 2, "median_seconds": 3 * HOUR, "worst_seconds": 12 * HOUR
    }  # fmt: skip
    # Resolved after 24, 6 and 48 h: median 24 h, worst 48 h; two still open.
    assert found["to_resolve"] == {
        "measured": 3, "pending": 2, "median_seconds": 24 * HOUR, "worst_seconds": 48 * HOUR
    }  # fmt: skip


def test_an_alert_acknowledged_after_the_quarter_counts_its_wait_once_it_is(reviewed_store):
    found = review_json(reviewed_store, as_of="2026-10-07")["alerts"]["to_acknowledge"]
    # 1, 3, 12 and 144 h (30 September 10:00 → 6 October 10:00): median (3 + 12) / 2.
    assert found == {
        "measured": 4, "pending": 1, "median_seconds": 7.5 * HOUR, "worst_seconds": 144 * HOUR
    }  # fmt: skip


def test_waits_leave_out_the_pending():
    assert waits([10.0, None, 30.0, 20.0, None]) == waits([20.0, 30.0, 10.0, None, None])
    found = waits([10.0, None, 30.0, 20.0])
    assert (found.measured, found.pending, found.median, found.worst) == (3, 1, 20.0, 30.0)
    empty = waits([None])
    assert (empty.measured, empty.pending, empty.median, empty.worst) == (0, 1, None, None)


def test_forecast_accuracy_is_out_of_sample(reviewed_store):
    accuracy = {a["kpi_id"]: a for a in review_json(reviewed_store)["forecast_accuracy"]}
    win = accuracy["win_rate"]
    # Fitted on the 13 flat weeks before the quarter only: every forecast is 20, made from
    # 29 June. Were the quarter's values used, it would start from 28 September (and have
    # nothing left in the quarter to score) or forecast above 20.
    assert win["based_on"] == "2026-06-29"
    assert [c["forecast"] for c in win["compared"]] == [20.0] * 13
    assert [c["actual"] for c in win["compared"]] == [float(v) for v in WIN_RATE_IN_Q3]
    # |21−20|×2 + |22−20|×4 + |23−20|×7 = 2 + 8 + 21 = 31, over 13 weeks.
    assert win["mae"] == pytest.approx(31 / 13)
    # The naive forecast from the same data is the same flat 20: MASE 1. No actual is
    # inside a zero-width interval at 20.
    assert win["mase"] == pytest.approx(1.0)
    assert win["coverage80"] == 0.0
    # One monthly value before the quarter is too little to forecast from.
    assert accuracy["csat"]["mae"] is None
    assert accuracy["csat"]["reason"] == "not enough history: 1 of the 8 observations needed"


def _kpi() -> Kpi:
    return Kpi(
        id="k", name="K", level=Level.FUNCTIONAL, unit=Unit.COUNT, direction=Direction.HIGHER,
        target=10.0, frequency=Frequency.MONTHLY, formula="k", engine="growth",
    )  # fmt: skip


def test_out_of_sample_scores_only_the_quarters_values_against_seasonal_naive():
    before = [("2026-04-01", 8.0), ("2026-05-01", 10.0), ("2026-06-01", 12.0)]

    def point(period: str, mean: float, lo: float, hi: float) -> ForecastPoint:
        return ForecastPoint(period, mean, lo, hi, lo - 1, hi + 1)

    forecast = Forecast(
        "k", "ets", True, 3, 2, "2026-06-01",
        (
            point("2026-07-01", 11.0, 10.0, 12.0),
            point("2026-08-01", 13.0, 12.0, 14.0),
            point("2026-09-01", 11.0, 10.5, 11.5),
        ),
        None, "",
    )  # fmt: skip
    actuals = [
        ("2026-06-01", 50.0),  # before the quarter: ignored
        ("2026-07-01", 12.0),
        ("2026-08-01", 12.5),
        ("2026-09-01", 9.0),
        ("2026-10-01", 99.0),  # after it: ignored
    ]
    found = out_of_sample(_kpi(), forecast, before, Quarter(2026, 3), actuals)
    assert [c[0] for c in found.compared] == ["2026-07-01", "2026-08-01", "2026-09-01"]
    # Errors 1, 0.5, 2: MAE 3.5 / 3.
    assert found.mae == pytest.approx(3.5 / 3)
    # Seasonal naive, season 2, from …, 10, 12: 10, 12, 10; errors 2, 0.5, 1: MAE 3.5 / 3.
    assert found.mase == pytest.approx(1.0)
    # Inside the 80 % interval: July (12 in 10–12) and August (12.5 in 12–14), not September.
    assert found.coverage80 == pytest.approx(2 / 3)


def test_scenarios_and_target_changes_on_its_kpis_in_the_quarter(reviewed_store):
    found = review_json(reviewed_store)
    assert [(s["name"], s["change"], s["by"], s["at"]) for s in found["scenarios"]] == [
        ("push win", "created", "ana", "2026-07-15T10:00:00Z"),
        ("shorter cycle", "updated", "bo", "2026-08-01T10:00:00Z"),
    ]
    changes = found["target_changes"]
    # The change made in September for Q4 is listed; October's (after the quarter) is not.
    assert [(c["kpi_id"], c["quarter"], c["before"], c["after"], c["who"]) for c in changes] == [
        ("win_rate", "2026Q4", None, 26.0, "ana")
    ]


def test_open_recommendations_are_the_levers_it_owns(reviewed_store):
    found = review_json(reviewed_store)["recommendations"]
    # Win rate ends 2 pt (8 %) short of 25: off target; its plan moves the sales cycle and
    # CSAT, both the CRO's. The sales cycle itself has no lever below it.
    assert [r["kpi_id"] for r in found] == ["win_rate"]
    assert found[0]["value_text"] == "23.0%" and found[0]["target_text"] == "25.0%"
    assert any("Sales Cycle" in task for task in found[0]["actions"])


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_the_same_store_and_day_give_the_same_bytes(reviewed_store, tmp_path, fmt):
    before = store_content(reviewed_store)
    outputs = []
    for name in ("first", "second"):
        path = tmp_path / f"{name}.{fmt}"
        result = run(
            "review", "--db", str(reviewed_store), "--quarter", "2026Q3", "--agent", "cro",
            "--format", fmt, "--as-of", "2026-10-05", "--out", str(path),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert f"Wrote the review ({fmt}, " in result.stderr
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1] and outputs[0]
    assert store_content(reviewed_store) == before  # a review writes nothing to the store


def test_the_markdown_shows_every_section_with_user_text_escaped(reviewed_store):
    result = run(
        "review", "--db", str(reviewed_store), "--quarter", "2026Q3", "--agent", "cro",
        "--as-of", "2026-10-05",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("# Performance review: CRO Agent, 2026Q3\n")
    assert "graded at its end, 2026-09-30" in text
    assert "**Time to acknowledge:** median 3 h 00 min, worst 12 h 00 min (of 3); 2 not" in text
    assert "**Time to resolve:** median 1 d 0 h, worst 2 d 0 h (of 3); 2 still open" in text
    assert "| Win Rate | naive | 2026-06-29 | 13 | 2.4 pt | 1.00 | 0 % |   |" in text
    assert "| CSAT | none | 2026-06-01 | 0 | — | — | — | not enough history: 1 of the 8" in text
    # The note's pipe and tag are text, not a table cell or HTML.
    assert "raise \\| \\<b\\>it\\</b\\>" in text


class _Balance(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problems.append(tag)


def test_the_html_is_well_formed_and_fetches_nothing(reviewed_store):
    result = run(
        "review", "--db", str(reviewed_store), "--quarter", "2026Q3", "--agent", "cro",
        "--format", "html", "--as-of", "2026-10-05",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    page = result.stdout
    checker = _Balance()
    checker.feed(page)
    checker.close()
    assert checker.problems == [] and checker.open == []
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Performance review: CRO Agent, 2026Q3</title>" in page
    assert "<script" not in page and "<b>it</b>" not in page
    assert page.count("<table>") == 5  # KPIs, alerts, accuracy, scenarios, target changes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--quarter", "2026Q4", "--agent", "cro", "--as-of", "2026-09-15"),
            "Error: 2026Q4 starts on 2026-10-01, after 2026-09-15: it has not started, so "
            "there is nothing to grade yet.",
        ),
        (
            ("--quarter", "2026Q3", "--agent", "cfo"),
            "Error: unknown agent 'cfo'; the catalog's agents: cco, ceo, cro.",
        ),
        (("--quarter", "Q3", "--agent", "cro"), "Error: --quarter 'Q3' is not a quarter"),
        (
            ("--quarter", "2026Q3", "--agent", "cro", "--format", "pdf"),
            "Error: unknown format 'pdf'; use md, html or json.",
        ),
    ],
)
def test_bad_input_is_one_sentence_and_writes_nothing(reviewed_store, tmp_path, args, message):
    out = tmp_path / "review.md"
    result = run("review", "--db", str(reviewed_store), "--out", str(out), *args)
    assert result.exit_code == 1
    assert result.output.startswith(message)
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_as_of_before_the_command_name_means_the_same(reviewed_store):
    args = ["--quarter", "2026Q3", "--agent", "cro", "--format", "json"]
    before = run("--as-of", "2026-10-07", "review", "--db", str(reviewed_store), *args)
    after = run("review", "--db", str(reviewed_store), *args, "--as-of", "2026-10-07")
    assert before.exit_code == 0, before.output
    assert before.stdout == after.stdout
    assert json.loads(before.stdout)["alerts"]["to_acknowledge"]["measured"] == 4
