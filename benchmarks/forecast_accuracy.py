"""Forecast accuracy for the benchmark, out of sample: each series' last h observations are
held out, the product forecasts h periods from the rest with its own choice of method (its
``forecast_kpi`` through ``forecast_many``, as the ``forecast`` command runs it), and the
forecast is scored against what happened. The series: the store's KPIs, and real public
monthly and weekly series that ship inside installed packages (no network).

Scores, per series:

* **MASE** (Hyndman & Koehler 2006): the out-of-sample mean absolute error over the in-sample
  mean absolute error of the seasonal-naive forecast one season back on the training data,
  ``mean |y_t - y_(t-m)|``, with m the season the product used and 1 when it used none (then
  the scale is naive's). Below 1: the forecast erred less on the held-out points than seasonal
  naive did, on average, one step ahead within the training data.
* **80 % and 95 % coverage**: the held-out actuals inside the forecast's intervals.

Pooled: coverage over all held-out points of all scored series; mean, median and worst MASE
over the series. A series whose forecast is "none" (too little history) is excluded and
counted.

Public series (statsmodels 0.15 ships them all):

* ``co2``: Mauna Loa weekly CO2, 1958-2001 (``statsmodels.datasets.co2``; it has gaps, which
  the product closes up), and its monthly means (resampled with pandas).
* ``elnino``: monthly Pacific sea surface temperatures, 1950-2010 (``statsmodels.datasets
  .elnino``, one row per year, reshaped to one monthly series).
* ``elec_equip``: monthly euro-area electrical equipment orders, 1995-2016
  (``statsmodels.datasets.elec_equip``).
* ``housing starts``: US monthly housing starts, not seasonally adjusted (FRED HOUSTNSA),
  1959-2018, the data of statsmodels' Holt-Winters tests (a CSV inside the package).

Each series is cut into disjoint windows of ``WINDOW`` periods, latest first (the product
uses at most its last 200 observations anyway); each window is one KPI.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from intelligentos.domain.catalog.models import Direction, Frequency, Kpi, Level, Unit
from intelligentos.domain.forecast import MAX_HISTORY, Forecast
from intelligentos.services.forecast import ForecastJob, forecast_many

History = list[tuple[str, float | None]]

# Held-out points, and the horizon forecast: a quarter for months and weeks (the longest
# default horizon, which runs to the end of the current quarter), four weeks for days (four
# weekly cycles; a quarter of days would be 91 steps from at most 200 observations). Fixed,
# because the product's default changes with the day the benchmark runs.
HORIZONS = {Frequency.MONTHLY: 3, Frequency.WEEKLY: 13, Frequency.DAILY: 28}
WINDOW = 200  # periods per public window: forecasting.MAX_HISTORY
WEEKLY_WINDOWS = 4  # of the co2 series' 11: spread evenly, so one series does not dominate

TARGET_MEAN_MASE = 0.9
TARGET_WORST_MASE = 1.25
TARGET_COVERAGE = (0.60, 0.98)


@dataclass(frozen=True)
class Series:
    name: str
    frequency: Frequency
    history: History


# --- the public series -----------------------------------------------------------------------


def _dated(index: Any, values: Any) -> History:
    return [
        (stamp.date().isoformat(), None if math.isnan(v) else float(v))
        for stamp, v in zip(index, values, strict=True)
    ]


def _windows(name: str, frequency: Frequency, history: History, keep: int | None) -> list[Series]:
    """Disjoint windows of WINDOW periods, latest first; ``keep`` of them spread evenly."""
    ends = list(range(len(history), WINDOW - 1, -WINDOW))
    if keep is not None and len(ends) > keep:
        ends = [ends[round(i * (len(ends) - 1) / (keep - 1))] for i in range(keep)]
    out = []
    for end in ends:
        window = history[end - WINDOW : end]
        out.append(Series(f"{name} to {window[-1][0][:7]}", frequency, window))
    return out


def public_series() -> list[Series]:
    import pandas as pd
    import statsmodels
    from statsmodels.datasets import (
        co2,
        elec_equip,
        elnino,
    )

    co2_weekly = co2.load_pandas().data["co2"]
    co2_monthly = co2_weekly.resample("MS").mean()

    table = elnino.load_pandas().data
    months = [c for c in table.columns if c != "YEAR"]
    elnino_history: History = [
        (f"{int(row['YEAR'])}-{m + 1:02d}-01", float(row[month]))
        for _, row in table.iterrows()
        for m, month in enumerate(months)
    ]

    orders = elec_equip.load_pandas().data.iloc[:, 0]

    housing_csv = (
        Path(statsmodels.__file__).parent / "tsa/holtwinters/tests/results/housing-data.csv"
    )
    housing = pd.read_csv(housing_csv, index_col="DATE", parse_dates=True)["HOUSTNSA"]

    monthly = Frequency.MONTHLY
    return [
        *_windows("co2 monthly", monthly, _dated(co2_monthly.index, co2_monthly.values), None),
        *_windows("elnino", monthly, elnino_history, None),
        *_windows("elec_equip", monthly, _dated(orders.index, orders.values), None),
        *_windows("housing starts", monthly, _dated(housing.index, housing.values), None),
        *_windows(
            "co2 weekly",
            Frequency.WEEKLY,
            _dated(co2_weekly.index, co2_weekly.values),
            WEEKLY_WINDOWS,
        ),
    ]


def series_kpi(series: Series) -> Kpi:
    slug = re.sub(r"[^a-z0-9]+", "_", series.name.lower()).strip("_")
    return Kpi(
        id=slug,
        name=series.name,
        level=Level.FUNCTIONAL,
        unit=Unit.COUNT,
        direction=Direction.HIGHER,
        target=0.0,
        frequency=series.frequency,
        formula="public series",
        engine="public",
    )


# --- scoring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One series scored out of sample: its last ``actuals`` observations held out, the
    rest forecast by the product, the forecast compared with what happened."""

    series: str
    frequency: str
    observations: int  # the history the product forecast from (the held-out points excluded)
    model: str
    season: int | None
    reliable: bool
    mase: float | None  # out-of-sample MAE / in-sample seasonal-naive MAE (m = season, or 1)
    mae: float | None
    scale: float | None  # the in-sample seasonal-naive MAE MASE divides by
    inside: int | None  # held-out actuals inside the 80 % interval
    inside95: int | None  # held-out actuals inside the 95 % interval
    actuals: int | None  # held-out actuals scored
    coverage80: float | None
    coverage95: float | None
    backtest_mase: float | None  # what the product's own backtest said (in sample, for reference)
    note: str


