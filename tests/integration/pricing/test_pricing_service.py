"""Pricing use cases on the real database: price history, zones, promotions, redemptions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.models import OutboxEvent
from app.pricing import repository, service
from app.pricing.errors import (
    PriceInPast,
    PriceNotFound,
    UnknownSku,
    UnknownZone,
    UnsupportedCurrency,
    UsageLimitReached,
)
from app.pricing.models import PromotionCode
from app.pricing.rules import Kind, Reason, Tier
from app.pricing.schemas import DeliveryFeeIn, PriceZoneCreate, PromotionUpdate, TierIn, ZoneAreaIn
from tests.factories.pricing import promotion, set_price, shop

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> None:
    clock.freeze(T0)


def ask(*lines: tuple[str, int], **kw: object) -> service.QuoteInput:
    kw.setdefault("currency", "EUR")
    return service.QuoteInput(lines=tuple(service.QuoteLine(s, q) for s, q in lines), **kw)  # type: ignore[arg-type]


async def priced_shop(db: AsyncSession) -> dict[str, uuid.UUID]:
    products = await shop(db)
    await set_price(db, "SHIRT", 2500, compare_at=3500)
    await set_price(db, "SOCKS", 799)
    await set_price(db, "MUG", 1200)
    return products


async def test_a_scheduled_price_takes_over_and_the_history_explains_yesterday(db: AsyncSession) -> None:
    await priced_shop(db)
    tomorrow = T0 + timedelta(days=1)
    await set_price(db, "SHIRT", 1999, valid_from=tomorrow)

    today = await service.quote(db, ask(("SHIRT", 2)))
    assert today.result.total == 5000
    assert today.compare_at == {"SHIRT": 3500}
    later = await service.quote(db, ask(("SHIRT", 2)), now=tomorrow)
    assert later.result.total == 3998
    just_before = await service.quote(db, ask(("SHIRT", 1)), now=tomorrow - timedelta(microseconds=1))
    assert just_before.result.total == 2500

    history = await service.price_history(db, "SHIRT", zone=None, currency="EUR", cursor=None, limit=10)
    assert [(p.amount, p.valid_from) for p in history.items] == [(1999, tomorrow), (2500, T0)]
    with pytest.raises(PriceNotFound):
        await service.quote(db, ask(("SHIRT", 1)), now=T0 - timedelta(seconds=1))

    await db.flush()
    events = (await db.scalars(select(OutboxEvent).where(OutboxEvent.type == "price.scheduled"))).all()
    assert sorted(e.payload["amount"] for e in events if e.payload["sku"] == "SHIRT") == [1999, 2500]


async def test_a_price_cannot_be_rewritten_in_the_past(db: AsyncSession) -> None:
    await shop(db)
    with pytest.raises(PriceInPast):
        await set_price(db, "SHIRT", 100, valid_from=T0 - timedelta(seconds=1))


async def test_zones_resolve_by_address_and_fall_back_to_default_prices(db: AsyncSession) -> None:
    await priced_shop(db)
    await service.create_zone(
        db,
        PriceZoneCreate(
            code="north",
            name="North",
            delivery_fees=[DeliveryFeeIn(currency="EUR", amount=495)],
            areas=[ZoneAreaIn(country="DE")],
        ),
    )
    await service.create_zone(
        db, PriceZoneCreate(code="munich", name="Munich", areas=[ZoneAreaIn(country="DE", postal_prefix="80")])
    )
    await set_price(db, "SHIRT", 2700, zone="north")

    assert await service.resolve_zone(db, country="DE", postal_code="10115") == "north"
    assert await service.resolve_zone(db, country="DE", postal_code="80 331") == "munich"
    assert await service.resolve_zone(db, country="FR", postal_code="75001") == "default"
    assert await service.resolve_zone(db, zone="north", country="FR", postal_code="1") == "north"

    result = (await service.quote(db, ask(("SHIRT", 1), ("MUG", 1), zone="north", home_delivery=True))).result
    assert [line.unit_price for line in result.lines] == [2700, 1200]  # MUG: the default zone's price
    assert (result.delivery_fee, result.delivery, result.total) == (495, 495, 4395)
    pickup = (await service.quote(db, ask(("SHIRT", 1), zone="north"))).result
    assert (pickup.delivery, pickup.total) == (0, 2700)

    with pytest.raises(UnknownZone):
        await service.quote(db, ask(("SHIRT", 1), zone="atlantis"))


async def test_a_quote_resolves_the_zone_of_an_address_itself(db: AsyncSession) -> None:
    await priced_shop(db)
    await service.create_zone(
        db,
        PriceZoneCreate(
            code="north",
            name="North",
            delivery_fees=[DeliveryFeeIn(currency="EUR", amount=495)],
            areas=[ZoneAreaIn(country="DE")],
        ),
    )
    await service.create_zone(
        db, PriceZoneCreate(code="munich", name="Munich", areas=[ZoneAreaIn(country="DE", postal_prefix="80")])
    )
    await set_price(db, "SHIRT", 2700, zone="north")

    def by_address(country: str, postal_code: str) -> service.QuoteInput:
        return ask(("SHIRT", 1), zone=service.ZoneAddress(country, postal_code), home_delivery=True)

    north = (await service.quote(db, by_address("DE", "10115"))).result
    assert (north.zone, north.lines[0].unit_price, north.delivery_fee, north.total) == ("north", 2700, 495, 3195)
    munich = (await service.quote(db, by_address("DE", "80 331"))).result  # the longest prefix wins
    assert (munich.zone, munich.lines[0].unit_price, munich.delivery_fee) == ("munich", 2500, 0)
    elsewhere = (await service.quote(db, by_address("FR", "75001"))).result
    assert (elsewhere.zone, elsewhere.lines[0].unit_price, elsewhere.delivery_fee) == ("default", 2500, 0)
    with pytest.raises(PriceNotFound) as unpriced:
        await service.quote(db, ask(("SHIRT", 1), zone=service.ZoneAddress("DE", "10115"), currency="USD"))
    assert unpriced.value.extra["zone"] == "north"


async def test_bad_input_is_a_clear_problem(db: AsyncSession) -> None:
    await priced_shop(db)
    with pytest.raises(UnknownSku) as unknown:
        await service.quote(db, ask(("SHIRT", 1), ("NOPE", 1)))
    assert unknown.value.extra == {"skus": ["NOPE"]}
    with pytest.raises(PriceNotFound) as unpriced:
        await service.quote(db, ask(("SHIRT", 1), currency="JPY"))
    assert unpriced.value.extra["skus"] == ["SHIRT"]
    with pytest.raises(UnsupportedCurrency):
        await service.quote(db, ask(("SHIRT", 1), currency="XXX"))


async def test_promotions_from_the_database_price_exactly(db: AsyncSession) -> None:
    await priced_shop(db)
    await promotion(db, Kind.PERCENT_OFF_ITEMS, percent_bp=2000, target={"categories": ["apparel"]})
    await promotion(db, Kind.ORDER_AMOUNT_OFF, amount=500, currency="EUR", code="FIVE")
    await promotion(db, Kind.ORDER_AMOUNT_OFF, amount=500, currency="JPY", code="YEN")

    q = await service.quote(db, ask(("SHIRT", 2), ("SOCKS", 1), ("MUG", 1), codes=("five", "yen", "nope")))
    r = q.result
    # apparel 20 %: shirts 50.00 -> 40.00, socks 7.99 -> 6.39 (1.598 -> 1.60); then 5.00 over
    # 58.39: exact shares 3.4252, 0.5471, 1.0276 -> floors 342 + 54 + 102, leftover 2 to MUG, SOCKS
    assert [line.net for line in r.lines] == [3658, 584, 1097]
    assert r.subtotal == 6999
    assert r.total == 5339
    assert [(c.code, c.reason) for c in r.codes] == [
        ("FIVE", Reason.APPLIED),
        ("YEN", Reason.CURRENCY_MISMATCH),
        ("NOPE", Reason.UNKNOWN_CODE),
    ]
    assert set(q.promotion_names.values()) >= {"percent_off_items promotion", "order_amount_off promotion"}


async def test_a_promotion_starting_one_second_after_the_order_time(db: AsyncSession) -> None:
    await priced_shop(db)
    await promotion(
        db, Kind.ORDER_AMOUNT_OFF, amount=500, currency="EUR", code="SOON", starts_at=T0 + timedelta(seconds=1)
    )
    r = (await service.quote(db, ask(("MUG", 1), codes=("SOON",)))).result
    assert (r.total, r.codes[0].reason) == (1200, Reason.NOT_STARTED)
    r = (await service.quote(db, ask(("MUG", 1), codes=("SOON",)), now=T0 + timedelta(seconds=1))).result
    assert (r.total, r.codes[0].reason) == (700, Reason.APPLIED)


async def test_redeeming_a_coupon_at_its_last_use_and_giving_it_back(db: AsyncSession) -> None:
    await priced_shop(db)
    promo = await promotion(db, Kind.ORDER_AMOUNT_OFF, amount=300, currency="EUR", code="LAST", code_max_uses=2)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    q = await service.quote(db, ask(("MUG", 1), codes=("LAST",)))
    assert await service.redeem(db, quote=q, order_id=first) == [promo.id]
    assert await service.redeem(db, quote=q, order_id=first) == []  # the same order again: nothing more taken
    q = await service.quote(db, ask(("MUG", 1), codes=("LAST",)))
    assert q.result.codes[0].applied  # the last use
    await service.redeem(db, quote=q, order_id=second)

    gone = await service.quote(db, ask(("MUG", 1), codes=("LAST",)))
    assert gone.result.codes[0].reason is Reason.USAGE_LIMIT_REACHED
    with pytest.raises(UsageLimitReached):  # a stale quote cannot take a use that is gone
        await service.redeem(db, quote=q, order_id=third)

    assert await service.give_back(db, order_id=first) == 1
    assert await service.give_back(db, order_id=first) == 0
    code = await db.get(PromotionCode, "LAST", populate_existing=True)
    assert code is not None and code.times_used == 1
    back = await service.quote(db, ask(("MUG", 1), codes=("LAST",)))
    assert back.result.codes[0].applied


async def test_per_customer_and_total_limits(db: AsyncSession) -> None:
    await priced_shop(db)
    promo = await promotion(db, Kind.ORDER_PERCENT_OFF, percent_bp=1000, usage_limit_per_customer=1)
    alice, bob = uuid.uuid4(), uuid.uuid4()

    anonymous = await service.quote(db, ask(("MUG", 1)))
    assert anonymous.result.total == 1200  # a per-customer limit needs to know the customer
    q = await service.quote(db, ask(("MUG", 1), customer_id=alice))
    assert q.result.total == 1080
    await service.redeem(db, quote=q, order_id=uuid.uuid4())
    assert (await service.quote(db, ask(("MUG", 1), customer_id=alice))).result.total == 1200
    assert (await service.quote(db, ask(("MUG", 1), customer_id=bob))).result.total == 1080

    # a total limit introduced later counts the uses already made
    updated = await service.update_promotion(db, promo.id, PromotionUpdate(usage_limit=2))
    assert updated.times_used == 1
    q = await service.quote(db, ask(("MUG", 1), customer_id=bob))
    await service.redeem(db, quote=q, order_id=uuid.uuid4())
    carol = await service.quote(db, ask(("MUG", 1), customer_id=uuid.uuid4()))
    assert carol.result.total == 1200


async def test_an_archived_promotion_stops_applying(db: AsyncSession) -> None:
    await priced_shop(db)
    promo = await promotion(db, Kind.ORDER_AMOUNT_OFF, amount=200, currency="EUR", code="BYE")
    await service.archive_promotion(db, promo.id)
    r = (await service.quote(db, ask(("MUG", 1), codes=("BYE",)))).result
    assert (r.total, r.codes[0].reason) == (1200, Reason.CODE_EXPIRED)


async def test_every_live_promotion_is_read_however_many(db: AsyncSession) -> None:
    await priced_shop(db)
    for i in range(40):
        await promotion(db, Kind.ORDER_AMOUNT_OFF, amount=10, currency="EUR", name=f"small {i}")
    tiered = await promotion(
        db,
        Kind.SPEND_THRESHOLD,
        currency="EUR",
        tiers=[TierIn(threshold=1000, amount=100), TierIn(threshold=2000, amount=300)],
        ends_at=T0 + timedelta(hours=1),
        channels=["web"],
    )
    await promotion(db, Kind.ORDER_AMOUNT_OFF, amount=999, currency="EUR", ends_at=T0)  # over

    q = await service.quote(db, ask(("SHIRT", 1), channel="web"))
    assert len(q.promotion_names) == 41 and q.promotion_names[str(tiered.id)] == tiered.name
    assert q.result.discount_total == 300 + 40 * 10  # 25.00 spent: the 20.00 tier
    assert (await service.quote(db, ask(("SHIRT", 1), channel="pos"))).result.discount_total == 40 * 10
    later = await service.quote(db, ask(("SHIRT", 1), channel="web"), now=T0 + timedelta(hours=1))
    assert later.result.discount_total == 40 * 10


async def test_a_promotion_is_one_shape_whether_being_saved_or_read_by_a_quote(db: AsyncSession) -> None:
    """The quote decodes the `promotions` row straight into rules.Promotion, and a promotion
    being created is checked as the same struct: both readings agree, field for field."""
    products = await priced_shop(db)
    created = await promotion(
        db,
        Kind.SPEND_THRESHOLD,
        name="Spend more",
        currency="EUR",
        tiers=[TierIn(threshold=3000, amount=300), TierIn(threshold=6000, amount=900)],
        target={"skus": ["SHIRT"], "products": [products["MUG"]], "categories": ["apparel"]},
        channels=["web"],
        usage_limit=5,
        ends_at=T0 + timedelta(days=2),
    )
    found = await repository.quote_facts(
        db, skus=["SHIRT"], zone=None, address=None, currency="EUR", at=T0, codes=[], customer_id=None
    )
    read = {p.id: p for p in found.promotions}[str(created.id)]
    assert read == repository.as_rule(created)
    assert read.name == "Spend more" and read.tiers == (Tier(3000, 300), Tier(6000, 900))
    assert read.target.products == frozenset({str(products["MUG"])}) and read.channels == frozenset({"web"})
