"""``okr propose``, ``validate --targets`` and ``forecast --through`` end to end through Typer's
runner, on real stores whose forecasts are saved by hand, every number worked out by hand.

The split normal of a forecast's point (mean m, 80 % interval [lo, hi]): σ_lo = (m − lo) / z,
σ_hi = (hi − m) / z with z = Φ⁻¹(0.9) = 1.2815516; P(X ≤ x) = Φ((x − m) / σ) with σ the
side's; the q-quantile m + Φ⁻¹(q) · σ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from intelligentos.cli.main import app
from intelligentos.domain.clock import utc_today
from intelligentos.domain.forecast import Forecast, ForecastPoint
from intelligentos.domain.okr.propose import point_at_end
from intelligentos.domain.quarters import Quarter
from intelligentos.store import Store

from .conftest import MINI_CATALOG, write_catalog
from .stores import store_content

runner = CliRunner()
AS_OF = "2026-11-20"  # after the mini store's last observations; 2027Q1 is ahead

# Revenue Growth Rate (monthly, percent, higher is better, target 30) at 2027Q1's end: the
# point of 2027-03-01 (March holds 03-31), mean 32, 80 % interval [28, 38].
#   σ_lo = (32 − 28) / 1.2815516 = 3.121217, σ_hi = (38 − 32) / 1.2815516 = 4.681825.
#   P(hit 30) = P(X ≥ 30) = 1 − Φ((30 − 32) / 3.121217) = 1 − Φ(−0.640776) = Φ(0.640776)
#     = 0.7392 (tables: Φ(0.64) = 0.7389, Φ(0.65) = 0.7422).
#   commit (hit with 0.9) = the 10 % quantile = 32 − 1.2815516 × 3.121217 = 28 (lo itself);
#   stretch (0.35) = the 65 % quantile = 32 + Φ⁻¹(0.65) × σ_hi = 32 + 0.385320 × 4.681825
#     = 32 + 1.804000 = 33.804.
P_HIT_30 = 0.7392
COMMIT = 28.0
STRETCH = 33.804


def run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def point(period: str, mean: float, lo: float, hi: float) -> ForecastPoint:
    return ForecastPoint(period, mean, lo, hi, lo - 1.0, hi + 1.0)


def forecast(kpi_id: str, based_on: str, points: list[ForecastPoint], **extra: Any) -> Forecast:
    return Forecast(
        kpi_id=kpi_id,
        model=extra.get("model", "ets"),
        reliable=extra.get("reliable", True),
        horizon=len(points),
        season=None,
        based_on=based_on,
        points=tuple(points),
        backtest=None,
        note=extra.get("note", "ets: beat both baselines"),
    )


REVENUE_GROWTH = forecast(
    "revenue_growth",
    "2026-11-01",
    [
        point("2026-12-01", 30.0, 27.0, 33.0),
        point("2027-01-01", 30.5, 27.0, 35.0),
        point("2027-02-01", 31.0, 27.5, 36.0),
        point("2027-03-01", 32.0, 28.0, 38.0),
    ],
)
UNRELIABLE_WIN_RATE = forecast(
    "win_rate",
    "2026-11-16",
    [point("2026-11-23", 20.0, 18.0, 22.0)],
    model="naive",
    reliable=False,
    note="naive: no model beat naive",
)


def make_store(tmp_path: Path, *forecasts: Forecast, files: dict[str, str] = MINI_CATALOG) -> Path:
    """The mini catalog's store with a few observations (the forecasts are made from the
    latest: win rate's week of 2026-11-16, revenue growth's month of 2026-11-01) and
    ``forecasts`` saved as they are."""
    catalog = write_catalog(tmp_path / "catalog", files)
    path = tmp_path / "okr.db"
    made = run("init", "--db", str(path), "--catalog", str(catalog), "--no-demo")
    assert made.exit_code == 0, made.output
    csv = tmp_path / "rows.csv"
    csv.write_text(
        "kpi_id,period,value\nwin_rate,2026-11-09,19\nwin_rate,2026-11-16,18\n"
        "revenue_growth,2026-10-01,31\nrevenue_growth,2026-11-01,27\n",
        encoding="utf-8",
    )
    imported = run("import", str(csv), "--db", str(path))
    assert imported.exit_code == 0, imported.output
    with Store.open(path) as store:
        store.save_forecasts(forecasts, "2026-11-20T09:00:00Z")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return make_store(tmp_path, REVENUE_GROWTH, UNRELIABLE_WIN_RATE)


def propose_json(store: Path, *args: str) -> dict[str, Any]:
    result = run("okr", "propose", "--quarter", "2027Q1", "--db", str(store), "--as-of", AS_OF,
                 "--json", *args)  # fmt: skip
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_propose_json_by_hand(store: Path):
    document = propose_json(store)
    assert list(document) == ["quarter", "proposals", "cascade"]
    assert document["quarter"] == "2027Q1"
    growth, win = document["proposals"]
    assert list(growth) == [
        "id", "name", "direction", "current_target", "forecast_mean", "p_hit_current",
        "commit", "p_hit_commit", "stretch", "p_hit_stretch", "model", "reliable",
    ]  # fmt: skip
    assert growth["id"] == "revenue_growth" and growth["name"] == "Revenue Growth Rate"
    assert growth["direction"] == "higher" and growth["current_target"] == 30.0
    assert growth["forecast_mean"] == 32.0
    assert growth["p_hit_current"] == pytest.approx(P_HIT_30, abs=1e-3)
    assert growth["commit"] == pytest.approx(COMMIT)
    assert growth["p_hit_commit"] == pytest.approx(0.9)
    assert growth["stretch"] == pytest.approx(STRETCH, abs=1e-3)
    assert growth["p_hit_stretch"] == pytest.approx(0.35)
    assert growth["model"] == "ets" and growth["reliable"] is True
    # No reliable forecast: listed with the reason, every number null.
    assert win["id"] == "win_rate" and win["reliable"] is False and win["model"] == "naive"
    assert "not reliable" in win["reason"]
    numbers = ("forecast_mean", "p_hit_current", "commit", "p_hit_commit", "stretch")
    assert all(win[key] is None for key in (*numbers, "p_hit_stretch"))
    assert win["current_target"] == 25.0


def test_the_cascade_of_the_commit_targets_by_hand(store: Path):
    # Revenue growth's commit 28 against what its child implies: win rate keeps its target
    # 25 (no proposal), which is its default: Δp = 0, so the implied target is revenue
    # growth's default 30. gap = (28 − 30) / 30 − 0 = −0.0667: inconsistent.
    (link,) = propose_json(store)["cascade"]
    assert list(link) == ["parent", "parent_target", "implied_target", "gap_p", "consistent"]
    assert link["parent"] == "revenue_growth"
    assert link["parent_target"] == pytest.approx(28.0)
    assert link["implied_target"] == pytest.approx(30.0)
    assert link["gap_p"] == pytest.approx(-2 / 30)
    assert link["consistent"] is False


def test_propose_prints_the_table_the_reasons_and_the_cascade(store: Path):
    result = run("okr", "propose", "--quarter", "2027Q1", "--db", str(store), "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    text = result.stdout
    row = next(line for line in text.splitlines() if "Revenue Growth Rate" in line)
    # Numbers by unit (percent: one decimal), probabilities as whole percentages.
    for cell in ("higher", "30.0%", "32.0%", "74%", "28.0%", "90%", "33.8%", "35%", "ets"):
        assert cell in row, row
    assert "█" in row
    assert "Without a proposal (1 KPI):" in text
    assert "Win Rate (win_rate): its forecast is not reliable (naive)" in text
    cascade = next(line for line in text.splitlines() if "(revenue_growth)" in line)
    assert "−6.7 pp" in cascade and "28.0%" in cascade and "30.0%" in cascade
    assert "0 parents of 1 consistent" in text
    assert "32.00000" not in text  # never a raw float


def test_one_kpi_and_a_short_forecast_names_forecast_through(tmp_path: Path):
    # Win rate reliable, but its forecast stops at the week of 2027-01-04.
    short = forecast("win_rate", "2026-11-16", [point("2027-01-04", 20.0, 18.0, 22.0)])
    path = make_store(tmp_path, REVENUE_GROWTH, short)
    document = propose_json(path, "--kpi", "win_rate")
    (win,) = document["proposals"]
    assert win["commit"] is None and win["reliable"] is True
    assert "forecast --through 2027Q1" in win["reason"]


def test_a_band_kpi_keeps_its_target(tmp_path: Path):
    # Band KPIs keep their target as commit and stretch (the catalog's default band: the
    # warning fraction 0.05 of 30 = 1.5). P(28.5 ≤ X ≤ 31.5) with the split normal of
    # mean 32, lo 28: both ends below the mean, on σ_lo = 3.121217:
    # Φ((31.5 − 32) / 3.121217) − Φ((28.5 − 32) / 3.121217) = Φ(−0.160194) − Φ(−1.121357)
    # = 0.436364 − 0.131068 = 0.3053.
    catalog = MINI_CATALOG["kpis.toml"].replace(
        'direction = "higher"\ntarget = 30.0', 'direction = "band"\ntarget = 30.0'
    )
    path = make_store(tmp_path, REVENUE_GROWTH, files={**MINI_CATALOG, "kpis.toml": catalog})
    (growth, _) = propose_json(path)["proposals"]
    assert growth["direction"] == "band"
    assert growth["commit"] == growth["stretch"] == 30.0
    assert growth["p_hit_current"] == pytest.approx(0.3053, abs=1e-3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quarter", "2027-Q1"], "Error: '2027-Q1' is not a quarter: write YYYYQn, e.g. 2027Q1."),
        (
            ["--quarter", "2026Q3"],
            "Error: 2026Q3 ended on 2026-09-30; targets can be set for 2026Q4 or a later quarter.",
        ),
        (
            ["--quarter", "2027Q1", "--kpi", "nope"],
            "Error: unknown KPI 'nope'; `intelligentos-tui kpis` lists them.",
        ),
    ],
)
def test_bad_input_is_one_sentence_exit_1_and_writes_nothing(
    store: Path, args: list[str], message: str
):
    before = store_content(store)
    result = run("okr", "propose", *args, "--db", str(store), "--as-of", "2026-11-20")
    assert result.exit_code == 1
    assert result.stderr.strip() == message
    assert store_content(store) == before


def write_config(directory: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("INTELLIGENTOS_CONFIG_DIR", str(directory))
    return path


def test_commit_and_stretch_come_from_the_config(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    write_config(tmp_path / "config", "[okr]\ncommit = 0.8\nstretch = 0.5\n", monkeypatch)
    # commit (0.8) = the 20 % quantile = 32 + Φ⁻¹(0.2) × σ_lo = 32 − 0.841621 × 3.121217
    #   = 32 − 2.626882 = 29.373; stretch (0.5) = the median = the mean, 32.
    growth = propose_json(store)["proposals"][0]
    assert growth["commit"] == pytest.approx(29.373, abs=1e-3)
    assert growth["p_hit_commit"] == pytest.approx(0.8)
    assert growth["stretch"] == pytest.approx(32.0)
    assert growth["p_hit_stretch"] == pytest.approx(0.5)


IN, BAD = "in {path}", "which has a bad value"


@pytest.mark.parametrize(
    ("text", "warning", "commit", "stretch"),
    [
        # Stretch not below commit (0.9): the stretch falls back to 0.35; commit stays.
        ("[okr]\nstretch = 0.95\n", f"okr.stretch {IN}, which must be below okr.commit", 0.9, 0.35),
        # Out of (0, 1): that key alone falls back; the other is used.
        ("[okr]\ncommit = 1.5\nstretch = 0.5\n", f"okr.commit {IN}, {BAD}", 0.9, 0.5),
        ("[okr]\ncommit = 0.8\nstretch = 0\n", f"okr.stretch {IN}, {BAD}", 0.8, 0.35),
        # A commit at or below the default stretch: the commit falls back to 0.9.
        ("[okr]\ncommit = 0.3\n", f"okr.commit {IN}, which must be above okr.stretch", 0.9, 0.35),
    ],
)  # fmt: skip
def test_a_bad_okr_key_is_a_warning_and_falls_back_alone(
    store: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    warning: str,
    commit: float,
    stretch: float,
):
    path = write_config(tmp_path / "config", text, monkeypatch)
    result = run("okr", "propose", "--quarter", "2027Q1", "--db", str(store), "--as-of", AS_OF,
                 "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Warning: Ignored {warning.format(path=path)}"), line
    assert line.endswith("; its default is used.")
    growth = json.loads(result.stdout)["proposals"][0]
    assert growth["p_hit_commit"] == pytest.approx(commit)
    assert growth["p_hit_stretch"] == pytest.approx(stretch)


# --- validate --targets ------------------------------------------------------------------------

# A parent with two weighted children and a sensitivity edge, and 2027Q1 targets for each.
CASCADE_KPIS = """
[kpi.growth.targets]
"2027Q1" = 45.0

