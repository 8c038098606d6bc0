"""Report rules: pure functions, no I/O.

- `parse_period(from_, to, today)`: the query's `from`/`to` as a half-open UTC interval.
- `ratio`, `average`: the dashboard's rounding (ratios to 4 decimals, money half-up to the minor unit).
- `table_rows(report, table)`: one table of a report as a header and rows, for CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import msgspec

from app.reports.errors import InvalidPeriod, UnknownTable

MAX_PERIOD_DAYS = 400
DEFAULT_PERIOD_DAYS = 30


def _bound(value: str, name: str) -> tuple[datetime, bool]:
    """A date (`2026-03-01`) or an ISO 8601 datetime with an offset; True when it was a date."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), UTC), True
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidPeriod(f"`{name}` is not a date (YYYY-MM-DD) or an ISO 8601 datetime", field=name) from None
    if parsed.tzinfo is None:
        raise InvalidPeriod(f"`{name}` needs a UTC offset (e.g. Z)", field=name)
    return parsed.astimezone(UTC), False


def parse_period(from_: str | None, to: str | None, today: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC. A date `to` includes that whole day; a datetime `to` is exclusive.
    Defaults: `to` today (whole day), `from` 30 days before `to`'s day."""
    if to is None:
        end = datetime.combine(today + timedelta(days=1), time(), UTC)
    else:
        end, is_date = _bound(to, "to")
        if is_date:
            end += timedelta(days=1)
    if from_ is None:
        start = end - timedelta(days=DEFAULT_PERIOD_DAYS)
    else:
        start, _ = _bound(from_, "from")
    if start >= end:
        raise InvalidPeriod("`from` must be before `to`", field="from")
    if end - start > timedelta(days=MAX_PERIOD_DAYS):
        raise InvalidPeriod(f"the period may be at most {MAX_PERIOD_DAYS} days", field="to", max_days=MAX_PERIOD_DAYS)
    return start, end


def ratio(part: int, whole: int) -> float | None:
    """part / whole to 4 decimals; None when there is nothing to divide by."""
    return round(part / whole, 4) if whole else None


def average(total: int, count: int) -> int | None:
    """Money average in minor units, half-up (integers only: no float on money)."""
    if not count:
        return None
    return (2 * total + count) // (2 * count)


def validate_period(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidPeriod("the period's bounds must be timezone-aware")
    if start >= end:
        raise InvalidPeriod("`from` must be before `to`", field="from")
    if end - start > timedelta(days=MAX_PERIOD_DAYS):
        raise InvalidPeriod(f"the period may be at most {MAX_PERIOD_DAYS} days", field="to", max_days=MAX_PERIOD_DAYS)


def table_rows(report: msgspec.Struct, table: str, tables: Sequence[str]) -> tuple[list[str], list[list[Any]]]:
    """One list-of-structs (or struct) field of the report as a header and rows.
    Nested lists (a reason breakdown) are not columns: they are tables of their own."""
    if table not in tables:
        raise UnknownTable("no such table in this report", field="table", tables=list(tables))
    value = msgspec.to_builtins(getattr(report, table))
    rows = value if isinstance(value, list) else [value]
    if not rows:
        return [], []
    header = [k for k, v in rows[0].items() if not isinstance(v, list | dict)]
    return header, [[row.get(k) for k in header] for row in rows]
