"""Return windows per category."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.pagination import Keyset, Page
from app.orders.returns import repository
from app.orders.returns.schemas import PolicyOut

POLICIES = Keyset("return_policies", str)


async def set_policy(session: AsyncSession, category_code: str, days: int) -> PolicyOut:
    row = await repository.upsert_policy(session, category_code, days, clock.now())
    return PolicyOut(category_code=row.category_code, days=row.days, updated_at=row.updated_at)


async def list_policies(session: AsyncSession, cursor: str | None, limit: int) -> Page[PolicyOut]:
    after = POLICIES.after(cursor)
    rows = await repository.list_policies(session, after[0] if after else None, limit)
    items = [PolicyOut(category_code=r.category_code, days=r.days, updated_at=r.updated_at) for r in rows]
    return POLICIES.page(items, limit, lambda p: [p.category_code])
