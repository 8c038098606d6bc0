"""Loyalty use cases: one card per customer, points earned on delivery, spent as a tender.

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
- `points_value(points) -> Money`, `points_to_cover(amount_minor) -> int`: the tender value.
- `card_view(session, card_number, *, principal=None, customer_token=None) -> CardOut`,
  `ledger(session, card_number, *, limit, cursor, principal=None, customer_token=None)
  -> Page[LedgerEntryOut]`, `adjust(session, *, card_number, points, reason, channel=None)
  -> AdjustmentOut`.
- `pending_releases(session, card_number, *, limit=50) -> list[PendingPointsOut]`: pending
  points with the date each lot becomes spendable (the contact-center view).
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
fulfillment order). Fulfilment's own payload names the order and the fulfillment order;
the earn-points flow (app/flows/earn_points.py) reads the order's lines, totals and points
tender and what that fulfillment order handed over (`DeliveredOrder`), and loyalty earns on
the units handed over, with
line ids `<order id>:<line no>` (what returns reverse with). A ship-to-store transfer
earns nothing, nor does a guest order. Any other producer may instead put the earning in
the payload: `currency`, `lines` [{line_id, net_paid_minor}], `channel`, `card_number` or
`customer_id`, and optionally `order_id` and `points_paid_minor`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import Principal
from app.core.money import Money, is_supported, minor_per_unit
from app.core.pagination import Keyset, Page
from app.core.settings import get_settings
from app.customers import service as customers_service
from app.customers.schemas import CustomerOut
from app.customers.service import LoyaltyBalance
from app.loyalty import repository, rules
from app.loyalty.errors import (
    AlreadyRedeemed,
    CardNotFound,
    EarningConflict,
    InsufficientPoints,
    InvalidCardNumber,
    InvalidEarning,
    InvalidPoints,
    InvalidReference,
    InvalidReversal,
    ReversalConflict,
)
from app.loyalty.models import EarningLine, LedgerEntry, Lot, LoyaltyAccount, ReversalLine
from app.loyalty.schemas import (
    AdjustmentOut,
    CardOut,
    DeliveredOrder,
    Earning,
    ExpiryOut,
    LedgerEntryOut,
    PendingPointsOut,
    Redemption,
    ReversalResult,
    TierProgress,
)

TIER_WINDOW = timedelta(days=365)

EARNING_EVENTS = ("fulfillment.delivered", "fulfillment.collected")
MAX_LINES = 500
MAX_ID_LENGTH = 120
UPCOMING_EXPIRIES = 12
CARD_LEDGER_LIMIT = 20
POINTS_LEDGER = Keyset("points_ledger", int)


def _currency() -> str:
    return get_settings().currency


def tiers() -> tuple[rules.Tier, ...]:
    """The tiers of the settings in force (`OMS_LOYALTY_TIERS`), lowest first."""
    return _parsed_tiers(get_settings().loyalty_tiers)


@lru_cache(maxsize=8)
def _parsed_tiers(text: str) -> tuple[rules.Tier, ...]:
    return rules.parse_tiers(text)


def _point_value() -> int:
    return get_settings().loyalty_point_value_minor


def points_value(points: int) -> Money:
    """What `points` pay at checkout, in the retailer's currency."""
    return Money(rules.points_value_minor(points, _point_value()), _currency())


def points_to_cover(amount_minor: int) -> int:
    return rules.points_to_cover(amount_minor, _point_value())


# ---- accounts ---------------------------------------------------------------------------


def _card(card_number: str) -> str:
    number = card_number.strip()
    if len(number) != 13 or not number.isdigit():
        raise InvalidCardNumber("a card number is 13 digits")
    return number


async def _customer_of_card(session: AsyncSession, number: str) -> CustomerOut:
    found = await customers_service.find_customers(session, card=number)
    if not found:
        raise CardNotFound(f"no loyalty card {number}")
    return found[0]


async def _account(session: AsyncSession, card_number: str, *, create: bool, lock: bool) -> LoyaltyAccount | None:
    """The card's account (the survivor's after a merge), opened on first use when `create`."""
    number = _card(card_number)
    account = await repository.account_by_card(session, number, lock=lock)
    if account is not None:
        return account
    customer = await _customer_of_card(session, number)
    if customer.card_number != number:  # a card merged into another customer's
        account = await repository.account_by_card(session, customer.card_number, lock=lock)
        if account is not None or not create:
            return account
    if not create:
        return None
    await repository.insert_account(
        session, card_number=customer.card_number, customer_id=customer.id, tier=tiers()[0].name, now=clock.now()
    )
    return await repository.account_by_card(session, customer.card_number, lock=lock)


