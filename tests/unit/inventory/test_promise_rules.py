"""The delivery promise's date arithmetic (inventory.rules): cut-off boundary, days off,
handling across midnight, transit over Sundays, time zones and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.inventory import rules

BERLIN = ZoneInfo("Europe/Berlin")
WAREHOUSE = rules.PromiseTerms(
    time_zone="Europe/Berlin",
    order_cutoff=time(15),
    handling_hours=2,
    transit_days=1,
    shipping_days=(1, 2, 3, 4, 5),
    transit_days_by_country={"FR": 3},
)
STORE = rules.PromiseTerms(
    time_zone="Europe/Berlin", order_cutoff=time(18), handling_hours=1, transit_days=2, shipping_days=(1, 2, 3, 4, 5, 6)
)


def berlin(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN)


# 2026-12-07 is a Monday.
@pytest.mark.parametrize(
    ("ordered", "departs", "delivered"),
    [
        (berlin(2026, 12, 7, 10), date(2026, 12, 7), date(2026, 12, 8)),  # Monday morning: out today
        (berlin(2026, 12, 7, 12, 59), date(2026, 12, 7), date(2026, 12, 8)),  # packed 14:59 < 15:00
        (berlin(2026, 12, 7, 13, 0), date(2026, 12, 8), date(2026, 12, 9)),  # packed at the cut-off: tomorrow
        (berlin(2026, 12, 7, 14, 59), date(2026, 12, 8), date(2026, 12, 9)),
        (berlin(2026, 12, 7, 15, 0), date(2026, 12, 8), date(2026, 12, 9)),  # after cut-off: from Tuesday 09:00
        (berlin(2026, 12, 11, 16), date(2026, 12, 14), date(2026, 12, 15)),  # Friday late: Monday
        (berlin(2026, 12, 12, 10), date(2026, 12, 14), date(2026, 12, 15)),  # Saturday: warehouse closed
        (berlin(2026, 12, 13, 23), date(2026, 12, 14), date(2026, 12, 15)),  # Sunday night
        (berlin(2026, 12, 5, 10), date(2026, 12, 7), date(2026, 12, 8)),  # Saturday
    ],
)
def test_warehouse_departure_and_delivery(ordered: datetime, departs: date, delivered: date) -> None:
    assert rules.departs_on(ordered, WAREHOUSE) == departs
    assert rules.delivered_by(ordered, WAREHOUSE) == delivered


def test_transit_skips_sundays_and_follows_the_country() -> None:
    friday = berlin(2026, 12, 11, 10)  # leaves Friday
    assert rules.delivered_by(friday, WAREHOUSE) == date(2026, 12, 12)  # Saturday delivery
    assert rules.delivered_by(friday, WAREHOUSE, "FR") == date(2026, 12, 15)  # Sat, (Sun), Mon, Tue
    assert rules.delivered_by(friday, WAREHOUSE, "fr") == date(2026, 12, 15)
    assert rules.delivered_by(friday, WAREHOUSE, "DE") == date(2026, 12, 12)  # default


def test_cut_off_is_the_locations_local_time_not_utc() -> None:
    # 13:30 UTC is 14:30 in Berlin in winter (packed 16:30: after the 15:00 cut-off)...
    assert rules.departs_on(datetime(2026, 12, 7, 13, 30, tzinfo=UTC), WAREHOUSE) == date(2026, 12, 8)
    # ...and 11:30 UTC is 12:30 (packed 14:30: leaves today).
    assert rules.departs_on(datetime(2026, 12, 7, 11, 30, tzinfo=UTC), WAREHOUSE) == date(2026, 12, 7)
    # A New York warehouse packing in 1 hour: 18:00 UTC is 13:00 local (packed 14:00), 19:30 UTC is 14:30.
    ny = WAREHOUSE._replace(time_zone="America/New_York", handling_hours=1)
    assert rules.departs_on(datetime(2026, 12, 7, 18, 0, tzinfo=UTC), ny) == date(2026, 12, 7)
    assert rules.departs_on(datetime(2026, 12, 7, 19, 30, tzinfo=UTC), ny) == date(2026, 12, 8)


def test_handling_hours_do_not_stretch_over_a_dst_change() -> None:
    # 2026-03-29 (Sunday) Berlin goes 02:00 -> 03:00. A store open on Sundays, 12 hours' handling:
    sunday_store = STORE._replace(shipping_days=(1, 2, 3, 4, 5, 6, 7), handling_hours=12)
    spring = rules.packed_at(berlin(2026, 3, 28, 17), sunday_store)  # 16:00 UTC
    assert spring == datetime(2026, 3, 29, 4, 0, tzinfo=UTC)  # twelve real hours: 06:00 CEST, not 05:00
    assert spring.astimezone(BERLIN).hour == 6
    # packed in the night, the pickup is ready when the store's day starts
    assert rules.pickup_ready_by(berlin(2026, 3, 28, 17), sunday_store).astimezone(BERLIN).hour == 9
    # Autumn: 2026-10-25 03:00 -> 02:00; 17:00 CEST + 12 h is 04:00 CET.
    autumn = rules.packed_at(berlin(2026, 10, 24, 17), sunday_store)
    assert autumn.astimezone(UTC) - berlin(2026, 10, 24, 17) == timedelta(hours=12)
    assert autumn.astimezone(BERLIN).hour == 4


def test_night_orders_start_when_the_day_does() -> None:
    assert rules.pickup_ready_by(berlin(2026, 12, 8, 2), STORE) == berlin(2026, 12, 8, 10).astimezone(UTC)
    # Sunday night and Monday 00:30 are both worked from Monday 09:00.
    assert rules.pickup_ready_by(berlin(2026, 12, 13, 23), STORE) == rules.pickup_ready_by(
        berlin(2026, 12, 14, 0, 30), STORE
    )


def test_store_pickup_ready_times() -> None:
    assert rules.pickup_ready_by(berlin(2026, 12, 7, 10), STORE) == berlin(2026, 12, 7, 11).astimezone(UTC)
    # 17:30 + 1 h is past the 18:00 cut-off: ready at 09:00 the next day.
    assert rules.pickup_ready_by(berlin(2026, 12, 7, 17, 30), STORE) == berlin(2026, 12, 8, 9).astimezone(UTC)
    # After the cut-off on Saturday: Monday (the store is closed on Sunday) 09:00 + 1 h.
    assert rules.pickup_ready_by(berlin(2026, 12, 12, 19), STORE) == berlin(2026, 12, 14, 10).astimezone(UTC)
    # Exactly at the cut-off after handling is still on time.
    assert rules.pickup_ready_by(berlin(2026, 12, 7, 17), STORE) == berlin(2026, 12, 7, 18).astimezone(UTC)


def test_transfer_to_a_pickup_store() -> None:
    # Monday 10:00 at the warehouse: leaves Monday, arrives Tuesday, ready 10:00 (09:00 + 1 h).
    assert rules.transfer_ready_by(berlin(2026, 12, 7, 10), WAREHOUSE, STORE) == berlin(2026, 12, 8, 10).astimezone(UTC)
    # Leaves Friday, arrives Saturday (store open): ready Saturday 10:00.
    assert rules.transfer_ready_by(berlin(2026, 12, 11, 10), WAREHOUSE, STORE) == berlin(2026, 12, 12, 10).astimezone(
        UTC
    )
    # A store closed on Saturdays receives on Monday.
    weekdays_store = STORE._replace(shipping_days=(1, 2, 3, 4, 5))
    assert rules.transfer_ready_by(berlin(2026, 12, 11, 10), WAREHOUSE, weekdays_store) == berlin(
        2026, 12, 14, 10
    ).astimezone(UTC)


def test_end_of_day_is_local() -> None:
    assert rules.end_of_day(date(2026, 12, 8), "Europe/Berlin") == datetime(2026, 12, 8, 22, 59, 59, 999999, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cutoff", "days", "by_country", "wrong"),
    [
        (time(14), [1, 2, 3], {}, False),
        (time(14), [], {}, True),
        (time(14), [0, 1], {}, True),
        (time(14), [8], {}, True),
        (time(14), [1, 1], {}, True),
        (time(14), [1], {"de": 2}, True),
        (time(14), [1], {"DEU": 2}, True),
        (time(14), [1], {"DE": 61}, True),
        (time(14, tzinfo=UTC), [1], {}, True),
    ],
)
def test_promise_terms_problem(cutoff: time, days: list[int], by_country: dict[str, int], wrong: bool) -> None:
    assert (rules.promise_terms_problem(cutoff, days, by_country) is not None) is wrong


terms = st.builds(
    rules.PromiseTerms,
    time_zone=st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC"]),
    order_cutoff=st.times(min_value=time(10), max_value=time(23, 59)),
    handling_hours=st.integers(0, 96),
    transit_days=st.integers(0, 10),
    shipping_days=st.sets(st.integers(1, 7), min_size=1).map(lambda s: tuple(sorted(s))),
)
moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC))


@given(terms, moments)
def test_promises_are_never_earlier_than_the_work_allows(t: rules.PromiseTerms, ordered: datetime) -> None:
    zone = ZoneInfo(t.time_zone)
    departs = rules.departs_on(ordered, t)
    delivered = rules.delivered_by(ordered, t)
    ready = rules.pickup_ready_by(ordered, t)
    assert ready >= ordered + timedelta(hours=t.handling_hours)
    assert departs.isoweekday() in t.shipping_days
    assert departs >= (ordered + timedelta(hours=t.handling_hours)).astimezone(zone).date()
    assert delivered >= departs + timedelta(days=t.transit_days)
    assert t.transit_days == 0 or delivered.isoweekday() in rules.CARRIER_DAYS
    # The pickup is ready on a working day of the store.
    assert ready.astimezone(zone).isoweekday() in t.shipping_days


@given(terms, moments, st.integers(1, 600))
def test_ordering_later_never_promises_earlier(t: rules.PromiseTerms, ordered: datetime, minutes: int) -> None:
    later = ordered + timedelta(minutes=minutes)
    assert rules.delivered_by(later, t) >= rules.delivered_by(ordered, t)
    assert rules.pickup_ready_by(later, t) >= rules.pickup_ready_by(ordered, t)
