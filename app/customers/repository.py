"""Every SQL statement of the customers domain.

Reads that answer "who is this?" go through `_resolved`: the row matched by id, email,
phone or card may be a tombstone of a merge, and the query returns its survivor in the
same round trip (chains are flattened at merge time, so one hop suffices).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, literal, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID, aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.customers.models import Customer, CustomerToken

_hit = aliased(Customer, name="hit")
_absorbed = aliased(Customer, name="absorbed")

# The ids of the records merged into the selected customer, oldest merge first.
_merged_ids = func.coalesce(
    select(func.array_agg(aggregate_order_by(_absorbed.id, _absorbed.merged_at, _absorbed.id)))
    .where(_absorbed.merged_into_id == Customer.id)
    .scalar_subquery(),
    literal([], ARRAY(UUID)),
)


def _resolved(condition: ColumnElement[bool]) -> Select[Customer, list[uuid.UUID]]:
    """The survivor of the row(s) matching `condition` on `hit`, with its merged ids."""
    return (
        select(Customer, _merged_ids)
        .join(_hit, Customer.id == func.coalesce(_hit.merged_into_id, _hit.id))
        .where(condition)
        .execution_options(populate_existing=True)
    )


async def _first(session: AsyncSession, stmt: Select[Customer, list[uuid.UUID]]) -> Any:
    return (await session.execute(stmt)).first()


async def by_id(session: AsyncSession, customer_id: uuid.UUID) -> Any:
    """(Customer, merged_ids) of the survivor of `customer_id`, or None."""
    return await _first(session, _resolved(_hit.id == customer_id))


async def by_email(session: AsyncSession, email: str) -> Any:
    return await _first(session, _resolved(_hit.email == email))


async def by_phone(session: AsyncSession, phone: str) -> Any:
    return await _first(session, _resolved(_hit.phone == phone))


async def by_card(session: AsyncSession, card_number: str) -> Any:
    return await _first(session, _resolved(_hit.card_number == card_number))


async def holder_of(
    session: AsyncSession, *, email: str | None, phone: str | None
) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """Rows holding this email or phone: (row id, its survivor id, "email"|"phone"), email first."""
    conditions = []
    if email is not None:
        conditions.append(Customer.email == email)
    if phone is not None:
        conditions.append(Customer.phone == phone)
    if not conditions:
        return []
    is_email = Customer.email == email if email is not None else literal(False)
    rows = await session.execute(
        select(Customer.id, func.coalesce(Customer.merged_into_id, Customer.id), is_email).where(or_(*conditions))
    )
    found = [(row[0], row[1], "email" if row[2] else "phone") for row in rows.all()]
    return sorted(found, key=lambda r: r[2] != "email")


async def insert_customer(session: AsyncSession, values: dict[str, Any]) -> Customer | None:
    """Insert unless the email, phone or card number is taken (then None, nothing written).
    A concurrent insert of the same email waits for the other transaction and then yields."""
    stmt = insert(Customer).values(**values).on_conflict_do_nothing().returning(Customer)
    return (await session.scalars(stmt, execution_options={"populate_existing": True})).first()


async def lock(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Customer]:
    """Lock the rows in id order (two merges of the same pair cannot deadlock)."""
    rows = await session.scalars(
        select(Customer)
        .where(Customer.id.in_(list(ids)))
        .order_by(Customer.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in rows}


async def release_contact(session: AsyncSession, row_id: uuid.UUID, field: str) -> None:
    """Clear a tombstone's email or phone so its survivor can take it."""
    await session.execute(update(Customer).where(Customer.id == row_id).values({field: None}))


async def repoint_tombstones(session: AsyncSession, from_id: uuid.UUID, to_id: uuid.UUID) -> None:
    """Records merged into `from_id` now point at `to_id` (keeps redirects one hop long)."""
    await session.execute(update(Customer).where(Customer.merged_into_id == from_id).values(merged_into_id=to_id))


async def move_tokens(session: AsyncSession, from_id: uuid.UUID, to_id: uuid.UUID) -> None:
    await session.execute(update(CustomerToken).where(CustomerToken.customer_id == from_id).values(customer_id=to_id))


async def insert_token(
    session: AsyncSession,
    *,
    token_hash: bytes,
    customer_id: uuid.UUID,
    api_key_id: uuid.UUID,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    await session.execute(
        insert(CustomerToken).values(
            token_hash=token_hash,
            customer_id=customer_id,
            api_key_id=api_key_id,
            created_at=created_at,
            expires_at=expires_at,
        )
    )


async def token_grants(
    session: AsyncSession, *, token_hash: bytes, api_key_id: uuid.UUID, customer_id: uuid.UUID, now: datetime
) -> bool:
    """Whether this unexpired token, presented by the key that obtained it, is for the
    survivor of `customer_id`. Tokens move with merges, so they always name a survivor."""
    survivor = (
        select(func.coalesce(Customer.merged_into_id, Customer.id)).where(Customer.id == customer_id).scalar_subquery()
    )
    found = await session.scalar(
        select(literal(True)).where(
            CustomerToken.token_hash == token_hash,
            CustomerToken.api_key_id == api_key_id,
            CustomerToken.expires_at > now,
            CustomerToken.customer_id == survivor,
        )
    )
    return bool(found)


async def delete_expired_tokens(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(CustomerToken).where(CustomerToken.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


async def by_name_prefix(
    session: AsyncSession, prefix: str, after: tuple[str, uuid.UUID] | None, limit: int
) -> list[Any]:
    """(Customer, merged_ids) of live records whose lower-cased name starts with `prefix`
    (already lower-case), in (lower(name), id) order — `ix_customers_name_prefix`."""
    key = func.lower(Customer.name)
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    stmt = (
        select(Customer, _merged_ids)
        .where(Customer.merged_into_id.is_(None), key.like(escaped + "%", escape="\\"))
        .order_by(key, Customer.id)
        .limit(limit + 1)
        .execution_options(populate_existing=True)
    )
    if after is not None:
        stmt = stmt.where(tuple_(key, Customer.id) > tuple_(*after))
    return list((await session.execute(stmt)).all())


async def token_customer(
    session: AsyncSession, *, token_hash: bytes, api_key_id: uuid.UUID, now: datetime
) -> uuid.UUID | None:
    """The customer an unexpired token, presented by the key that obtained it, is for."""
    found = await session.scalar(
        select(CustomerToken.customer_id).where(
            CustomerToken.token_hash == token_hash,
            CustomerToken.api_key_id == api_key_id,
            CustomerToken.expires_at > now,
        )
    )
    return found