[kpi.win]
name = "Win"
level = "functional"
unit = "percent"
direction = "higher"
target = 25.0
frequency = "monthly"
formula = "won / closed"
engine = "growth"
owner_function = "sales"
owner_agent = "cro"
rolls_up_to = "growth"
weight = 0.6
targets = { "2027Q1" = 30.0 }
[[kpi.win.lineage]]
metric = "Closed opportunities"
workflow = "opportunity_management"
step = "close"
fields = ["crm.opportunity.stage"]

[kpi.cost]
name = "Cost"
level = "functional"
unit = "percent"
direction = "lower"
target = 10.0
frequency = "monthly"
formula = "cost / revenue"
engine = "growth"
owner_function = "sales"
owner_agent = "cro"
rolls_up_to = "growth"
weight = 0.4
targets = { "2027Q1" = 8.0 }
[[kpi.cost.lineage]]
metric = "Booked revenue"
workflow = "opportunity_management"
step = "close"
fields = ["crm.opportunity.amount"]

[kpi.leads]
name = "Leads"
level = "functional"
unit = "count"
direction = "higher"
target = 200.0
frequency = "monthly"
formula = "count of leads"
engine = "growth"
owner_function = "sales"
owner_agent = "cro"
rolls_up_to = "growth"
sensitivity = 0.05
weight = 0.0
targets = { "2027Q1" = 240.0 }
[[kpi.leads.lineage]]
metric = "Leads"
workflow = "opportunity_management"
step = "close"
fields = ["crm.opportunity.stage"]
"""


def cascade_catalog(tmp_path: Path) -> Path:
    """growth (percent, higher, target 40) with win and cost weighted and leads by
    sensitivity; the mini catalog's revenue growth and win rate beside them."""
    growth = (
        MINI_CATALOG["kpis.toml"]
        .replace("[kpi.revenue_growth]", "[kpi.growth]", 1)
        .replace("target = 30.0", "target = 40.0", 1)
        .replace("[[kpi.revenue_growth.lineage]]", "[[kpi.growth.lineage]]", 1)
    )
    growth = growth[: growth.index("[kpi.win_rate]")]
    org = (
        MINI_CATALOG["org.toml"]
        .replace('["revenue_growth"]', '["growth"]')
        .replace('["win_rate"]', '["win"]')
    )
    files = {"org.toml": org, "kpis.toml": growth + CASCADE_KPIS}
    return write_catalog(tmp_path / "cascade", files)


