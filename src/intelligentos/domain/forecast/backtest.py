"""The rolling-origin backtest: where its origins fall, and the (actual, forecast) pairs each
method is scored on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from intelligentos.domain.forecast.methods import ForecastPath

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Array = NDArray[np.float64]

MIN_TRAIN = 5  # shortest non-seasonal history a backtest origin may fit on
MAX_ORIGINS = 12
MIN_ORIGINS = 3  # fewer, and no model is used however well it did


def plan_origins(n: int, horizon: int, min_train: int) -> tuple[int, list[int]]:
    """Backtest horizon and origins (each the index of the first forecast step), latest
    first. The earliest origin keeps at least half the history to fit on (ETS estimates its
    parameters there once); the horizon is cut to half of what is left. Up to ``MAX_ORIGINS``
    origins, the latest forecasting the last observation one step ahead, the others stepping
    back by up to the horizon, as far as the history allows; an origin near the end scores
    only the steps that have actuals, so every origin gives a one-step error."""
    available = max(1, n - max(min_train, n // 2))
    steps = max(1, min(horizon, available // 2))
    count = max(1, min(MAX_ORIGINS, available))
    stride = 1 if count == 1 else max(1, min(steps, (available - 1) // (count - 1)))
    return steps, [n - 1 - i * stride for i in range(count)]


@dataclass(frozen=True)
class Pairs:
    """A method's backtest, flattened: each origin's forecast steps that have an actual."""

    actual: Array
    mean: Array
    origin: Array  # which origin (0, 1, ...) each pair comes from


def backtest_pairs(
    paths: list[ForecastPath], y: Array, origins: Sequence[int], steps: int
) -> Pairs:
    import numpy as np

    cut = [min(steps, y.size - o) for o in origins]
    if any(p.mean.size < c for p, c in zip(paths, cut, strict=True)):
        raise ValueError("a backtest forecast is too short")
    return Pairs(
        np.concatenate([y[o : o + c] for o, c in zip(origins, cut, strict=True)]),
        np.concatenate([p.mean[:c] for p, c in zip(paths, cut, strict=True)]),
        np.concatenate([np.full(c, i) for i, c in enumerate(cut)]),
    )
