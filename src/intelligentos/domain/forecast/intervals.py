"""A forecast's intervals, judged on its backtest, and whether the forecast is reliable.

The chosen method's own intervals are used when their 80 % interval held at least
``WIDEN_BELOW`` (80 %, what it promises) of the backtest actuals. Otherwise they are too
narrow, and both are widened about the forecast by split-conformal factors from the
backtest's own errors (the ceil((N + 1) level)-th smallest of the factors each actual
would have needed); the note says which intervals the forecast uses. ``coverage80`` is
the share of backtest actuals inside the 80 % interval used: the model's own, or the
widened one judged leaving each origin out of the factor that judges it.
A forecast is *reliable* only when a model (not a baseline) was used, on at least
``MIN_ERRORS`` (12) one-step backtest errors, with a ``coverage80`` of at least
``MIN_COVERAGE`` (65 %). Why 12: the count of actuals inside an 80 % interval then has a
standard deviation of 1.4 of 12, enough to tell intervals that cover 80 % from ones that
cover half; on 4 it was not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from intelligentos.domain.forecast.backtest import MIN_ORIGINS, Pairs
from intelligentos.domain.forecast.methods import Z80, Z95, ForecastPath
from intelligentos.domain.forecast.results import ForecastPoint

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Array = NDArray[np.float64]

# A forecast is called reliable only with at least this many one-step backtest errors (one
# per origin): with 12, the count of actuals inside an 80 % interval has a binomial standard
# deviation of 1.4 (12 %), so intervals that really cover 50 % (6 of 12) are told from ones
# that cover 80 % (9.6 of 12); with the 4 errors used before, they were not.
MIN_ERRORS = 12
# A model's own intervals that held fewer backtest actuals than this in their 80 % interval
# (fewer than they promise) are too narrow: the forecast's intervals are then calibrated on
# the backtest's errors.
WIDEN_BELOW = 0.8
# Reliability also needs the intervals the forecast uses to hold at least this share of the
# backtest actuals in their 80 % interval (judged leaving each origin out of the calibration).
MIN_COVERAGE = 0.65


def _bands(
    paths: list[ForecastPath], y: Array, origins: Sequence[int], steps: int, z: float
) -> Array:
    """(lo, hi) of every pair, as two rows."""
    import numpy as np

    cut = [min(steps, y.size - o) for o in origins]
    bands = [p.band(z) for p in paths]
    lo = np.concatenate([b[0][:c] for b, c in zip(bands, cut, strict=True)])
    hi = np.concatenate([b[1][:c] for b, c in zip(bands, cut, strict=True)])
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise ValueError("non-finite interval")
    return np.vstack([lo, hi])


def _stretch(pairs: Pairs, band: Array) -> Array:
    """For each pair, the factor the interval's half on the actual's side would need to
    reach the actual (0 when the actual is the mean, inf when that half is empty)."""
    import numpy as np

    above = pairs.actual >= pairs.mean
    half = np.where(above, band[1] - pairs.mean, pairs.mean - band[0])
    gap = np.abs(pairs.actual - pairs.mean)
    with np.errstate(all="ignore"):
        return np.where(gap == 0, 0.0, np.where(half > 0, gap / half, np.inf))


def conformal_factor(stretch: Sequence[float], level: float) -> float:
    """Split-conformal widening factor: the ceil((N + 1) level)-th smallest of the N
    stretches (the largest when N is too small for that), never below 1 (the model's own
    interval is only ever widened)."""
    ordered = sorted(stretch)
    if not ordered:
        return 1.0
    rank = min(len(ordered), math.ceil((len(ordered) + 1) * level))
    return max(1.0, float(ordered[rank - 1]))


def calibrated(pairs: Pairs, band80: Array, band95: Array) -> tuple[float, float, float]:
    """Factors for the 80 % and 95 % intervals from all the backtest's errors, and the 80 %
    coverage they would have had, judged fairly: each origin's pairs against a factor from
    the other origins' only."""
    import numpy as np

    s80 = _stretch(pairs, band80)
    s95 = _stretch(pairs, band95)
    inside = 0
    for origin in np.unique(pairs.origin):
        mine = pairs.origin == origin
        k = conformal_factor(s80[~mine].tolist(), 0.8)
        inside += int(np.sum(s80[mine] <= k))
    return (
        conformal_factor(s80.tolist(), 0.8),
        conformal_factor(s95.tolist(), 0.95),
        inside / s80.size,
    )


def is_reliable(model_used: bool, one_step_errors: int, coverage80: float | None) -> bool:
    """A forecast is reliable when a model (not a baseline) was used, on at least
    ``MIN_ERRORS`` one-step backtest errors, and the intervals it uses held at least
    ``MIN_COVERAGE`` of the backtest actuals in their 80 % interval."""
    return (
        model_used
        and one_step_errors >= MIN_ERRORS
        and coverage80 is not None
        and coverage80 >= MIN_COVERAGE
    )


def judge_intervals(
    paths: list[ForecastPath], pairs: Pairs, y: Array, origins: Sequence[int], steps: int
) -> tuple[float, tuple[float, float], float]:
    """The chosen method's own 80 % backtest coverage; the widening factors for its 80 % and
    95 % intervals (1 and 1: its own are used); and the 80 % coverage of the intervals used."""
    import numpy as np

    band80 = _bands(paths, y, origins, steps, Z80)
    own = float(np.mean((pairs.actual >= band80[0]) & (pairs.actual <= band80[1])))
    if own >= WIDEN_BELOW or len(origins) < MIN_ORIGINS:
        return own, (1.0, 1.0), own
    band95 = _bands(paths, y, origins, steps, Z95)
    k80, k95, held = calibrated(pairs, band80, band95)
    return own, (k80, max(k95, k80)), held


def widened(columns: tuple[Array, ...], k80: float, k95: float) -> tuple[Array, ...]:
    mean, lo80, hi80, lo95, hi95 = columns
    return (
        mean,
        mean - k80 * (mean - lo80),
        mean + k80 * (hi80 - mean),
        mean - k95 * (mean - lo95),
        mean + k95 * (hi95 - mean),
    )


def nested_point(
    period: str, mean: float, lo80: float, hi80: float, lo95: float, hi95: float
) -> ForecastPoint:
    # Analytic intervals nest by construction; the min/max only guards rounding, so that the
    # promise lo95 <= lo80 <= mean <= hi80 <= hi95 holds for every point.
    lo80 = min(lo80, mean)
    hi80 = max(hi80, mean)
    return ForecastPoint(period, mean, lo80, hi80, min(lo95, lo80), max(hi95, hi80))
