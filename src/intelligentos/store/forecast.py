"""The stored forecasts: each KPI's latest forecast, its points and its backtest."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from intelligentos.store.connection import Row, StoreConnections
from intelligentos.store.schema import SELECT_FORECAST_POINTS_AT

if TYPE_CHECKING:  # the forecasts' types are imported where they are read, off launch
    from intelligentos.domain.forecast import Forecast, Projection


@dataclass(frozen=True)
class StoredForecast:
    """A forecast as kept in the store, with when it was made."""

    forecast: Forecast
    made_at: str


class ForecastQueries(StoreConnections):
    """Reading and writing the stored forecasts."""

    def save_forecasts(self, forecasts: Iterable[Forecast], made_at: str) -> int:
        """Replace the stored forecast of each given KPI, in one transaction."""
        count = 0
        with self.transaction() as conn:
            for forecast in forecasts:
                backtest = forecast.backtest
                conn.execute("DELETE FROM forecast_points WHERE kpi_id = ?", (forecast.kpi_id,))
                conn.execute(
                    "INSERT INTO forecasts (kpi_id, model, reliable, horizon, season, based_on, "
                    "made_at, note, backtest_origins, backtest_mase, backtest_coverage80, "
                    "backtest_scores) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (kpi_id) DO UPDATE SET model = excluded.model, "
                    "reliable = excluded.reliable, horizon = excluded.horizon, "
                    "season = excluded.season, based_on = excluded.based_on, "
                    "made_at = excluded.made_at, note = excluded.note, "
                    "backtest_origins = excluded.backtest_origins, "
                    "backtest_mase = excluded.backtest_mase, "
                    "backtest_coverage80 = excluded.backtest_coverage80, "
                    "backtest_scores = excluded.backtest_scores",
                    (
                        forecast.kpi_id,
                        forecast.model,
                        int(forecast.reliable),
                        forecast.horizon,
                        forecast.season,
                        forecast.based_on,
                        made_at,
                        forecast.note,
                        backtest.origins if backtest else None,
                        backtest.mase if backtest else None,
                        backtest.coverage80 if backtest else None,
                        json.dumps(backtest.scores, sort_keys=True) if backtest else None,
                    ),
                )
                conn.executemany(
                    "INSERT INTO forecast_points (kpi_id, period, mean, lo80, hi80, lo95, hi95) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (forecast.kpi_id, p.period, p.mean, p.lo80, p.hi80, p.lo95, p.hi95)
                        for p in forecast.points
                    ],
                )
                count += 1
        return count

    def projections(self) -> dict[str, Projection]:
        from intelligentos.domain.forecast import Projection

        """Each stored forecast's last point (its horizon), by KPI."""
        # The ends first, in one pass over the points' index (2,000 forecasts: 13 ms; a
        # subquery per point took 46).
        rows = self.query(
            "WITH ends AS (SELECT kpi_id, max(period) AS period FROM forecast_points "
            "GROUP BY kpi_id) "
            "SELECT f.kpi_id, f.model, f.reliable, f.based_on, f.horizon, p.period, p.mean, "
            "p.lo80, p.hi80 FROM forecasts AS f JOIN ends AS e ON e.kpi_id = f.kpi_id "
            "JOIN forecast_points AS p ON p.kpi_id = e.kpi_id AND p.period = e.period"
        )
        return {
            r["kpi_id"]: Projection(
                r["kpi_id"],
                r["model"],
                bool(r["reliable"]),
                r["based_on"],
                r["horizon"],
                r["period"],
                r["mean"],
                r["lo80"],
                r["hi80"],
            )
            for r in rows
        }

    def forecast_bases(self) -> dict[str, tuple[str | None, int]]:
        """What each stored forecast was made from and for: (latest period, horizon)."""
        rows = self.query("SELECT kpi_id, based_on, horizon FROM forecasts")
        return {r["kpi_id"]: (r["based_on"], r["horizon"]) for r in rows}

    def forecasts(self, kpi_ids: Iterable[str] | None = None) -> list[StoredForecast]:
        """Stored forecasts (of these KPIs), in catalog order, each with its points."""
        wanted = json.dumps(sorted(kpi_ids)) if kpi_ids is not None else None
        points = self.query(
            "SELECT * FROM forecast_points WHERE ?1 IS NULL OR kpi_id IN "
            "(SELECT value FROM json_each(?1)) ORDER BY kpi_id, period",
            (wanted,),
        )
        return self._stored(wanted, points)

    def forecasts_at(self, day: date, kpi_ids: Iterable[str] | None = None) -> list[StoredForecast]:
        """Stored forecasts (of these KPIs), in catalog order, each with two of its points
        only: the last dated on or before ``day`` (none when it starts after it) and its
        last. What the forecast says on ``day`` and where it ends, read in a fraction of the
        time of every point."""
        from intelligentos.domain.clock import period_upper_bound

        wanted = json.dumps(sorted(kpi_ids)) if kpi_ids is not None else None
        points = self.query(SELECT_FORECAST_POINTS_AT, (wanted, period_upper_bound(day)))
        return self._stored(wanted, points)

    def _stored(self, wanted: str | None, point_rows: list[Row]) -> list[StoredForecast]:
        rows = self.query(
            "SELECT f.* FROM forecasts AS f JOIN kpis AS k ON k.id = f.kpi_id "
            "WHERE ?1 IS NULL OR f.kpi_id IN (SELECT value FROM json_each(?1)) "
            "ORDER BY k.position",
            (wanted,),
        )
        from intelligentos.domain.forecast import Backtest, Forecast, ForecastPoint

        points: dict[str, list[ForecastPoint]] = {}
        for p in point_rows:
            points.setdefault(p["kpi_id"], []).append(
                ForecastPoint(p["period"], p["mean"], p["lo80"], p["hi80"], p["lo95"], p["hi95"])
            )
        return [
            StoredForecast(
                Forecast(
                    kpi_id=r["kpi_id"],
                    model=r["model"],
                    reliable=bool(r["reliable"]),
                    horizon=r["horizon"],
                    season=r["season"],
                    based_on=r["based_on"],
                    points=tuple(points.get(r["kpi_id"], [])),
                    backtest=(
                        Backtest(
                            origins=r["backtest_origins"],
                            mase=r["backtest_mase"],
                            coverage80=r["backtest_coverage80"],
                            scores=json.loads(r["backtest_scores"] or "{}"),
                        )
                        if r["backtest_origins"] is not None
                        else None
                    ),
                    note=r["note"],
                ),
                made_at=r["made_at"],
            )
            for r in rows
        ]
