"""Values and periods as people write them: ``9.1%``, ``$15,200``, ``15.200 €``, a decimal
comma, ``2026-07`` for a monthly KPI's July."""

from __future__ import annotations

import re
from datetime import date, datetime

from intelligentos.domain.catalog.models import Frequency, Unit
from intelligentos.services.imports.model import KpiShape

ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def period_problem(period: str) -> str | None:
    # The date part spelled out (20261127 parses too, but would not sort with the others).
    if not ISO_DAY.fullmatch(period[:10]):
        return "not an ISO-8601 date or datetime (e.g. 2026-11-27)"
    try:
        if len(period) > 10:
            datetime.fromisoformat(period)
        else:
            date.fromisoformat(period)
    except ValueError:
        return "not an ISO-8601 date or datetime (e.g. 2026-11-27)"
    return None


_CURRENCY_SIGNS = "$€£¥"
_MINUS_SIGNS = ("-", "\u2212")
_SPACES = "\u00a0\u202f "
_GROUPED_POINT = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_GROUPED_COMMA = re.compile(r"\d{1,3}(?:[.\u00a0\u202f ]\d{3})+(?:,\d*)?")
_PLAIN = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_number(text: str, unit: Unit | None, decimal: str = ".") -> float:
    """``text`` as a number, read as people write them (see the module's docstring); a
    ``ValueError`` saying what is wrong otherwise. A ``%`` or a currency sign is accepted
    only for a KPI of that unit, so that a value in the wrong column is never taken."""
    body = text.strip()
    negative = body.startswith(_MINUS_SIGNS)
    if negative:
        body = body[1:].lstrip()
    if body.endswith("%"):
        if unit is not Unit.PERCENT:
            raise ValueError(f"{text!r} is a percentage, but the KPI is in {_unit_name(unit)}")
        body = body[:-1].rstrip()
    elif body[:1] in _CURRENCY_SIGNS or body[-1:] in _CURRENCY_SIGNS:
        if unit is not Unit.CURRENCY:
            raise ValueError(
                f"{text!r} is an amount of money, but the KPI is in {_unit_name(unit)}"
            )
        body = body.strip(_CURRENCY_SIGNS).strip()
    if not negative and body.startswith(_MINUS_SIGNS):  # "$-15" as well as "-$15"
        negative = True
        body = body[1:].lstrip()
    if decimal == ",":
        if _GROUPED_COMMA.fullmatch(body):
            body = body.translate({ord(c): None for c in "." + _SPACES})
        elif "." in body:
            raise ValueError(
                f"{text!r} has a '.' that does not group thousands, in a file with a decimal "
                "comma (--decimal . reads a decimal point)"
            )
        body = body.replace(",", ".")
    elif "," in body:
        if not _GROUPED_POINT.fullmatch(body):
            raise ValueError(
                f"{text!r} has a ',' that does not group thousands (--decimal , reads a "
                "decimal comma)"
            )
        body = body.replace(",", "")
    if not _PLAIN.fullmatch(body):
        raise ValueError(f"{text!r} is not a number")
    value = float(body)
    return -value if negative else value


def _unit_name(unit: Unit | None) -> str:
    return unit.value if unit is not None else "an unknown unit"


def month_period(period: str, shape: KpiShape | None) -> str | None:
    """``2026-07`` as the period of a monthly KPI (``2026-07-01``); None if it is not one."""
    found = _MONTH.fullmatch(period)
    if found is None or shape is None or shape.frequency is not Frequency.MONTHLY:
        return None
    if not 1 <= int(found[2]) <= 12:
        return None
    return f"{period}-01"
