"""Statements on transfers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.inventory.models import Transfer, TransferLine


async def add_transfer(session: AsyncSession, transfer: Transfer, lines: Sequence[TransferLine]) -> None:
    session.add(transfer)
    session.add_all(lines)
    await session.flush()


async def transfer(session: AsyncSession, transfer_id: uuid.UUID, *, lock: bool = False) -> Transfer | None:
    query = select(Transfer).where(Transfer.id == transfer_id).execution_options(populate_existing=True)
    if lock:
        query = query.with_for_update()
    result: Transfer | None = await session.scalar(query)
    return result


async def transfer_lines(session: AsyncSession, transfer_ids: Sequence[uuid.UUID]) -> list[TransferLine]:
    query = (
        select(TransferLine)
        .where(TransferLine.transfer_id.in_(list(transfer_ids)))
        .order_by(TransferLine.transfer_id, TransferLine.sku)
    )
    return list((await session.scalars(query)).all())


async def list_transfers(
    session: AsyncSession,
    *,
    status: str | None,
    location_code: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    sku: str | None = None,
) -> list[Transfer]:
    query = select(Transfer).order_by(Transfer.created_at.desc(), Transfer.id.desc()).limit(limit)
    if sku is not None:
        query = query.where(Transfer.id.in_(select(TransferLine.transfer_id).where(TransferLine.sku == sku)))
    if status is not None:
        query = query.where(Transfer.status == status)
    if location_code is not None:
        query = query.where((Transfer.from_location == location_code) | (Transfer.to_location == location_code))
    if after is not None:
        query = query.where(tuple_(Transfer.created_at, Transfer.id) < tuple_(*after))
    return list((await session.scalars(query)).all())
