from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.auth import Channel, Principal, Role, create_key
from app.core.errors import Problem
from app.core.models import OutboxEvent
from app.core.money import Money
from app.core.settings import Settings
from app.customers import rules, service
from app.customers.errors import (
    CannotMergeSelf,
    CustomerExists,
    CustomerMerged,
    CustomerNotFound,
    CustomerTokenInvalid,
    CustomerTokenRequired,
    InvalidCardNumber,
    InvalidEmail,
    InvalidLookup,
    InvalidPhone,
)
from app.customers.models import Customer, CustomerToken
from app.customers.schemas import Address, CustomerCreate, CustomerUpdate
from app.customers.service import HistoryEntry, LoyaltyBalance
from app.flows import customer_merge


async def _principal(
    db: AsyncSession, role: Role, channel: Channel | None = None, location: str | None = None
) -> Principal:
    key, _ = await create_key(db, role=role, name=f"test {role}", channel=channel, location_code=location)
    return Principal(key_id=key.id, role=role, channel=Channel(key.channel) if key.channel else None)


@pytest.fixture
async def web(db: AsyncSession) -> Principal:
    return await _principal(db, Role.STOREFRONT, Channel.WEB)


@pytest.fixture
async def agent(db: AsyncSession) -> Principal:
    return await _principal(db, Role.CONTACT_CENTER)


async def _create(db: AsyncSession, principal: Principal, **fields: object) -> service.CustomerOut:
    body: dict[str, object] = {"name": "Ada Lovelace"}
    body.update(fields)
    return await service.create_customer(db, principal, CustomerCreate(**body))  # type: ignore[arg-type]


async def _events(db: AsyncSession, type: str) -> list[dict[str, object]]:
    await db.flush()
    rows = await db.scalars(select(OutboxEvent.payload).where(OutboxEvent.type == type).order_by(OutboxEvent.id))
    return list(rows)


async def _count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Customer)) or 0)


# ---- create and look up ----------------------------------------------------------------


async def test_create_normalizes_contacts_and_issues_a_card(db: AsyncSession, web: Principal) -> None:
    created = await _create(db, web, email=" Ada@Example.COM ", phone="030 1234567", marketing_consent=True)
    assert created.email == "ada@example.com"
    assert created.phone == "+49301234567"
    assert rules.is_card_number(created.card_number)
    assert created.source_channel == "web"
    assert created.marketing_consent is True
    assert created.merged_ids == []
    assert await _events(db, "customer.created") == [
        {"customer_id": str(created.id), "card_number": created.card_number, "channel": "web"}
    ]


async def test_duplicate_email_points_to_the_existing_customer(db: AsyncSession, web: Principal) -> None:
    first = await _create(db, web, email="ada@example.com")
    with pytest.raises(CustomerExists) as info:
        await _create(db, web, name="Someone", email="ADA@example.com")
    assert info.value.extra == {"existing_customer_id": str(first.id), "matched": "email"}
    assert await _count(db) == 1


async def test_duplicate_phone_in_another_spelling_is_a_duplicate(db: AsyncSession, web: Principal) -> None:
    first = await _create(db, web, phone="+49 30 1234567")
    with pytest.raises(CustomerExists) as info:
        await _create(db, web, phone="030 1234567")
    assert info.value.extra["existing_customer_id"] == str(first.id)
    assert info.value.extra["matched"] == "phone"


async def test_invalid_contacts_are_refused_before_anything_is_written(db: AsyncSession, web: Principal) -> None:
    with pytest.raises(InvalidEmail):
        await _create(db, web, email="not-an-email")
    with pytest.raises(InvalidPhone):
        await _create(db, web, phone="12")
    assert await _count(db) == 0


async def test_lookup_by_each_key(db: AsyncSession, web: Principal) -> None:
    created = await _create(db, web, email="ada@example.com", phone="+49 30 1234567")
    for found in (
        await service.find_customers(db, email="Ada@Example.com"),
        await service.find_customers(db, phone="030 1234567"),
        await service.find_customers(db, card=created.card_number),
    ):
        assert [c.id for c in found] == [created.id]
    assert await service.find_customers(db, email="nobody@example.com") == []


async def test_lookup_needs_exactly_one_valid_key(db: AsyncSession) -> None:
    with pytest.raises(InvalidLookup):
        await service.find_customers(db)
    with pytest.raises(InvalidLookup):
        await service.find_customers(db, email="a@b.de", phone="030 1234567")
    with pytest.raises(InvalidCardNumber):
        await service.find_customers(db, card="2900000000004")