async def _existing_account(session: AsyncSession, card_number: str, *, lock: bool) -> LoyaltyAccount:
    account = await _account(session, card_number, create=True, lock=lock)
    if account is None:  # pragma: no cover - insert_account just made it
        raise CardNotFound(f"no loyalty card {card_number}")
    return account


async def open_account(session: AsyncSession, *, card_number: str, customer_id: uuid.UUID) -> None:
    await repository.insert_account(
        session, card_number=_card(card_number), customer_id=customer_id, tier=tiers()[0].name, now=clock.now()
    )


async def _retier(session: AsyncSession, account_id: uuid.UUID, now: datetime) -> tuple[str, int]:
    spend = await repository.rolling_spend(session, account_id, now - TIER_WINDOW)
    return rules.tier_for_spend(spend, tiers()).name, spend


# ---- redeeming ----------------------------------------------------------------------------


def _reference(value: str, what: str = "reference") -> str:
    if not value or len(value) > MAX_ID_LENGTH:
        raise InvalidReference(f"{what} must be 1 to {MAX_ID_LENGTH} characters")
    return value


async def redeem(
    session: AsyncSession, *, card_number: str, points: int, reference: str, channel: str | None
) -> Redemption:
    if points <= 0:
        raise InvalidPoints("redeem a positive number of points")
    reference = _reference(reference)
    account = await _account(session, card_number, create=False, lock=False)
    if account is None:  # never used: nothing to spend, and nothing is written
        raise InsufficientPoints("this card has no available points", available=0, requested=points)
    now = clock.now()
    after = await repository.take_available(session, account.id, points, now)
    if after is None:
        raise InsufficientPoints(
            f"{points} points requested, fewer are available", available=account.available, requested=points
        )
    entry_id = await repository.insert_entry(
        session,
        account_id=account.id,
        kind="redeem",
        points=-points,
        reference=reference,
        channel=channel,
        dedupe_key=f"redeem:{reference}",
        occurred_at=now,
    )
    if entry_id is None:
        raise AlreadyRedeemed(f"points were already redeemed for {reference}", reference=reference)
    draws = rules.draw_fifo(await repository.spendable_lots(session, account.id), points)
    if sum(p for _, p in draws) != points:
        raise RuntimeError(f"card {account.card_number}: available points and lots disagree")
    await repository.take_from_lots(session, draws)
    await repository.insert_draws(session, entry_id, draws)
    return Redemption(card_number=account.card_number, points=points, value=points_value(points), available_after=after)


async def _survivor(session: AsyncSession, account_id: uuid.UUID, *, lock: bool) -> LoyaltyAccount:
    account = await repository.account_by_id(session, account_id)
    if account is not None and account.merged_into_id is not None:
        account_id = account.merged_into_id
    account = await repository.account_by_id(session, account_id, lock=lock)
    if account is None:  # pragma: no cover - ledger rows always have their account
        raise CardNotFound("the card of this redemption is gone")
    return account


async def restore(
    session: AsyncSession, *, reference: str, points: int | None = None, channel: str | None = None
) -> int:
    """Give back up to `points` (all, when None) of what was redeemed for `reference`, to the
    lots they came from (they keep their expiry: an expired lot expires again). Never more
    than was redeemed: a repeat after everything came back restores 0."""
    if points is not None and points < 0:
        raise InvalidPoints("restore a positive number of points")
    redemption = await repository.entry_by_dedupe_key(session, f"redeem:{_reference(reference)}")
    if redemption is None or points == 0:
        return 0
    account = await _survivor(session, redemption.account_id, lock=True)
    restorable = await repository.restorable_draws(session, redemption.id)
    wanted = sum(left for _, left in restorable) if points is None else points
    draws = rules.draw_fifo(restorable, wanted)
    restored = sum(taken for _, taken in draws)
    if not restored:
        return 0
    now = clock.now()
    await repository.insert_entry(
        session,
        account_id=account.id,
        kind="restore",
        points=restored,
        reference=reference,
        channel=channel,
        occurred_at=now,
    )
    await repository.give_back_to_lots(session, draws)
    await repository.mark_restored(session, redemption.id, draws)
    await repository.change_balances(session, account.id, available=restored, now=now)
    return restored


# ---- the points tender of an order ----------------------------------------------------------


