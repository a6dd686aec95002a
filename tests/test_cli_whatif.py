"""``intelligentos-tui whatif``: scenarios and goal seek on the demo store, end to end."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.config.paths import builtin_catalog_dir
from intelligentos.domain.formatting import format_value
from intelligentos.services.catalog import load_catalog
from intelligentos.store import Store

from .stores import store_content

runner = CliRunner()
AS_OF = "2026-11-27"  # the demo store's last day: the tests never depend on today
CATALOG = load_catalog(builtin_catalog_dir())


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def whatif(store: Path, *args: str):
    return run("whatif", *args, "--db", str(store), "--as-of", AS_OF)


def as_json(store: Path, *args: str) -> dict[str, Any]:
    result = whatif(store, *args, "--json")
    assert result.exit_code == 0, result.output
    record: dict[str, Any] = json.loads(result.stdout)
    return record


def latest(store: Path, until: str = AS_OF + "T99") -> dict[str, float]:
    """The latest value of every KPI that has one, as the command reads them."""
    with Store.open(store) as opened:
        windows = opened.latest_windows(1, until=until)
    return {k: w[-1][1] for k, w in windows.items() if w and w[-1][1] is not None}


def digest(path: Path) -> str:
    """The store's rows (read through SQLite, never its bytes)."""
    return store_content(path)


def by_id(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k["id"]: k for k in record["kpis"]}


# --- scenarios ----------------------------------------------------------------------------


def test_json_shape_and_hand_computed_projection(demo_store: Path):
    before = digest(demo_store)
    record = as_json(demo_store, "win_rate+=3")
    assert set(record) == {"model", "as_of", "levers", "kpis"}
    assert record["model"] == "catalog weights, linear"
    assert record["as_of"] == AS_OF
    assert record["levers"] == ["win_rate+=3"]
    assert [k["id"] for k in record["kpis"]] == ["win_rate", "revenue_growth"]
    for kpi in record["kpis"]:
        assert set(kpi) == {
            "id",
            "name",
            "current",
            "projected",
            "status",
            "projected_status",
            "clamped",
            "lever",
            "moved_by",
            "implausible",
        }
    now = latest(demo_store)
    win, growth = by_id(record)["win_rate"], by_id(record)["revenue_growth"]
    assert win["name"] == "Win Rate" and win["lever"] and not growth["lever"]
    assert win["current"] == now["win_rate"]
    assert win["projected"] == pytest.approx(now["win_rate"] + 3)
    # Win rate: target 28, weight 0.1 in revenue growth (target 40):
    # Δp = 3/28 → revenue growth + 0.1 × 3/28 × 40.
    assert growth["current"] == now["revenue_growth"]
    assert growth["projected"] == pytest.approx(now["revenue_growth"] + 0.1 * 3 / 28 * 40)
    assert growth["status"] in ("ok", "warning", "critical")
    assert not win["clamped"] and not growth["clamped"]
    assert digest(demo_store) == before  # nothing written


def test_several_levers_and_the_lever_above_a_lever(demo_store: Path):
    record = as_json(demo_store, "win_rate-=3", "sales_cycle_length-=10%", "activation_rate=70")
    assert record["levers"] == ["win_rate-=3", "sales_cycle_length-=10%", "activation_rate=70"]
    kpis = by_id(record)
    assert list(kpis) == [
        "win_rate",
        "sales_cycle_length",
        "activation_rate",
        "feature_adoption",
        "revenue_growth",
    ]
    now = latest(demo_store)
    # win_rate is a lever: sales_cycle_length below it does not move it.
    assert kpis["win_rate"]["projected"] == pytest.approx(now["win_rate"] - 3)
    assert kpis["sales_cycle_length"]["projected"] == pytest.approx(now["sales_cycle_length"] * 0.9)
    # activation_rate (target 60, weight 0.4) → feature_adoption (target 42, weight 0.15) →
    # revenue_growth; win_rate (target 28, weight 0.1) → revenue_growth. Both add up.
    adoption_dp = 0.4 * (70 - now["activation_rate"]) / 60
    assert kpis["feature_adoption"]["projected"] == pytest.approx(
        now["feature_adoption"] + adoption_dp * 42
    )
    growth_dp = 0.15 * adoption_dp + 0.1 * (-3 / 28)
    assert kpis["revenue_growth"]["projected"] == pytest.approx(
        now["revenue_growth"] + growth_dp * 40
    )


