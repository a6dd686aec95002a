"""``okr propose --json`` for the quarter after the store's last day, as a person runs it: the
command in a fresh process, timed from outside (spawn to exit), the median of several runs,
against the command line's start-up (``--help``) measured in turn with it.

It runs on a copy of the store in which every KPI with observations has a stored, reliable
forecast reaching that quarter's end, made from its latest observation (so every KPI gets
numbers and the cascade runs on every parent): synthetic forecasts saved through the store
(``Store.save_forecasts``), seeded, a point per period from the latest observation on, the
mean drifting from the last value and the 80 % interval widening with the horizon. The
figure measures proposing, not forecasting (the ``forecast`` command has its own). Beside
it, for reference, the service call alone (``propose_targets``, the catalog read inside it
as the command does) timed inside a child process with ``time.perf_counter``.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from intelligentos.domain.forecast import Forecast, ForecastPoint
from intelligentos.domain.forecast.periods import horizon_through, next_periods
from intelligentos.domain.quarters import Quarter
from intelligentos.store import Store

RunChild = Callable[..., tuple[int, bytes, bytes]]
MakeFigure = Callable[..., Any]
CopyStore = Callable[[Path, Path], None]

TARGET_MS = 2000.0  # the command, from outside
SEED = 25

INSIDE = """
import sys, time
from datetime import date
from intelligentos.domain.quarters import Quarter
from intelligentos.services.okr.propose import ProposeRequest, propose_targets
from intelligentos.store import Store
path, quarter, as_of = sys.argv[1], Quarter.parse(sys.argv[2]), date.fromisoformat(sys.argv[3])
with Store.open(path, readonly=True) as store:
    started = time.perf_counter()
    propose_targets(store, ProposeRequest(quarter, as_of))
    print((time.perf_counter() - started) * 1000)
"""


def store_forecasts(store_path: Path, quarter: Quarter, made_at: str) -> int:
    """A reliable forecast reaching ``quarter``'s end for every KPI with observations; how
    many were stored."""
    rng = random.Random(SEED)
    with Store.open(store_path) as store:
        catalog = store.read_catalog()
        latest = store.latest_windows(1, list(catalog.kpis))
        forecasts = []
        for kpi_id, rows in latest.items():
            if not rows:
                continue
            period, value = rows[-1][0], rows[-1][1]
            kpi = catalog.kpis[kpi_id]
            base = value if value is not None else (kpi.target or 1.0)
            horizon = horizon_through(kpi, quarter.end, quarter.start, period)
            ahead = next_periods(period, kpi.frequency, horizon)
            drift = rng.uniform(-0.01, 0.01)
            points = []
            for step, day in enumerate(ahead, 1):
                mean = base * (1 + drift * step)
                spread = abs(base) * 0.02 * step**0.5 + 1e-6
                points.append(
                    ForecastPoint(
                        day,
                        mean,
                        mean - spread * rng.uniform(0.8, 1.0),
                        mean + spread * rng.uniform(1.0, 1.3),
                        mean - 1.6 * spread,
                        mean + 1.6 * spread,
                    )
                )
            forecasts.append(
                Forecast(
                    kpi_id=kpi_id,
                    model="ets",
                    reliable=True,
                    horizon=len(points),
                    season=None,
                    based_on=period,
                    points=tuple(points),
                    backtest=None,
                    note="synthetic, for the benchmark",
                )
            )
        return store.save_forecasts(forecasts, made_at)


def _timed(run_child: RunChild, argv: Sequence[str], what: str) -> float:
    started = time.perf_counter()
    status, _, err = run_child(list(argv), timeout=120)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"{what} exited {status}:\n{err.decode(errors='replace')}")
    return elapsed * 1000


def measure_okr(
    store: Path,
    scratch: Path,
    reps: int,
    label: str,
    as_of: date,
    *,
    run_child: RunChild,
    copy_store: CopyStore,
    figure: MakeFigure,
    named: Callable[..., str],
) -> tuple[list[Any], dict]:
    """The figures (the command from outside against ``--help``, the service call in
    process) and the quarter proposed for, with how many forecasts were stored."""
    quarter = Quarter.of(as_of).next()
    copy = scratch / f"{label}-okr.db"
    copy_store(store, copy)
    stored = store_forecasts(copy, quarter, f"{as_of.isoformat()}T09:00:00Z")
    cli = [sys.executable, "-m", "intelligentos"]
    command = [*cli, "okr", "propose", "--quarter", str(quarter), "--db", str(copy), "--json"]
    command += ["--as-of", as_of.isoformat()]
    floor = [*cli, "--help"]
    status, out, err = run_child(command, timeout=120)  # untimed: bytecode, page cache
    if status != 0:
        raise RuntimeError(f"okr propose exited {status}:\n{err.decode(errors='replace')}")
    answer = json.loads(out)
    with_numbers = sum(1 for p in answer["proposals"] if p["commit"] is not None)
    _timed(run_child, floor, "--help")
    outside: list[float] = []
    floors: list[float] = []
    samples = max(reps, 5)
    for _ in range(samples):
        outside.append(_timed(run_child, command, "okr propose"))
        floors.append(_timed(run_child, floor, "--help"))
    inside = []
    for _ in range(samples):
        argv = [sys.executable, "-c", INSIDE, str(copy), str(quarter), as_of.isoformat()]
        status, out, err = run_child(argv, timeout=120)
        if status != 0:
            raise RuntimeError(f"propose in process exited {status}:\n{err.decode()}")
        inside.append(float(out.decode().strip()))
    detail = f"{quarter}, {stored:,} forecasts stored, {len(answer['cascade']):,} parents"
    figures = [
        figure(
            named("okr propose --json", "command, from outside", detail),
            label,
            outside,
            "ms",
            f"≤ {TARGET_MS:.0f} ms",
            floors,
            absolute_target=TARGET_MS,
        ),
        figure(
            named("okr propose", "in process: the service call", detail),
            label,
            inside,
            "ms",
            "",
            reference=True,
        ),
    ]
    copy.unlink()
    chosen = {
        "okr_quarter": str(quarter),
        "okr_forecasts": stored,
        "okr_proposals_with_numbers": with_numbers,
    }
    return figures, chosen


def main(argv: list[str] | None = None) -> int:
    """Run the figures on an existing store: ``okr_speed.py STORE [--reps N]`` (for a quick
    look, without the whole benchmark). The store is copied; the copy gets the forecasts."""
    import argparse
    import tempfile

    import run  # benchmarks/, beside this file

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("store", type=Path)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date.today())
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        figures, chosen = measure_okr(
            args.store,
            Path(scratch),
            args.reps,
            args.store.stem,
            args.as_of,
            run_child=run.run_child,
            copy_store=run.copy_store,
            figure=run.Figure,
            named=run.named,
        )
    result = {"figures": [f.as_dict() for f in figures], "stores": {args.store.stem: chosen}}
    print(run.table(result))
    print(json.dumps(chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
