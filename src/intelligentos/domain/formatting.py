"""Human formatting of KPI values by unit. Pure, shared by the CLI and the cockpit."""

from __future__ import annotations

import math

from intelligentos.domain.units import Unit

_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))
# Past this many characters a number is shown in scientific notation, so one absurd value
# (1e300 dollars) cannot widen a column until a table drops its other columns.
_WIDEST = 9


def _fixed(number: float, spec: str) -> str:
    text = format(number, spec)
    return text if len(text) <= _WIDEST else format(number, ".1e" if spec[0] != "+" else "+.1e")


def _compact(number: float, decimals: int = 1) -> str:
    magnitude = abs(number)
    for threshold, suffix in _SUFFIXES:
        if magnitude >= threshold:
            return _fixed(number / threshold, f".{decimals}f") + suffix
    return f"{number:,.0f}"


def format_value(value: float | None, unit: Unit | str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    unit = Unit(unit)
    if abs(value) >= 1e15 and unit in (Unit.CURRENCY, Unit.COUNT):
        text = f"{value:.1e}"
        return f"${text}" if unit is Unit.CURRENCY else text
    if unit is Unit.PERCENT:
        return f"{_fixed(value, '.1f')}%"
    if unit is Unit.CURRENCY:
        return f"${_compact(value)}"
    if unit is Unit.MONTHS:
        return f"{_fixed(value, '.1f')} mo"
    if unit is Unit.DAYS:
        return f"{_fixed(value, '.1f')} d"
    if unit is Unit.HOURS:
        return f"{_fixed(value, '.1f')} h"
    if unit is Unit.COUNT:
        return _compact(value) if abs(value) >= 10_000 else f"{value:,.0f}"
    if unit is Unit.RATIO:
        return f"{_fixed(value, '.2f')}×"
    return _fixed(value, ".1f")


def format_change(current: float | None, previous: float | None, unit: Unit | str) -> str:
    """Change versus the previous period: points for percentages, relative % otherwise."""
    if current is None or previous is None:
        return "—"
    unit = Unit(unit)
    delta = current - previous
    if unit in (Unit.PERCENT, Unit.SCORE):
        text = f"{_fixed(delta, '+.1f')} pt"
    elif previous == 0:
        return "—" if delta == 0 else ("+∞" if delta > 0 else "−∞")
    else:
        text = f"{_fixed(delta / abs(previous) * 100, '+.1f')}%"
    return text.replace("-", "−")


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``1 KPI``, ``2 KPIs``, ``1,200 rows``: the one plural rule of every message."""
    word = noun if count == 1 else (plural_form or f"{noun}s")
    return f"{count:,} {word}"


def name_within(name: str, room: int) -> str:
    """A name for a list or a header with ``room`` cells: whole when it fits ("Finance
    (Lee)": the bracket may be what tells two apart); else without its bracketed expansion
    ("CRO Agent (Chief Revenue Officer)" → "CRO Agent"); else cut, with "…"."""
    if len(name) <= room:
        return name
    short = name.split(" (")[0]
    if short and len(short) <= room:
        return short
    return name[: max(room - 1, 0)] + "…"


def format_age(seconds: float) -> str:
    """A duration as people say it at a glance: ``12 min``, ``5 h``, ``26 d``."""
    if seconds < 3600:
        return f"{max(int(seconds // 60), 0)} min"
    if seconds < 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def _escape(ch: str) -> str:
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def literal(text: str) -> str:
    """User text made safe to show: control characters (ESC, BEL, ...) become visible
    ``\\xNN`` escapes, so a terminal never interprets them. Renderers must still treat the
    result as plain text, never as markup."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)
