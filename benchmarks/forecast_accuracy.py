"""Forecast accuracy for the benchmark: the product's own ``forecast_kpi`` (through
``forecast_many``, as the ``forecast`` command runs it) on the store's KPIs and on real public
monthly and weekly series that ship inside installed packages (no network).

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

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from intelligentos.catalog.models import Direction, Frequency, Kpi, Level, Unit
from intelligentos.forecasting import MAX_HISTORY, Forecast
from intelligentos.services.forecasts import ForecastJob, forecast_many

History = list[tuple[str, float | None]]

# Fixed horizons (the product's default runs to the end of the current quarter, which
# changes with the day the benchmark runs): a quarter ahead for months, six weeks, two weeks.
HORIZONS = {Frequency.MONTHLY: 3, Frequency.WEEKLY: 6, Frequency.DAILY: 14}
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


@dataclass(frozen=True)
class Row:
    """One series' backtest, as the product reports it."""

    series: str
    frequency: str
    observations: int
    model: str
    season: int | None
    baseline: str  # what MASE divides by: seasonal naive, or naive without a season
    mase: float | None
    coverage80: float | None
    inside: int | None  # backtest actuals inside the 80 % interval
    actuals: int | None  # backtest actuals: origins x backtested steps
    note: str


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


CUT = re.compile(r"backtested (\d+) of (\d+) steps")


def row(name: str, frequency: Frequency, observations: int, result: Forecast) -> Row:
    backtest = result.backtest
    if result.model == "none" or backtest is None:
        return Row(
            name,
            frequency.value,
            observations,
            "none",
            None,
            "",
            None,
            None,
            None,
            None,
            result.note,
        )
    cut = CUT.search(result.note)  # the backtest horizon is cut when the origins would not fit
    steps = int(cut.group(1)) if cut else result.horizon
    actuals = backtest.origins * steps
    coverage = backtest.coverage80
    inside = None if coverage is None else round(coverage * actuals)
    return Row(
        name,
        frequency.value,
        observations,
        result.model,
        result.season,
        "seasonal naive" if result.season else "naive",
        backtest.mase,
        coverage,
        inside,
        actuals,
        result.note,
    )


def forecast_rows(
    named: Sequence[tuple[str, Kpi, History]], workers: int | None = None
) -> list[Row]:
    jobs = [ForecastJob(kpi, tuple(history), HORIZONS[kpi.frequency]) for _, kpi, history in named]
    results = list(forecast_many(jobs, workers=workers))
    return [
        row(name, kpi.frequency, sum(v is not None for _, v in history), result)
        for (name, kpi, history), result in zip(named, results, strict=True)
    ]


def public_rows(workers: int | None = None) -> list[Row]:
    return forecast_rows([(s.name, series_kpi(s), s.history) for s in public_series()], workers)


def store_rows(store_path: Path, workers: int | None = None) -> list[Row]:
    """Every KPI of the store, with the history the ``forecast`` command reads (the latest
    MAX_HISTORY observations: all that a forecast uses)."""
    from intelligentos.store import Store

    with Store.open(store_path) as store:
        catalog = store.read_catalog()
        named = [(kpi.id, kpi, store.history(kpi.id, MAX_HISTORY)) for kpi in catalog.kpis.values()]
    return forecast_rows(named, workers)


@dataclass(frozen=True)
class Summary:
    series: int  # forecast (model other than "none")
    excluded: int  # model "none": too little history, or no method could forecast
    mean_mase: float | None
    worst_mase: float | None
    worst_series: str | None
    over_worst_target: list[str]  # series with MASE above TARGET_WORST_MASE
    pooled_coverage: float | None
    inside: int
    actuals: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarise(rows: Sequence[Row]) -> Summary:
    scored = [r for r in rows if r.model != "none" and r.mase is not None]
    covered = [r for r in scored if r.inside is not None and r.actuals]
    inside = sum(r.inside or 0 for r in covered)
    actuals = sum(r.actuals or 0 for r in covered)
    worst = max(scored, key=lambda r: r.mase or 0.0, default=None)
    return Summary(
        series=len(scored),
        excluded=len(rows) - len(scored),
        mean_mase=statistics.fmean(r.mase for r in scored if r.mase is not None)
        if scored
        else None,
        worst_mase=worst.mase if worst else None,
        worst_series=worst.series if worst else None,
        over_worst_target=[
            r.series for r in scored if r.mase is not None and r.mase > TARGET_WORST_MASE
        ],
        pooled_coverage=inside / actuals if actuals else None,
        inside=inside,
        actuals=actuals,
    )


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| series | freq | obs | model | season | MASE (vs) | 80 % coverage |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.model == "none":
            lines.append(
                f"| {r.series} | {r.frequency} | {r.observations} | none |  | "
                f"excluded: {r.note} |  |"
            )
            continue
        mase = "" if r.mase is None else f"{r.mase:.3f} ({r.baseline})"
        coverage = "" if r.coverage80 is None else f"{r.inside}/{r.actuals} ({r.coverage80:.0%})"
        lines.append(
            f"| {r.series} | {r.frequency} | {r.observations} | {r.model} | "
            f"{r.season or ''} | {mase} | {coverage} |"
        )
    return "\n".join(lines)
