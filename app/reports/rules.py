"""Report rules: pure functions, no I/O.

- `order_contributions(order, lines, fos, returns)`: what one order adds to the summary
  counters (COUNTERS), per (UTC day, channel, location) — the definitions of service.py.
- `edge_percentile(histogram, q)`: p50/p90 of a lead-time histogram (LEAD_EDGES).
- `parse_period(from_, to, today)`: the query's `from`/`to` as whole UTC days.
- `whole_months(first, end)`: the whole months of a period (summed from the monthly summary).
- `ratio`, `average`: the dashboard's rounding (ratios to 4 decimals, money half-up to the minor unit).
- `table_rows(report, table)`: one table of a report as a header and rows, for CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import msgspec

from app.reports.errors import InvalidPeriod, UnknownTable

MAX_PERIOD_DAYS = 400
DEFAULT_PERIOD_DAYS = 30


def _day(value: str, name: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidPeriod(f"`{name}` is not a date (YYYY-MM-DD)", field=name) from None


def parse_period(from_: str | None, to: str | None, today: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC from two dates, both days included. Defaults: `to` today,
    `from` 29 days before `to` (30 days)."""
    last = _day(to, "to") if to is not None else today
    try:
        first = _day(from_, "from") if from_ is not None else last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
        end = datetime.combine(last + timedelta(days=1), time(), UTC)
    except OverflowError:  # the default `from` before year 1, or the day after 9999-12-31
        raise InvalidPeriod("the period must lie between years 1 and 9999", field="to") from None
    if first > last:
        raise InvalidPeriod("`from` must not be after `to`", field="from")
    start = datetime.combine(first, time(), UTC)
    validate_period(start, end)
    return start, end


def whole_months(first: date, end: date) -> tuple[date, date]:
    """The whole calendar months inside the days [first, end), as [from, to) first days of
    months; (end, end) when there is none. The rest of the period is its partial months' days."""
    start = first if first.day == 1 else _next_month(first)
    stop = end.replace(day=1)
    return (start, stop) if start < stop else (end, end)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def ratio(part: int, whole: int) -> float | None:
    """part / whole to 4 decimals; None when there is nothing to divide by."""
    return round(part / whole, 4) if whole else None


def average(total: int, count: int) -> int | None:
    """Money average in minor units, half-up (integers only: no float on money)."""
    if not count:
        return None
    return (2 * total + count) // (2 * count)


