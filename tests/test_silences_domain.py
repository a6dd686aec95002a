"""Silences: what they match, when they hold, their spans and overlaps, worked by hand."""

from __future__ import annotations

from datetime import datetime

import pytest

from intelligentos.domain.alerts import Alert, State
from intelligentos.domain.detection import Severity
from intelligentos.domain.silences import (
    Matcher,
    Silence,
    SilenceError,
    overlapping,
    silencing,
    window,
)

NOW = datetime(2026, 12, 7, 10, 0, 0)
DRIFT = Alert(
    rule="drift",
    severity=Severity.WARNING,
    state=State.FIRING,
    opened_at="2026-12-07T09:00:00Z",
    updated_at="2026-12-07T09:00:00Z",
    kpi_id="win_rate",
    id=7,
)


def silence(matcher: str, value: str, start: str = "09:00", end: str = "12:00", **more):
    return Silence(
        Matcher(matcher),
        value,
        f"2026-12-07T{start}:00Z",
        f"2026-12-07T{end}:00Z",
        who="ana",
        note="CRM migration",
        **more,
    )


def test_a_window_lasts_for_a_duration_or_until_a_moment():
    assert window(NOW, lasting="2h") == ("2026-12-07T10:00:00Z", "2026-12-07T12:00:00Z")
    assert window(NOW, until=datetime(2026, 12, 8, 6, 30)) == (
        "2026-12-07T10:00:00Z",
        "2026-12-08T06:30:00Z",
    )


@pytest.mark.parametrize(
    ("lasting", "until", "expected"),
    [
        (None, None, "--for 2h or --until"),
        ("2h", datetime(2026, 12, 8), "--for 2h or --until"),
        ("soon", None, "'soon' is not a duration"),
        ("91d", None, "a silence lasts at most 90 days"),
        ("0h", None, "a silence must last longer than zero"),
        (None, datetime(2026, 12, 7, 9), "has passed"),
        (None, datetime(2027, 3, 8, 10), "is too far"),  # 91 days on
    ],
)
def test_a_window_that_cannot_be_is_one_sentence(lasting, until, expected):
    with pytest.raises(SilenceError, match=expected):
        window(NOW, lasting=lasting, until=until)


def test_a_silence_matches_one_thing():
    assert silencing([silence("kpi", "win_rate")], DRIFT, NOW) is not None
    assert silencing([silence("kpi", "nrr")], DRIFT, NOW) is None
    assert silencing([silence("rule", "drift")], DRIFT, NOW) is not None
    assert silencing([silence("rule", "target")], DRIFT, NOW) is None
    # A system: the alerts of the KPIs whose lineage reads it.
    assert silencing([silence("system", "crm")], DRIFT, NOW, systems={"crm"}) is not None
    assert silencing([silence("system", "crm")], DRIFT, NOW, systems={"erp"}) is None
    # An agent: the alerts routed to it.
    assert silencing([silence("agent", "cro")], DRIFT, NOW, agents={"cro", "ceo"}) is not None
    assert silencing([silence("agent", "cfo")], DRIFT, NOW, agents={"cro"}) is None


def test_a_silence_holds_from_its_start_until_its_end_or_its_expiry():
    later = silence("kpi", "win_rate", start="10:30", end="12:00")
    assert silencing([later], DRIFT, NOW) is None  # not started at 10:00
    over = silence("kpi", "win_rate", start="08:00", end="10:00")
    assert silencing([over], DRIFT, NOW) is None  # ended at 10:00 sharp
    expired = silence("kpi", "win_rate", expired_at="2026-12-07T09:30:00Z")
    assert expired.until == "2026-12-07T09:30:00Z"
    assert silencing([expired], DRIFT, NOW) is None


def test_silences_on_the_same_thing_may_not_overlap():
    held = silence("kpi", "win_rate", start="09:00", end="12:00")
    assert overlapping(silence("kpi", "win_rate", start="11:00", end="13:00"), [held]) is held
    assert overlapping(silence("kpi", "win_rate", start="12:00", end="13:00"), [held]) is None
    assert overlapping(silence("kpi", "nrr", start="11:00", end="13:00"), [held]) is None
    # Expired at 10:00: a new one from 11:00 does not overlap it.
    gone = silence("kpi", "win_rate", expired_at="2026-12-07T10:00:00Z")
    assert overlapping(silence("kpi", "win_rate", start="11:00", end="13:00"), [gone]) is None
