"""Pure inventory rules: stock arithmetic, location capabilities, POS counts, reservation
state, distances. No I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfo

MAX_SYNC_LINES = 10_000
MAX_AVAILABILITY_SKUS = 200
EARTH_RADIUS_KM = 6371.0088


class Reason(StrEnum):
    RECEIPT = "receipt"
    SALE = "sale"
    RETURN_RESTOCK = "return_restock"
    DAMAGE = "damage"
    CYCLE_COUNT = "cycle_count"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    CORRECTION = "correction"
    POS_SYNC = "pos_sync"


# Reasons a person or integration may give to a direct adjustment, and the sign each allows.
# The others are written by their own use case (sale by consume, counts by count/sync,
# transfers by dispatch/receive), so the ledger always says what really happened.
ADJUSTMENT_SIGNS: dict[Reason, int] = {
    Reason.RECEIPT: 1,
    Reason.RETURN_RESTOCK: 1,
    Reason.DAMAGE: -1,
    Reason.CORRECTION: 0,  # either sign
}


def adjustment_problem(reason: Reason, delta: int) -> str | None:
    """Why (reason, delta) is not a valid direct adjustment, or None when it is."""
    if delta == 0:
        return "delta must not be zero"
    sign = ADJUSTMENT_SIGNS.get(reason)
    if sign is None:
        allowed = ", ".join(ADJUSTMENT_SIGNS)
        return f"reason {reason} is recorded by its own operation; adjustments take {allowed}"
    if sign > 0 and delta < 0:
        return f"{reason} adds stock: delta must be positive"
    if sign < 0 and delta > 0:
        return f"{reason} removes stock: delta must be negative"
    return None


def available(on_hand: int, reserved: int, safety_stock: int) -> int:
    """What can still be promised; never shown below zero (a count may leave on_hand under reserved)."""
    return max(0, on_hand - reserved - safety_stock)


# ---- locations -------------------------------------------------------------------------


class Capabilities(NamedTuple):
    ships: bool
    pickup: bool
    accepts_returns: bool
    daily_capacity: int


def default_capabilities(kind: str) -> Capabilities:
    """Warehouses ship big volumes and take no customers; stores are small, customers collect."""
    if kind == "warehouse":
        return Capabilities(ships=True, pickup=False, accepts_returns=False, daily_capacity=5000)
    return Capabilities(ships=False, pickup=True, accepts_returns=True, daily_capacity=50)


def capability_problem(kind: str, ships: bool, pickup: bool) -> str | None:
    if kind == "warehouse" and not ships:
        return "every warehouse ships"
    if kind == "warehouse" and pickup:
        return "customers collect only in stores"
    return None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance; the SQL in repository.availability uses the same formula."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


# ---- delivery promise ----------------------------------------------------------------------
#
# The rule (README "Delivery promise"): a location works on its *shipping days* (ISO weekdays,
# Monday = 1; by default Monday to Saturday) in its own time zone. An order received on a
# shipping day before the location's *order cut-off* is received then (at DAY_STARTS if it
# came in the night); otherwise at DAY_STARTS of the next shipping day. *Handling hours* later
# (real hours) it is packed: a pickup from that store's shelf is ready then (or at DAY_STARTS
# of the next shipping day if that is after the cut-off or on a day off); a parcel leaves on
# the day it is packed if that is a shipping day and before the cut-off, else on the next
# shipping day. Carriers deliver on CARRIER_DAYS: the delivery date is *transit days* carrier
# days after the departure (per destination country when the location names one, else its
# default). A transfer to a pickup store arrives like a parcel; the store receives it at
# DAY_STARTS of that day (its next shipping day if closed) and it is ready after the store's
# handling hours.

DAY_STARTS = time(9, 0)
CARRIER_DAYS = frozenset({1, 2, 3, 4, 5, 6})  # carriers do not deliver on Sundays
DEFAULT_SHIPPING_DAYS = (1, 2, 3, 4, 5, 6)


class PromiseTerms(NamedTuple):
    """A location's promise settings (the columns of `locations`)."""

    time_zone: str
    order_cutoff: time
    handling_hours: int
    transit_days: int
    shipping_days: tuple[int, ...] = DEFAULT_SHIPPING_DAYS
    transit_days_by_country: dict[str, int] = {}  # never mutated

    def transit_to(self, country: str | None) -> int:
        if country is None:
            return self.transit_days
        return self.transit_days_by_country.get(country.upper(), self.transit_days)


