"""Customer use cases: the single customer record of every channel.

Public functions (other domains call only these; none commits):
- `create_customer(session, principal, data: CustomerCreate) -> CustomerOut`: issues the
  loyalty card; 409 `customer_exists` (with `existing_customer_id`) if the email or phone
  is already known, also when it belongs to a record that was merged away.
- `get_customer(session, customer_id) -> CustomerOut`: follows merges (an absorbed id gives
  the survivor); 404 `customer_not_found`.
- `resolve_customer_id(session, customer_id) -> uuid.UUID | None`: the survivor's id.
- `find_customers(session, *, email=None, phone=None, card=None) -> list[CustomerOut]`:
  exactly one key, exact match after normalization, 0 or 1 result.
- `update_customer(session, customer_id, data: CustomerUpdate) -> CustomerOut`.
- `customer_of_token(session, principal, token) -> UUID`: whose token it is (403 if none).
- `customers_named(session, prefix, *, cursor, limit) -> Page[CustomerOut]`: live records
  whose name starts with `prefix` (staff search; at least two characters).
- `merge_customers(session, survivor_id, absorbed_id) -> Merged`: folds the records (both
  rows locked, by id) and records `customer.merged`; `Merged.fresh` is False when the merge
  was done before (a repeat). The customer-merge flow (app/flows/customer_merge.py) then
  moves the orders, carts and points in the same transaction.
- `authorize_customer_access(session, principal, customer_id, token) -> None`: the
  storefront rule (below); orders call it before showing or changing a customer's things.
- `visible_customers(session, principal, token, customers) -> list[CustomerOut]`: a
  look-up result as the caller may see it (a storefront: only its token's customer).
- `issue_customer_token(session, principal, customer_id) -> CustomerTokenOut` and
  `start_customer_session(session, principal, *, email=None, phone=None) -> CustomerTokenOut`.
- `overview(customer, balance, entries, history_limit) -> CustomerOverview`: the
  contact-center view from the parts the flow gathers (orders' history, loyalty's balance).
- `purge_expired_tokens(session) -> int`.

The storefront rule: a storefront key (web or app) reads or changes a customer's record
only with that customer's token (`X-Customer-Token`), obtained by the same key. Staff and
physical-presence channels (contact_center, pos, kiosk, admin) need none. Tokens are
random, stored as SHA-256, expire after OMS_CUSTOMER_TOKEN_TTL_MINUTES (default 1 day),
and follow merges to the survivor.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import msgspec
from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock, outbox
from app.core.auth import Principal, Role, hash_key
from app.core.pagination import Keyset, Page
from app.core.settings import get_settings
from app.customers import repository, rules
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
from app.customers.models import Customer
from app.customers.schemas import (
    Address,
    CustomerCreate,
    CustomerOut,
    CustomerOverview,
    CustomerTokenOut,
    CustomerUpdate,
    HistoryEntry,
    LoyaltyBalance,
)

__all__ = [
    "HistoryEntry",
    "LoyaltyBalance",
    "Merged",
    "authorize_customer_access",
    "create_customer",
    "customer_of_token",
    "customers_named",
    "find_customers",
    "get_customer",
    "issue_customer_token",
    "merge_customers",
    "overview",
    "purge_expired_tokens",
    "resolve_customer_id",
    "start_customer_session",
    "update_customer",
    "visible_customers",
]

TOKEN_PREFIX = "oct_"
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


def _out(customer: Customer, merged_ids: Sequence[uuid.UUID]) -> CustomerOut:
    return CustomerOut(
        id=customer.id,
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        card_number=customer.card_number,
        addresses=msgspec.convert(customer.addresses or [], list[Address]),
        marketing_consent=customer.marketing_consent,
        marketing_consent_at=customer.marketing_consent_at,
        source_channel=customer.source_channel,
        merged_ids=list(merged_ids),
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )


def _stored(addresses: Sequence[Address]) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(a) for a in addresses]


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
    return _out(customer, [])


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
    return _out(row[0], row[1])


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
    return [] if row is None else [_out(row[0], row[1])]


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
        addresses = _stored(data.addresses)
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


# ---- storefront access ------------------------------------------------------------------


async def authorize_customer_access(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID, token: str | None
) -> None:
    """Refuse (403) a storefront key that does not present a valid token of this customer
    (or of a record merged into it). Other roles pass: their routes already limit them."""
    if principal.role is not Role.STOREFRONT:
        return
    if not token:
        raise CustomerTokenRequired("a storefront key must send the customer's X-Customer-Token")
    granted = await repository.token_grants(
        session, token_hash=hash_key(token), api_key_id=principal.key_id, customer_id=customer_id, now=clock.now()
    )
    if not granted:
        raise CustomerTokenInvalid()


async def visible_customers(
    session: AsyncSession, principal: Principal, token: str | None, customers: list[CustomerOut]
) -> list[CustomerOut]:
    """A storefront sees in a look-up only the customer its token is for; others see all."""
    if principal.role is not Role.STOREFRONT:
        return customers
    visible = []
    for customer in customers:
        try:
            await authorize_customer_access(session, principal, customer.id, token)
        except (CustomerTokenRequired, CustomerTokenInvalid):
            continue
        visible.append(customer)
    return visible


async def issue_customer_token(session: AsyncSession, principal: Principal, customer_id: uuid.UUID) -> CustomerTokenOut:
    """A new token for the survivor of `customer_id`, usable by `principal`'s key only.
    The plaintext is returned once and never stored."""
    survivor_id = await resolve_customer_id(session, customer_id)
    if survivor_id is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    expires_at = now + token_ttl()
    await repository.insert_token(
        session,
        token_hash=hash_key(token),
        customer_id=survivor_id,
        api_key_id=principal.key_id,
        created_at=now,
        expires_at=expires_at,
    )
    return CustomerTokenOut(customer_id=survivor_id, token=token, expires_at=expires_at)


async def start_customer_session(
    session: AsyncSession, principal: Principal, *, email: str | None = None, phone: str | None = None
) -> CustomerTokenOut:
    """The storefront has logged the shopper in (its own check): a token for their record."""
    if (email is None) == (phone is None):
        raise InvalidLookup("send exactly one of email or phone")
    found = await find_customers(session, email=email, phone=phone)
    if not found:
        raise CustomerNotFound("no customer with this email or phone")
    return await issue_customer_token(session, principal, found[0].id)


async def purge_expired_tokens(session: AsyncSession) -> int:
    return await repository.delete_expired_tokens(session, clock.now())


# ---- contact-center view ----------------------------------------------------------------


def overview(
    customer: CustomerOut, balance: LoyaltyBalance, entries: Sequence[HistoryEntry], history_limit: int
) -> CustomerOverview:
    """Profile, loyalty balance and the newest `history_limit` entries of every channel."""
    return CustomerOverview(
        customer=customer, loyalty=balance, history=rules.newest_first(list(entries), history_limit)
    )


# ---- name search (contact center) ---------------------------------------------------------

NAMES = Keyset("customers_by_name", str, uuid.UUID)
MIN_NAME_PREFIX = 2


async def customers_named(session: AsyncSession, prefix: str, *, cursor: str | None, limit: int) -> Page[CustomerOut]:
    """Live records whose name starts with `prefix` (case-insensitive, at least two
    characters), by name. For staff only: a storefront never enumerates customers."""
    wanted = " ".join(prefix.split()).lower()
    if len(wanted) < MIN_NAME_PREFIX:
        raise InvalidLookup(f"a name search needs at least {MIN_NAME_PREFIX} characters")
    after = NAMES.after(cursor, scope=wanted)
    rows = await repository.by_name_prefix(session, wanted, (after[0], after[1]) if after else None, limit)
    items = [_out(row[0], row[1]) for row in rows]
    return NAMES.page(items, limit, lambda c: [c.name.lower(), c.id], scope=wanted)


async def customer_of_token(session: AsyncSession, principal: Principal, token: str) -> uuid.UUID:
    """Whose token this is (a storefront listing "my orders" without naming the customer);
    403 `customer_token_invalid` when it is unknown, expired or another key's."""
    customer_id = await repository.token_customer(
        session, token_hash=hash_key(token), api_key_id=principal.key_id, now=clock.now()
    )
    if customer_id is None:
        raise CustomerTokenInvalid()
    return customer_id
