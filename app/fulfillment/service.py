"""Fulfillment use cases (the code lives in `app/fulfillment/usecases/`; this is its face).

Public functions (other domains call only these; none commits):

Sourcing
- `plan_and_reserve(session, order: OrderToSource, *, actor, reserve=True) -> Sourced`: the
  place-order flow calls this in the order's transaction. It plans with the rules in force, reserves under
  `order.reservation_ref` (re-planning when a concurrent order took the stock, bounded),
  writes the fulfillment orders and the explained decision. `Sourced.line_locations` says
  where each order line's units are. Raises NotSourceable (409 `insufficient_stock`, extra
  `lines=[{sku, requested, available}]`, `available_at={sku: {location: units}}`), PickupNotOffered,
  UnknownLocation (422). With `reserve=False` nothing is reserved yet: the flow calls
  `reserve_planned(session, sourced, actor)` as its transaction's last step, which raises
  `StockMoved` if the planned stock went meanwhile (the flow then runs it again).
- `delivered_lines(session, order_ids) -> {order_id: [HandedOver(line_id, quantity, at)]}`:
  what reached the customer of each order (delivered `delivery`, collected `pickup`
  fulfillment orders), for many orders in one statement (returns' customer look-up).
- `order_fulfillment(session, order_id) -> OrderFulfillmentOut`: fulfillment orders,
  decisions with every candidate's reason, and the fulfillment timeline (contact center).
- `current_version`, `get_version`, `list_versions`, `save_rules`, `simulate` (rule versions).
- `quote_promise(session, *, now, fulfillment, lines, pickup_location=None, country=None, latitude=None,
  longitude=None) -> PlanPromise`: the delivery promise of the plan an order would get now, per
  group (reads only). Placement stamps each fulfillment order's `promised_at` the same way.

Fulfillment orders (`principal` may be a location-bound key: it acts on its location only)
- `get_fulfillment_order`, `list_fulfillment_orders`, `accept`, `pack`, `ready` (touch no order)
- Steps that change their order's lines take `news: OrderNews` and put into it what the
  order must record (shipped, collected, cancelled, delivered so far); the caller — a flow in
  `app/flows/fulfillment_progress.py` — has locked the order's row first (`order_of`,
  `order_of_parcel`, `orders_of_pick_list` name it) and tells orders afterwards:
  `reject(session, principal | None, fo_id, reason, note, *, news)`, `ship(..., *, news)`,
  `collect(session, principal, fo_id, body: CollectBody, *, customer_presents, news)`
  (the pickup code, or the order number with the customer's loyalty card or phone; raises
  CodeRefused after counting a wrong answer), `carrier_event(session, body, *, news)`,
  `presented_at_store(session, principal, order_id, {line no: units}, store, *, news)` (a
  customer presents units of a shipped parcel at a till: its fulfillment orders are
  delivered; units never shipped: 422 `not_shipped`),
  `rejection_note(rejected) -> dict` (what the order's timeline says of a rejection: who,
  why, what, where it went), `reject_if_overdue(session, fo_id, *, news)` / `overdue_store_responses(session, limit)`,
  `expire_pickup(session, fo_id, *, news)` / `expired_pickups(session, limit)` (jobs)
- `cancel_order_lines(session, order_id, {line_no: units}) -> set[int]`: the cancel flow's
  step (after the order's row lock): the open (not yet picked) fulfillment orders give the
  units up (reduced: `fulfillment.reduced`; or `fulfillment.cancelled`) and the reservations
  holding them are released; returns the lines whose stock fulfillment holds. Units already
  picked, packed or shipped: 409 `invalid_transition` (nothing written).
- `order_handed_over(session, order_id) -> bool`: every fulfillment order of the order is
  finished (delivered, collected or given up).

Pick lists
- `next_pick_list(session, principal, location_code)`, `get_pick_list`,
  `confirm(session, principal, pick_list_id, found, *, news)`,
  `print_view(pick_list) -> str` (HTML), `put_bins(session, principal, location_code, body)`
- `parcel_bound_for(session, principal, scan) -> CarrierEventBody`: the ship-to-store parcel a
  store scanned in, as the carrier's "delivered" for it (the flow then runs `carrier_event`);
  `parcels_arriving(session, principal, store, limit=100) -> list[FulfillmentOrderOut]`: the
  ship-to-store parcels in transit to a store (its back door's list)

Events: `fulfillment.created`, `fulfillment.<status>` on every transition,
`fulfillment.pickup_ready` (carries the pickup code for the customer notification),
`fulfillment.pickup_locked`, `fulfillment.order_lines_<shipped|collected|cancelled>`,
`fulfillment.reduced` (a customer cancelled some of its units),
`sourcing.rules_changed`.
"""