def test_validate_targets_checks_the_cascade_by_hand(tmp_path: Path):
    catalog = cascade_catalog(tmp_path)
    result = run("validate", "--catalog", str(catalog), "--targets", "--quarter", "2027Q1")
    # win: (30 − 25) / 25 = +0.2 of performance; cost (lower): (10 − 8) / 10 = +0.2;
    # weighted: 0.6 × 0.2 + 0.4 × 0.2 = +0.2 of growth's default 40 → +8 points;
    # leads: 0.05 × (240 − 200) = +2 points. Implied: 40 + 8 + 2 = 50.
    # Its own 45: (45 − 40) / 40 − (50 − 40) / 40 = 0.125 − 0.25 = −0.125: −12.5 pp.
    assert result.exit_code == 0, result.output  # advice: a warning, not a violation
    row = next(line for line in result.stdout.splitlines() if "(growth)" in line)
    assert "45.0%" in row and "50.0%" in row and "−12.5 pp" in row
    assert "asks less than its children's targets deliver" in row
    assert "0 parents of 1 consistent" in result.stdout
    assert "passes every governance rule (1 warning above)" in result.stdout


def test_validate_targets_before_any_quarterly_target_judges_the_defaults(tmp_path: Path):
    # 2026Q4 comes before every quarterly target: the catalog's defaults are in force, and
    # they agree (every child at its default: Δ = 0, implied = growth's own 40).
    catalog = cascade_catalog(tmp_path)
    result = run("validate", "--catalog", str(catalog), "--targets", "--quarter", "2026Q4")
    assert result.exit_code == 0, result.output
    assert "1 parent of 1 consistent" in result.stdout
    assert "(growth)" not in result.stdout


