"""A customer's saved addresses: listed, added, removed, and read by id for an order.

They live in the customer record (`customers.addresses`, each with an `id`); a merge gives
the survivor the absorbed record's addresses with their ids, so an id saved before a merge
still delivers. Access is the customer record's (the caller checks it first).
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock, outbox
from app.customers import repository, rules
from app.customers.errors import AddressNotFound, CustomerNotFound, TooManyAddresses
from app.customers.models import Customer
from app.customers.schemas import Address, SavedAddressOut


async def _locked(session: AsyncSession, customer_id: uuid.UUID) -> Customer:
    row = await repository.by_id(session, customer_id)
    survivor = (await repository.lock(session, [row[0].id])).get(row[0].id) if row else None
    if survivor is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    return survivor


async def list_addresses(session: AsyncSession, customer_id: uuid.UUID) -> list[SavedAddressOut]:
    row = await repository.by_id(session, customer_id)
    if row is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    return msgspec.convert(row[0].addresses or [], list[SavedAddressOut])


async def add_address(session: AsyncSession, customer_id: uuid.UUID, data: Address) -> SavedAddressOut:
    """Saves the address; the same place saved again answers the saved one (its id)."""
    customer = await _locked(session, customer_id)
    known = list(customer.addresses or [])
    [new] = rules.with_ids([msgspec.to_builtins(data)], known)
    saved = next((a for a in known if a.get("id") == new["id"]), None)
    if saved is not None:
        return msgspec.convert(saved, SavedAddressOut)
    if len(known) >= rules.MAX_ADDRESSES:
        raise TooManyAddresses(f"at most {rules.MAX_ADDRESSES} saved addresses")
    customer.addresses = [*known, new]
    await _changed(session, customer)
    return msgspec.convert(new, SavedAddressOut)


async def remove_address(session: AsyncSession, customer_id: uuid.UUID, address_id: uuid.UUID) -> None:
    customer = await _locked(session, customer_id)
    known = list(customer.addresses or [])
    kept = [a for a in known if a.get("id") != str(address_id)]
    if len(kept) == len(known):
        raise AddressNotFound(f"no saved address {address_id}")
    customer.addresses = kept
    await _changed(session, customer)


async def saved_address(session: AsyncSession, customer_id: uuid.UUID, address_id: uuid.UUID) -> dict[str, Any]:
    """One of this customer's saved addresses (404 `address_not_found` for any other id,
    another customer's included: whether that id exists elsewhere is not told)."""
    row = await repository.by_id(session, customer_id)
    for address in (row[0].addresses or []) if row else []:
        if address.get("id") == str(address_id):
            return dict(address)
    raise AddressNotFound(f"the customer has no saved address {address_id}")


async def _changed(session: AsyncSession, customer: Customer) -> None:
    customer.updated_at = clock.now()
    await session.flush()
    # Field names only: events reach webhooks, and addresses are personal data.
    await outbox.record(
        session,
        "customer.updated",
        aggregate_type="customer",
        aggregate_id=str(customer.id),
        payload={"customer_id": str(customer.id), "changed": ["addresses"]},
    )
