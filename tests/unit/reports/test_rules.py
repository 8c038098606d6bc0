"""The reports' pure rules."""

from __future__ import annotations

from datetime import date

import pytest

from app.reports import rules


@pytest.mark.parametrize(
    ("first", "end", "months"),
    [
        (date(2025, 1, 1), date(2026, 1, 1), (date(2025, 1, 1), date(2026, 1, 1))),  # a year: all whole
        (date(2025, 1, 15), date(2025, 4, 10), (date(2025, 2, 1), date(2025, 4, 1))),  # Feb and Mar
        (date(2025, 12, 2), date(2026, 2, 1), (date(2026, 1, 1), date(2026, 2, 1))),  # across a year
        (date(2025, 3, 1), date(2025, 3, 31), (date(2025, 3, 31), date(2025, 3, 31))),  # March less a day
        (date(2025, 3, 2), date(2025, 4, 1), (date(2025, 4, 1), date(2025, 4, 1))),  # March less a day
        (date(2025, 1, 20), date(2025, 2, 10), (date(2025, 2, 10), date(2025, 2, 10))),  # none
    ],
)
def test_whole_months_of_a_period(first: date, end: date, months: tuple[date, date]) -> None:
    assert rules.whole_months(first, end) == months
