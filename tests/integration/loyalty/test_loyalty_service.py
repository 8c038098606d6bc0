"""Loyalty use cases on the real database (rolled back after each test)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock, outbox
from app.core.models import OutboxEvent
from app.core.money import Money
from app.core.settings import get_settings
from app.flows import customer_merge, earn_points
from app.loyalty import service
from app.loyalty.errors import (
    AlreadyRedeemed,
    CardNotFound,
    EarningConflict,
    InsufficientPoints,
    InvalidEarning,
    InvalidPoints,
    InvalidReversal,
    ReversalConflict,
)
from app.loyalty.models import LedgerEntry, Lot, LoyaltyAccount
from tests.integration.loyalty.cards import START, account, earn, ledger, ledger_sum, new_card


@pytest.fixture(autouse=True)
def _frozen() -> None:
    clock.freeze(START)


async def _release(db: AsyncSession) -> None:
    clock.advance(timedelta(days=get_settings().loyalty_pending_days))
    while await service.release_pending(db):
        pass


async def _consistent(db: AsyncSession, card: str) -> None:
    acc = await account(db, card)
    assert acc.available + acc.pending == await ledger_sum(db, card)
    assert await service.audit(db) == []


# ---- earning --------------------------------------------------------------------------------


async def test_orders_of_every_channel_earn_on_the_same_card(db: AsyncSession) -> None:
    _, card = await new_card(db)
    kiosk = await earn(db, card, [("k1", 1999), ("k2", 500)], channel="kiosk")
    app = await earn(db, card, [("a1", 10000)], channel="app")
    phone = await earn(db, card, [("c1", 4550)], channel="contact_center", points_paid=550)
    assert (kiosk.points, app.points, phone.points) == (24, 100, 40)
    assert kiosk.lines == {"k1": 19, "k2": 5}
    view = await service.card_view(db, card)
    assert (view.available, view.pending, view.tier) == (0, 164, "basic")
    assert [(e.kind, e.points, e.channel) for e in view.ledger.items] == [
        ("earn", 40, "contact_center"),
        ("earn", 100, "app"),
        ("earn", 24, "kiosk"),
    ]
    # Paid spend counts what was paid in money only: 24.99 + 100.00 + 40.00.
    assert view.rolling_spend == Money(16499, "EUR")
    await _consistent(db, card)


async def test_the_same_event_twice_earns_once_and_other_data_is_a_conflict(db: AsyncSession) -> None:
    _, card = await new_card(db)
    first = await earn(db, card, [("l1", 2500)], source="fo-1")
    again = await earn(db, card, [("l1", 2500)], source="fo-1")
    assert (first.points, again.points, again.replayed, first.replayed) == (25, 25, True, False)
    with pytest.raises(EarningConflict) as conflict:
        await earn(db, card, [("l1", 9900)], source="fo-1")
    assert conflict.value.status == 409
    # Another event type of the same document is another earning key.
    collected = await earn(db, card, [("l2", 1000)], source="fo-1", event_type="fulfillment.collected")
    assert collected.points == 10
    assert await ledger(db, card) == [("earn", 25), ("earn", 10)]
    assert (await account(db, card)).pending == 35


async def test_earn_refuses_bad_input(db: AsyncSession) -> None:
    _, card = await new_card(db)
    with pytest.raises(InvalidEarning):
        await earn(db, card, [])
    with pytest.raises(InvalidEarning):
        await earn(db, card, [("l1", 100), ("l1", 100)])
    with pytest.raises(InvalidEarning):
        await earn(db, card, [("l1", -5)])
    with pytest.raises(InvalidEarning):
        await earn(db, card, [("l1", 100)], points_paid=101)
    with pytest.raises(CardNotFound):
        await earn(db, "2900000000001", [("l1", 100)])
    assert await db.scalar(select(func.count()).select_from(Lot)) == 0


async def test_pending_points_become_available_when_the_return_window_closes(db: AsyncSession) -> None:
    _, card = await new_card(db)
    await earn(db, card, [("l1", 5000)])
    clock.advance(timedelta(days=get_settings().loyalty_pending_days) - timedelta(seconds=1))
    assert await service.release_pending(db) == 0
    assert (await account(db, card)).pending == 50
    clock.advance(timedelta(seconds=1))
    assert await service.release_pending(db) == 1
    acc = await account(db, card)
    assert (acc.available, acc.pending) == (50, 0)
    await _consistent(db, card)


async def test_tier_rises_with_spend_and_raises_the_earn_rate(db: AsyncSession) -> None:
    _, card = await new_card(db)
    first = await earn(db, card, [("l1", 50000)])
    assert (first.points, first.tier) == (500, "silver")
    second = await earn(db, card, [("l2", 1000)])
    assert second.points == 20  # silver earns 2 points per euro
    view = await service.card_view(db, card)
    assert view.progress is not None
    assert (view.progress.next_tier, view.progress.spend_missing) == ("gold", Money(99000, "EUR"))
    # A year later the spend has left the window: the next earning recomputes the tier.
    clock.advance(timedelta(days=366))
    third = await earn(db, card, [("l3", 1000)], at=clock.now())
    assert (third.points, third.tier) == (20, "basic")


# ---- redeeming ------------------------------------------------------------------------------


async def test_only_available_points_can_be_redeemed_and_a_refusal_writes_nothing(db: AsyncSession) -> None:
    _, card = await new_card(db)
    await earn(db, card, [("l1", 10000)])
    with pytest.raises(InsufficientPoints) as refused:
        await service.redeem(db, card_number=card, points=1, reference="order-1", channel="web")
    assert refused.value.status == 409
    await _release(db)
    with pytest.raises(InsufficientPoints):
        await service.redeem(db, card_number=card, points=101, reference="order-1", channel="web")
    assert await ledger(db, card) == [("earn", 100)]
    assert (await account(db, card)).available == 100
    with pytest.raises(InvalidPoints):
        await service.redeem(db, card_number=card, points=0, reference="order-1", channel="web")
    redemption = await service.redeem(db, card_number=card, points=60, reference="order-1", channel="web")
    assert (redemption.points, redemption.value, redemption.available_after) == (60, Money(60, "EUR"), 40)
    assert await ledger(db, card) == [("earn", 100), ("redeem", -60)]
    await _consistent(db, card)


async def test_a_card_never_used_has_nothing_to_redeem(db: AsyncSession) -> None:
    _, card = await new_card(db)
    with pytest.raises(InsufficientPoints):
        await service.redeem(db, card_number=card, points=5, reference="order-x", channel="pos")
    assert await db.scalar(select(func.count()).select_from(LoyaltyAccount)) == 0


async def test_redemption_draws_oldest_expiry_first_and_cancel_restores_the_same_lots(db: AsyncSession) -> None:
    _, card = await new_card(db)
    await earn(db, card, [("old", 3000)])
    clock.advance(timedelta(days=10))
    await earn(db, card, [("new", 5000)], at=clock.now())
    clock.advance(timedelta(days=get_settings().loyalty_pending_days))
    await service.release_pending(db)
    await service.redeem(db, card_number=card, points=50, reference="order-2", channel="app")
    lots = (await db.execute(select(Lot.source_id, Lot.remaining).order_by(Lot.earned_at))).all()
    assert [remaining for _, remaining in lots] == [0, 30]
    with pytest.raises(AlreadyRedeemed):
        await service.redeem(db, card_number=card, points=5, reference="order-2", channel="app")


async def test_cancel_restores_redeemed_points_once(db: AsyncSession) -> None:
    _, card = await new_card(db)
    await earn(db, card, [("old", 3000)])
    clock.advance(timedelta(days=10))
    await earn(db, card, [("new", 5000)], at=clock.now())
    clock.advance(timedelta(days=get_settings().loyalty_pending_days))
    await service.release_pending(db)
    await service.redeem(db, card_number=card, points=50, reference="order-3", channel="app")
    assert await service.restore(db, reference="order-3", channel="app") == 50
    assert await service.restore(db, reference="order-3", channel="app") == 0
    assert await service.restore(db, reference="never-redeemed") == 0
    lots = (await db.execute(select(Lot.remaining).order_by(Lot.earned_at))).scalars().all()
    assert list(lots) == [30, 50]
    assert await ledger(db, card) == [("earn", 30), ("earn", 50), ("redeem", -50), ("restore", 50)]
    assert (await account(db, card)).available == 80
    await _consistent(db, card)


async def test_partial_restores_give_back_the_longest_lived_points_first(db: AsyncSession) -> None:
    _, card = await new_card(db)
    await earn(db, card, [("old", 3000)])
    clock.advance(timedelta(days=10))
    await earn(db, card, [("new", 5000)], at=clock.now())
    clock.advance(timedelta(days=get_settings().loyalty_pending_days))
    await service.release_pending(db)
    reference = await service.redeem_for_order(db, card, 50, "EUR", order_id := uuid.uuid4())
    assert reference == str(order_id)
    assert await service.restore(db, reference=reference, points=15) == 15
    lots = (await db.execute(select(Lot.remaining).order_by(Lot.earned_at))).scalars().all()
    assert list(lots) == [0, 45]  # the newer lot (expiring last) got its points back first
    await service.restore_for_order(db, reference, 100)  # more than is left: only the rest
    lots = (await db.execute(select(Lot.remaining).order_by(Lot.earned_at))).scalars().all()
    assert list(lots) == [30, 50]
    assert await service.restore(db, reference=reference) == 0
    assert await ledger(db, card) == [("earn", 30), ("earn", 50), ("redeem", -50), ("restore", 15), ("restore", 35)]
    await _consistent(db, card)


async def test_points_tender_in_another_currency_is_refused(db: AsyncSession) -> None:
    _, card = await new_card(db)
    await service.adjust(db, card_number=card, points=100, reason="gift")
    with pytest.raises(InvalidPoints):
        await service.redeem_for_order(db, card, 50, "USD", uuid.uuid4())
    with pytest.raises(InvalidPoints):
        await service.redeem_for_order(db, card, 0, "EUR", uuid.uuid4())
    assert (await account(db, card)).available == 100


# ---- reversing ------------------------------------------------------------------------------


async def test_a_return_reverses_exactly_the_points_of_its_units(db: AsyncSession) -> None:
    _, card = await new_card(db)
    # A line of 3 units for 29.97 and one of 10.00: 39 points, 29 + 10 by largest remainder.
    earned = await earn(db, card, [("three", 2997), ("one", 1000)])
    assert earned.lines == {"three": 29, "one": 10}
    one_unit = await service.reverse(db, source_id="ret-1", event_type="return.refunded", lines=[("three", 999)])
    assert (one_unit.points_reversed, one_unit.shortfall_points, one_unit.waiting_lines) == (9, 0, [])
    rest = await service.reverse(
        db, source_id="ret-2", event_type="return.refunded", lines=[("three", 1998), ("one", 1000)]
    )
    assert rest.points_reversed == 30
    acc = await account(db, card)
    assert (acc.pending, acc.available, acc.spend_minor) == (0, 0, 0)
    assert await ledger(db, card) == [("earn", 39), ("reverse", -9), ("reverse", -30)]
    await _consistent(db, card)


async def test_a_reversal_is_idempotent_by_document_and_event(db: AsyncSession) -> None:
    _, card = await new_card(db)
    await earn(db, card, [("l1", 4000)])
    first = await service.reverse(db, source_id="ret-9", event_type="return.refunded", lines=[("l1", 1000)])
    again = await service.reverse(db, source_id="ret-9", event_type="return.refunded", lines=[("l1", 1000)])
    assert (first.points_reversed, again.points_reversed, again.replayed) == (10, 10, True)
    with pytest.raises(ReversalConflict):
        await service.reverse(db, source_id="ret-9", event_type="return.refunded", lines=[("l1", 2000)])
    with pytest.raises(InvalidReversal):
        await service.reverse(db, source_id="ret-10", event_type="return.refunded", lines=[("l1", 0)])
    assert (await account(db, card)).pending == 30


async def test_spent_points_of_a_return_come_from_other_points_then_from_the_refund(db: AsyncSession) -> None:
    _, card = await new_card(db)
    await earn(db, card, [("bought", 10000)], source="fo-a")
    await _release(db)
    await service.redeem(db, card_number=card, points=80, reference="order-4", channel="web")
    await service.adjust(db, card_number=card, points=50, reason="goodwill")
    result = await service.reverse(db, source_id="ret-3", event_type="return.refunded", lines=[("bought", 10000)])
    # 20 left on the earning, 50 from the goodwill points, 30 already spent: paid back in money.
    assert (result.points_reversed, result.shortfall_points, result.shortfall_value) == (70, 30, Money(30, "EUR"))
    acc = await account(db, card)
    assert (acc.available, acc.pending) == (0, 0)
    assert await ledger(db, card) == [("earn", 100), ("redeem", -80), ("adjust", 50), ("reverse", -70)]
    await _consistent(db, card)


async def test_a_return_that_arrives_before_its_sale_waits_for_it(db: AsyncSession) -> None:
    _, card = await new_card(db)
    early = await service.reverse(
        db, source_id="pos-ret-1", event_type="pos.return", lines=[("till-line-1", 500)], channel="pos"
    )
    assert (early.points_reversed, early.waiting_lines) == (0, ["till-line-1"])
    earned = await earn(db, card, [("till-line-1", 1500), ("till-line-2", 1000)], channel="pos")
    assert earned.points == 25
    acc = await account(db, card)
    assert acc.pending == 20  # 5 of the line's 15 points went back with the early return
    replay = await service.reverse(
        db, source_id="pos-ret-1", event_type="pos.return", lines=[("till-line-1", 500)], channel="pos"
    )
    assert (replay.points_reversed, replay.waiting_lines) == (5, [])
    assert await ledger(db, card) == [("earn", 25), ("reverse", -5)]
    await _consistent(db, card)


async def test_a_reversal_can_drop_the_tier(db: AsyncSession) -> None:
    _, card = await new_card(db)
    await earn(db, card, [("big", 60000)])
    assert (await account(db, card)).tier == "silver"
    await service.reverse(db, source_id="ret-4", event_type="return.refunded", lines=[("big", 20000)])
    acc = await account(db, card)
    assert (acc.tier, acc.spend_minor, acc.pending) == ("basic", 40000, 400)


# ---- expiry ---------------------------------------------------------------------------------


async def test_points_expire_oldest_first_and_the_card_shows_when(db: AsyncSession) -> None:
    _, card = await new_card(db)
    await earn(db, card, [("a", 3000)])
    clock.advance(timedelta(days=40))
    await earn(db, card, [("b", 2000)], at=clock.now())
    clock.advance(timedelta(days=get_settings().loyalty_pending_days))
    await service.release_pending(db)
    view = await service.card_view(db, card)
    # Earned on 2026-03-01 and 2026-04-10; they expire 24 months later.
    assert [(e.expires_on, e.points) for e in view.upcoming_expiries] == [
        (date(2028, 3, 1), 30),
        (date(2028, 4, 10), 20),
    ]
    clock.freeze(START.replace(year=START.year + 2))
    assert await service.expire_points(db) == 1
    acc = await account(db, card)
    assert acc.available == 20
    assert await ledger(db, card) == [("earn", 30), ("earn", 20), ("expire", -30)]
    assert await service.expire_points(db) == 0
    await _consistent(db, card)


# ---- adjustments, accounts, merge -----------------------------------------------------------


async def test_negative_adjustment_only_from_available_points(db: AsyncSession) -> None:
    _, card = await new_card(db)
    with pytest.raises(InsufficientPoints):
        await service.adjust(db, card_number=card, points=-1, reason="oops")
    out = await service.adjust(db, card_number=card, points=40, reason="goodwill")
    assert (out.available, out.entry.kind, out.entry.points, out.entry.note) == (40, "adjust", 40, "goodwill")
    with pytest.raises(InsufficientPoints):
        await service.adjust(db, card_number=card, points=-41, reason="too much")
    taken = await service.adjust(db, card_number=card, points=-15, reason="correction")
    assert taken.available == 25
    await _consistent(db, card)


async def test_customer_created_event_opens_the_card_and_first_use_opens_it_too(db: AsyncSession) -> None:
    customer_id, card = await new_card(db)
    await db.flush()
    event_id = await db.scalar(
        select(OutboxEvent.event_id).where(
            OutboxEvent.type == "customer.created", OutboxEvent.aggregate_id == str(customer_id)
        )
    )
    await service.open_account_for_event(db, str(event_id))
    await service.open_account_for_event(db, str(event_id))
    acc = await account(db, card)
    assert (acc.customer_id, acc.available, acc.tier) == (customer_id, 0, "basic")
    _, other = await new_card(db, "Bob")
    await earn(db, other, [("x", 100)])
    assert (await account(db, other)).pending == 1


async def test_delivered_event_earns_through_the_event_path(db: AsyncSession) -> None:
    customer_id, card = await new_card(db)
    payload = {
        "order_id": "order-77",
        "customer_id": str(customer_id),
        "channel": "kiosk",
        "currency": "EUR",
        "lines": [{"line_id": "ol-1", "net_paid_minor": 1234}],
    }
    event_id = await outbox.record(
        db, "fulfillment.delivered", aggregate_type="fulfillment_order", aggregate_id="fo-77", payload=payload
    )
    await db.flush()
    first = await earn_points.earn_for_event(db, str(event_id))
    again = await earn_points.earn_for_event(db, str(event_id))
    assert first is not None and again is not None
    assert (first.points, again.replayed) == (12, True)
    entries = (await db.execute(select(LedgerEntry.reference, LedgerEntry.channel))).all()
    assert [(r[0], r[1]) for r in entries] == [("order-77", "kiosk")]
    assert card == first.card_number


async def test_merge_moves_points_to_the_survivor_and_the_absorbed_card_finds_it(db: AsyncSession) -> None:
    survivor_id, survivor_card = await new_card(db, "Ada")
    absorbed_id, absorbed_card = await new_card(db, "Ada L.")
    await earn(db, survivor_card, [("s1", 1000)])
    await earn(db, absorbed_card, [("a1", 2000)])
    clock.advance(timedelta(days=get_settings().loyalty_pending_days))
    await service.release_pending(db)
    await earn(db, absorbed_card, [("a2", 3000)], at=clock.now())
    await customer_merge.merge_customers(db, survivor_id, absorbed_id)
    view = await service.card_view(db, absorbed_card)
    assert (view.card_number, view.available, view.pending) == (survivor_card, 30, 30)
    assert await ledger(db, absorbed_card) == [("earn", 20), ("earn", 30), ("merge", -50)]
    assert await ledger(db, survivor_card) == [("earn", 10), ("merge", 50)]
    # Redeeming with the old card spends the survivor's points.
    await service.redeem(db, card_number=absorbed_card, points=25, reference="order-m", channel="pos")
    overview = await customer_merge.customer_overview(db, survivor_id, 5)
    assert (overview.loyalty.points, overview.loyalty.tier) == (5, "basic")
    # A return of a line earned on the absorbed card reverses on the survivor's.
    result = await service.reverse(db, source_id="ret-m", event_type="return.refunded", lines=[("a2", 3000)])
    assert result.points_reversed == 30
    await _consistent(db, survivor_card)


async def test_unknown_and_malformed_cards(db: AsyncSession) -> None:
    with pytest.raises(CardNotFound):
        await service.card_view(db, "2900000000001")
    with pytest.raises(Exception) as malformed:
        await service.card_view(db, "12ab")
    assert getattr(malformed.value, "status", None) == 422
