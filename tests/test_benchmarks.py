"""The benchmark command runs end to end on a tiny store, so it can never silently rot, and
its figures are plausible: a probe that measured nothing (a zero drill-down, say) fails."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Open bounds per figure (the name before " ("): generous, as machines differ, but a
# figure outside them means the benchmark measured the wrong thing.
PLAUSIBLE = {
    "startup": (0.05, 30.0),  # s: a Python process with Textual cannot paint faster
    "evaluate": (0.0, 60.0),  # s
    "drill-down": (0.0, 10_000.0),  # ms
    "live latency": (0.0, 10.0),  # s
    "import": (0.0, float("inf")),  # rows/s
    "forecast all KPIs": (0.0, 240.0),  # s
}
MEMORY_MB = (20.0, 2000.0)
FORECAST_MEMORY_MB = (20.0, 4000.0)  # the command and its worker processes, summed
IDLE_CPU_PERCENT = (0.0, 100.0)  # closed: an idle cockpit may well use no CPU
ACCURACY = (
    "forecast accuracy (mean MASE vs seasonal naive)",
    "forecast accuracy (worst MASE)",
    "forecast 80 % coverage (pooled)",
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], dict]:
    """One ``--tiny`` run for every test here: its output and its JSON report."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--tiny", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result, json.loads(out.read_text())


def test_benchmark_runs_on_a_tiny_store(tiny_run):
    result, report = tiny_run
    figures = {f["figure"].split(" (")[0]: f for f in report["figures"]}
    assert set(PLAUSIBLE) | {"idle CPU", "memory", "forecast peak memory"} <= set(figures)
    for name, (low, high) in PLAUSIBLE.items():
        median = figures[name]["median"]
        assert median is not None and low < median < high, figures[name]
    for name, (low, high) in (
        ("memory", MEMORY_MB),
        ("idle CPU", IDLE_CPU_PERCENT),
        ("forecast peak memory", FORECAST_MEMORY_MB),
    ):
        median = figures[name]["median"]
        assert median is not None and low <= median <= high, figures[name]
    for figure in report["figures"]:
        assert all(sample is not None for sample in figure["samples"]), figure
        if figure["floor_median"] is not None:
            assert figure["floor_median"] > 0, figure
    assert "| tiny | startup |" in result.stdout
    assert "| tiny | forecast all KPIs (120) |" in result.stdout
    assert "| public series | forecast accuracy (mean MASE vs seasonal naive) |" in result.stdout


def assert_accuracy_plausible(report: dict, store: str) -> None:
    """Forecast accuracy on ``store``: each figure finite and in range, and equal to what
    the per-series rows in the report add up to."""
    by_name = {f["figure"]: f["median"] for f in report["figures"] if f["store"] == store}
    mean, worst, coverage = (by_name[name] for name in ACCURACY)
    assert math.isfinite(mean) and math.isfinite(worst), (mean, worst)
    assert 0 < mean <= worst, (mean, worst)
    assert 0 <= coverage <= 100, coverage  # percent
    accuracy = report["forecast_accuracy"][store]
    scored = [s for s in accuracy["series"] if s["model"] != "none"]
    assert scored and len(scored) == accuracy["summary"]["series"]
    assert math.isclose(mean, sum(s["mase"] for s in scored) / len(scored))
    assert math.isclose(worst, max(s["mase"] for s in scored))
    covered = [s for s in scored if s["inside"] is not None]  # None: no interval to score
    for series in covered:
        assert 0 <= series["inside"] <= series["actuals"], series
    inside = sum(s["inside"] for s in covered)
    actuals = sum(s["actuals"] for s in covered)
    assert math.isclose(coverage, 100 * inside / actuals)


def test_benchmark_scores_forecasts_on_the_store_and_on_public_series(tiny_run):
    _, report = tiny_run
    assert_accuracy_plausible(report, "tiny")
    assert_accuracy_plausible(report, "public series")
    public = report["forecast_accuracy"]["public series"]["series"]
    assert len(public) >= 12
    assert {"monthly", "weekly"} <= {s["frequency"] for s in public if s["model"] != "none"}