async def test_default_region_comes_from_the_settings(
    db: AsyncSession, web: Principal, configure: Callable[..., Settings]
) -> None:
    configure(default_region="FR")
    created = await _create(db, web, phone="01 23 45 67 89")
    assert created.phone == "+33123456789"


async def test_update_changes_fields_and_records_what_changed(db: AsyncSession, web: Principal) -> None:
    clock.freeze(datetime(2026, 3, 1, 12, tzinfo=UTC))
    created = await _create(db, web, email="ada@example.com")
    clock.advance(timedelta(minutes=5))
    updated = await service.update_customer(
        db,
        created.id,
        CustomerUpdate(
            phone="030 1234567",
            marketing_consent=True,
            addresses=[Address(line1="Main St 1", city="Berlin", country="DE", label="home")],
        ),
    )
    assert updated.phone == "+49301234567"
    assert updated.email == "ada@example.com"
    assert updated.marketing_consent is True
    assert updated.marketing_consent_at == datetime(2026, 3, 1, 12, 5, tzinfo=UTC)
    assert updated.updated_at == datetime(2026, 3, 1, 12, 5, tzinfo=UTC)
    assert updated.created_at == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert updated.addresses[0].label == "home"
    assert await _events(db, "customer.updated") == [
        {"customer_id": str(created.id), "changed": ["phone", "addresses", "marketing_consent"]}
    ]


async def test_update_to_another_customers_email_is_a_conflict(db: AsyncSession, web: Principal) -> None:
    ada = await _create(db, web, email="ada@example.com")
    bob = await _create(db, web, name="Bob", email="bob@example.com")
    with pytest.raises(CustomerExists) as info:
        await service.update_customer(db, bob.id, CustomerUpdate(email="ada@example.com"))
    assert info.value.extra["existing_customer_id"] == str(ada.id)


async def test_unchanged_update_records_no_event(db: AsyncSession, web: Principal) -> None:
    created = await _create(db, web, email="ada@example.com")
    await service.update_customer(db, created.id, CustomerUpdate(email="ADA@example.com", name="Ada Lovelace"))
    assert await _events(db, "customer.updated") == []


# ---- merge -----------------------------------------------------------------------------


async def test_merge_folds_the_guest_into_the_registration(db: AsyncSession, web: Principal) -> None:
    guest = await _create(
        db,
        web,
        email="guest@example.com",
        phone="030 1234567",
        addresses=[Address(line1="Side St 2", city="Berlin", country="DE")],
    )
    registered = await _create(db, web, email="ada@example.com")
    merged = await customer_merge.merge_customers(db, registered.id, guest.id)
    assert merged.id == registered.id
    assert merged.email == "ada@example.com"
    assert merged.phone == "+49301234567"  # taken over from the guest record
    assert [a.line1 for a in merged.addresses] == ["Side St 2"]
    assert merged.merged_ids == [guest.id]
    for found in (
        await service.find_customers(db, email="guest@example.com"),
        await service.find_customers(db, phone="+49 30 1234567"),
        await service.find_customers(db, card=guest.card_number),
        await service.find_customers(db, card=registered.card_number),
    ):
        assert [c.id for c in found] == [registered.id]
    assert (await service.get_customer(db, guest.id)).id == registered.id
    assert await _events(db, "customer.merged") == [{"survivor_id": str(registered.id), "absorbed_id": str(guest.id)}]
    # The absorbed email stays reserved for the survivor.
    with pytest.raises(CustomerExists) as info:
        await _create(db, web, email="guest@example.com")
    assert info.value.extra["existing_customer_id"] == str(registered.id)


async def test_the_merge_flow_moves_orders_in_the_same_transaction(
    db: AsyncSession, web: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    guest = await _create(db, web, email="guest@example.com")
    registered = await _create(db, web, email="ada@example.com")
    calls: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID | None]] = []
    move = customer_merge.orders.move_to_survivor

    async def move_orders(session: AsyncSession, survivor_id: uuid.UUID, absorbed_id: uuid.UUID) -> None:
        # What orders sees: the absorbed record already points at the survivor.
        merged_into = await session.scalar(select(Customer.merged_into_id).where(Customer.id == absorbed_id))
        calls.append((survivor_id, absorbed_id, merged_into))
        await move(session, survivor_id, absorbed_id)

    monkeypatch.setattr(customer_merge.orders, "move_to_survivor", move_orders)
    await customer_merge.merge_customers(db, registered.id, guest.id)
    assert calls == [(registered.id, guest.id, registered.id)]
    await customer_merge.merge_customers(db, registered.id, guest.id)  # a repeat moves nothing again
    assert len(calls) == 1