def promise_terms_problem(
    order_cutoff: time, shipping_days: Sequence[int], transit_by_country: dict[str, int]
) -> str | None:
    """Why these settings cannot make a promise, or None."""
    if order_cutoff.tzinfo is not None:
        return "order_cutoff is a local time of day, without an offset"
    if not shipping_days:
        return "a location ships on at least one weekday"
    if any(d < 1 or d > 7 for d in shipping_days):
        return "shipping_days are ISO weekdays, 1 (Monday) to 7 (Sunday)"
    if len(set(shipping_days)) != len(shipping_days):
        return "shipping_days names each weekday once"
    for country, days in transit_by_country.items():
        if len(country) != 2 or not country.isalpha() or not country.isupper():
            return f"transit_days_by_country keys are ISO 3166 alpha-2 codes, got {country!r}"
        if days < 0 or days > 60:
            return "transit days are between 0 and 60"
    return None


def _next_day_on(day: date, weekdays: Iterable[int]) -> date:
    """The first day after `day` that falls on one of `weekdays`."""
    wanted = set(weekdays)
    day += timedelta(days=1)
    while day.isoweekday() not in wanted:
        day += timedelta(days=1)
    return day


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    # A wall-clock time skipped by a DST jump (02:30 in spring) resolves forward, one that
    # occurs twice resolves to the first (fold=0): both are what a shop's clock shows.
    return datetime.combine(day, at, tzinfo=zone).astimezone(zone)


def _later(moment: datetime, hours: int) -> datetime:
    """`hours` real hours after `moment`, in UTC. Python adds to an aware datetime on its wall
    clock (02:00 + 3 h across the spring DST jump would be 05:00, two real hours): add in UTC."""
    return moment.astimezone(UTC) + timedelta(hours=hours)


def _working(moment: datetime, terms: PromiseTerms, zone: ZoneInfo) -> datetime:
    """When work on an order arriving at `moment` starts: then on a shipping day between
    DAY_STARTS and the cut-off; DAY_STARTS that day if earlier; else DAY_STARTS of the next
    shipping day."""
    local = moment.astimezone(zone)
    if local.isoweekday() in terms.shipping_days and local.time() < terms.order_cutoff:
        return max(local, _local(local.date(), DAY_STARTS, zone))
    return _local(_next_day_on(local.date(), terms.shipping_days), DAY_STARTS, zone)


def packed_at(ordered_at: datetime, terms: PromiseTerms) -> datetime:
    """When the location has picked and packed an order placed at `ordered_at` (aware)."""
    zone = ZoneInfo(terms.time_zone)
    received = _working(ordered_at, terms, zone)
    return _later(received, terms.handling_hours).astimezone(zone)


def pickup_ready_by(ordered_at: datetime, terms: PromiseTerms) -> datetime:
    """When a pickup from this store's own stock is ready (UTC)."""
    zone = ZoneInfo(terms.time_zone)
    packed = packed_at(ordered_at, terms)
    local = packed.astimezone(zone)
    # Ready when packed if that is within the store's working hours of a shipping day; packed
    # in the night (handling hours can end at any time), it is ready when the day's work starts.
    on_time = local.isoweekday() in terms.shipping_days and DAY_STARTS <= local.time() <= terms.order_cutoff
    ready = packed if on_time else _working(packed, terms, zone)
    return ready.astimezone(UTC)


def departs_on(ordered_at: datetime, terms: PromiseTerms) -> date:
    """The local day a parcel leaves the location."""
    local = packed_at(ordered_at, terms)
    if local.isoweekday() in terms.shipping_days and local.time() < terms.order_cutoff:
        return local.date()
    return _next_day_on(local.date(), terms.shipping_days)