from __future__ import annotations

import uuid
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from app.fulfillment import repository as _repository
from app.fulfillment.errors import StockMoved
from app.fulfillment.rules import TERMINAL as _TERMINAL
from app.fulfillment.usecases.cancelling import cancel_order_lines
from app.fulfillment.usecases.common import LinesNews, OrderNews, order_of
from app.fulfillment.usecases.lifecycle import (
    HandedOver,
    accept,
    carrier_event,
    delivered_lines,
    get_fulfillment_order,
    list_fulfillment_orders,
    order_fulfillment,
    order_handed_over,
    order_of_parcel,
    overdue_store_responses,
    pack,
    reject,
    reject_if_overdue,
    rejection_note,
    ship,
)
from app.fulfillment.usecases.pick_sheet import print_view
from app.fulfillment.usecases.picking import (
    confirm,
    get_pick_list,
    next_pick_list,
    orders_of_pick_list,
    put_bins,
)
from app.fulfillment.usecases.pickups import CodeRefused, collect, expire_pickup, expired_pickups, ready
from app.fulfillment.usecases.promise import GroupPromise, PlanPromise
from app.fulfillment.usecases.promise_preview import quote_promise
from app.fulfillment.usecases.proof_of_delivery import presented_at_store
from app.fulfillment.usecases.receiving import parcel_bound_for, parcels_arriving
from app.fulfillment.usecases.rule_versions import current_version, get_version, list_versions, save_rules, simulate
from app.fulfillment.usecases.sourcing import OrderToSource, Sourced, plan_and_reserve, reserve_planned

__all__ = [
    "CodeRefused",
    "GroupPromise",
    "HandedOver",
    "LinesNews",
    "OrderNews",
    "OrderToSource",
    "PlanPromise",
    "Sourced",
    "StockMoved",
    "accept",
    "cancel_order_lines",
    "carrier_event",
    "collect",
    "confirm",
    "current_version",
    "delivered_lines",
    "expire_pickup",
    "expired_pickups",
    "get_fulfillment_order",
    "get_pick_list",
    "get_version",
    "list_fulfillment_orders",
    "list_versions",
    "next_pick_list",
    "order_fulfillment",
    "order_handed_over",
    "order_of",
    "order_of_parcel",
    "orders_of_pick_list",
    "overdue_store_responses",
    "pack",
    "parcel_bound_for",
    "parcels_arriving",
    "plan_and_reserve",
    "presented_at_store",
    "print_view",
    "put_bins",
    "quote_promise",
    "ready",
    "reject",
    "reject_if_overdue",
    "rejection_note",
    "reserve_planned",
    "save_rules",
    "ship",
    "simulate",
]


# - `units_held(session, *, limit) -> list[HeldUnits]`: what unfinished fulfillment orders
#   count as held by inventory reservations, per (fulfillment order, sku, reservation):
#   `oms check` compares it with what those reservations still hold.


class HeldUnits(NamedTuple):
    order_id: uuid.UUID
    order_number: str
    fulfillment_order: str
    sku: str
    location: str
    reference: str
    quantity: int


async def units_held(session: AsyncSession, *, limit: int = 100_000) -> list[HeldUnits]:
    rows = await _repository.units_held(session, sorted(_TERMINAL), limit)
    return [HeldUnits(*tuple(row)) for row in rows]


__all__ += ["HeldUnits", "units_held"]


# - `shipments_of(session, order_ids) -> {order_id: [ShipmentOut]}`: each order's fulfillment
#   orders as the shopper and the contact center see them (parcels with tracking links,
#   promised, shipped, delivered, ready, collected dates); reads only.
from app.fulfillment.usecases.shipments import shipments_of  # noqa: E402

__all__ += ["shipments_of"]
