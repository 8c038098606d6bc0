"""The single customer record: create, find, update, merge (one per person, every channel)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import msgspec
from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock, outbox
from app.core.auth import Principal
from app.core.settings import get_settings
from app.customers import repository, rules
from app.customers.errors import (
    CannotMergeSelf,
    CustomerExists,
    CustomerMerged,
    CustomerNotFound,
    InvalidCardNumber,
    InvalidEmail,
    InvalidLookup,
    InvalidPhone,
)
from app.customers.models import Customer
from app.customers.schemas import (
    Address,
    CustomerCreate,
    CustomerOut,
    CustomerOverview,
    CustomerUpdate,
    HistoryEntry,
    LoyaltyBalance,
    SavedAddressOut,
)

# A fresh random card number collides with an issued one with odds ~ cards / 10^10.
_CARD_ATTEMPTS = 5


def default_region() -> str:
    """Country assumed for phone numbers written without a country code."""
    return get_settings().default_region


def token_ttl() -> timedelta:
    return timedelta(minutes=get_settings().customer_token_ttl_minutes)


# ---- normalization at the service edge --------------------------------------------------


def _email(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return rules.normalize_email(raw)
    except rules.InvalidContact as exc:
        raise InvalidEmail(str(exc), field="email") from None


def _phone(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return rules.normalize_phone(raw, default_region())
    except rules.InvalidContact as exc:
        raise InvalidPhone(str(exc), field="phone") from None


def normalized_contact(email: str | None, phone: str | None, *, field: str = "contact") -> dict[str, str]:
    """A contact given outside a customer record (a guest's order) normalized like the
    record's: 422 `invalid_email` / `invalid_phone` naming `<field>.email` / `<field>.phone`."""
    contact: dict[str, str] = {}
    if email is not None:
        try:
            contact["email"] = rules.normalize_email(email)
        except rules.InvalidContact as exc:
            raise InvalidEmail(str(exc), field=f"{field}.email") from None
    if phone is not None:
        try:
            contact["phone"] = rules.normalize_phone(phone, default_region())
        except rules.InvalidContact as exc:
            raise InvalidPhone(str(exc), field=f"{field}.phone") from None
    return contact


def customer_out(customer: Customer, merged_ids: Sequence[uuid.UUID]) -> CustomerOut:
    return CustomerOut(
        id=customer.id,
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        card_number=customer.card_number,
        addresses=msgspec.convert(customer.addresses or [], list[SavedAddressOut]),
        marketing_consent=customer.marketing_consent,
        marketing_consent_at=customer.marketing_consent_at,
        source_channel=customer.source_channel,
        merged_ids=list(merged_ids),
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )


def _stored(addresses: Sequence[Address], known: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """As saved: each with an id (a place already known keeps its id)."""
    return rules.with_ids([msgspec.to_builtins(a) for a in addresses], known)


# ---- the record -------------------------------------------------------------------------


async def create_customer(session: AsyncSession, principal: Principal, data: CustomerCreate) -> CustomerOut:
    email, phone = _email(data.email), _phone(data.phone)
    now = clock.now()
    customer = None
    for _ in range(_CARD_ATTEMPTS):
        customer = await repository.insert_customer(
            session,
            {
                "id": uuid.uuid4(),
                "name": data.name,
                "email": email,
                "phone": phone,
                "card_number": rules.new_card_number(),
                "addresses": _stored(data.addresses),
                "marketing_consent": data.marketing_consent,
                # The consent decision (yes or no) was made now; merges keep the newest.
                "marketing_consent_at": now,
                "source_channel": principal.channel.value if principal.channel else None,
                "created_at": now,
                "updated_at": now,
            },
        )
        if customer is not None:
            break
        await _refuse_taken(session, None, email=email, phone=phone)
        # Nothing holds the email or phone: the card number collided; draw another.
    if customer is None:
        raise RuntimeError("could not draw a free loyalty card number")
    await outbox.record(
        session,
        "customer.created",
        aggregate_type="customer",
        aggregate_id=str(customer.id),
        payload={
            "customer_id": str(customer.id),
            "card_number": customer.card_number,
            "channel": customer.source_channel,
        },
    )
    return customer_out(customer, [])


async def _refuse_taken(
    session: AsyncSession, customer_id: uuid.UUID | None, *, email: str | None, phone: str | None
) -> None:
    """409 if another person's record (or one merged into it) holds the email or phone.
    A tombstone merged into `customer_id` itself gives the contact up instead."""
    for row_id, survivor_id, field in await repository.holder_of(session, email=email, phone=phone):
        if survivor_id == customer_id:
            if row_id != customer_id:
                await repository.release_contact(session, row_id, field)
            continue
        raise CustomerExists(
            f"a customer with this {field} already exists",
            existing_customer_id=str(survivor_id),
            matched=field,
        )


async def get_customer(session: AsyncSession, customer_id: uuid.UUID) -> CustomerOut:
    row = await repository.by_id(session, customer_id)
    if row is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    return customer_out(row[0], row[1])


async def resolve_customer_id(session: AsyncSession, customer_id: uuid.UUID) -> uuid.UUID | None:
    row = await repository.by_id(session, customer_id)
    return None if row is None else row[0].id


async def find_customers(
    session: AsyncSession, *, email: str | None = None, phone: str | None = None, card: str | None = None
) -> list[CustomerOut]:
    if sum(key is not None for key in (email, phone, card)) != 1:
        raise InvalidLookup("send exactly one of email, phone or card")
    if email is not None:
        row = await repository.by_email(session, _email(email) or "")
    elif phone is not None:
        row = await repository.by_phone(session, _phone(phone) or "")
    else:
        number = (card or "").strip()
        if not rules.is_card_number(number):
            raise InvalidCardNumber("a card number is 13 digits starting with 29 with a valid check digit")
        row = await repository.by_card(session, number)
    return [] if row is None else [customer_out(row[0], row[1])]


async def update_customer(session: AsyncSession, customer_id: uuid.UUID, data: CustomerUpdate) -> CustomerOut:
    survivor_id = await resolve_customer_id(session, customer_id)
    customer = (await repository.lock(session, [survivor_id])).get(survivor_id) if survivor_id else None
    if customer is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    now = clock.now()
    changed: list[str] = []
    if data.name is not UNSET and data.name != customer.name:
        customer.name = data.name
        changed.append("name")
    if data.email is not UNSET:
        email = _email(data.email)
        if email != customer.email:
            await _refuse_taken(session, customer.id, email=email, phone=None)
            customer.email = email
            changed.append("email")
    if data.phone is not UNSET:
        phone = _phone(data.phone)
        if phone != customer.phone:
            await _refuse_taken(session, customer.id, email=None, phone=phone)
            customer.phone = phone
            changed.append("phone")
    if data.addresses is not UNSET:
        addresses = _stored(data.addresses, customer.addresses or [])
        if addresses != customer.addresses:
            customer.addresses = addresses
            changed.append("addresses")
    if data.marketing_consent is not UNSET and data.marketing_consent != customer.marketing_consent:
        customer.marketing_consent = data.marketing_consent
        customer.marketing_consent_at = now
        changed.append("marketing_consent")
    if changed:
        customer.updated_at = now
        await session.flush()
        # Field names only: events reach webhooks, and contacts are personal data.
        await outbox.record(
            session,
            "customer.updated",
            aggregate_type="customer",
            aggregate_id=str(customer.id),
            payload={"customer_id": str(customer.id), "changed": changed},
        )
    return await get_customer(session, customer.id)


# ---- merge ------------------------------------------------------------------------------


def _profile(customer: Customer) -> rules.Profile:
    return rules.Profile(
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        addresses=list(customer.addresses or []),
        marketing_consent=customer.marketing_consent,
        marketing_consent_at=customer.marketing_consent_at,
    )


class Merged(msgspec.Struct, frozen=True):
    customer: CustomerOut  # the survivor
    fresh: bool  # False: the absorbed record had been merged into the survivor before


async def merge_customers(session: AsyncSession, survivor_id: uuid.UUID, absorbed_id: uuid.UUID) -> Merged:
    """Fold `absorbed_id` into `survivor_id`. Repeating a finished merge returns the survivor."""
    if survivor_id == absorbed_id:
        raise CannotMergeSelf("survivor and absorbed record are the same")
    rows = await repository.lock(session, [survivor_id, absorbed_id])
    survivor, absorbed = rows.get(survivor_id), rows.get(absorbed_id)
    for wanted, row in ((survivor_id, survivor), (absorbed_id, absorbed)):
        if row is None:
            raise CustomerNotFound(f"no customer {wanted}", customer_id=str(wanted))
    assert survivor is not None and absorbed is not None
    if absorbed.merged_into_id == survivor.id:
        return Merged(await get_customer(session, survivor.id), fresh=False)
    for row in (survivor, absorbed):
        if row.merged_into_id is not None:
            raise CustomerMerged(
                f"customer {row.id} was already merged", customer_id=str(row.id), merged_into=str(row.merged_into_id)
            )
    now = clock.now()
    merged = rules.merge_profiles(_profile(survivor), _profile(absorbed))
    # The tombstone keeps its id, card and any contact the survivor did not take, so all
    # of them still find the survivor; a contact the survivor takes must leave it first.
    absorbed.merged_into_id, absorbed.merged_at, absorbed.updated_at = survivor.id, now, now
    absorbed.addresses = []
    if merged.email is not None and merged.email == absorbed.email and survivor.email is None:
        absorbed.email = None
    if merged.phone is not None and merged.phone == absorbed.phone and survivor.phone is None:
        absorbed.phone = None
    await session.flush()
    survivor.email, survivor.phone, survivor.addresses = merged.email, merged.phone, merged.addresses
    survivor.marketing_consent, survivor.marketing_consent_at = merged.marketing_consent, merged.marketing_consent_at
    survivor.updated_at = now
    await session.flush()
    await repository.repoint_tombstones(session, absorbed.id, survivor.id)
    await repository.move_tokens(session, absorbed.id, survivor.id)
    await outbox.record(
        session,
        "customer.merged",
        aggregate_type="customer",
        aggregate_id=str(survivor.id),
        payload={"survivor_id": str(survivor.id), "absorbed_id": str(absorbed.id)},
    )
    return Merged(await get_customer(session, survivor.id), fresh=True)


# ---- contact-center view ----------------------------------------------------------------


def overview(
    customer: CustomerOut, balance: LoyaltyBalance, entries: Sequence[HistoryEntry], history_limit: int
) -> CustomerOverview:
    """Profile, loyalty balance and the newest `history_limit` entries of every channel."""
    return CustomerOverview(
        customer=customer, loyalty=balance, history=rules.newest_first(list(entries), history_limit)
    )