def delivered_by(ordered_at: datetime, terms: PromiseTerms, country: str | None = None) -> date:
    """The earliest day a parcel from this location reaches an address in `country`."""
    day = departs_on(ordered_at, terms)
    for _ in range(terms.transit_to(country)):
        day = _next_day_on(day, CARRIER_DAYS)
    return day


def transfer_ready_by(ordered_at: datetime, source: PromiseTerms, store: PromiseTerms) -> datetime:
    """When a pickup served by a transfer from `source` is ready at `store` (UTC)."""
    zone = ZoneInfo(store.time_zone)
    arrives = delivered_by(ordered_at, source)
    received = _local(arrives, DAY_STARTS, zone)
    if arrives.isoweekday() not in store.shipping_days:
        received = _local(_next_day_on(arrives, store.shipping_days), DAY_STARTS, zone)
    return _later(received, store.handling_hours)


def end_of_day(day: date, time_zone: str) -> datetime:
    """The last moment of `day` where the location is (a date promise stored as a time, UTC)."""
    zone = ZoneInfo(time_zone)
    return (_local(day + timedelta(days=1), time(0), zone) - timedelta(microseconds=1)).astimezone(UTC)


# ---- lines -------------------------------------------------------------------------------


class Line(NamedTuple):
    sku: str
    location: str
    quantity: int


def duplicate_keys(keys: Iterable[tuple[str, ...]]) -> list[tuple[str, ...]]:
    seen: set[tuple[str, ...]] = set()
    dups: list[tuple[str, ...]] = []
    for key in keys:
        if key in seen and key not in dups:
            dups.append(key)
        seen.add(key)
    return dups


def lock_order(lines: Iterable[Line]) -> list[Line]:
    """Every writer touches stock rows in (sku, location) order, so two multi-line
    reservations (or a reservation and a release) can never wait on each other in a cycle."""
    return sorted(lines, key=lambda line: (line.sku, line.location))


class OpenLine(NamedTuple):
    sku: str
    location: str
    quantity: int
    released: int
    consumed: int

    @property
    def open(self) -> int:
        return self.quantity - self.released - self.consumed


def settle_plan(open_lines: Sequence[OpenLine], requested: Sequence[Line] | None) -> list[Line] | str:
    """Which (sku, location, qty) to release/consume. `requested=None` means everything
    still open. Returns a problem text when a line is unknown or asks for more than is open."""
    by_key = {(o.sku, o.location): o for o in open_lines}
    if requested is None:
        return [Line(o.sku, o.location, o.open) for o in open_lines if o.open > 0]
    plan: list[Line] = []
    for line in requested:
        held = by_key.get((line.sku, line.location))
        if held is None:
            return f"{line.sku} at {line.location} is not part of this reservation"
        if line.quantity > held.open:
            return f"{line.sku} at {line.location}: {line.quantity} requested, {held.open} still open"
        plan.append(line)
    return plan


def reservation_status(lines: Iterable[OpenLine]) -> str:
    """open while anything is held; then consumed if any unit was sold, else released."""
    lines = list(lines)
    if any(o.open > 0 for o in lines):
        return "open"
    return "consumed" if any(o.consumed > 0 for o in lines) else "released"


def granted_prefix(quantities: Sequence[int], available_units: int) -> int:
    """How many requests, taken in arrival order, fit into `available_units` (greedy prefix,
    the same rule the combined hold statement applies in SQL)."""
    total = 0
    for count, qty in enumerate(quantities):
        if total + qty > available_units:
            return count
        total += qty
    return len(quantities)


# ---- POS counts -------------------------------------------------------------------------


class CountDecision(NamedTuple):
    delta: int  # 0: nothing to write
    rejected: str | None = None


