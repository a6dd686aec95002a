"""Text charts: a one-line sparkline and a multi-line history chart with a target line.

Pure functions returning strings, so the cockpit renders them and tests read them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"
TARGET_MARK = "┄"


def _present(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None and not math.isnan(v)]


def resample(values: Sequence[float | None], width: int) -> list[float | None]:
    """Average ``values`` into at most ``width`` buckets (keeps short series as they are)."""
    if width <= 0:
        return []
    if len(values) <= width:
        return list(values)
    out: list[float | None] = []
    for bucket in range(width):
        lo = bucket * len(values) // width
        hi = (bucket + 1) * len(values) // width
        chunk = _present(values[lo:hi])
        out.append(sum(chunk) / len(chunk) if chunk else None)
    return out


def sparkline(values: Sequence[float | None], width: int) -> str:
    """One line of block characters; gaps (missing values) show as spaces."""
    points = resample(values, width)
    present = _present(points)
    if not present:
        return " " * width
    low, high = min(present), max(present)
    span = high - low
    chars = []
    for value in points:
        if value is None or math.isnan(value):
            chars.append(" ")
        elif span == 0:
            chars.append(BARS[len(BARS) // 2])
        else:
            chars.append(BARS[round((value - low) / span * (len(BARS) - 1))])
    return "".join(chars).rjust(width)


def history_chart(
    values: Sequence[float | None], width: int, height: int, target: float | None = None
) -> list[str]:
    """A column chart ``height`` rows tall; the row holding the target is drawn with ┄.

    Returns rows top to bottom. Each column is one bucket of the series; eighth-blocks give
    sub-row resolution.
    """
    points = resample(values, width)
    present = _present(points)
    if not present or height < 1:
        return [" " * width for _ in range(max(height, 0))]
    low = min(present + ([target] if target is not None else []))
    high = max(present + ([target] if target is not None else []))
    if high == low:
        high = low + 1.0
    # Leave headroom so the lowest point still shows a sliver of bar.
    low -= (high - low) * 0.05
    scale = height / (high - low)
    target_row = None
    if target is not None:
        target_row = min(height - 1, int((target - low) * scale))
    rows = []
    for row in range(height - 1, -1, -1):
        chars = []
        for value in points:
            filled = 0.0 if value is None or math.isnan(value) else (value - low) * scale - row
            if filled >= 1:
                chars.append("█")
            elif filled > 0:
                chars.append(BARS[max(0, round(filled * 8) - 1)])
            elif row == target_row:
                chars.append(TARGET_MARK)
            else:
                chars.append(" ")
        rows.append("".join(chars).ljust(width))
    return rows
