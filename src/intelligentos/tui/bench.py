"""What a benchmark run asks of the cockpit, and the report it writes (benchmarks/run.py)."""

from __future__ import annotations

import json
import resource
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class BenchPlan:
    report: Path
    idle: float = 0.0
    drill: str | None = None
    settle: float | None = None  # seconds between ready and the idle window
    ready_at: float = 0.0
    ready_epoch: float = 0.0  # wall-clock time of the first full paint (vs. the spawn time)
    drill_started: float = 0.0
    idle_cpu_start: float = 0.0
    idle_wall_start: float = 0.0
    idle_cpu_percent: float | None = None
    idle_seconds: float = 0.0

    def stop_idle(self) -> None:
        self.idle_seconds = time.perf_counter() - self.idle_wall_start
        cpu = time.process_time() - self.idle_cpu_start
        if self.idle_seconds > 0:
            self.idle_cpu_percent = 100 * cpu / self.idle_seconds

    def write(self, lineage_painted_at: float | None) -> None:
        drill_ms = None
        if self.drill and lineage_painted_at:
            drill_ms = (lineage_painted_at - self.drill_started) * 1000
        report = {
            "ready_epoch": self.ready_epoch,
            "drill_ms": drill_ms,
            "idle_seconds": self.idle_seconds,
            "idle_cpu_percent": self.idle_cpu_percent,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        self.report.write_text(json.dumps(report), encoding="utf-8")
