"""Pure rules of returns: eligibility, the return window, what a returned unit refunds,
how a refund is spread over the original tenders, and the return state machine. No I/O.

Refund arithmetic (the documented order):
- A line's units each carry a share of the line's net (what was paid after every discount
  allocated to it). Shares start at the unit price; each discount of the line's pricing
  snapshot is then taken off, in the order the price engine applied it: a buy-X-get-Y
  reward off the rewarded units only (the snapshot's amount tells how many units were
  rewarded), any other discount off all units in proportion to their current share.
  Every split is largest-remainder, so the shares always sum to the line net exactly.
- The shares are sorted cheapest first, and a line's returns consume them in that order:
  the first unit back is the cheapest one (the free unit of a 3-for-2 refunds nothing,
  just as a shopper who keeps two of three no longer earns the third for free).
- The return that brings back the last unit of a line refunds exactly what is left of
  what was paid for it, so a full return refunds the line net to the minor unit, also
  when some units were cancelled before they left (cancellations release
  `value_of_units`, a cumulative floor, see app/orders/rules.py).
- Delivery is refunded only when the refund brings back every unit of the order and the
  retailer's rule (`OMS_RETURNS_REFUND_DELIVERY`) says so.
- Tenders: loyalty points go back to the card FIRST, then money to the cards (through the
  provider), cards and cash on delivery, and cash at the till — each never above what it
  took (captured - refunded). So across all returns of an order the refunds never exceed
  what was paid.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.core.money import allocate, round_half_up

DEFAULT_WINDOW_DAYS = 30
BP = 10_000


class Reason(StrEnum):
    """Why a line cannot be returned (stable codes, shown per line and as problem codes)."""

    RETURN_WINDOW_CLOSED = "return_window_closed"
    NOT_RETURNABLE = "not_returnable"
    ALREADY_RETURNED = "already_returned"
    NOT_DELIVERED = "not_delivered"


# An admin may override these with a recorded reason; the quantity reasons protect
# "never refund more than was paid" and cannot be overridden.
OVERRIDABLE = frozenset({Reason.RETURN_WINDOW_CLOSED, Reason.NOT_RETURNABLE})


class Status(StrEnum):
    REQUESTED = "requested"
    AUTHORIZED = "authorized"
    RECEIVED = "received"
    REFUNDED = "refunded"
    CLOSED = "closed"
    REJECTED = "rejected"


class Action(StrEnum):
    AUTHORIZE = "authorize"
    RECEIVE = "receive"
    REFUND = "refund"
    CLOSE = "close"  # the customer never sent it back / withdrew it
    REJECT = "reject"  # staff refuse the request before any goods came back


TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.REQUESTED, Action.AUTHORIZE): Status.AUTHORIZED,
    (Status.REQUESTED, Action.REJECT): Status.REJECTED,
    (Status.REQUESTED, Action.CLOSE): Status.CLOSED,
    (Status.AUTHORIZED, Action.RECEIVE): Status.RECEIVED,
    (Status.AUTHORIZED, Action.CLOSE): Status.CLOSED,
    (Status.AUTHORIZED, Action.REJECT): Status.REJECTED,
    (Status.RECEIVED, Action.REFUND): Status.REFUNDED,
}
# Statuses whose units no longer count as returned (they may be returned again).
RELEASING = frozenset({Status.CLOSED, Status.REJECTED})


class TransitionRefused(Exception):
    def __init__(self, status: Status, action: Action) -> None:
        super().__init__(f"a return that is {status} cannot {action}")
        self.status, self.action = status, action


def next_status(status: Status, action: Action) -> Status:
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise TransitionRefused(status, action) from None


def allowed_actions(status: Status) -> list[str]:
    return [action.value for (source, action) in TRANSITIONS if source == status]


class Disposition(StrEnum):
    RESTOCK = "restock"  # back into the receiving location's on_hand
    DAMAGED = "damaged"  # written off: never available


class Mode(StrEnum):
    AUTHORIZATION = "authorization"  # web / contact center: the customer posts it back
    IMMEDIATE = "immediate"  # at a store's till: received and refunded at once


# ---- the return window -------------------------------------------------------------------


def window_days(category_path: Sequence[str], policies: Mapping[str, int], default: int = DEFAULT_WINDOW_DAYS) -> int:
    """Longest-prefix match: the deepest category of the path that has a policy wins."""
    for code in reversed(category_path):
        if code in policies:
            return policies[code]
    return default


def window_closes_at(delivered_at: datetime, days: int) -> datetime:
    return delivered_at + timedelta(days=days)


# ---- eligibility --------------------------------------------------------------------------


@dataclass(frozen=True)
class LineFacts:
    """What decides whether units of an order line may come back."""

    line_no: int
    quantity: int  # ordered
    cancelled: int
    delivered: int  # delivered or collected so far
    returned: int  # in returns that are not closed or rejected
    delivered_at: datetime | None  # the last delivery/collection of the line's units
    returnable_product: bool
    window_days: int

    @property
    def open_quantity(self) -> int:
        """Units that may still come back: delivered minus already returned."""
        return max(self.delivered - self.returned, 0)


def line_reason(facts: LineFacts, now: datetime, quantity: int = 1) -> Reason | None:
    """Why `quantity` units of the line cannot be returned now, or None. Quantity reasons
    come first: an override never lets more units come back than were delivered."""
    if quantity > facts.open_quantity:
        return Reason.ALREADY_RETURNED if facts.returned > 0 else Reason.NOT_DELIVERED
    if not facts.returnable_product:
        return Reason.NOT_RETURNABLE
    if facts.delivered_at is not None and now >= window_closes_at(facts.delivered_at, facts.window_days):
        return Reason.RETURN_WINDOW_CLOSED
    return None


def presented_units(facts: LineFacts, quantity: int) -> int:
    """Of `quantity` units a customer presents at a till, how many the order does not know as
    delivered yet (at most what was bought, not cancelled and not delivered): the customer
    holding them is proof they were. Units beyond that are a matter of eligibility."""
    undelivered = facts.quantity - facts.cancelled - facts.delivered
    return max(min(quantity - facts.open_quantity, undelivered), 0)


def exceeds_purchase(facts: LineFacts, quantity: int) -> bool:
    """More units than were bought (and not cancelled): bad input, never an eligibility."""
    return quantity > facts.quantity - facts.cancelled


# ---- refund arithmetic --------------------------------------------------------------------


@dataclass(frozen=True)
class LineDiscount:
    amount: int
    # A buy-X-get-Y reward: the share of the reward (basis points) of each rewarded unit.
    reward_bp: int | None = None


def rewarded_units(amount: int, net_before: int, quantity: int, reward_bp: int) -> int | None:
    """How many units of the line a buy-X-get-Y reward of `amount` covered, solving the price
    engine's own formula (round_half_up(net * k * bp, quantity * BP)) for k; None if no k fits."""
    for k in range(1, quantity + 1):
        if round_half_up(net_before * k * reward_bp, quantity * BP) == amount:
            return k
    return None


