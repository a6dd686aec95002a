"""Time as the store writes it: UTC instants as ISO-8601 text with a ``Z``, and the upper
bound of the periods that belong to a day.

One place for both, so that the CLI, the cockpit and the store agree on every timestamp.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import overload

# Periods are ISO dates or datetimes; every period of a day sorts at or below "<day>T99".
_END_OF_DAY = "T99"


def utc_now() -> datetime:
    return datetime.now(UTC)


def utc_today() -> date:
    return utc_now().date()


def utc_naive(moment: datetime) -> datetime:
    """The same instant in UTC without a zone (naive input is taken to be UTC already)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def stamp(moment: datetime) -> str:
    """ISO-8601 in UTC with a Z, to the second: the store's timestamp format."""
    return utc_naive(moment).replace(microsecond=0).isoformat() + "Z"


def parse_stamp(text: str) -> datetime:
    """A store timestamp back to a naive UTC datetime."""
    return datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=None)


@overload
def period_upper_bound(day: date | str) -> str: ...
@overload
def period_upper_bound(day: None) -> None: ...
def period_upper_bound(day: date | str | None) -> str | None:
    """The largest period text that still belongs to ``day`` (``None``: no bound).

    A date-and-time ``str`` is returned as it is: it already bounds to the second."""
    if day is None:
        return None
    text = day.isoformat() if isinstance(day, date) else day
    return text + _END_OF_DAY if len(text) == 10 else text


def period_date(period: str) -> date:
    """The day a period text is dated (its first ten characters, an ISO date)."""
    return date.fromisoformat(period[:10])


def end_of_day(day: date) -> datetime:
    """The last second of ``day`` (UTC, naive): the moment a past day is judged at (which
    silences held then)."""
    return datetime.combine(day, time(23, 59, 59))
