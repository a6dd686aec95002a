"""``okr grade``: each KPI's score worked out by hand (tests/okr_store.py), the agents' and
engines' means, a running quarter, and the refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app

from .okr_store import make_okr_store

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def okr_store(tmp_path: Path) -> Path:
    return make_okr_store(tmp_path)


def graded(db: Path, *args: str) -> dict:
    result = run("okr", "grade", "--db", str(db), "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_each_kpis_score_is_its_progress_to_target(okr_store):
    found = graded(okr_store, "--quarter", "2026Q3", "--as-of", "2026-10-05")
    assert (found["quarter"], found["as_of"], found["running"]) == ("2026Q3", "2026-09-30", False)
    by_id = {k["id"]: k for k in found["kpis"]}
    expected = {
        "revenue_growth": (20.0, 26.0, 0.6, "yellow"),  # (26 − 20) / (30 − 20)
        "win_rate": (20.0, 23.0, 0.6, "yellow"),  # (23 − 20) / (25 − 20)
        "cycle_time": (40.0, 38.0, 0.2, "red"),  # lower: (40 − 38) / (40 − 30)
        "csat": (95.0, 88.0, 1 - 2 / 4.5, "yellow"),  # met at start: 1 − 2 / (0.05 × 90)
        "nps": (50.0, 53.0, 0.4, "yellow"),  # band: 1 − 3 / (0.1 × 50); 0.4 is yellow
    }
    assert set(by_id) == set(expected)
    for kpi_id, (start, actual, score, colour) in expected.items():
        record = by_id[kpi_id]
        assert (record["start"], record["actual"]) == (start, actual), kpi_id
        assert record["score"] == pytest.approx(score), kpi_id
        assert record["colour"] == colour, kpi_id
    # October's values (revenue growth 29, NPS 60) are after the quarter: not graded.
    assert by_id["nps"]["actual_period"] == "2026-09-01"


def test_agents_and_engines_are_the_means_of_their_kpis(okr_store):
    found = graded(okr_store, "--quarter", "2026Q3", "--as-of", "2026-10-05")
    agents = {a["id"]: (a["name"], a["score"], a["colour"]) for a in found["agents"]}
    # CRO: win rate 0.6, sales cycle 0.2, CSAT 0.5556: 1.3556 / 3 = 0.4519.
    assert agents["cro"][0] == "CRO Agent"
    assert agents["cro"][1] == pytest.approx((0.6 + 0.2 + (1 - 2 / 4.5)) / 3)
    assert agents["cro"][2] == "yellow"
    assert agents["ceo"][1:] == (pytest.approx(0.6), "yellow")
    assert agents["cco"][1:] == (pytest.approx(0.4), "yellow")
    engines = {e["id"]: (e["score"], e["colour"]) for e in found["engines"]}
    # Growth: 0.6 + 0.6 + 0.2 + 0.5556 = 1.9556, / 4 = 0.4889; Retention: NPS alone.
    assert engines["growth"] == (pytest.approx((0.6 + 0.6 + 0.2 + (1 - 2 / 4.5)) / 4), "yellow")
    assert engines["retention"] == (pytest.approx(0.4), "yellow")


def test_a_running_quarter_is_graded_as_of_the_day(okr_store):
    found = graded(okr_store, "--quarter", "2026Q3", "--as-of", "2026-08-15")
    assert (found["as_of"], found["running"]) == ("2026-08-15", True)
    by_id = {k["id"]: k for k in found["kpis"]}
    # Revenue growth's latest by mid-August is August's 25: (25 − 20) / 10.
    assert by_id["revenue_growth"]["score"] == pytest.approx(0.5)
    # Win rate's latest week by then (10 August) is the sixth of the quarter: 22.
    assert by_id["win_rate"]["actual"] == 22.0
    assert by_id["win_rate"]["score"] == pytest.approx(0.4)
    text = run(
        "okr", "grade", "--db", str(okr_store), "--quarter", "2026Q3", "--as-of", "2026-08-15"
    )
    assert text.exit_code == 0, text.output
    assert "2026Q3 (running: graded as of 2026-08-15)" in text.stdout


def test_one_agents_grades(okr_store):
    found = graded(okr_store, "--quarter", "2026Q3", "--as-of", "2026-10-05", "--agent", "cro")
    assert [k["id"] for k in found["kpis"]] == ["win_rate", "cycle_time", "csat"]
    assert [a["id"] for a in found["agents"]] == ["cro"]
    assert [e["id"] for e in found["engines"]] == ["growth"]


def test_the_table_per_engine_formats_by_unit_and_shows_the_scores(okr_store):
    result = run(
        "okr", "grade", "--db", str(okr_store), "--quarter", "2026Q3", "--as-of", "2026-10-05"
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "2026Q3 graded at its end, 2026-09-30" in text
    assert text.index("Growth (growth)") < text.index("Retention (retention)")
    cycle = next(line for line in text.splitlines() if "cycle_time" in line)
    assert "30.0 d" in cycle and "40.0 d" in cycle and "38.0 d" in cycle and "0.20" in cycle
    assert "██········" in cycle  # 0.2: two cells of ten
    assert "Agents (mean of the KPIs each owns)" in text and "0.45" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--quarter", "2026Q4", "--as-of", "2026-09-15"),
            "Error: 2026Q4 starts on 2026-10-01, after 2026-09-15: it has not started, so "
            "there is nothing to grade yet.",
        ),
        (("--quarter", "2026-Q3"), "Error: --quarter '2026-Q3' is not a quarter"),
        (
            ("--quarter", "2026Q3", "--agent", "cfo"),
            "Error: unknown agent 'cfo'; the catalog's agents: cco, ceo, cro.",
        ),
    ],
)
def test_bad_input_is_one_sentence(okr_store, args, message):
    result = run("okr", "grade", "--db", str(okr_store), *args)
    assert result.exit_code == 1
    assert result.output.startswith(message)
    assert len(result.output.strip().splitlines()) == 1