def validate_period(start: datetime, end: datetime) -> None:
    """The summary counts whole UTC days: bounds at midnight UTC, at most MAX_PERIOD_DAYS."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidPeriod("the period's bounds must be timezone-aware")
    if any(b.astimezone(UTC).time() != time() for b in (start, end)):
        raise InvalidPeriod("the period is made of whole UTC days (bounds at 00:00 UTC)")
    if start >= end:
        raise InvalidPeriod("`from` must not be after `to`", field="from")
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


# ---------------------------------------------------------------- summary counters

CHANNELS = ("web", "app", "kiosk", "contact_center", "pos")
RETURN_CHANNELS = (*CHANNELS, "back_office")
METHODS = ("delivery", "ship_from_store", "bopis", "ship_to_store")
REJECT_REASONS = ("no_staff", "item_damaged", "not_found", "timeout", "other")
# Upper edges (seconds) of the lead-time buckets: 15 min ... 30 days; one more bucket above.
LEAD_EDGES = (
    900, 1800, 3600, 7200, 10800, 14400, 21600, 28800, 43200, 64800, 86400,
    129600, 172800, 259200, 345600, 432000, 604800, 864000, 1209600, 2592000,
)  # fmt: skip
LEAD_BUCKETS = tuple(f"{{}}_h{i:02d}" for i in range(len(LEAD_EDGES) + 1))

COUNTERS: tuple[str, ...] = (
    "orders", "cancelled_orders", "revenue", "units", "member_orders", "member_revenue",
    "delivery_fulfillment_orders", "split_orders",
    *(f"{m}_{k}" for m in METHODS for k in ("orders", "lines", "units", "revenue")),
    "ea_orders", "ea_lines", "ea_units", "ea_revenue",
    "ship_count", *(b.format("ship") for b in LEAD_BUCKETS),
    "ready_count", *(b.format("ready") for b in LEAD_BUCKETS),
    "sfs_fos", "sfs_rejected", *(f"sfs_{r}" for r in REJECT_REASONS),
    "pickup_collected", "pickup_expired",
    *(f"{k}_{c}" for c in RETURN_CHANNELS for k in ("returns", "return_units", "return_refunded")),
)  # fmt: skip

# Money counters are bigint; counts are integer, whose sums PostgreSQL adds in int8 (a sum of
# bigint goes through numeric, several times slower on a year of rows).
MONEY_COUNTERS = frozenset(c for c in COUNTERS if c.endswith("revenue") or c.startswith("return_refunded_"))


@dataclass(frozen=True)
class OrderRow:
    channel: str
    status: str
    total: int
    member: bool
    fulfillment: str
    store_code: str | None
    pickup_location_code: str | None
    placed_at: datetime


@dataclass(frozen=True)
class LineRow:
    line_no: int
    sku: str
    quantity: int
    line_total: int
    location_code: str
    location_kind: str
    # A pickup line the store did not have: the warehouse it is sent from (ship-to-store).
    sent_from: str | None = None


@dataclass(frozen=True)
class FulfillmentRow:
    type: str
    status: str
    location_code: str
    location_kind: str
    reject_reason: str | None
    created_at: datetime
    closed_at: datetime | None
    ready_at: datetime | None
    shipped_at: datetime | None


@dataclass(frozen=True)
class ReturnRow:
    channel: str | None
    location_code: str | None
    status: str
    created_at: datetime
    units: int
    refund_total: int


DailyKey = tuple[date, str, str]  # (UTC day, channel of sale, location)
SkuKey = tuple[date, str, str]  # (UTC day, kiosk store, SKU)


@dataclass
class Contribution:
    daily: dict[DailyKey, dict[str, int]] = field(default_factory=dict)
    skus: dict[SkuKey, tuple[int, int]] = field(default_factory=dict)

    def add(self, key: DailyKey, **counters: int) -> None:
        row = self.daily.setdefault(key, {})
        for name, value in counters.items():
            if value:
                row[name] = row.get(name, 0) + value

    def to_json(self) -> dict[str, Any]:
        return {
            "daily": [[d.isoformat(), c, loc, v] for (d, c, loc), v in sorted(self.daily.items()) if v],
            "skus": [[d.isoformat(), loc, sku, n, u] for (d, loc, sku), (n, u) in sorted(self.skus.items())],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Contribution:
        return cls(
            daily={(date.fromisoformat(d), c, loc): dict(v) for d, c, loc, v in data.get("daily", [])},
            skus={(date.fromisoformat(d), loc, sku): (n, u) for d, loc, sku, n, u in data.get("skus", [])},
        )


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def line_method(order: OrderRow, line: LineRow) -> str:
    """How a line reaches the customer, as sourced at placement."""
    if order.fulfillment == "pickup":
        return "bopis" if served_from(line) == order.pickup_location_code else "ship_to_store"
    return "ship_from_store" if line.location_kind == "store" else "delivery"


def served_from(line: LineRow) -> str:
    """Where the line's units come from: a ship-to-store line's warehouse, else its location."""
    return line.sent_from or line.location_code


def home_location(order: OrderRow, lines: Sequence[LineRow]) -> str:
    """The one location an order counts at: where it was placed (kiosk/POS), else where it is
    collected, else where its first line ships from."""
    if order.store_code:
        return order.store_code
    if order.pickup_location_code:
        return order.pickup_location_code
    return min(lines, key=lambda ln: ln.line_no).location_code if lines else ""


def lead_bucket(seconds: float) -> int:
    for i, edge in enumerate(LEAD_EDGES):
        if seconds <= edge:
            return i
    return len(LEAD_EDGES)


def order_contributions(
    order: OrderRow, lines: Sequence[LineRow], fos: Sequence[FulfillmentRow], returns: Sequence[ReturnRow]
) -> Contribution:
    out = Contribution()
    home = home_location(order, lines)
    day, channel = utc_day(order.placed_at), order.channel
    if order.status == "cancelled":
        out.add((day, channel, home), cancelled_orders=1)
    else:
        _sale(out, order, lines, (day, channel, home))
    for fo in fos:
        _fulfillment(out, order, fo)
    for ret in returns:
        if ret.status == "rejected":
            continue
        to = ret.channel if ret.channel in CHANNELS else "back_office"
        key = (utc_day(ret.created_at), channel, ret.location_code or home)
        out.add(key, **{f"returns_{to}": 1, f"return_units_{to}": ret.units, f"return_refunded_{to}": ret.refund_total})
    return out


def _sale(out: Contribution, order: OrderRow, lines: Sequence[LineRow], key: DailyKey) -> None:
    delivery = order.fulfillment == "delivery"
    counters = {
        "orders": 1,
        "revenue": order.total,
        "units": sum(ln.quantity for ln in lines),
        "member_orders": int(order.member),
        "member_revenue": order.total if order.member else 0,
        "delivery_fulfillment_orders": int(delivery),
        "split_orders": int(delivery and len({ln.location_code for ln in lines}) > 1),
    }
    for method in {line_method(order, ln) for ln in lines}:
        counters[f"{method}_orders"] = 1
    for ln in lines:
        m = line_method(order, ln)
        for k, v in (("lines", 1), ("units", ln.quantity), ("revenue", ln.line_total)):
            counters[f"{m}_{k}"] = counters.get(f"{m}_{k}", 0) + v
    out.add(key, **counters)
    if order.channel == "kiosk" and order.store_code:
        lacked = [ln for ln in lines if served_from(ln) != order.store_code]
        if lacked:
            ea_units = sum(ln.quantity for ln in lacked)
            ea_revenue = sum(ln.line_total for ln in lacked)
            out.add(key, ea_orders=1, ea_lines=len(lacked), ea_units=ea_units, ea_revenue=ea_revenue)
        for ln in lacked:
            sku_key = (key[0], order.store_code, ln.sku)
            n, u = out.skus.get(sku_key, (0, 0))
            out.skus[sku_key] = (n + 1, u + ln.quantity)


def _fulfillment(out: Contribution, order: OrderRow, fo: FulfillmentRow) -> None:
    channel = order.channel
    if fo.type == "delivery" and fo.location_kind == "store":
        reason = fo.reject_reason if fo.reject_reason in REJECT_REASONS else "other"
        rejected = {"sfs_rejected": 1, f"sfs_{reason}": 1} if fo.reject_reason else {}
        out.add((utc_day(fo.created_at), channel, fo.location_code), sfs_fos=1, **rejected)
    if fo.type == "pickup" and fo.status in ("collected", "expired") and fo.closed_at is not None:
        outcome = "pickup_collected" if fo.status == "collected" else "pickup_expired"
        out.add((utc_day(fo.closed_at), channel, fo.location_code), **{outcome: 1})
    placed = (utc_day(order.placed_at), channel, fo.location_code)
    if fo.type == "delivery" and fo.shipped_at is not None:
        bucket = lead_bucket((fo.shipped_at - order.placed_at).total_seconds())
        out.add(placed, ship_count=1, **{LEAD_BUCKETS[bucket].format("ship"): 1})
    if fo.type == "pickup" and fo.ready_at is not None:
        bucket = lead_bucket((fo.ready_at - order.placed_at).total_seconds())
        out.add(placed, ready_count=1, **{LEAD_BUCKETS[bucket].format("ready"): 1})


def difference(new: Contribution, old: Contribution) -> Contribution:
    """new - old, key by key (what a refresh adds to the counters)."""
    delta = Contribution()
    for key in new.daily.keys() | old.daily.keys():
        now, before = new.daily.get(key, {}), old.daily.get(key, {})
        delta.add(key, **{n: now.get(n, 0) - before.get(n, 0) for n in now.keys() | before.keys()})
    for sku_key in new.skus.keys() | old.skus.keys():
        (n1, u1), (n0, u0) = new.skus.get(sku_key, (0, 0)), old.skus.get(sku_key, (0, 0))
        if (n1 - n0, u1 - u0) != (0, 0):
            delta.skus[sku_key] = (n1 - n0, u1 - u0)
    return delta


def edge_percentile(histogram: Sequence[int], q: float) -> int | None:
    """The smallest bucket edge E (seconds) with at least q of the measured times <= E;
    None without measurements or when it lies beyond the last edge (30 days)."""
    total = sum(histogram)
    if not total:
        return None
    running = 0
    for i, n in enumerate(histogram):
        running += n
        if running >= q * total:
            return LEAD_EDGES[i] if i < len(LEAD_EDGES) else None
    return None
