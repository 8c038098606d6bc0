"""Loyalty use cases: one card per customer, points earned on delivery, spent as a tender.
The code lives in `app/loyalty/usecases/` (accounts, redeeming, earning, reversing, adjustments,
cards, merging, events, batches); this is its face.

Public functions (other domains call only these; none commits):
- `redeem(session, *, card_number, points, reference, channel) -> Redemption`: points as a
  tender, atomic with the caller's transaction (orders call it while placing an order;
  `reference` is the order id, one redemption per reference). Only available points;
  409 `insufficient_points` (nothing written), 409 `points_already_redeemed`.
- `restore(session, *, reference, points=None, channel=None) -> int`: a cancelled order (or
  a refund to the points tender) gives redeemed points back to the lots they came from, all
  or `points` of them; never more than was redeemed (a repeat restores 0).
- `redeem_for_order(session, card_number, amount_minor, currency, order_id, *, channel=None)
  -> str` and `restore_for_order(session, reference, amount_minor, *, channel=None)`: the
  same, in money (a partial restore gives back that part only): the place-order, cancel
  and refund flows (app/flows/) call them for `loyalty_points` tenders.
- `earn(session, *, source_id, event_type, card_number, channel, lines, currency,
  occurred_at, points_paid_minor=0, order_id=None) -> Earning`: `lines` are
  (order line id, net paid after discounts, without delivery) in minor units;
  `points_paid_minor` is the part of these lines paid with points (it earns nothing).
  Idempotent by (source_id, event_type): a repeat returns the first earning
  (`replayed=True`); the same key with other data is 409 `earning_conflict`.
- `reverse(session, *, source_id, event_type, lines, channel=None) -> ReversalResult`: a
  return takes back the points its lines earned, in proportion to `lines` =
  (order line id, refunded minor units); idempotent by (source_id, event_type) like earn.
  Called by the returns flow *before* it refunds: `shortfall_value` is to be deducted
  from the money refund (see "Spent points on return" below). A line whose sale has not
  earned yet (an offline till syncing late) waits and is reversed when the sale arrives.
- `reversal_so_far(session, *, source_id, event_type) -> ReversalResult | None`: what a
  reversal has taken back by now (lines that waited for their earning included), no write.
- `points_value(points) -> Money`, `points_to_cover(amount_minor) -> int`: the tender value.
- `card_view(session, card_number, *, principal=None, customer_token=None) -> CardOut`,
  `ledger(session, card_number, *, limit, cursor, principal=None, customer_token=None)
  -> Page[LedgerEntryOut]`, `adjust(session, *, card_number, points, reason, channel=None)
  -> AdjustmentOut`.
- `open_account(session, *, card_number, customer_id) -> None`: idempotent; accounts are
  also opened lazily on first use, so nothing waits for the `customer.created` event.
- `merge_cards(session, survivor_id, absorbed_id)` (the customer-merge flow) and
  `balance_for_customer(session, customer_id) -> LoyaltyBalance` (the contact-center view).
- Jobs: `earning_event(session, event_id) -> EarningEvent | None` and
  `earn_for_event(session, event, delivered=None)` (see "Earning events" below),
  `open_account_for_event(session, event_id)`,
  `release_pending(session, limit) -> int`, `expire_points(session, limit) -> int`;
  `audit(session) -> list[str]` lists cards whose balances disagree with ledger or lots.

Settings (`app.core.settings`, read when used):
- `OMS_LOYALTY_TIERS` = "basic:0:1,silver:50000:2,gold:150000:3": name, rolling 12-month
  paid spend from which the tier applies (minor units), points per whole currency unit.
- `OMS_LOYALTY_POINT_VALUE_MINOR` = 1: what one point pays, in minor units of the retailer's
  currency (`OMS_CURRENCY`).
- `OMS_LOYALTY_PENDING_DAYS` = 30: earned points stay pending for the return window.
- `OMS_LOYALTY_EXPIRY_MONTHS` = 24: points expire this many months after they were earned.

Spent points on return (the choice): a card's balance never goes negative. A return takes
back its lines' points from the earning itself, then from the card's other available
points (oldest expiry first); what is still missing was spent, and its value
(`shortfall_value`) is deducted from the refund in money. Points of an earning that had
expired are not taken from other points (the shopper never had the use of them).

Earning events (`fulfillment.delivered`, `fulfillment.collected`, consumed by the
`loyalty.earn_for_order` actor): the source document is the event's aggregate id (the
fulfillment order). Fulfillment's own payload names the order and the fulfillment order;
the earn-points flow (app/flows/earn_points.py) reads the order's lines, totals and points
tender and what that fulfillment order handed over (`DeliveredOrder`), and loyalty earns on
the units handed over, with
line ids `<order id>:<line no>` (what returns reverse with). A ship-to-store transfer
earns nothing, nor does a guest order. Any other producer may instead put the earning in
the payload: `currency`, `lines` [{line_id, net_paid_minor}], `channel`, `card_number` or
`customer_id`, and optionally `order_id` and `points_paid_minor`.
- `pending_releases(session, card_number, *, limit=50) -> list[PendingPointsOut]`: pending
  points with the date each lot becomes spendable (the contact-center view).
"""

from __future__ import annotations

from app.loyalty.usecases.accounts import open_account
from app.loyalty.usecases.adjustments import adjust
from app.loyalty.usecases.batches import audit, expire_points, release_pending
from app.loyalty.usecases.cards import balance_for_customer, card_view, ledger
from app.loyalty.usecases.common import (
    CARD_LEDGER_LIMIT,
    EARNING_EVENTS,
    MAX_ID_LENGTH,
    MAX_LINES,
    POINTS_LEDGER,
    TIER_WINDOW,
    UPCOMING_EXPIRIES,
    points_to_cover,
    points_value,
    tiers,
)
from app.loyalty.usecases.earning import earn
from app.loyalty.usecases.events import EarningEvent, earn_for_event, earning_event, open_account_for_event
from app.loyalty.usecases.merging import merge_cards
from app.loyalty.usecases.redeeming import redeem, redeem_for_order, restore, restore_for_order
from app.loyalty.usecases.reversing import reversal_so_far, reverse

__all__ = [
    "CARD_LEDGER_LIMIT",
    "EARNING_EVENTS",
    "MAX_ID_LENGTH",
    "MAX_LINES",
    "POINTS_LEDGER",
    "TIER_WINDOW",
    "UPCOMING_EXPIRIES",
    "EarningEvent",
    "adjust",
    "audit",
    "balance_for_customer",
    "card_view",
    "earn",
    "earn_for_event",
    "earning_event",
    "expire_points",
    "ledger",
    "merge_cards",
    "open_account",
    "open_account_for_event",
    "points_to_cover",
    "points_value",
    "redeem",
    "redeem_for_order",
    "release_pending",
    "restore",
    "restore_for_order",
    "reversal_so_far",
    "reverse",
    "tiers",
]


from app.loyalty.usecases.pending import pending_releases

__all__ += ["pending_releases"]
