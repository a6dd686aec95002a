"""What computing derived KPIs adds to a large import.

    python benchmarks/derived_import.py [--rows N] [--reps N] [--json PATH]

Two stores, built alike from a small catalog of ten measured KPIs (``m0`` … ``m9``), one of
them with two derived KPIs over the imported inputs as well (a ratio, ``100 * m0 / m1``, and
a product, ``m2 * m3``). The same CSV of ``--rows`` rows over the ten measured KPIs (one
value per KPI and period, some of them zero: the ratio has gaps) is imported into each, in
this process, through the product's import (:func:`intelligentos.services.imports.import_files`),
alternately, ``--reps`` times on fresh copies. The figure is the ratio of the median import
times, with over without; the target is ≤ 1.20.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from intelligentos.services.bootstrap import init_store, open_store
from intelligentos.services.imports import import_files

MEASURED = [f"m{i}" for i in range(10)]
DERIVED = {"ratio": "100 * m0 / m1", "product": "m2 * m3"}
TARGET = 1.20

ORG = """
[engine.core]
name = "Core"
owners = ["ops"]
rollup_kpis = ["top"]

[function.ops]
name = "Operations"
agent = "coo"

[agent.coo]
name = "COO Agent"
function = "ops"
owns = ["top"]

[agent.ceo]
name = "CEO Agent"

[theme.core]
name = "Core"

[objective.run]
name = "Run"
theme = "core"
ceo_kpis = ["top"]

[system.ledger]
name = "Ledger"
[system.ledger.tables]
entries = ["amount"]

[workflow.book]
name = "Book"
owner_function = "ops"
[[workflow.book.steps]]
id = "post"
name = "Post"
system = "ledger"
"""


def kpi(kpi_id: str, level: str = "leading", compute: str | None = None) -> str:
    parent = "" if level == "ceo" else 'rolls_up_to = "top"\nweight = 0.05\n'
    return (
        f'\n[kpi.{kpi_id}]\nname = "{kpi_id}"\nlevel = "{level}"\nunit = "ratio"\n'
        f'direction = "higher"\ntarget = 1.0\nfrequency = "daily"\nformula = "{kpi_id}"\n'
        f'engine = "core"\nowner_function = "ops"\n{parent}'
        + (f'compute = "{compute}"\n' if compute else "")
        + f'[[kpi.{kpi_id}.lineage]]\nmetric = "Amount"\nworkflow = "book"\nstep = "post"\n'
        'fields = ["ledger.entries.amount"]\n'
    )


def write_catalog(directory: Path, derived: bool) -> Path:
    directory.mkdir(parents=True)
    kpis = kpi("top", "ceo") + "".join(kpi(k) for k in MEASURED)
    if derived:
        kpis += "".join(kpi(k, compute=e) for k, e in DERIVED.items())
    (directory / "org.toml").write_text(ORG, encoding="utf-8")
    (directory / "kpis.toml").write_text(kpis, encoding="utf-8")
    return directory


def write_rows(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["kpi_id", "period", "value", "source"])
        for index in range(rows):
            step = index // len(MEASURED)
            writer.writerow(
                [
                    MEASURED[index % len(MEASURED)],
                    f"2031-01-01T{step // 3600 % 24:02d}:{step // 60 % 60:02d}:{step % 60:02d}"
                    f".{step // 86400:06d}",
                    f"{index % 997 / 10:.1f}",
                    "bench",
                ]
            )


def time_import(template: Path, csv_path: Path, scratch: Path) -> tuple[float, int, int]:
    """Seconds to import ``csv_path`` into a fresh copy of ``template``; the derived values
    computed and the gaps found."""
    copy = scratch / "copy.db"
    copy.write_bytes(template.read_bytes())  # the template is closed: its bytes are whole
    with open_store(copy) as store:
        store.ensure_intact()  # once per process in real life: not what is measured
        started = time.perf_counter()
        report = import_files(store, [csv_path])
        elapsed = time.perf_counter() - started
    if report.counts is None:
        raise RuntimeError("; ".join(str(p) for p in report.problems))
    copy.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    return elapsed, report.derived.written, report.derived.gap_count


def measure(rows: int, reps: int) -> dict:
    with tempfile.TemporaryDirectory() as directory:
        scratch = Path(directory)
        stores = {}
        for name, derived in (("without", False), ("with", True)):
            stores[name] = scratch / f"{name}.db"
            init_store(stores[name], write_catalog(scratch / name, derived), demo=False)
        csv_path = scratch / "rows.csv"
        write_rows(csv_path, rows)
        times: dict[str, list[float]] = {"without": [], "with": []}
        computed = gaps = 0
        for _ in range(reps):
            for name in ("without", "with"):
                elapsed, written, found = time_import(stores[name], csv_path, scratch)
                times[name].append(elapsed)
                if name == "with":
                    computed, gaps = written, found
    ratio = statistics.median(times["with"]) / statistics.median(times["without"])
    return {
        "rows": rows,
        "reps": reps,
        "without_seconds": times["without"],
        "with_seconds": times["with"],
        "derived_values": computed,
        "gaps": gaps,
        "ratio": ratio,
        "target": TARGET,
        "met": ratio <= TARGET,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    result = measure(args.rows, args.reps)
    print(
        f"import of {result['rows']:,} rows: without derived KPIs "
        f"{statistics.median(result['without_seconds']):.2f} s, with "
        f"{statistics.median(result['with_seconds']):.2f} s ({result['derived_values']:,} "
        f"derived values, {result['gaps']:,} gaps): ratio {result['ratio']:.3f} "
        f"(target ≤ {TARGET:.2f}: {'met' if result['met'] else 'NOT met'})"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