def naive_scale(values: Sequence[float], season: int) -> float:
    """Hyndman and Koehler's MASE scale: the mean absolute error of the seasonal-naive
    forecast one season back (one step back when ``season`` is 1) over the training data."""
    if len(values) <= season:
        return math.nan
    return statistics.fmean(abs(a - b) for a, b in zip(values[season:], values, strict=False))


def split(history: History, held_out: int) -> tuple[History, list[tuple[str, float]]]:
    """The history before the last ``held_out`` finite observations, and those observations
    (the product closes gaps up, so points are counted, not periods)."""
    finite = [i for i, (_, v) in enumerate(history) if v is not None and math.isfinite(v)]
    if len(finite) <= held_out:
        return history, []
    cut = finite[-held_out]
    kept = [(p, float(v)) for p, v in history[cut:] if v is not None and math.isfinite(v)]
    return history[:cut], kept


def score(
    name: str,
    frequency: Frequency,
    train: History,
    held: Sequence[tuple[str, float]],
    result: Forecast,
) -> Row:
    values = [float(v) for _, v in train if v is not None and math.isfinite(v)]
    observed = len(values)
    backtest = result.backtest
    scale = naive_scale(values[-MAX_HISTORY:], result.season or 1)
    note = ""
    if result.model == "none":
        note = result.note
    elif not result.points or len(held) != len(result.points):
        note = "forecast did not cover the held-out points"
    elif not (math.isfinite(scale) and scale > 0):
        note = "no MASE scale: the training data repeat exactly from one season to the next"
    if note:
        # Excluded, and counted: model "none" is how the summary and its readers know.
        return Row(name, frequency.value, observed, "none", None, False, *([None] * 9), note)
    errors = [abs(actual - p.mean) for (_, actual), p in zip(held, result.points, strict=True)]
    mae = statistics.fmean(errors)
    mase = mae / scale
    inside = sum(p.lo80 <= a <= p.hi80 for (_, a), p in zip(held, result.points, strict=True))
    inside95 = sum(p.lo95 <= a <= p.hi95 for (_, a), p in zip(held, result.points, strict=True))
    return Row(
        name,
        frequency.value,
        observed,
        result.model,
        result.season,
        result.reliable,
        mase,
        mae,
        scale,
        inside,
        inside95,
        len(held),
        inside / len(held),
        inside95 / len(held),
        backtest.mase if backtest else None,
        result.note,
    )


def forecast_rows(
    named: Sequence[tuple[str, Kpi, History]], workers: int | None = None
) -> list[Row]:
    """Hold out each series' last ``HORIZONS[frequency]`` observations, forecast that many
    periods from the rest with the product's own choice (``forecast_many``, as the
    ``forecast`` command runs it), and score the forecast against them."""
    splits = [split(history, HORIZONS[kpi.frequency]) for _, kpi, history in named]
    jobs = [
        ForecastJob(kpi, tuple(train), HORIZONS[kpi.frequency])
        for (_, kpi, _), (train, _) in zip(named, splits, strict=True)
    ]
    results = list(forecast_many(jobs, workers=workers))
    return [
        score(name, kpi.frequency, train, held, result)
        for (name, kpi, _), (train, held), result in zip(named, splits, results, strict=True)
    ]