def unit_values(unit_price: int, quantity: int, discounts: Sequence[LineDiscount]) -> list[int]:
    """What each unit of a line was paid, cheapest first; sums to the line net exactly."""
    values = [unit_price] * quantity
    for discount in discounts:
        targets = list(range(quantity))
        if discount.reward_bp is not None:
            k = rewarded_units(discount.amount, sum(values), quantity, discount.reward_bp)
            if k is not None:
                # The rewarded units are the cheapest ones so far (stable: lowest index first).
                targets = sorted(range(quantity), key=lambda i: (values[i], i))[:k]
        if discount.amount > sum(values[i] for i in targets):
            targets = list(range(quantity))  # never push a unit below zero
        cuts = allocate(discount.amount, [values[i] for i in targets], strict=False)
        for i, cut in zip(targets, cuts, strict=True):
            values[i] -= cut
    return sorted(values)


def value_of_units(line_total: int, quantity: int, units: int) -> int:
    """The cancellation arithmetic of app/orders/rules.py (cumulative floor)."""
    return line_total * units // quantity


@dataclass(frozen=True)
class LineRefundState:
    line_total: int  # the line net (after every discount)
    quantity: int
    cancelled: int
    refunded_units: int  # units already refunded by earlier returns
    refunded_amount: int


def line_refund(values: Sequence[int], state: LineRefundState, units: int) -> int:
    """What bringing back `units` more units of the line refunds (see the module docstring)."""
    paid_for_kept = state.line_total - value_of_units(state.line_total, state.quantity, state.cancelled)
    left = paid_for_kept - state.refunded_amount
    if state.refunded_units + units >= state.quantity - state.cancelled:
        return max(left, 0)
    start = state.refunded_units
    return max(min(sum(values[start : start + units]), left), 0)


# Points first, then the money tenders; within a kind, the earlier tender first.
REFUND_ORDER = ("loyalty_points", "card", "card_on_delivery", "cash_on_delivery", "cash")


@dataclass(frozen=True)
class TenderBalance:
    id: object
    kind: str
    position: int
    refundable: int  # captured - refunded


def allocate_refund(tenders: Iterable[TenderBalance], amount: int) -> list[tuple[object, int]]:
    """Spread a refund over the original tenders in REFUND_ORDER, none above what it took.
    What no tender can take is not refunded (the caller records it as unallocated)."""
    rank = {kind: i for i, kind in enumerate(REFUND_ORDER)}
    result: list[tuple[object, int]] = []
    remaining = amount
    for tender in sorted(tenders, key=lambda t: (rank.get(t.kind, len(rank)), t.position)):
        if remaining <= 0:
            break
        take = min(tender.refundable, remaining)
        if take > 0:
            result.append((tender.id, take))
            remaining -= take
    return result


def everything_back(lines: Iterable[tuple[int, int, int]]) -> bool:
    """(quantity, cancelled, refunded units) per line: every unit that was bought is back."""
    return all(refunded >= quantity - cancelled for quantity, cancelled, refunded in lines)


# ---- exchanges ----------------------------------------------------------------------------


def exchange_difference(credit: int, new_price: int) -> int:
    """Positive: the customer pays it; negative: it is refunded; zero: an even exchange."""
    return new_price - credit


# ---- numbers ------------------------------------------------------------------------------

NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_return_number() -> str:
    """`R` + 8 symbols without look-alikes: read over the phone or off a return label."""
    return "R" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))
