"""Returns and exchanges: in any channel, at any store, whatever channel the order came from.

The code lives in `app/orders/returns/usecases/`; this is its face.

Public functions (other domains call only these; none commits):

Finding the purchase
- `returnable(session, principal, order_id, token=None) -> ReturnableOut`: every line of the
  order with what was delivered, returned, may still come back, what the next unit (and all
  of them) would refund, the window, and the reason code when it cannot come back.
- `customer_returnable_lines(session, principal, customer_id, token=None) -> CustomerReturnableOut`:
  the returnable lines of the customer's recent orders (a card or phone look-up at a till:
  find the customer through customers' `find_customers`, then this).

Returns (states: requested -> authorized -> received -> refunded; closed / rejected)
- `create_return(session, principal, data: ReturnCreate, token=None) -> ReturnOut`:
  `authorization` (the customer posts it back) or `immediate` (at a store's till: received
  with each line's disposition and refunded in the same transaction).
- `get_return(session, principal, return_id, token=None) -> ReturnOut`
- `receive(session, principal, return_id, data: ReceiveBody) -> ReturnOut`: at the location
  where the goods arrive (it must accept returns): `restock` -> a `return_restock` row there;
  `damaged` -> `return_restock` + `damage` rows (written off, never available).
- `refund(session, principal, return_id) -> ReturnOut`: exactly what was paid for the
  units (rules.py), loyalty points of the lines reversed first (a spent-points shortfall is
  deducted), then the money back to the original tenders; cards at the gateway after
  commit (`returns.settle_refunds`).
- `close(session, principal, return_id, action, reason) -> ReturnOut`: `close` or `reject`
  before any goods came back; the units may be returned again.
- `create_exchange(session, principal, data: ExchangeCreate) -> ReturnOut`
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
Delivered quantities and times come from fulfilment's `delivered_lines` (delivery FOs
whose parcels all arrived, pickup FOs collected), one call for all the orders a look-up scans.
"""

from __future__ import annotations

from app.orders.returns.usecases.exchanges import create_exchange
from app.orders.returns.usecases.finding import customer_returnable_lines, returnable
from app.orders.returns.usecases.lifecycle import close, create_return, get_return, receive
from app.orders.returns.usecases.listing import list_returns, returns_of_orders
from app.orders.returns.usecases.policies import list_policies, set_policy
from app.orders.returns.usecases.refunds import pending_refund_returns, refund, settle_refunds

__all__ = [
    "close",
    "create_exchange",
    "create_return",
    "customer_returnable_lines",
    "get_return",
    "list_policies",
    "list_returns",
    "pending_refund_returns",
    "receive",
    "refund",
    "returnable",
    "returns_of_orders",
    "set_policy",
    "settle_refunds",
]
