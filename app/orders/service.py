"""Carts and orders use cases (the code lives in `app/orders/usecases/`; this is its face).

Public functions (other domains call only these; none commits):

Carts
- `create_cart(session, principal, data: CartCreate, token) -> CartOut` (a customer's open
  cart is reused: one cart in every channel), `get_cart`, `customer_cart(session, principal,
  customer_id, token)`, `add_line`, `set_line`, `add_code`, `remove_code`,
  `assign(session, principal, cart_id, customer_id, token)` (merges into the customer's open
  cart), `expire_carts(session, limit) -> int` (releases `cart:<id>` holds, `cart.expired`).
  The pricing ones take `facts: pricing.CustomerFacts` (tier, first order), which the
  controller gets from the quote flow (app/flows/quote.py) — `cart_customer(session,
  cart_id)` says whose facts to read.

- `open_cart(session, customer_id) -> CartOut | None`: read only (the contact-center view);
  `token_customer(session, principal, token) -> UUID`: whose X-Customer-Token it is.

Placement (the place-order flow, app/flows/place_order.py, runs these; see
`usecases/placement.py` for why they are separate steps)
- `prepare_order(session, principal, data: OrderCreate, token, facts) -> Draft`
- `authorize_cards(sessionmaker, draft, payment_key) -> Authorizations` (no transaction)
- `open_order(session, principal, draft, auths, *, order_id, points_references) -> NewOrder`
- `finish_order(session, principal, draft, new, *, line_locations, summary) -> OrderOut`
- `void_cards(sessionmaker, auths) -> None`

Quote and order alike (`usecases/destination.py`; the quote flow calls these for
`POST /v1/pricing/quote`, placement for `POST /v1/orders`)
- `resolve_destination(session, principal, choice, customer_id, *, for_order) -> Destination`:
  the `fulfillment` object checked the same way (pickup store, saved or inline address).
- `cart_basket(session, principal, cart_id, token, codes) -> Basket`: a saved cart's lines
  and codes for a caller allowed to read it; `price_basket(session, basket, *, channel,
  destination, zone, facts) -> pricing.Quote`: the one zone rule.

Orders
- `get_order(session, order_id) -> OrderOut` (no access check: for other domains),
  `has_orders(session, customer_id) -> bool` (pricing's first-order fact),
  `order_for(session, principal, order_id, token)`, `order_by_number(...)`, `list_orders(...)`,
  `timeline(...)`.
- `add_hold(session, principal, order_id, type, reason) -> HoldOut`,
  `lift_hold(session, principal, order_id, hold_id, note) -> OrderOut` (the last lift
  releases the order: `order.released`).
- Cancelling (the cancel flow, app/flows/cancel_order.py, runs these):
  `start_cancel(session, principal | None, order_id, reason, lines=None, token=None) ->
  Cancellation` locks the order's row and checks what may be cancelled (writes nothing);
  `cancel(session, cancellation, stock_released) -> Cancelled` writes it: releases the
  stock of the lines not in `stock_released` (fulfillment gave those up), card holds
  (settle job), promotion uses when nothing is left; returns the points tenders to give
  back and whether the order may be completed now.
- `lock_orders(session, order_ids)`: lock the order rows (by id) — the first lock of any
  writer of an order; flows take it before fulfillment orders' rows.
- Fulfillment progress (the flows in app/flows/fulfillment_progress.py, under the order's
  row lock): `record_fulfillment_progress(session, order_id, {line_no: qty}, event=...)`
  (units that left: the card capture, partially_fulfilled / fulfilled), `is_fulfilled`,
  `complete(session, order_id)`.
- `record_delivery(session, order_id, {line_no: units delivered so far})`: the carrier
  delivered; cash/card on delivery is captured for what was handed over.
- `customer_presents(session, order_id, order_number, *, card_number, phone) -> bool`: at a
  pickup counter, the order number and the card or phone shown are the order's customer's.
- `settle_payments(sessionmaker, order_id) -> int`: captures/releases at the gateway what the
  tenders record (run by the `orders.settle_payments` actor after commit).
- A customer's record: `move_to_survivor(session, survivor_id, absorbed_id)` (merge),
  `order_history(session, customer_id, limit) -> list[HistoryEntry]` (contact-center view).

Events: `order.placed`, `order.released`, `order.hold_added`, `order.hold_lifted`,
`order.cancelled`, `order.lines_shipped`, `order.lines_collected`, `order.lines_delivered`,
`order.completed`,
`cart.expired`.
"""

from __future__ import annotations

from app.orders.payments.settling import settle_payments
from app.orders.usecases.cancelling import Cancellation, Cancelled, cancel, start_cancel
from app.orders.usecases.card_authorization import Authorizations, authorize_cards, void_cards
from app.orders.usecases.carts import (
    add_code,
    add_line,
    assign,
    cart_customer,
    create_cart,
    customer_cart,
    expire_carts,
    get_cart,
    remove_code,
    set_line,
)
from app.orders.usecases.common import Draft
from app.orders.usecases.customer_reads import open_cart, token_customer
from app.orders.usecases.destination import Basket, Destination, cart_basket, price_basket, resolve_destination
from app.orders.usecases.lifecycle import (
    add_hold,
    customer_presents,
    get_order,
    has_orders,
    lift_hold,
    list_orders,
    lock_orders,
    move_to_survivor,
    order_by_number,
    order_for,
    order_history,
    timeline,
)
from app.orders.usecases.placement import NewOrder, finish_order, open_order, prepare_order
from app.orders.usecases.progress import complete, is_fulfilled, record_delivery, record_fulfillment_progress

__all__ = [
    "Authorizations",
    "Basket",
    "Cancellation",
    "Cancelled",
    "Destination",
    "Draft",
    "NewOrder",
    "add_code",
    "add_hold",
    "add_line",
    "assign",
    "authorize_cards",
    "cancel",
    "cart_basket",
    "cart_customer",
    "complete",
    "create_cart",
    "customer_cart",
    "customer_presents",
    "expire_carts",
    "finish_order",
    "get_cart",
    "get_order",
    "has_orders",
    "is_fulfilled",
    "lift_hold",
    "list_orders",
    "lock_orders",
    "move_to_survivor",
    "open_cart",
    "open_order",
    "order_by_number",
    "order_for",
    "order_history",
    "prepare_order",
    "price_basket",
    "record_delivery",
    "record_fulfillment_progress",
    "remove_code",
    "resolve_destination",
    "set_line",
    "settle_payments",
    "start_cancel",
    "timeline",
    "token_customer",
    "void_cards",
]
