"""What a forecast is: its points, the backtest that chose its method, where it ends."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ForecastPoint:
    period: str  # ISO date (YYYY-MM-DD) of the forecast period
    mean: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float


@dataclass(frozen=True)
class Backtest:
    origins: int  # rolling origins evaluated
    mase: float  # chosen method's MAE / seasonal naive's MAE on the same forecasts (<1 beats it)
    coverage80: float | None  # share of backtest actuals inside the chosen 80 % interval
    scores: dict[str, float]  # every scored method's MAE ratio to seasonal naive


@dataclass(frozen=True)
class Forecast:
    kpi_id: str
    model: str  # "ets", "theta", "seasonal_naive", "naive", or "none" (no forecast)
    reliable: bool  # a model (not a baseline) cut the better baseline's error by >= 20 %
    horizon: int
    season: int | None  # season length used, or None
    based_on: str | None  # the latest observation period the forecast starts from
    points: tuple[ForecastPoint, ...]  # empty when model == "none"
    backtest: Backtest | None
    note: str  # the verdict in words

    @property
    def projection(self) -> Projection | None:
        """Where the forecast ends, when it has points."""
        if not self.points:
            return None
        end = self.points[-1]
        return Projection(
            self.kpi_id,
            self.model,
            self.reliable,
            self.based_on,
            self.horizon,
            end.period,
            end.mean,
            end.lo80,
            end.hi80,
        )


@dataclass(frozen=True)
class Projection:
    """A forecast's last point (the horizon), as the early-warning rule and the cards use it."""

    kpi_id: str
    model: str
    reliable: bool
    based_on: str | None  # the latest observation the forecast was made from
    horizon: int
    period: str
    mean: float
    lo80: float
    hi80: float

    def is_current(self, latest_period: str | None) -> bool:
        """Made from the KPI's latest observation (newer data makes a forecast stale)."""
        return latest_period is not None and self.based_on == latest_period
