"""Carts and orders use cases (the code lives in `app/orders/usecases/`; this is its face).

Public functions (other domains call only these; none commits):

Carts
- `create_cart(session, principal, data: CartCreate, token) -> CartOut` (a customer's open
  cart is reused: one cart in every channel), `get_cart`, `customer_cart(session, principal,
  customer_id, token)`, `add_line`, `set_line`, `add_code`, `remove_code`,
  `assign(session, principal, cart_id, customer_id, token)` (merges into the customer's open
  cart), `expire_carts(session, limit) -> int` (releases `cart:<id>` holds, `cart.expired`).

- `open_cart(session, customer_id) -> CartOut | None`: read only (the contact-center view);
  `token_customer(session, principal, token) -> UUID`: whose X-Customer-Token it is.

Placement (see `usecases/placement.py` for why it is three steps)
- `prepare_order(session, principal, data: OrderCreate, token) -> Draft`
- `authorize_cards(sessionmaker, draft, payment_key) -> Authorizations` (no transaction)
- `write_order(session, principal, draft, auths, *, reserve_last) -> OrderOut`
- `in_order_transaction(maker, write)`: runs `write(session, reserve_last)` in the order's
  transaction, again when the stock planned with the reserve last moved before the commit
- `void_cards(sessionmaker, auths) -> None`
- `register_points_tender(redeem, restore)`: the loyalty domain makes points payable;
  `redeem(session, card, amount, currency, order_id, *, channel)` gets the order's channel,
  `restore(session, reference, amount, *, channel)` the channel giving the points back.

Orders
- `get_order(session, order_id) -> OrderOut` (no access check: for other domains),
  `has_orders(session, customer_id) -> bool` (pricing's first-order fact),
  `order_for(session, principal, order_id, token)`, `order_by_number(...)`, `list_orders(...)`,
  `timeline(...)`.
- `add_hold(session, principal, order_id, type, reason) -> HoldOut`,
  `lift_hold(session, principal, order_id, hold_id, note) -> OrderOut` (the last lift
  releases the order: `order.released`).
- `cancel(session, principal | None, order_id, reason, lines=None) -> OrderOut`: whole order
  or line quantities not yet fulfilled; the `on_cancel` hooks (fulfilment) give the units up
  where they are held (else orders releases `order:<id>` itself); releases card holds
  (settle job), restores points, gives promotion uses back when nothing is left.
- `lock_orders(session, order_ids)`: lock the order rows (by id) — the first lock of any
  writer of an order; fulfilment takes it before its fulfillment orders' rows.
- `register_handover_check(check)`: `async check(session, order_id) -> bool` (fulfilment:
  nothing of the order is on its way any more); an order a cancellation leaves `fulfilled`
  is `completed` at once when it says so (see `usecases/hooks.py`).
- `on_cancel(callback) -> unregister`: `async callback(session, order_id, {line_no: units})
  -> Collection[int]` (the lines whose stock it released), inside the cancel transaction
  (see `usecases/hooks.py`).
- Fulfilment hooks: `record_fulfilment_progress(session, order_id, {line_no: qty}, event=...)`,
  `mark_lines_shipped(session, order_id, {line_no: qty})`, `mark_lines_collected(...)`
  (consume the reservation, record the card capture, move to partially_fulfilled /
  fulfilled), `complete(session, order_id)`.
- `record_delivery(session, order_id, {line_no: units delivered so far})`: the carrier
  delivered; cash/card on delivery is captured for what was handed over.
- `customer_presents(session, order_id, order_number, *, card_number, phone) -> bool`: at a
  pickup counter, the order number and the card or phone shown are the order's customer's.
- `settle_payments(sessionmaker, order_id) -> int`: captures/releases at the gateway what the
  tenders record (run by the `orders.settle_payments` actor after commit).
- Customers' registries: `on_customer_merge(session, survivor_id, absorbed_id)`,
  `order_history(session, customer_id, limit) -> list[HistoryEntry]`.

Events: `order.placed`, `order.released`, `order.hold_added`, `order.hold_lifted`,
`order.cancelled`, `order.lines_shipped`, `order.lines_collected`, `order.lines_delivered`,
`order.completed`,
`cart.expired`.
"""

from __future__ import annotations

from app.orders.usecases.carts import (
    add_code,
    add_line,
    assign,
    create_cart,
    customer_cart,
    expire_carts,
    get_cart,
    remove_code,
    set_line,
)
from app.orders.usecases.customer_reads import open_cart, token_customer
from app.orders.usecases.hooks import on_cancel, register_handover_check, register_points_tender
from app.orders.usecases.lifecycle import (
    add_hold,
    cancel,
    complete,
    customer_presents,
    get_order,
    has_orders,
    lift_hold,
    list_orders,
    lock_orders,
    mark_lines_collected,
    mark_lines_shipped,
    on_customer_merge,
    order_by_number,
    order_for,
    order_history,
    record_delivery,
    record_fulfilment_progress,
    settle_payments,
    timeline,
)
from app.orders.usecases.placement import (
    Authorizations,
    Draft,
    authorize_cards,
    in_order_transaction,
    prepare_order,
    void_cards,
    write_order,
)

__all__ = [
    "Authorizations",
    "Draft",
    "add_code",
    "add_hold",
    "add_line",
    "assign",
    "authorize_cards",
    "cancel",
    "complete",
    "create_cart",
    "customer_cart",
    "customer_presents",
    "expire_carts",
    "get_cart",
    "get_order",
    "has_orders",
    "in_order_transaction",
    "lift_hold",
    "list_orders",
    "lock_orders",
    "mark_lines_collected",
    "mark_lines_shipped",
    "on_cancel",
    "on_customer_merge",
    "open_cart",
    "order_by_number",
    "order_for",
    "order_history",
    "prepare_order",
    "record_delivery",
    "record_fulfilment_progress",
    "register_handover_check",
    "register_points_tender",
    "remove_code",
    "set_line",
    "settle_payments",
    "timeline",
    "token_customer",
    "void_cards",
    "write_order",
]