def test_validate_targets_with_db_reads_the_stores_targets(tmp_path: Path):
    catalog = cascade_catalog(tmp_path)
    path = tmp_path / "cascade.db"
    made = run("init", "--db", str(path), "--catalog", str(catalog), "--no-demo")
    assert made.exit_code == 0, made.output
    result = run("validate", "--catalog", str(catalog), "--targets", "--quarter", "2027Q1",
                 "--db", str(path))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"2027Q1 ({path})" in result.stdout
    assert "−12.5 pp" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--targets", "--quarter", "27Q1"],
         "Error: '27Q1' is not a quarter: write YYYYQn, e.g. 2027Q1."),
        (["--quarter", "2027Q1"], "Error: --quarter goes with --targets."),
    ],
)  # fmt: skip
def test_validate_targets_bad_input(tmp_path: Path, args: list[str], message: str):
    catalog = cascade_catalog(tmp_path)
    result = run("validate", "--catalog", str(catalog), *args)
    assert result.exit_code == 1
    assert result.stderr.strip() == message


# --- forecast --through ------------------------------------------------------------------------


def test_forecast_through_reaches_the_quarters_end(today_store: Path):
    # The demo store ends today: forecasting through next quarter gives each KPI a point for
    # the period holding that quarter's last day, whatever its frequency.
    quarter = Quarter.of(utc_today()).next()
    kpis = ["win_rate", "revenue_growth", "support_first_response"]  # weekly, monthly, daily
    args = [f"--kpi={k}" for k in kpis]
    result = run("forecast", "--db", str(today_store), "--through", str(quarter), *args, "--json")
    assert result.exit_code == 0, result.output
    with Store.open(today_store) as store:
        catalog = store.read_catalog()
        stored = {f.forecast.kpi_id: f.forecast for f in store.forecasts(kpis)}
    assert set(stored) == set(kpis)
    for kpi_id, found in stored.items():
        frequency = catalog.kpis[kpi_id].frequency
        assert point_at_end(found.points, frequency, quarter) is not None, kpi_id


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--through", "2027Q1", "--horizon", "3"],
         "Error: --horizon and --through both say how far to forecast; give one."),
        (["--through", "2027-03"],
         "Error: --through: '2027-03' is not a quarter: write YYYYQn, e.g. 2027Q1."),
        (["--through", "2001Q1"], "Error: --through 2001Q1 ended on 2001-03-31; give "),
    ],
)  # fmt: skip
def test_forecast_through_bad_input(store: Path, args: list[str], message: str):
    before = store_content(store)
    result = run("forecast", "--db", str(store), *args)
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert store_content(store) == before