def decide_count(
    counted: int,
    counted_at: datetime,
    on_hand_now: int,
    moved_since_count: int,
) -> CountDecision:
    """A store counted `counted` units at `counted_at`.

    The count is the truth as of `counted_at`, not as of now: movements recorded after it
    (a sale at 10:05 for a count taken at 10:00, `moved_since_count` = their sum) stay
    valid. So the correction is the difference between the count and what the ledger said
    at `counted_at` (= on_hand_now - moved_since_count); applied now, it leaves the later
    movements on top. A fresh count (nothing moved since) is simply `counted - on_hand_now`.
    A correction that would take on_hand below zero means the count contradicts later
    movements; that line is rejected (`count_conflicts_with_later_movements`) rather than
    guessed at.
    """
    ledger_at_count = on_hand_now - moved_since_count
    delta = counted - ledger_at_count
    if on_hand_now + delta < 0:
        return CountDecision(0, "count_conflicts_with_later_movements")
    return CountDecision(delta)


# ---- stock count CSV (`oms stock import`) -------------------------------------------------------


class CountRow(NamedTuple):
    line: int
    location: str
    sku: str
    on_hand: int
    counted_at: datetime | None


class CountRowError(NamedTuple):
    line: int
    message: str


COUNT_CSV_COLUMNS = ("location", "sku", "on_hand")


def read_count_csv(lines: Iterable[str]) -> Iterator[CountRow | CountRowError]:
    """Rows of a stock count CSV: header `location,sku,on_hand[,counted_at]`; counted_at is
    ISO 8601 with an offset (blank: the time of the import)."""
    import csv

    reader = csv.DictReader(lines)
    missing = [c for c in COUNT_CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        yield CountRowError(1, f"missing column(s): {', '.join(missing)}")
        return
    for row in reader:
        line = reader.line_num
        location, sku = (row.get("location") or "").strip(), (row.get("sku") or "").strip()
        raw_count, raw_at = (row.get("on_hand") or "").strip(), (row.get("counted_at") or "").strip()
        if not location or not sku:
            yield CountRowError(line, "location and sku are required")
            continue
        if not raw_count.isdigit():
            yield CountRowError(line, f"on_hand must be a whole number >= 0, not {raw_count!r}")
            continue
        counted_at = None
        if raw_at:
            try:
                counted_at = datetime.fromisoformat(raw_at)
            except ValueError:
                yield CountRowError(line, f"counted_at {raw_at!r} is not ISO 8601")
                continue
            if counted_at.tzinfo is None:
                yield CountRowError(line, "counted_at needs a time zone offset")
                continue
        yield CountRow(line, location, sku, int(raw_count), counted_at)


def count_batches(rows: Iterable[CountRow], size: int = MAX_SYNC_LINES) -> list[tuple[str, list[CountRow]]]:
    """Group rows by location into batches of at most `size`, never with a SKU twice (a SKU
    counted again later in the file goes into a later batch, so the later count wins)."""
    open_batches: dict[str, list[CountRow]] = {}
    seen: dict[str, set[str]] = {}
    done: list[tuple[str, list[CountRow]]] = []
    for row in rows:
        batch = open_batches.setdefault(row.location, [])
        skus = seen.setdefault(row.location, set())
        if len(batch) >= size or row.sku in skus:
            done.append((row.location, batch))
            batch = open_batches[row.location] = []
            skus = seen[row.location] = set()
        batch.append(row)
        skus.add(row.sku)
    done.extend((loc, batch) for loc, batch in open_batches.items() if batch)
    return done


# ---- who holds a reservation --------------------------------------------------------------------
# The order and fulfillment flows reserve under these references; a reservation made through
# /v1/reservations may not take one (it would squat on a future order's or fulfillment's stock).
FLOW_REFERENCE_PREFIXES = ("order:", "resource:", "fulfillment:", "exchange:")


def is_flow_reference(reference: str) -> bool:
    return reference.startswith(FLOW_REFERENCE_PREFIXES)


def holder_of(role: str, channel: str | None, location_code: str | None) -> str:
    """Who holds what a key reserves through the API: its channel (its role when it has none),
    and its store for location-bound keys. Two web keys share their holds; two stores do not."""
    base = channel or role
    return f"{base}@{location_code}" if location_code else base


def may_settle(holder: str | None, caller: str, *, admin: bool) -> str | None:
    """Why a caller may not release or consume a reservation through the API (None: it may).
    An order's or fulfillment's reservation (no holder) moves only with that order."""
    if holder is None:
        return "held_by_order"
    if not admin and holder != caller:
        return "another_holder"
    return None