async def test_a_failing_step_aborts_the_whole_merge(
    db: AsyncSession, web: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    guest = await _create(db, web, email="guest@example.com")
    registered = await _create(db, web, email="ada@example.com")
    await db.commit()  # (a savepoint of the test's transaction)

    async def refuse(session: AsyncSession, survivor_id: uuid.UUID, absorbed_id: uuid.UUID) -> None:
        raise Problem("points cannot move", status=409, code="test_refusal")

    monkeypatch.setattr(customer_merge.loyalty, "merge_cards", refuse)
    with pytest.raises(Problem):
        async with db.begin():
            await customer_merge.merge_customers(db, registered.id, guest.id)
    assert (await service.get_customer(db, guest.id)).id == guest.id
    assert await _events(db, "customer.merged") == []


async def test_merge_refusals(db: AsyncSession, web: Principal) -> None:
    a = await _create(db, web, email="a@example.com")
    b = await _create(db, web, email="b@example.com")
    c = await _create(db, web, email="c@example.com")
    with pytest.raises(CannotMergeSelf):
        await customer_merge.merge_customers(db, a.id, a.id)
    with pytest.raises(CustomerNotFound):
        await customer_merge.merge_customers(db, a.id, uuid.uuid4())
    await customer_merge.merge_customers(db, a.id, b.id)
    # Repeating a finished merge answers the survivor again, without a second event.
    assert (await customer_merge.merge_customers(db, a.id, b.id)).id == a.id
    assert len(await _events(db, "customer.merged")) == 1
    with pytest.raises(CustomerMerged) as info:
        await customer_merge.merge_customers(db, c.id, b.id)
    assert info.value.extra == {"customer_id": str(b.id), "merged_into": str(a.id)}
    with pytest.raises(CustomerMerged):
        await customer_merge.merge_customers(db, b.id, c.id)


async def test_merge_chains_stay_one_hop(db: AsyncSession, web: Principal) -> None:
    a = await _create(db, web, email="a@example.com")
    b = await _create(db, web, email="b@example.com")
    c = await _create(db, web, email="c@example.com")
    await customer_merge.merge_customers(db, b.id, a.id)
    await customer_merge.merge_customers(db, c.id, b.id)
    assert [x.id for x in await service.find_customers(db, card=a.card_number)] == [c.id]
    assert await service.resolve_customer_id(db, a.id) == c.id
    assert sorted((await service.get_customer(db, c.id)).merged_ids) == sorted([a.id, b.id])
    rows = await db.execute(select(Customer.id, Customer.merged_into_id).where(Customer.id.in_([a.id, b.id])))
    assert dict(rows.all()) == {a.id: c.id, b.id: c.id}


async def test_survivor_can_take_back_a_contact_of_its_tombstone(db: AsyncSession, web: Principal) -> None:
    a = await _create(db, web, email="old@example.com")
    b = await _create(db, web, email="new@example.com")
    await customer_merge.merge_customers(db, b.id, a.id)
    updated = await service.update_customer(db, b.id, CustomerUpdate(email="old@example.com"))
    assert updated.email == "old@example.com"
    assert [x.id for x in await service.find_customers(db, email="old@example.com")] == [b.id]
    # "new@example.com" is released: anyone may register it now.
    assert await service.find_customers(db, email="new@example.com") == []


# ---- storefront tokens -----------------------------------------------------------------


async def test_storefront_needs_the_customers_own_token(db: AsyncSession, web: Principal) -> None:
    ada = await _create(db, web, email="ada@example.com")
    bob = await _create(db, web, email="bob@example.com")
    issued = await service.start_customer_session(db, web, email="ADA@example.com")
    assert issued.customer_id == ada.id
    assert issued.token.startswith("oct_")
    await service.authorize_customer_access(db, web, ada.id, issued.token)
    with pytest.raises(CustomerTokenRequired):
        await service.authorize_customer_access(db, web, ada.id, None)
    with pytest.raises(CustomerTokenInvalid):
        await service.authorize_customer_access(db, web, bob.id, issued.token)
    with pytest.raises(CustomerTokenInvalid):
        await service.authorize_customer_access(db, web, ada.id, issued.token + "x")
    # The token is stored only as a hash.
    stored = await db.scalar(select(func.count()).select_from(CustomerToken).where(CustomerToken.customer_id == ada.id))
    assert stored == 1
    raw = await db.scalar(
        text("SELECT count(*) FROM customer_tokens WHERE token_hash = convert_to(:t, 'UTF8')"), {"t": issued.token}
    )
    assert raw == 0


async def test_token_is_bound_to_the_key_that_obtained_it(db: AsyncSession, web: Principal) -> None:
    ada = await _create(db, web, email="ada@example.com")
    app_key = await _principal(db, Role.STOREFRONT, Channel.APP)
    issued = await service.issue_customer_token(db, web, ada.id)
    with pytest.raises(CustomerTokenInvalid):
        await service.authorize_customer_access(db, app_key, ada.id, issued.token)


async def test_token_expires(db: AsyncSession, web: Principal) -> None:
    clock.freeze(datetime(2026, 3, 1, 12, tzinfo=UTC))
    ada = await _create(db, web, email="ada@example.com")
    issued = await service.issue_customer_token(db, web, ada.id)
    assert issued.expires_at == datetime(2026, 3, 2, 12, tzinfo=UTC)
    clock.advance(timedelta(hours=23, minutes=59))
    await service.authorize_customer_access(db, web, ada.id, issued.token)
    clock.advance(timedelta(minutes=1))
    with pytest.raises(CustomerTokenInvalid):
        await service.authorize_customer_access(db, web, ada.id, issued.token)
    assert await service.purge_expired_tokens(db) == 1
    assert await service.purge_expired_tokens(db) == 0


async def test_staff_and_physical_channels_need_no_token(db: AsyncSession, web: Principal, agent: Principal) -> None:
    ada = await _create(db, web, email="ada@example.com")
    pos = await _principal(db, Role.POS, Channel.POS, "STORE-TEST")
    for principal in (agent, pos):
        await service.authorize_customer_access(db, principal, ada.id, None)


async def test_tokens_follow_the_merge(db: AsyncSession, web: Principal) -> None:
    guest = await _create(db, web, email="guest@example.com")
    registered = await _create(db, web, email="ada@example.com")
    guest_token = await service.issue_customer_token(db, web, guest.id)
    await customer_merge.merge_customers(db, registered.id, guest.id)
    await service.authorize_customer_access(db, web, registered.id, guest_token.token)
    await service.authorize_customer_access(db, web, guest.id, guest_token.token)


async def test_session_for_unknown_shopper_is_not_found(db: AsyncSession, web: Principal) -> None:
    with pytest.raises(CustomerNotFound):
        await service.start_customer_session(db, web, phone="030 7654321")
    with pytest.raises(InvalidLookup):
        await service.start_customer_session(db, web)


# ---- contact-center overview -----------------------------------------------------------


async def test_overview_without_orders_or_points_is_empty(db: AsyncSession, web: Principal) -> None:
    ada = await _create(db, web, email="ada@example.com")
    overview = await customer_merge.customer_overview(db, ada.id, 10)
    assert overview.customer.id == ada.id
    assert overview.loyalty.points == 0
    assert overview.history == []


async def test_overview_merges_every_channels_history_newest_first(db: AsyncSession, web: Principal) -> None:
    ada = await _create(db, web, email="ada@example.com")
    t0 = datetime(2026, 2, 1, tzinfo=UTC)
    eur = Money(1999, "EUR")
    web_orders = [
        HistoryEntry(kind="order", id="w2", occurred_at=t0 + timedelta(days=2), channel="web", total=eur),
        HistoryEntry(kind="order", id="w1", occurred_at=t0, channel="web", total=eur),
    ]
    store_returns = [HistoryEntry(kind="return", id="r1", occurred_at=t0 + timedelta(days=1), channel="pos")]
    customer = await service.get_customer(db, ada.id)
    overview = service.overview(customer, LoyaltyBalance(points=420, tier="gold"), [*web_orders, *store_returns], 2)
    assert [e.id for e in overview.history] == ["w2", "r1"]
    assert overview.loyalty == LoyaltyBalance(points=420, tier="gold")
