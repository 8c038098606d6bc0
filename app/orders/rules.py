"""Pure rules of carts and orders: the order state machine, tenders, order numbers,
cancellation arithmetic, the interim sourcing choice. No I/O."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    PLACED = "placed"
    ON_HOLD = "on_hold"
    RELEASED = "released_to_fulfillment"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    FULFILLED = "fulfilled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Action(StrEnum):
    HOLD = "hold"
    RELEASE = "release"  # every hold lifted (or none were placed)
    FULFIL_PART = "fulfil_part"
    FULFIL_ALL = "fulfil_all"
    COMPLETE = "complete"
    CANCEL = "cancel"


# (from, action) -> to. Anything not listed is a 409 `invalid_transition`.
TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.PLACED, Action.HOLD): Status.ON_HOLD,
    (Status.PLACED, Action.RELEASE): Status.RELEASED,
    (Status.PLACED, Action.CANCEL): Status.CANCELLED,
    (Status.ON_HOLD, Action.HOLD): Status.ON_HOLD,
    (Status.ON_HOLD, Action.RELEASE): Status.RELEASED,
    (Status.ON_HOLD, Action.CANCEL): Status.CANCELLED,
    # A hold placed after release stops the order before anything is picked.
    (Status.RELEASED, Action.HOLD): Status.ON_HOLD,
    (Status.RELEASED, Action.FULFIL_PART): Status.PARTIALLY_FULFILLED,
    (Status.RELEASED, Action.FULFIL_ALL): Status.FULFILLED,
    (Status.RELEASED, Action.CANCEL): Status.CANCELLED,
    (Status.PARTIALLY_FULFILLED, Action.FULFIL_PART): Status.PARTIALLY_FULFILLED,
    (Status.PARTIALLY_FULFILLED, Action.FULFIL_ALL): Status.FULFILLED,
    (Status.FULFILLED, Action.COMPLETE): Status.COMPLETED,
}


class TransitionRefused(Exception):
    def __init__(self, status: Status, action: Action) -> None:
        super().__init__(f"an order that is {status} cannot {action}")
        self.status = status
        self.action = action


def next_status(status: Status, action: Action) -> Status:
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise TransitionRefused(status, action) from None


def allowed_actions(status: Status) -> list[Action]:
    return [action for (source, action) in TRANSITIONS if source == status]


class HoldType(StrEnum):
    PAYMENT_REVIEW = "payment_review"
    FRAUD_REVIEW = "fraud_review"
    ADDRESS_CHECK = "address_check"
    MANUAL = "manual"


class Fulfillment(StrEnum):
    DELIVERY = "delivery"
    PICKUP = "pickup"


class TenderKind(StrEnum):
    CARD = "card"
    CASH = "cash"  # taken at the POS till
    CASH_ON_DELIVERY = "cash_on_delivery"
    CARD_ON_DELIVERY = "card_on_delivery"
    LOYALTY_POINTS = "loyalty_points"


ON_DELIVERY = frozenset({TenderKind.CASH_ON_DELIVERY, TenderKind.CARD_ON_DELIVERY})
# Which tender gives way first when part of an order is cancelled: money not yet taken
# before money held on a card, points before cash already in the till.
RELEASE_ORDER = (
    TenderKind.CASH_ON_DELIVERY,
    TenderKind.CARD_ON_DELIVERY,
    TenderKind.CARD,
    TenderKind.LOYALTY_POINTS,
    TenderKind.CASH,
)


@dataclass(frozen=True)
class TenderRequest:
    kind: TenderKind
    amount: int


def tender_problems(tenders: Sequence[TenderRequest], total: int, channel: str, fulfillment: Fulfillment) -> list[str]:
    """Why these tenders cannot pay this order (empty when they can)."""
    problems: list[str] = []
    for index, tender in enumerate(tenders):
        if tender.amount <= 0:
            problems.append(f"tenders[{index}]: amount must be positive")
        if tender.kind == TenderKind.CASH and channel != "pos":
            problems.append(f"tenders[{index}]: cash is taken at a POS till only")
        if tender.kind in ON_DELIVERY and fulfillment != Fulfillment.DELIVERY:
            problems.append(f"tenders[{index}]: {tender.kind} needs home delivery")
    paid = sum(t.amount for t in tenders)
    if paid != total:
        problems.append(f"tenders sum to {paid}, the order total is {total}")
    return problems


# Order numbers: 8 characters from 32 symbols without the look-alikes 0/O and 1/I, so a
# number read over the phone or off a receipt cannot be mistyped into another. 32^8 ≈ 10^12
# values: random numbers rarely collide; a collision is retried on the unique index.
NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
NUMBER_LENGTH = 8


def new_order_number() -> str:
    return "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH))


def normalize_order_number(text: str) -> str:
    """What a clerk types: lower case, spaces or dashes between groups."""
    return text.strip().upper().replace("-", "").replace(" ", "")


def is_order_number(text: str) -> bool:
    return len(text) == NUMBER_LENGTH and all(ch in NUMBER_ALPHABET for ch in text)


def value_of_units(line_total: int, quantity: int, units: int) -> int:
    """What `units` of a line cost, so that all units together cost exactly `line_total`.

    Cumulative floor: cancelling units one at a time or all at once gives the same sum.
    """
    return line_total * units // quantity


def cancelled_value(line_total: int, quantity: int, already_cancelled: int, cancelling: int) -> int:
    before = value_of_units(line_total, quantity, already_cancelled)
    after = value_of_units(line_total, quantity, already_cancelled + cancelling)
    return after - before


@dataclass(frozen=True)
class TenderBalance:
    id: object
    kind: TenderKind
    open_amount: int  # what this tender still stands for (amount - released - refunded)


def allocate_release(tenders: Sequence[TenderBalance], amount: int) -> list[tuple[object, int]]:
    """Split the value of cancelled goods over the tenders, in RELEASE_ORDER."""
    rank = {kind: i for i, kind in enumerate(RELEASE_ORDER)}
    result: list[tuple[object, int]] = []
    remaining = amount
    for tender in sorted(tenders, key=lambda t: rank[t.kind]):
        if remaining <= 0:
            break
        take = min(tender.open_amount, remaining)
        if take > 0:
            result.append((tender.id, take))
            remaining -= take
    return result


def due_on_delivery(
    delivered_value: int, covered_elsewhere: int, on_delivery_total: int, everything_delivered: bool
) -> int:
    """What cash/card on delivery owes so far, in total (captured before included): the value
    of the goods handed over beyond what the other tenders (card, points, cash) stand for;
    all of it (`amount - released`) once the last parcel is delivered, so no rounding is
    left behind."""
    if everything_delivered:
        return on_delivery_total
    return min(on_delivery_total, max(0, delivered_value - covered_elsewhere))


def fulfillment_action(ordered: Iterable[tuple[int, int, int]]) -> Action | None:
    """From each line's (quantity, cancelled, fulfilled): all done, some done, or nothing yet."""
    lines = [(q - c, f) for q, c, f in ordered]
    if all(f >= due for due, f in lines):
        return Action.FULFIL_ALL
    if any(f > 0 for _, f in lines):
        return Action.FULFIL_PART
    return None


def merge_cart_lines(survivor: Mapping[str, int], absorbed: Mapping[str, int], max_quantity: int) -> dict[str, int]:
    """A signed-in shopper's cart gains the lines of the anonymous one; same SKU adds up."""
    merged = dict(survivor)
    for sku, quantity in absorbed.items():
        merged[sku] = min(merged.get(sku, 0) + quantity, max_quantity)
    return merged