def public_rows(workers: int | None = None) -> list[Row]:
    return forecast_rows([(s.name, series_kpi(s), s.history) for s in public_series()], workers)


def store_rows(store_path: Path, workers: int | None = None) -> list[Row]:
    """Every KPI of the store: the latest MAX_HISTORY observations plus the held-out ones,
    so the product forecasts from as much history as the ``forecast`` command would."""
    from intelligentos.store import Store

    with Store.open(store_path) as store:
        catalog = store.read_catalog()
        named = [
            (kpi.id, kpi, store.history(kpi.id, MAX_HISTORY + HORIZONS[kpi.frequency]))
            for kpi in catalog.kpis.values()
        ]
    return forecast_rows(named, workers)


@dataclass(frozen=True)
class Summary:
    series: int  # scored: a forecast, and a MASE scale
    excluded: int  # model "none" (too little history, no method could forecast), or no scale
    mean_mase: float | None
    median_mase: float | None
    worst_mase: float | None
    worst_series: str | None
    over_worst_target: list[str]  # series with MASE above TARGET_WORST_MASE
    pooled_coverage: float | None  # 80 %: held-out actuals inside, over all held-out actuals
    inside: int
    actuals: int
    pooled_coverage95: float | None
    inside95: int
    reliable: int  # series whose forecast the product called reliable

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarise(rows: Sequence[Row]) -> Summary:
    scored = [r for r in rows if r.model != "none" and r.mase is not None]
    mases = [r.mase for r in scored if r.mase is not None]
    inside = sum(r.inside or 0 for r in scored)
    inside95 = sum(r.inside95 or 0 for r in scored)
    actuals = sum(r.actuals or 0 for r in scored)
    worst = max(scored, key=lambda r: r.mase or 0.0, default=None)
    return Summary(
        series=len(scored),
        excluded=len(rows) - len(scored),
        mean_mase=statistics.fmean(mases) if mases else None,
        median_mase=statistics.median(mases) if mases else None,
        worst_mase=worst.mase if worst else None,
        worst_series=worst.series if worst else None,
        over_worst_target=[r.series for r in scored if (r.mase or 0.0) > TARGET_WORST_MASE],
        pooled_coverage=inside / actuals if actuals else None,
        inside=inside,
        actuals=actuals,
        pooled_coverage95=inside95 / actuals if actuals else None,
        inside95=inside95,
        reliable=sum(r.reliable for r in scored),
    )


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| series | freq | obs | model | season | reliable | MASE | 80 % held | 95 % held |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.model == "none" or r.mase is None:
            lines.append(
                f"| {r.series} | {r.frequency} | {r.observations} | {r.model} |  |  | "
                f"excluded: {r.note} |  |  |"
            )
            continue
        lines.append(
            f"| {r.series} | {r.frequency} | {r.observations} | {r.model} | "
            f"{r.season or ''} | {'yes' if r.reliable else 'no'} | {r.mase:.3f} | "
            f"{r.inside}/{r.actuals} | {r.inside95}/{r.actuals} |"
        )
    return "\n".join(lines)


def summary_line(label: str, summary: Summary) -> str:
    def fixed(value: float | None, digits: int = 3) -> str:
        return "—" if value is None else f"{value:.{digits}f}"

    def share(value: float | None) -> str:
        return "—" if value is None else f"{100 * value:.1f} %"

    return (
        f"| {label} | {summary.series} ({summary.excluded} excluded) | {summary.reliable} | "
        f"{fixed(summary.mean_mase)} | {fixed(summary.median_mase)} | "
        f"{fixed(summary.worst_mase)} ({summary.worst_series}) | "
        f"{summary.inside}/{summary.actuals} ({share(summary.pooled_coverage)}) | "
        f"{summary.inside95}/{summary.actuals} ({share(summary.pooled_coverage95)}) |"
    )


def main() -> None:
    """The accuracy tables alone (public series, and a demo store built as the benchmark
    builds it), without the rest of the benchmark."""
    import argparse
    import tempfile
    from datetime import date

    from intelligentos.services.bootstrap import init_store

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--json", type=Path, help="also write the rows and summaries here")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        store = Path(scratch) / "demo.db"
        init_store(store, end=date(2026, 11, 27), scale_kpis=None, history_days=730)
        report["demo"] = store_rows(store)
    report["public series"] = public_rows()
    print("| rows | series | reliable | mean MASE | median | worst | 80 % held | 95 % held |")
    print("|---|---|---|---|---|---|---|---|")
    for label, rows in report.items():
        print(summary_line(label, summarise(rows)))
    for label, rows in report.items():
        print(f"\n{label}:\n{table(rows)}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    label: {
                        "summary": summarise(rows).as_dict(),
                        "series": [asdict(r) for r in rows],
                    }
                    for label, rows in report.items()
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
