"""Every SQL statement of the console's own tables (staff accounts, sessions)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.models import StaffMember, StaffSession


async def staff_by_email(session: AsyncSession, email: str, *, lock: bool = False) -> StaffMember | None:
    query = select(StaffMember).where(StaffMember.email == email)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def staff_by_id(session: AsyncSession, staff_id: uuid.UUID) -> StaffMember | None:
    return await session.get(StaffMember, staff_id)


async def staff_emails(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(select(StaffMember.id, StaffMember.email).where(StaffMember.id.in_(ids)))
    return {r.id: r.email for r in rows}


async def session_with_staff(
    session: AsyncSession, token_hash: bytes, now: datetime
) -> tuple[StaffSession, StaffMember] | None:
    row = (
        await session.execute(
            select(StaffSession, StaffMember)
            .join(StaffMember, StaffMember.id == StaffSession.staff_id)
            .where(
                StaffSession.token_hash == token_hash,
                StaffSession.expires_at > now,
                StaffMember.disabled_at.is_(None),
            )
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def delete_session(session: AsyncSession, token_hash: bytes) -> None:
    await session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash))


async def purge_expired_sessions(session: AsyncSession, now: datetime, limit: int) -> int:
    expired = select(StaffSession.token_hash).where(StaffSession.expires_at <= now).limit(limit)
    result = await session.execute(delete(StaffSession).where(StaffSession.token_hash.in_(expired.scalar_subquery())))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def delete_expired_sessions(session: AsyncSession, staff_id: uuid.UUID, now: datetime) -> None:
    await session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id, StaffSession.expires_at <= now))