async def redeem_for_order(
    session: AsyncSession,
    card_number: str,
    amount_minor: int,
    currency: str,
    order_id: uuid.UUID,
    *,
    channel: str | None = None,
) -> str:
    """The orders domain's points tender: pay `amount_minor` with points in the order's
    `channel`; the reference to restore with is the order id."""
    if currency != _currency():
        raise InvalidPoints(f"points pay in {_currency()} only")
    if amount_minor <= 0 or amount_minor % _point_value():
        raise InvalidPoints(f"a points tender is a positive multiple of {_point_value()} minor units")
    reference = str(order_id)
    await redeem(
        session,
        card_number=card_number,
        points=amount_minor // _point_value(),
        reference=reference,
        channel=channel,
    )
    return reference


async def restore_for_order(
    session: AsyncSession, reference: str, amount_minor: int, *, channel: str | None = None
) -> None:
    """A cancellation or a refund gives `amount_minor` of the points tender back as points
    (exactly that part of the redemption, not all of it)."""
    await restore(session, reference=reference, points=amount_minor // _point_value(), channel=channel)


# ---- earning ------------------------------------------------------------------------------


def _check_lines(lines: Sequence[tuple[str, int]], error: type[InvalidEarning] | type[InvalidReversal]) -> None:
    if not lines or len(lines) > MAX_LINES:
        raise error(f"send 1 to {MAX_LINES} lines")
    ids = [line_id for line_id, _ in lines]
    if len(set(ids)) != len(ids):
        raise error("a line appears twice")
    for line_id, amount in lines:
        if not line_id or len(line_id) > MAX_ID_LENGTH:
            raise error(f"line ids are 1 to {MAX_ID_LENGTH} characters")
        if amount < 0 or amount > 10**15:
            raise error(f"line {line_id}: amount out of range")


async def earn(
    session: AsyncSession,
    *,
    source_id: str,
    event_type: str,
    card_number: str,
    channel: str | None,
    lines: Sequence[tuple[str, int]],
    currency: str,
    occurred_at: datetime,
    points_paid_minor: int = 0,
    order_id: str | None = None,
) -> Earning:
    source_id, event_type = _reference(source_id, "source_id"), _reference(event_type, "event_type")
    _check_lines(lines, InvalidEarning)
    if not is_supported(currency):
        raise InvalidEarning(f"unsupported currency {currency}")
    if not 0 <= points_paid_minor <= sum(amount for _, amount in lines):
        raise InvalidEarning("points_paid_minor must be between 0 and what the lines cost")
    try:
        occurred_at = clock.ensure_utc(occurred_at)
    except ValueError as exc:
        raise InvalidEarning(str(exc)) from None
    payload_hash = rules.fingerprint(
        [card_number, channel, sorted(lines), currency, occurred_at.isoformat(), points_paid_minor, order_id]
    )
    await repository.lock_lines(session, [line_id for line_id, _ in lines])
    account = await _existing_account(session, card_number, lock=True)
    tier = rules.tier_named(account.tier, tiers())
    computed = rules.earn_for_lines(
        lines,
        points_paid_minor=points_paid_minor,
        points_per_unit=tier.points_per_unit,
        minor_per_unit=minor_per_unit(currency),
    )
    total = sum(line.points for line in computed)
    available_at = occurred_at + timedelta(days=get_settings().loyalty_pending_days)
    expires_at = rules.add_months(occurred_at, get_settings().loyalty_expiry_months)
    lot_id = await repository.insert_lot(
        session,
        account_id=account.id,
        source="earn",
        source_id=source_id,
        event_type=event_type,
        payload_hash=payload_hash,
        channel=channel,
        order_id=order_id,
        currency=currency,
        points=total,
        remaining=total,
        spend_minor=sum(line.earnable_minor for line in computed),
        status="pending",
        earned_at=occurred_at,
        available_at=available_at,
        expires_at=expires_at,
    )
    if lot_id is None:  # this document and event already earned: a repeat, or a conflict
        existing = await repository.lot_by_key(session, source_id, event_type)
        assert existing is not None
        return await _replayed_earning(session, existing, payload_hash)
    await repository.insert_earning_lines(
        session,
        [
            {
                "lot_id": lot_id,
                "line_id": line.line_id,
                "net_paid_minor": line.net_paid_minor,
                "earnable_minor": line.earnable_minor,
                "points": line.points,
            }
            for line in computed
        ],
    )
    now = clock.now()
    if total:
        await repository.insert_entries(
            session,
            [
                {
                    "account_id": account.id,
                    "kind": "earn",
                    "points": total,
                    "reference": order_id or source_id,
                    "channel": channel,
                    "note": f"{event_type} {source_id}, pending until {available_at.date().isoformat()}",
                    "occurred_at": occurred_at,
                }
            ],
        )
    # Returns that reached us before this sale (an offline till) are applied now.
    waiting = await repository.waiting_reversal_lines(session, [line.line_id for line in computed])
    taken = await _apply_reversal_lines(session, account.id, [(line, channel_) for line, channel_ in waiting], now)
    tier_name, spend = await _retier(session, account.id, now)
    await repository.change_balances(
        session,
        account.id,
        available=-taken.available,
        pending=total - taken.pending,
        tier=tier_name,
        spend_minor=spend,
        now=now,
    )
    return Earning(
        card_number=account.card_number,
        points=total,
        lines={line.line_id: line.points for line in computed},
        tier=tier_name,
        available_at=available_at,
        expires_at=expires_at,
    )


async def _replayed_earning(session: AsyncSession, lot: Lot, payload_hash: bytes) -> Earning:
    if lot.payload_hash != payload_hash:
        raise EarningConflict(
            f"{lot.event_type} {lot.source_id} already earned points with other data",
            source_id=lot.source_id,
            event_type=lot.event_type,
        )
    account = await repository.account_by_id(session, lot.account_id)
    lines = await repository.earning_lines(session, lot.id)
    assert account is not None
    return Earning(
        card_number=account.card_number,
        points=sum(line.points for line in lines),
        lines={line.line_id: line.points for line in lines},
        tier=account.tier,
        available_at=lot.available_at,
        expires_at=lot.expires_at,
        replayed=True,
    )


# ---- reversing ----------------------------------------------------------------------------


@dataclass
class _Take:
    """One return line against one earning line."""

    line: EarningLine
    refunded: int
    points: int = 0
    own: int = 0
    drawn: int = 0
    waived: int = 0

    @property
    def missing(self) -> int:
        return self.points - self.own - self.waived

    @property
    def shortfall(self) -> int:
        return self.missing - self.drawn


@dataclass
class _Taken:
    available: int = 0
    pending: int = 0
    shortfall: int = 0
    reversed: int = 0
    per_return: dict[tuple[str, str], int] = field(default_factory=dict)


async def _apply_reversal_lines(
    session: AsyncSession,
    account_id: uuid.UUID,
    items: Sequence[tuple[ReversalLine, str | None]],
    now: datetime,
) -> _Taken:
    """Take back the points of return lines whose sale was earned on this (locked) account.
    Writes lots, earning lines, reversal lines and the `reverse` ledger rows; the caller
    applies the returned balance changes to the account in its one UPDATE."""
    taken = _Taken()
    if not items:
        return taken
    earned = {
        line.line_id: line
        for line, account in await repository.earning_lines_for(session, [item.line_id for item, _ in items])
        if account == account_id
    }
    lots = await repository.lots_by_id(session, list({line.lot_id for line in earned.values()}))
    remaining = {lot_id: lot.remaining for lot_id, lot in lots.items()}
    refunded = {line_id: line.refunded_minor for line_id, line in earned.items()}
    takes: list[tuple[ReversalLine, str | None, _Take]] = []
    own: dict[int, int] = {}
    spend_cuts: dict[int, int] = {}
    for item, channel in items:
        line = earned.get(item.line_id)
        if line is None:
            continue
        take = _Take(line=line, refunded=item.refunded_minor)
        before = refunded[line.line_id]
        take.points = rules.points_to_reverse(line.points, line.net_paid_minor, before, item.refunded_minor)
        cut = rules.points_to_reverse(line.earnable_minor, line.net_paid_minor, before, item.refunded_minor)
        refunded[line.line_id] = before + item.refunded_minor
        lot = lots[line.lot_id]
        take.own = min(take.points, remaining[lot.id])
        remaining[lot.id] -= take.own
        own[lot.id] = own.get(lot.id, 0) + take.own
        spend_cuts[lot.id] = spend_cuts.get(lot.id, 0) + cut
        if lot.status == "pending":
            taken.pending += take.own
        else:
            taken.available += take.own
        if take.points > take.own and lot.expires_at <= now:
            take.waived = take.points - take.own
        takes.append((item, channel, take))
    await repository.take_from_lots(session, [(k, v) for k, v in own.items() if v], shrink=True)
    await repository.cut_lot_spend(session, [(k, v) for k, v in spend_cuts.items() if v])
    missing = sum(take.missing for _, _, take in takes)
    if missing:
        draws = rules.draw_fifo(await repository.spendable_lots(session, account_id), missing)
        await repository.take_from_lots(session, draws)
        left = sum(points for _, points in draws)
        taken.available += left
        for _, _, take in takes:
            take.drawn = min(take.missing, left)
            left -= take.drawn
    ledger: dict[tuple[str, str], tuple[int, int, str | None]] = {}
    for item, channel, take in takes:
        await repository.record_line_refund(session, take.line.lot_id, take.line.line_id, take.refunded, take.points)
        reversed_points = take.own + take.drawn
        await repository.mark_reversal_line_applied(
            session, item, reversed_points=reversed_points, shortfall_points=take.shortfall, now=now
        )
        key = (item.source_id, item.event_type)
        points, shortfall, _ = ledger.get(key, (0, 0, channel))
        ledger[key] = (points + reversed_points, shortfall + take.shortfall, channel)
        taken.shortfall += take.shortfall
        taken.reversed += reversed_points
    await repository.insert_entries(
        session,
        [
            {
                "account_id": account_id,
                "kind": "reverse",
                "points": -points,
                "reference": source_id,
                "channel": channel,
                "note": f"{event_type}; {shortfall} spent points deducted from the refund" if shortfall else event_type,
                "occurred_at": now,
            }
            for (source_id, event_type), (points, shortfall, channel) in ledger.items()
            if points
        ],
    )
    return taken


async def reverse(
    session: AsyncSession,
    *,
    source_id: str,
    event_type: str,
    lines: Sequence[tuple[str, int]],
    channel: str | None = None,
) -> ReversalResult:
    source_id, event_type = _reference(source_id, "source_id"), _reference(event_type, "event_type")
    _check_lines(lines, InvalidReversal)
    if any(amount <= 0 for _, amount in lines):
        raise InvalidReversal("refunded amounts must be positive")
    payload_hash = rules.fingerprint([sorted(lines), channel])
    line_ids = [line_id for line_id, _ in lines]
    await repository.lock_lines(session, line_ids)
    now = clock.now()
    if not await repository.insert_reversal(
        session, source_id=source_id, event_type=event_type, payload_hash=payload_hash, channel=channel, created_at=now
    ):
        existing = await repository.reversal(session, source_id, event_type)
        if existing is None or existing.payload_hash != payload_hash:
            raise ReversalConflict(f"{event_type} {source_id} already reversed points with other data")
        return _reversal_result(await repository.reversal_lines(session, source_id, event_type), replayed=True)
    await repository.insert_reversal_lines(
        session,
        [
            {"source_id": source_id, "event_type": event_type, "line_id": line_id, "refunded_minor": amount}
            for line_id, amount in lines
        ],
    )
    accounts = sorted({account for _, account in await repository.earning_lines_for(session, line_ids)})
    await repository.lock_accounts(session, accounts)
    pending_lines = await repository.reversal_lines(session, source_id, event_type)
    for account_id in accounts:
        taken = await _apply_reversal_lines(session, account_id, [(line, channel) for line in pending_lines], now)
        tier_name, spend = await _retier(session, account_id, now)
        await repository.change_balances(
            session,
            account_id,
            available=-taken.available,
            pending=-taken.pending,
            tier=tier_name,
            spend_minor=spend,
            now=now,
        )
    return _reversal_result(await repository.reversal_lines(session, source_id, event_type))


def _reversal_result(lines: Sequence[ReversalLine], *, replayed: bool = False) -> ReversalResult:
    shortfall = sum(line.shortfall_points for line in lines)
    return ReversalResult(
        points_reversed=sum(line.reversed_points for line in lines),
        shortfall_points=shortfall,
        shortfall_value=points_value(shortfall),
        waiting_lines=[line.line_id for line in lines if line.applied_at is None],
        replayed=replayed,
    )


# ---- adjustments --------------------------------------------------------------------------


def _entry_out(entry: LedgerEntry) -> LedgerEntryOut:
    return LedgerEntryOut(
        id=entry.id,
        kind=entry.kind,
        points=entry.points,
        reference=entry.reference,
        channel=entry.channel,
        note=entry.note,
        occurred_at=entry.occurred_at,
    )


async def adjust(
    session: AsyncSession, *, card_number: str, points: int, reason: str, channel: str | None = None
) -> AdjustmentOut:
    if points == 0:
        raise InvalidPoints("an adjustment of 0 points changes nothing")
    now = clock.now()
    reference = f"adjustment:{uuid.uuid4()}"
    if points > 0:
        account = await _existing_account(session, card_number, lock=True)
        await repository.insert_lot(
            session,
            account_id=account.id,
            source="adjust",
            source_id=reference,
            event_type="adjustment",
            channel=channel,
            points=points,
            remaining=points,
            status="available",
            earned_at=now,
            available_at=now,
            expires_at=rules.add_months(now, get_settings().loyalty_expiry_months),
        )
    else:
        found = await _account(session, card_number, create=False, lock=False)
        if found is None:
            raise InsufficientPoints("this card has no available points", available=0, requested=-points)
        account = found
        if await repository.take_available(session, account.id, -points, now) is None:
            raise InsufficientPoints(
                f"{-points} points to take, fewer are available", available=account.available, requested=-points
            )
        await repository.take_from_lots(
            session, rules.draw_fifo(await repository.spendable_lots(session, account.id), -points)
        )
    entry_id = await repository.insert_entry(
        session,
        account_id=account.id,
        kind="adjust",
        points=points,
        reference=reference,
        channel=channel,
        note=reason,
        occurred_at=now,
    )
    available, pending = await repository.change_balances(
        session, account.id, available=points if points > 0 else 0, now=now
    )
    entry = await repository.entry_by_id(session, entry_id) if entry_id is not None else None
    assert entry is not None
    return AdjustmentOut(card_number=account.card_number, entry=_entry_out(entry), available=available, pending=pending)


# ---- reading ------------------------------------------------------------------------------


async def _readable_account(
    session: AsyncSession, card_number: str, principal: Principal | None, customer_token: str | None
) -> tuple[LoyaltyAccount | None, CustomerOut | None]:
    """The account (None if the card was never used) and, then, its customer. A storefront
    key needs the customer's token, as for the customer record itself."""
    number = _card(card_number)
    account = await repository.account_by_card(session, number)
    customer = None
    if account is None:
        customer = await _customer_of_card(session, number)
        account = await repository.account_by_card(session, customer.card_number)
    owner = account.customer_id if account is not None else customer.id if customer is not None else None
    if principal is not None and owner is not None:
        await customers_service.authorize_customer_access(session, principal, owner, customer_token)
    return account, customer


def _progress(spend: int) -> TierProgress | None:
    upcoming = rules.next_tier(spend, tiers())
    if upcoming is None:
        return None
    return TierProgress(next_tier=upcoming[0].name, spend_missing=Money(upcoming[1], _currency()))


async def card_view(
    session: AsyncSession, card_number: str, *, principal: Principal | None = None, customer_token: str | None = None
) -> CardOut:
    account, customer = await _readable_account(session, card_number, principal, customer_token)
    if account is None:
        assert customer is not None
        return _card_out(customer.card_number, customer.id, tiers()[0].name, 0, 0, 0, [], Page(items=[]))
    expiries = await repository.upcoming_expiries(session, account.id, UPCOMING_EXPIRIES)
    page = await _ledger_page(session, account.id, CARD_LEDGER_LIMIT, None)
    return _card_out(
        account.card_number,
        account.customer_id,
        account.tier,
        account.available,
        account.pending,
        account.spend_minor,
        [ExpiryOut(expires_on=day, points=points) for day, points in expiries],
        page,
    )


def _card_out(
    number: str,
    customer_id: uuid.UUID,
    tier: str,
    available: int,
    pending: int,
    spend: int,
    expiries: list[ExpiryOut],
    page: Page[LedgerEntryOut],
) -> CardOut:
    return CardOut(
        card_number=number,
        customer_id=customer_id,
        available=available,
        pending=pending,
        available_value=points_value(available),
        tier=tier,
        earn_rate=rules.tier_named(tier, tiers()).points_per_unit,
        rolling_spend=Money(spend, _currency()),
        progress=_progress(spend),
        point_value=points_value(1),
        upcoming_expiries=expiries,
        ledger=page,
    )


async def _ledger_page(
    session: AsyncSession, account_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[LedgerEntryOut]:
    after = POINTS_LEDGER.after(cursor, scope=account_id)
    before_id = after[0] if after else None
    rows = await repository.ledger_page(session, account_id, before_id=before_id, limit=limit)
    return POINTS_LEDGER.page([_entry_out(row) for row in rows], limit, lambda entry: [entry.id], scope=account_id)


async def ledger(
    session: AsyncSession,
    card_number: str,
    *,
    limit: int,
    cursor: str | None,
    principal: Principal | None = None,
    customer_token: str | None = None,
) -> Page[LedgerEntryOut]:
    """The card's ledger, newest first."""
    account, _ = await _readable_account(session, card_number, principal, customer_token)
    if account is None:
        return Page(items=[])
    return await _ledger_page(session, account.id, limit, cursor)


async def balance_for_customer(session: AsyncSession, customer_id: uuid.UUID) -> LoyaltyBalance:
    """The contact-center view's loyalty box: available points and tier."""
    account = await repository.live_account_of_customer(session, customer_id)
    if account is None:
        return LoyaltyBalance(points=0, tier=tiers()[0].name)
    return LoyaltyBalance(points=account.available, tier=account.tier)


# ---- merge --------------------------------------------------------------------------------


async def merge_cards(session: AsyncSession, survivor_id: uuid.UUID, absorbed_id: uuid.UUID) -> None:
    """Move the absorbed customer's points, lots and pending points to the survivor's card,
    inside the customer merge's transaction; a `merge` ledger row on each card."""
    absorbed = await repository.live_account_of_customer(session, absorbed_id)
    if absorbed is None:
        return
    survivor = await repository.live_account_of_customer(session, survivor_id)
    if survivor is None:
        customer = await customers_service.get_customer(session, survivor_id)
        await open_account(session, card_number=customer.card_number, customer_id=customer.id)
        survivor = await repository.live_account_of_customer(session, survivor_id)
        assert survivor is not None
    await repository.lock_accounts(session, [absorbed.id, survivor.id])
    moved = await repository.account_by_id(session, absorbed.id)
    assert moved is not None
    # Read before the UPDATEs: they also refresh the loaded account objects.
    available, pending, absorbed_card = moved.available, moved.pending, moved.card_number
    now = clock.now()
    await repository.move_lots(session, moved.id, survivor.id)
    await repository.close_merged_account(session, moved.id, survivor.id, now)
    points = available + pending
    if points:
        await repository.insert_entries(
            session,
            [
                {
                    "account_id": moved.id,
                    "kind": "merge",
                    "points": -points,
                    "reference": survivor.card_number,
                    "note": "moved to the surviving card of a customer merge",
                    "occurred_at": now,
                },
                {
                    "account_id": survivor.id,
                    "kind": "merge",
                    "points": points,
                    "reference": absorbed_card,
                    "note": "moved from a card merged into this one",
                    "occurred_at": now,
                },
            ],
        )
    tier_name, spend = await _retier(session, survivor.id, now)
    await repository.change_balances(
        session,
        survivor.id,
        available=available,
        pending=pending,
        tier=tier_name,
        spend_minor=spend,
        now=now,
    )


# ---- jobs ---------------------------------------------------------------------------------


class _EarnLine(msgspec.Struct, forbid_unknown_fields=False):
    line_id: str
    net_paid_minor: int


class _EarnEvent(msgspec.Struct, forbid_unknown_fields=False):
    currency: str
    lines: list[_EarnLine]
    channel: str | None = None
    card_number: str | None = None
    customer_id: uuid.UUID | None = None
    order_id: str | None = None
    points_paid_minor: int = 0


class EarningEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An outbox event loyalty earns on (`EARNING_EVENTS`)."""

    type: str
    aggregate_id: str
    occurred_at: datetime
    payload: dict[str, Any]

    @property
    def needs_order(self) -> bool:
        """A fulfilment order's event (no `lines` of its own): what it handed over comes
        from orders and fulfilment (`DeliveredOrder`). A ship-to-store transfer is no sale."""
        return "lines" not in self.payload and self.payload.get("type") != "ship_to_store"


async def earning_event(session: AsyncSession, event_id: str) -> EarningEvent | None:
    """The outbox event `event_id` if loyalty earns on its type."""
    event = await repository.event_by_id(session, uuid.UUID(event_id))
    if event is None or event.type not in EARNING_EVENTS:
        return None
    return EarningEvent(
        type=event.type, aggregate_id=event.aggregate_id, occurred_at=event.occurred_at, payload=event.payload
    )


def _from_fulfilment(order: DeliveredOrder | None) -> _EarnEvent | None:
    if order is None or order.customer_id is None:
        return None
    lines, points_paid = rules.handed_over(
        order.order_id,
        order.lines,
        points_paid_minor=order.points_paid_minor,
        order_total_minor=order.order_total_minor,
    )
    if not lines:
        return None
    return _EarnEvent(
        currency=order.currency,
        lines=[_EarnLine(line_id=line_id, net_paid_minor=amount) for line_id, amount in lines],
        channel=order.channel,
        customer_id=order.customer_id,
        order_id=order.order_id,
        points_paid_minor=points_paid,
    )


async def earn_for_event(
    session: AsyncSession, event: EarningEvent, delivered: DeliveredOrder | None = None
) -> Earning | None:
    """Earn for a delivered/collected event; None if it earns nothing. The payload either
    carries the earning (`lines` with `net_paid_minor`, see above) or is a fulfilment order's
    event (`event.needs_order`), for which the caller hands in what it delivered
    (app/flows/earn_points.py)."""
    if "lines" in event.payload:
        try:
            data: _EarnEvent | None = msgspec.convert(event.payload, _EarnEvent)
        except msgspec.ValidationError as exc:
            raise InvalidEarning(f"event {event.aggregate_id}: {exc}") from None
    else:
        data = _from_fulfilment(delivered) if event.needs_order else None
    if data is None:
        return None
    card_number = data.card_number
    if card_number is None and data.customer_id is not None:
        card_number = (await customers_service.get_customer(session, data.customer_id)).card_number
    if card_number is None:
        return None  # a guest order: no card, no points
    return await earn(
        session,
        source_id=event.aggregate_id,
        event_type=event.type,
        card_number=card_number,
        channel=data.channel,
        lines=[(line.line_id, line.net_paid_minor) for line in data.lines],
        currency=data.currency,
        occurred_at=event.occurred_at,
        points_paid_minor=data.points_paid_minor,
        order_id=data.order_id,
    )


class _CustomerCreated(msgspec.Struct, forbid_unknown_fields=False):
    customer_id: uuid.UUID
    card_number: str


async def open_account_for_event(session: AsyncSession, event_id: str) -> None:
    event = await repository.event_by_id(session, uuid.UUID(event_id))
    if event is None or event.type != "customer.created":
        return
    data = msgspec.convert(event.payload, _CustomerCreated)
    if await customers_service.resolve_customer_id(session, data.customer_id) != data.customer_id:
        return  # merged away before the event arrived: its card already leads to the survivor's
    await open_account(session, card_number=data.card_number, customer_id=data.customer_id)


async def release_pending(session: AsyncSession, limit: int = 500) -> int:
    """Pending points whose return window closed become available; the number of cards."""
    now = clock.now()
    account_ids = await repository.accounts_with_due_lots(session, now, limit)
    if not account_ids:
        return 0
    await repository.lock_accounts(session, account_ids)
    released = await repository.release_lots(session, account_ids, now)
    await repository.move_pending_to_available(session, released, now)
    return len(account_ids)


async def expire_points(session: AsyncSession, limit: int = 500) -> int:
    """Available points past their expiry are written off, a ledger row per lot; the number of cards."""
    now = clock.now()
    account_ids = await repository.accounts_with_expired_lots(session, now, limit)
    if not account_ids:
        return 0
    await repository.lock_accounts(session, account_ids)
    expired = await repository.expire_lots(session, account_ids, now)
    per_account: dict[uuid.UUID, int] = {}
    for _, account_id, points in expired:
        per_account[account_id] = per_account.get(account_id, 0) + points
    await repository.insert_entries(
        session,
        [
            {
                "account_id": account_id,
                "kind": "expire",
                "points": -points,
                "reference": f"lot:{lot_id}",
                "occurred_at": now,
            }
            for lot_id, account_id, points in expired
        ],
    )
    await repository.take_expired(session, per_account, now)
    return len(account_ids)


async def audit(session: AsyncSession) -> list[str]:
    """Cards whose balance differs from their ledger's sum or from their lots (empty: all agree)."""
    return [
        f"card {card}: available {available}, pending {pending}, ledger {ledger_total}, "
        f"available lots {lots_available}, pending lots {lots_pending}"
        for card, available, pending, ledger_total, lots_available, lots_pending in await repository.balance_mismatches(
            session
        )
    ]


async def pending_releases(session: AsyncSession, card_number: str, *, limit: int = 50) -> list[PendingPointsOut]:
    """The card's pending points with the date each lot becomes spendable, soonest first
    (the contact-center view). No access check: for flows that checked it."""
    account = await repository.account_by_card(session, _card(card_number))
    if account is None:
        return []
    rows = await repository.pending_lots(session, account.id, limit)
    return [PendingPointsOut(points=points, available_at=at, order_id=order) for points, at, order in rows]
