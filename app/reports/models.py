"""The reports' own summary tables, fed by events (`reports.refresh_order`), so the channel
dashboard of a year answers from a few thousand rows instead of a million orders.

- `report_daily`: one row per (UTC day, channel of sale, location) with every counter the
  dashboard adds up (COUNTERS). A counter is the sum of the orders' contributions.
- `report_monthly`: the same counters per (month, channel of sale, location), for long periods.
- `report_points_daily`, `report_points_mark`: loyalty points per day, folded from the ledger.
- `report_endless_aisle_skus`: per (day, kiosk store, SKU) the kiosk lines the store lacked.
- `report_order_facts`: what each order contributes now (JSON), so a refresh subtracts the
  old contribution and adds the new one: refreshing an order twice changes nothing
  (the consumer is idempotent; events are delivered at least once).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Column, Date, DateTime, Integer, String, Table, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.reports.rules import COUNTERS, MONEY_COUNTERS


class OrderFacts(Base):
    __tablename__ = "report_order_facts"

    order_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    # {"daily": [[day, channel, location, {counter: value}]], "skus": [[day, location, sku, lines, units]]}
    contributions: Mapped[dict[str, Any]] = mapped_column(JSONB)
    refreshed_at: Mapped[datetime]


report_daily = Table(
    "report_daily",
    Base.metadata,
    Column("day", Date, primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("location", String(40), primary_key=True),
    *(
        Column(name, BigInteger if name in MONEY_COUNTERS else Integer, nullable=False, server_default=text("0"))
        for name in COUNTERS
    ),
)


# The same counters per (first day of the month, channel, location): a long period sums its
# whole months here and only its partial months' days in `report_daily`.
report_monthly = Table(
    "report_monthly",
    Base.metadata,
    Column("month", Date, primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("location", String(40), primary_key=True),
    *(
        Column(name, BigInteger if name in MONEY_COUNTERS else Integer, nullable=False, server_default=text("0"))
        for name in COUNTERS
    ),
    postgresql_with={"fillfactor": 50},
)


class EndlessAisleSku(Base):
    __tablename__ = "report_endless_aisle_skus"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    location: Mapped[str] = mapped_column(String(40), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    lines: Mapped[int] = mapped_column(server_default=text("0"))
    units: Mapped[int] = mapped_column(server_default=text("0"))


# Loyalty points earned/redeemed per UTC day of `occurred_at`, folded from the ledger rows
# recorded before `report_points_mark.recorded_before` (an hour ago at the last fold: every
# transaction that recorded them has committed); the rows recorded since are read live.
report_points_daily = Table(
    "report_points_daily",
    Base.metadata,
    Column("day", Date, primary_key=True),
    Column("issued", BigInteger, nullable=False, server_default=text("0")),
    Column("redeemed", BigInteger, nullable=False, server_default=text("0")),
)
report_points_mark = Table(
    "report_points_mark",
    Base.metadata,
    Column("one", Boolean, primary_key=True, server_default=text("true")),
    Column("recorded_before", DateTime(timezone=True), nullable=False),
    CheckConstraint("one", name="one_row"),
)
