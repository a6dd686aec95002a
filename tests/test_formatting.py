"""Formatting shared by every screen and command: the plural rule and wide numbers."""

from __future__ import annotations

import pytest

from intelligentos.domain.formatting import format_change, format_value, name_within, plural


@pytest.mark.parametrize(
    ("count", "noun", "expected"),
    [
        (1, "KPI", "1 KPI"),
        (0, "KPI", "0 KPIs"),
        (2, "KPI", "2 KPIs"),
        (1200, "valid row", "1,200 valid rows"),
        (1, "observation", "1 observation"),
    ],
)
def test_plural(count, noun, expected):
    assert plural(count, noun) == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (1e300, "currency", "$1.0e+300"),
        (1.2e12, "currency", "$1.2T"),
        (48.6e6, "currency", "$48.6M"),
        (-1e15, "percent", "-1.0e+15%"),
        (43.71, "percent", "43.7%"),
        (12345678.9, "months", "1.2e+07 mo"),
        (1e16, "count", "1.0e+16"),
        (3.05, "ratio", "3.05×"),
    ],
)
def test_a_huge_value_is_short(value, unit, expected):
    assert format_value(value, unit) == expected


def test_a_huge_change_is_short():
    assert format_change(1e300, 5.0, "currency") == "+2.0e+301%"
    assert format_change(-1e15, 40.0, "percent") == "−1.0e+15 pt"


@pytest.mark.parametrize(
    ("name", "room", "expected"),
    [
        ("Finance (Lee)", 24, "Finance (Lee)"),  # the bracket tells two agents apart
        ("CRO Agent (Chief Revenue Officer)", 24, "CRO Agent"),
        ("CRO Agent (Chief Revenue Officer)", 40, "CRO Agent (Chief Revenue Officer)"),
        ("A very long agent name without brackets", 10, "A very lo…"),
    ],
)
def test_a_name_keeps_its_bracket_when_it_fits(name, room, expected):
    assert name_within(name, room) == expected
