"""``explain`` and ``recommend`` for a CEO KPI, as a person runs them: the command in a fresh
process, timed from outside (spawn to exit), the median of several runs.

Beside them, in the same run and in turn with them (command, floors, command, …), the floors
of any command: ``python -c pass`` (the interpreter alone), ``--help`` (the command line's
start-up: the ratio is against it) and ``kpis --json`` (start-up, a read of the whole store
and a JSON answer; on a large store it does more than ``explain``), so that the ratio says
what the feature adds. And the work alone: a child process opens the store and times the
service call (``explain_kpi`` / ``recommend_kpi``, the catalog read and the tree built inside
it, as the command does) with ``time.perf_counter``, to separate start-up from work.

The KPIs: for ``explain``, the CEO KPI with the largest subtree (the most KPIs below it); for
``recommend``, the off-target CEO KPI (warning or critical) with the largest subtree, or the
first CEO KPI below its target when none is off target.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from intelligentos.domain.catalog.models import Level
from intelligentos.domain.detection import Status, target_status
from intelligentos.domain.whatif.propagation import Tree
from intelligentos.services.explain import subtree
from intelligentos.store import Store

RunChild = Callable[..., tuple[int, bytes, bytes]]
MakeFigure = Callable[..., Any]

TARGET_MS = 200.0  # each command, from outside

# A child process: the service call alone, timed inside (the first call of the process, as the
# command makes it), printed in milliseconds.
INSIDE = """
import sys, time
from datetime import date
from intelligentos.store import Store
from intelligentos.services.explain import ExplainRequest, explain_kpi, recommend_kpi
path, what, kpi_id, as_of = sys.argv[1], sys.argv[2], sys.argv[3], date.fromisoformat(sys.argv[4])
with Store.open(path, readonly=True) as store:
    started = time.perf_counter()
    if what == "explain":
        explain_kpi(store, ExplainRequest(kpi_id, as_of))
    else:
        recommend_kpi(store, kpi_id, as_of)
    print((time.perf_counter() - started) * 1000)
"""


def chosen_kpis(store_path: Path, as_of: date) -> tuple[tuple[str, int], tuple[str, int]]:
    """(KPI, subtree size) for ``explain`` and for ``recommend``."""
    with Store.open(store_path, readonly=True) as store:
        catalog = store.read_catalog()
        latest = {
            k: (rows[-1][1] if rows else None)
            for k, rows in store.latest_windows(
                1, [k.id for k in catalog.kpis.values() if k.level is Level.CEO]
            ).items()
        }
    tree = Tree(catalog)
    ceo = [k for k in catalog.kpis.values() if k.level is Level.CEO]
    sizes = {k.id: len(subtree(tree, k.id)) for k in ceo}
    widest = max(ceo, key=lambda k: (sizes[k.id], k.id))
    off = [
        k
        for k in ceo
        if k.target is not None
        and target_status(k, latest.get(k.id)) in (Status.WARNING, Status.CRITICAL)
    ]
    if not off:
        off = [
            k
            for k in ceo
            if k.target is not None
            and latest.get(k.id) is not None
            and target_status(k, latest[k.id]) is not Status.OK
        ] or [widest]
    recommend_kpi = max(off, key=lambda k: (sizes[k.id], k.id))
    return (widest.id, sizes[widest.id]), (recommend_kpi.id, sizes[recommend_kpi.id])


def _timed(run_child: RunChild, argv: Sequence[str], what: str) -> float:
    started = time.perf_counter()
    status, _, err = run_child(list(argv), timeout=120)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"{what} exited {status}:\n{err.decode(errors='replace')}")
    return elapsed * 1000


def _inside(run_child: RunChild, store: Path, what: str, kpi_id: str, as_of: date) -> float:
    argv = [sys.executable, "-c", INSIDE, str(store), what, kpi_id, as_of.isoformat()]
    status, out, err = run_child(argv, timeout=120)
    if status != 0:
        raise RuntimeError(f"{what} in process exited {status}:\n{err.decode(errors='replace')}")
    return float(out.decode().strip())


def measure_explain(
    store: Path,
    reps: int,
    label: str,
    as_of: date,
    *,
    run_child: RunChild,
    figure: MakeFigure,
    named: Callable[..., str],
) -> tuple[list[Any], dict]:
    """The figures (commands from outside against their floors, the work in process, the
    floors for reference) and which KPIs were asked about."""
    (explained, explained_size), (recommended, recommended_size) = chosen_kpis(store, as_of)
    cli = [sys.executable, "-m", "intelligentos"]
    day = ["--db", str(store), "--as-of", as_of.isoformat(), "--json"]
    commands = {
        "explain": [*cli, "explain", explained, *day],
        "recommend": [*cli, "recommend", recommended, *day],
    }
    floors = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "--help": [*cli, "--help"],
        "kpis --json": [*cli, "kpis", *day],
    }
    # One untimed run of each: bytecode compiled, the store's pages in the OS cache.
    for argv in (*commands.values(), *floors.values()):
        _timed(run_child, argv, argv[3] if len(argv) > 3 else argv[0])
    outside: dict[str, list[float]] = {name: [] for name in (*commands, *floors)}
    inside: dict[str, list[float]] = {name: [] for name in commands}
    samples = max(reps, 5)
    for _ in range(samples):
        for name, argv in (*commands.items(), *floors.items()):
            outside[name].append(_timed(run_child, argv, name))
    kpi_of = {"explain": explained, "recommend": recommended}
    for _ in range(samples):
        for name in commands:
            inside[name].append(_inside(run_child, store, name, kpi_of[name], as_of))
    sizes = {"explain": explained_size, "recommend": recommended_size}
    figures = []
    for name in commands:
        detail = f"{kpi_of[name]}, {sizes[name]} KPIs in its subtree"
        figures.append(
            figure(
                named(name, "command, from outside", detail),
                label,
                outside[name],
                "ms",
                f"≤ {TARGET_MS:.0f} ms",
                outside["--help"],
                absolute_target=TARGET_MS,
            )
        )
        figures.append(
            figure(
                named(name, "in process: the service call", detail),
                label,
                inside[name],
                "ms",
                "",
                reference=True,
            )
        )
    for name in floors:
        figures.append(
            figure(named("command floor", name), label, outside[name], "ms", "", reference=True)
        )
    chosen = {"explain_kpi": explained, "recommend_kpi": recommended}
    return figures, chosen


def main(argv: list[str] | None = None) -> int:
    """Run the figures on an existing store: ``explain_speed.py STORE [--reps N]`` (for a
    quick look, without the whole benchmark)."""
    import argparse

    import run  # benchmarks/, beside this file

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("store", type=Path)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date.today())
    args = parser.parse_args(argv)
    figures, chosen = measure_explain(
        args.store,
        args.reps,
        args.store.stem,
        args.as_of,
        run_child=run.run_child,
        figure=run.Figure,
        named=run.named,
    )
    result = {"figures": [f.as_dict() for f in figures], "stores": {args.store.stem: chosen}}
    print(run.table(result))
    print(json.dumps(chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
