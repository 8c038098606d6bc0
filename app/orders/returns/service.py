"""Returns and exchanges: in any channel, at any store, whatever channel the order came from.

The code lives in `app/orders/returns/usecases/`; this is its face.

Public functions (none commits). Returns need what fulfillment knows (which units reached
the customer) and give points back through loyalty: the flows that span those domains are in
`app/flows/return_and_refund.py` and `app/flows/exchange.py`; these are their steps.

Finding the purchase
- `find_order(session, principal, order_id, order_number, token, *, lock) -> Order`: the
  order row (locked for a writer: every return writer's first lock), with the caller's access.
- `order_view(session, order, delivered) -> OrderView`, `order_views(session, orders,
  delivered)`: lines, windows, delivered and returned units, what each unit was paid.
  `delivered`: {order id: {line no: Delivered(quantity, last_at)}} (from fulfillment).
- `returnable(view) -> ReturnableOut`; `customer_orders(session, principal, customer_id,
  token) -> (survivor id, orders)` and `customer_returnable_lines(survivor, views)`.

Returns (states: requested -> authorized -> received -> refunded; closed / rejected)
- `immediate_store(session, principal, data) -> str | None`, `request_return(session,
  principal, view, data) -> Return` (eligibility, the conditional take of units, the
  authorized return), `dispositions(data)`, `receive_goods(session, principal, order, ret,
  store, dispositions)`.
- `presented_not_delivered(view, lines) -> {line no: units}`: units a customer presents at a
  till that the order does not know as delivered yet (the return flow has fulfillment record
  them delivered first: the customer holding them is the proof).
- `get_return(session, principal, return_id, token=None) -> ReturnOut`, `return_out`.
- `receive(session, principal, return_id, data: ReceiveBody) -> ReturnOut`: at the location
  where the goods arrive (it must accept returns): `restock` -> a `return_restock` row there;
  `damaged` -> `return_restock` + `damage` rows (written off, never available).
- Refund steps: `load_for_refund(session, principal, return_id) -> (Order, Return)`,
  `refund_due(session, order, ret) -> RefundDue` (exactly what was paid for the units,
  rules.py), `points_to_reverse(order, refunded)`, `pay_back(session, order, ret, *, money,
  delivery, points_reversed, shortfall) -> [(points reference, amount)]` (money back to the
  original tenders; cards at the gateway after commit, `returns.settle_refunds`),
  `record_refunded(session, principal, ret, due)`.
- `close(session, principal, return_id, action, reason) -> ReturnOut`: `close` or `reject`
  before any goods came back; the units may be returned again.
- Exchange steps: `till(session, principal, location_code) -> str`, `exchange(session,
  principal, data, view, store) -> Exchange`, `record_exchange(session, principal, ex)`.
- `list_returns(session, principal, *, customer_id, order_id, cursor, limit, token=None)
  -> Page[ReturnOut]`: newest first, of one order or of every order of one customer;
  `returns_of_orders(session, order_ids) -> {order_id: [ReturnOut]}` (no access check).
- `set_policy(session, category_code, days) -> PolicyOut`, `list_policies(...)`: return
  windows per category (longest-prefix match on the product's category path; default 30).
- Jobs: `settle_refunds(sessionmaker, return_id) -> int` (gateway calls, no transaction
  open during them), `pending_refund_returns(session, limit) -> list[UUID]`.

Events (aggregate `return`): `return.requested`, `return.authorized`, `return.received`,
`return.refunded`, `return.closed`, `return.rejected`, `return.exchanged`; every step is
also on the order's timeline (`return_<step>`), where the contact center reads it.

Loyalty: the reversal uses `return:<return id>` / `return.refunded` and the order line ids
`<order id>:<line no>` — the ids the delivered/collected earning must use for its lines.
Delivered quantities and times come from fulfillment's `delivered_lines` (delivery FOs
whose parcels all arrived, pickup FOs collected), one call for all the orders a look-up
scans; the flows hand them in.
"""

from __future__ import annotations

from app.orders.returns.usecases.common import (
    Delivered,
    DeliveredLines,
    OrderView,
    find_order,
    order_view,
    order_views,
    return_out,
)
from app.orders.returns.usecases.exchanges import Exchange, exchange, record_exchange, till
from app.orders.returns.usecases.finding import customer_orders, customer_returnable_lines, returnable
from app.orders.returns.usecases.lifecycle import (
    close,
    dispositions,
    get_return,
    immediate_store,
    presented_not_delivered,
    receive,
    receive_goods,
    request_return,
)
from app.orders.returns.usecases.listing import list_returns, returns_of_orders
from app.orders.returns.usecases.policies import list_policies, set_policy
from app.orders.returns.usecases.refunds import (
    RefundDue,
    load_for_refund,
    pay_back,
    points_to_reverse,
    record_refunded,
    refund_due,
)
from app.orders.returns.usecases.settling import pending_refund_returns, settle_refunds

__all__ = [
    "Delivered",
    "DeliveredLines",
    "Exchange",
    "OrderView",
    "RefundDue",
    "close",
    "customer_orders",
    "customer_returnable_lines",
    "dispositions",
    "exchange",
    "find_order",
    "get_return",
    "immediate_store",
    "list_policies",
    "list_returns",
    "load_for_refund",
    "order_view",
    "order_views",
    "pay_back",
    "pending_refund_returns",
    "points_to_reverse",
    "presented_not_delivered",
    "receive",
    "receive_goods",
    "record_exchange",
    "record_refunded",
    "refund_due",
    "request_return",
    "return_out",
    "returnable",
    "returns_of_orders",
    "set_policy",
    "settle_refunds",
    "till",
]
