"""The benchmark command runs end to end on a tiny store, so it can never silently rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
    names = {f["figure"].split(" (")[0] for f in report["figures"]}
    assert {
        "startup",
        "evaluate",
        "drill-down",
        "idle CPU",
        "memory",
        "live latency",
        "import",
    } <= names
    for figure in report["figures"]:
        assert figure["median"] is not None and figure["median"] >= 0, figure
    assert "| tiny | startup |" in result.stdout
