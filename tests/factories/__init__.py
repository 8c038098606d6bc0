"""factory-boy factories build objects; `persist` writes them (factory-boy has no async support).

product = ProductFactory()
await persist(db, product, VariantFactory(product=product))
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


async def persist(session: AsyncSession, *objects: Any) -> None:
    """Add and flush the objects in the given order (parents before children: the models
    have no relationships, so the unit of work cannot order them itself)."""
    previous: type | None = None
    for obj in objects:
        if previous is not None and type(obj) is not previous:
            await session.flush()
        session.add(obj)
        previous = type(obj)
    await session.flush()


async def persisted(session: AsyncSession, obj: T) -> T:
    """Persist one object and return it: `product = await persisted(db, ProductFactory())`."""
    await persist(session, obj)
    return obj
