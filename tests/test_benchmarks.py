"""The benchmark command runs end to end on a tiny store, so it can never silently rot, and
its figures are plausible: a probe that measured nothing (a zero drill-down, say) fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Open bounds per figure (the name before " ("): generous, as machines differ, but a
# figure outside them means the benchmark measured the wrong thing.
PLAUSIBLE = {
    "startup": (0.05, 30.0),  # s: a Python process with Textual cannot paint faster
    "evaluate": (0.0, 60.0),  # s
    "drill-down": (0.0, 10_000.0),  # ms
    "live latency": (0.0, 10.0),  # s
    "import": (0.0, float("inf")),  # rows/s
}
MEMORY_MB = (20.0, 2000.0)
IDLE_CPU_PERCENT = (0.0, 100.0)  # closed: an idle cockpit may well use no CPU


def test_benchmark_runs_on_a_tiny_store(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--tiny", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    figures = {f["figure"].split(" (")[0]: f for f in report["figures"]}
    assert set(PLAUSIBLE) | {"idle CPU", "memory"} <= set(figures)
    for name, (low, high) in PLAUSIBLE.items():
        median = figures[name]["median"]
        assert median is not None and low < median < high, figures[name]
    for name, (low, high) in (("memory", MEMORY_MB), ("idle CPU", IDLE_CPU_PERCENT)):
        median = figures[name]["median"]
        assert median is not None and low <= median <= high, figures[name]
    for figure in report["figures"]:
        assert all(sample is not None for sample in figure["samples"]), figure
        if figure["floor_median"] is not None:
            assert figure["floor_median"] > 0, figure
    assert "| tiny | startup |" in result.stdout