def test_as_of_reads_the_latest_values_up_to_that_day(demo_store: Path):
    day = "2026-09-15"
    result = run("whatif", "win_rate+=1", "--db", str(demo_store), "--as-of", day, "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["as_of"] == day
    now = latest(demo_store, day + "T99")
    assert by_id(record)["win_rate"]["current"] == now["win_rate"]
    assert by_id(record)["revenue_growth"]["current"] == now["revenue_growth"]
    assert now["win_rate"] != latest(demo_store)["win_rate"]


def test_clamped_values_are_flagged(demo_store: Path):
    record = as_json(demo_store, "brand_sentiment+=200")
    kpis = by_id(record)
    assert kpis["brand_sentiment"]["projected"] == 100 and kpis["brand_sentiment"]["clamped"]
    assert kpis["brand_health"]["projected"] == 100 and kpis["brand_health"]["clamped"]
    result = whatif(demo_store, "brand_sentiment+=200")
    assert result.exit_code == 0
    assert "clamped" in result.stdout


def test_negative_values_are_not_options(demo_store: Path):
    # A lever starts with its KPI id, so a negative number is never read as an option.
    record = as_json(demo_store, "win_rate=-5")
    win = by_id(record)["win_rate"]
    assert (win["projected"], win["clamped"]) == (0, True)
    assert as_json(demo_store, "win_rate-=-2")["kpis"][0]["projected"] == pytest.approx(
        latest(demo_store)["win_rate"] + 2
    )
    # `--` ends the options, as usual.
    result = run("whatif", "--db", str(demo_store), "--as-of", AS_OF, "--json", "--", "win_rate=5")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kpis"][0]["projected"] == 5


def test_db_before_the_command(demo_store: Path):
    result = run("--db", str(demo_store), "whatif", "win_rate+=3", "--as-of", AS_OF, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["levers"] == ["win_rate+=3"]


def test_human_table(demo_store: Path):
    result = whatif(demo_store, "win_rate+=3")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "catalog weights, linear" in text
    assert "What if win_rate+=3" in text and AS_OF in text
    assert "Win Rate" in text and "Revenue Growth Rate" in text
    now = latest(demo_store)
    assert format_value(now["win_rate"], "percent") in text
    assert format_value(now["win_rate"] + 3, "percent") in text
    assert "+3.00 pt" in text
    assert "lever" in text
    assert "●" in text or "▲" in text or "■" in text


def test_names_are_shown_literally(demo_store: Path):
    conn = sqlite3.connect(demo_store)
    conn.execute("UPDATE kpis SET name = ? WHERE id = 'win_rate'", ("[red]Win[/red] \x1b[31mrate",))
    conn.commit()
    conn.close()
    result = whatif(demo_store, "win_rate+=3")
    assert result.exit_code == 0, result.output
    assert "[red]Win[/red]" in result.stdout
    assert "\x1b" not in result.stdout and "\\x1b" in result.stdout
    record = as_json(demo_store, "win_rate+=3")
    assert record["kpis"][0]["name"] == "[red]Win[/red] \x1b[31mrate"


# --- goal seek ----------------------------------------------------------------------------


def goal(store: Path, goal_id: str, lever_id: str, *extra: str):
    return whatif(store, "--goal", goal_id, "--lever", lever_id, *extra)


@pytest.mark.parametrize(
    ("goal_id", "lever_id"),
    [
        ("brand_health", "earned_media_mentions"),  # two levels, count lever
        # A lower-is-better lever on a goal below its target: win rate 13.62 → 28 is
        # +14.38/28 = 0.513571 of its target; at weight 1 the cycle moves -0.513571 × 65
        # = -33.382 days of its target 65, from 95.88 to 62.50.
        ("win_rate", "sales_cycle_length"),
        ("ebitda_margin", "close_cycle_time"),  # through a band KPI, goal above its target
        ("share_of_voice", "earned_media_mentions"),  # the goal one level up
    ],
)
def test_goal_seek_round_trips_through_the_cli(demo_store: Path, goal_id: str, lever_id: str):
    result = goal(demo_store, goal_id, lever_id, "--json")
    assert result.exit_code == 0, result.output
    seek = json.loads(result.stdout)
    assert seek["reachable"] is True
    assert {"goal", "lever", "current", "required", "change", "reachable"} <= set(seek)
    assert seek["model"] == "catalog weights, linear"
    assert (seek["goal"], seek["lever"]) == (goal_id, lever_id)
    now = latest(demo_store)
    assert seek["current"] == now[lever_id]
    assert seek["goal_current"] == now[goal_id]
    assert seek["change"] == pytest.approx(seek["required"] - seek["current"])
    # Setting the lever to the required value projects the goal onto its target.
    record = as_json(demo_store, f"{lever_id}={seek['required']!r}")
    projected = by_id(record)[goal_id]["projected"]
    assert projected == pytest.approx(CATALOG.kpis[goal_id].target, abs=1e-9)


def test_goal_seek_moves_a_lower_is_better_lever_down(demo_store: Path):
    seek = json.loads(goal(demo_store, "win_rate", "sales_cycle_length", "--json").stdout)
    # Win rate 13.62 % → 28 %: +14.38/28 = 0.513571 of its target; the cycle (weight 1,
    # lower is better) must fall by 0.513571 × 65 days = 33.3821, from 95.88 to 62.4979.
    assert (seek["goal_current"], seek["current"]) == (13.62, 95.88)
    assert seek["change"] == pytest.approx(-33.3821, abs=1e-4)
    assert seek["required"] == pytest.approx(62.4979, abs=1e-4)


def test_one_point_less_churn_is_one_point_more_grr_and_nrr_on_the_demo(demo_store: Path):
    # GRR = 100 - contraction_rate - churn_rate and NRR = grr + expansion_rate are formulas:
    # churn 5.08 → 4.08 makes GRR 100 - 2.00 - 4.08 = 93.92 (was 92.92) and NRR
    # 93.92 + 21.61 = 115.53 (was 114.53): one point each, not the weights' tens of points.
    record = as_json(demo_store, "churn_rate-=1")
    assert record["model"] == "formulas exact"
    kpis = by_id(record)
    assert set(kpis) == {"churn_rate", "grr", "nrr"}
    now = latest(demo_store)
    assert (now["churn_rate"], now["contraction_rate"], now["expansion_rate"]) == (5.08, 2.0, 21.61)
    assert kpis["churn_rate"]["projected"] == pytest.approx(4.08, abs=1e-9)
    assert kpis["grr"]["current"] == pytest.approx(92.92, abs=1e-9)
    assert kpis["grr"]["projected"] == pytest.approx(93.92, abs=1e-9)
    assert kpis["nrr"]["current"] == pytest.approx(114.53, abs=1e-9)
    assert kpis["nrr"]["projected"] == pytest.approx(115.53, abs=1e-9)
    assert kpis["grr"]["moved_by"] == kpis["nrr"]["moved_by"] == ["formula"]


def test_goal_seek_human_output(demo_store: Path):
    # At the end of March 2026 Brand Health (63.1) was below its target 65.
    args = ("whatif", "--goal", "brand_health", "--lever", "earned_media_mentions")
    args += ("--db", str(demo_store), "--as-of", "2026-03-31")
    result = run(*args)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "catalog weights, linear" in text
    assert "Brand Health" in text and "Earned Media Mentions" in text
    assert "reaches its target 65.0" in text and "path weight 0.3" in text
    seek = json.loads(run(*args, "--json").stdout)
    # A count lever keeps two decimals: 12.14 mentions is not 12.
    assert f"to {seek['required']:,.2f} (+{seek['change']:,.2f};" in text


@pytest.mark.parametrize(
    ("goal_id", "lever_id", "reason"),
    [
        ("revenue_growth", "nrr", "nrr does not roll up to revenue_growth"),  # a CEO sibling
        ("revenue_growth", "grr", "grr does not roll up to revenue_growth"),
        ("win_rate", "revenue_growth", "does not roll up"),  # above, not below
        ("revenue_growth", "revenue_growth", "the goal itself"),
        ("gross_margin", "on_time_delivery", "outside its plausible range"),
        # A sensitivity is used as is: -1 pt of gross margin per pt of infrastructure cost,
        # so 63.79 → 72 needs 7.68 - 8.21 = -0.53 %, below zero.
        ("gross_margin", "infra_cost_ratio", "infra_cost_ratio would have to reach -0.53,"),
        ("gross_margin", "milestone_slippage", "on_time_delivery would leave its plausible"),
        ("gross_margin", "utilization", "band KPI"),
    ],
)
def test_goal_seek_unreachable(demo_store: Path, goal_id: str, lever_id: str, reason: str):
    result = goal(demo_store, goal_id, lever_id, "--json")
    assert result.exit_code == 1
    seek = json.loads(result.stdout)
    assert seek["reachable"] is False
    assert "required" not in seek and "change" not in seek
    assert reason in seek["reason"]
    assert "Error:" in result.stderr and "cannot bring" in result.stderr
    human = goal(demo_store, goal_id, lever_id)
    assert human.exit_code == 1
    assert human.stdout == ""
    assert human.stderr.count("\n") == 1 and human.stderr.startswith("Error: ")


def test_goal_seek_on_a_goal_already_met_is_an_answer_not_an_error(demo_store: Path):
    now = latest(demo_store)
    assert now["customer_nps"] >= CATALOG.kpis["customer_nps"].target  # 47.9 vs 45
    human = goal(demo_store, "customer_nps", "support_resolution_time")
    assert human.exit_code == 0, human.output
    assert human.stderr == ""
    assert "customer_nps already meets its target 45.0 (47.9)" in human.stdout
    # The lever may worsen until the goal is just on its target.
    assert "it would stay there with support_resolution_time at 26.5 h" in human.stdout
    result = goal(demo_store, "customer_nps", "support_resolution_time", "--json")
    assert result.exit_code == 0
    seek = json.loads(result.stdout)
    assert seek["met"] is True and seek["reachable"] is True
    assert seek["goal_current"] == now["customer_nps"]
    assert seek["required"] > seek["current"]  # resolution time, lower is better: it may rise


def test_goal_seek_with_a_zero_weight(demo_store: Path):
    conn = sqlite3.connect(demo_store)
    conn.execute("UPDATE kpis SET weight = 0 WHERE id = 'earned_media_mentions'")
    conn.commit()
    conn.close()
    result = goal(demo_store, "brand_health", "earned_media_mentions", "--json")
    assert result.exit_code == 1
    assert "zero" in json.loads(result.stdout)["reason"]


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["win_rate"], "cannot read lever 'win_rate'"),
        (["win_rate==3"], "is not a number"),
        (["win_rate*=3"], "cannot read lever"),
        (["win_rate=3%"], "a percentage applies to += or -= only"),
        (["win_rate=abc"], "'abc' is not a number"),
        (["win_rate=nan"], "finite"),
        (["win_rate+=inf"], "finite"),
        (["win_rate=3", "win_rate+=1"], "more than one lever"),
        (["nope=3"], "unknown KPI 'nope'"),
        (["win_rate=3", "nope+=1"], "unknown KPI 'nope'"),
        (["--goal", "nope", "--lever", "win_rate"], "unknown KPI 'nope'"),
        (["--goal", "revenue_growth", "--lever", "nope"], "unknown KPI 'nope'"),
        (["win_rate=3", "--goal", "revenue_growth", "--lever", "win_rate"], "not both"),
        (["--goal", "revenue_growth"], "needs both --goal"),
        (["--lever", "win_rate"], "needs both --goal"),
        ([], "give at least one lever"),
        (["win_rate=3", "--as-of", "2026-13-01"], "--as-of must be a date"),
        (["win_rate=3", "--as-of", "yesterday"], "--as-of must be a date"),
        (["win_rate=3", "--as-of", "2000-01-01"], "is before the first observation (2024-11-28)"),
        # The store's first day: a weekly KPI has no observation yet.
        (["win_rate=3", "--as-of", "2024-11-28"], "has no value to start from as of 2024-11-28"),
        (
            ["--goal", "revenue_growth", "--lever", "win_rate", "--as-of", "2024-11-28"],
            "has no value to start from",
        ),
    ],
)
def test_bad_input_is_one_error_line(demo_store: Path, args: list[str], message: str):
    before = digest(demo_store)
    as_of = [] if "--as-of" in args else ["--as-of", AS_OF]
    for extra in ([], ["--json"]):
        result = run("whatif", *args, "--db", str(demo_store), *as_of, *extra)
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
        assert message in result.stderr
        assert "Traceback" not in result.output
    assert digest(demo_store) == before


def test_bad_lever_text_is_refused_before_the_store_is_made(tmp_path: Path):
    missing = tmp_path / "none.db"
    result = run("whatif", "win_rate=oops", "--db", str(missing), "--as-of", AS_OF)
    assert result.exit_code == 1
    assert not missing.exists()


def test_a_cycle_in_a_hand_edited_store(demo_store: Path):
    conn = sqlite3.connect(demo_store)
    conn.execute("UPDATE kpis SET rolls_up_to = 'win_rate' WHERE id = 'revenue_growth'")
    conn.commit()
    conn.close()
    for args in (["win_rate+=3"], ["--goal", "revenue_growth", "--lever", "sales_cycle_length"]):
        result = whatif(demo_store, *args)
        assert result.exit_code == 1
        assert result.stderr.startswith("Error: the roll-up runs in a circle")
        assert "win_rate → revenue_growth → win_rate" in result.stderr
        assert result.stderr.count("\n") == 1
    # KPIs away from the circle still simulate.
    assert whatif(demo_store, "nrr+=1").exit_code == 0
