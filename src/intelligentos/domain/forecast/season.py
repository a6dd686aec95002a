"""The season of a series.

Found in the data, among the frequency's candidates (``SEASON_CANDIDATES``: 7 days; 52 or
13 weeks; 12 or 3 months): the series is detrended by a centred moving average of one
season and correlated with itself a season later; a candidate passes at a correlation of
at least 0.3 and above a one-sided 5 % test (1.645 / sqrt(pairs)), over at least six
pairs, and after two seasons plus the horizon of history. The strongest passing
candidate is the season; with none, every method is non-seasonal and MASE divides by
naive instead of seasonal naive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from intelligentos.domain.catalog.models import Frequency
from intelligentos.domain.forecast.backtest import MIN_ORIGINS

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Array = NDArray[np.float64]

# Season candidates per frequency: a year of months or weeks, a quarter of them, a week of days.
SEASON_CANDIDATES = {
    Frequency.DAILY: (7,),
    Frequency.WEEKLY: (52, 13),
    Frequency.MONTHLY: (12, 3),
}
# A candidate season m is detected when the series, detrended by a centred moving average of
# one season, correlates with itself m steps later by at least SEASON_MIN_CORRELATION and by
# more than a one-sided 5 % test for no correlation allows (1.645 / sqrt(pairs)), over at
# least SEASON_MIN_PAIRS pairs. 0.3: the season is then at least about 30 % of the detrended
# variance (for season plus independent noise, the lag-m correlation is that share).
SEASON_MIN_CORRELATION = 0.3
SEASON_MIN_PAIRS = 6
Z_ONE_SIDED_95 = 1.6448536269514722


def _lag_correlation(values: Array, m: int) -> tuple[float, int]:
    """Correlation of the series, detrended by a centred moving average of one season (a
    2 x m average for even m, as in classical decomposition), with itself m steps later;
    and the number of pairs it rests on."""
    import numpy as np

    weights = np.full(m + 1, 1.0 / m) if m % 2 == 0 else np.full(m, 1.0 / m)
    if m % 2 == 0:
        weights[0] = weights[-1] = 0.5 / m
    if values.size < weights.size + m:
        return 0.0, 0
    trend = np.convolve(values, weights, mode="valid")
    half = weights.size // 2
    detrended = values[half : half + trend.size] - trend
    a, b = detrended[:-m], detrended[m:]
    if a.std() == 0 or b.std() == 0:
        return 0.0, a.size
    return float(np.corrcoef(a, b)[0, 1]), a.size


def detect_season(
    values: Sequence[float] | Array, frequency: Frequency, horizon: int = 1
) -> int | None:
    """The season the data show, among the frequency's candidates (``SEASON_CANDIDATES``):
    the one with the strongest lag correlation that passes the test above, or None. A
    candidate needs two seasons plus the horizon (and ``MIN_ORIGINS``) of history before it
    is tried: seasonal methods fit on two seasons at least."""
    import numpy as np

    y = np.asarray(values, dtype=float)
    best: tuple[float, int] | None = None
    for m in SEASON_CANDIDATES[frequency]:
        if y.size < 2 * m + max(horizon, MIN_ORIGINS):
            continue
        r, pairs = _lag_correlation(y, m)
        if pairs < SEASON_MIN_PAIRS or not math.isfinite(r):
            continue
        passes = r >= max(SEASON_MIN_CORRELATION, Z_ONE_SIDED_95 / math.sqrt(pairs))
        if passes and (best is None or r > best[0]):
            best = (r, m)
    return None if best is None else best[1]
