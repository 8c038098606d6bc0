"""Categories: the tree, created top down."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository, rules
from app.catalog.errors import UnknownCategory
from app.catalog.models import Category
from app.catalog.schemas import CategoryCreate, CategoryOut
from app.catalog.usecases.common import category_out, save
from app.core import clock
from app.core.pagination import Keyset, Page


async def create_category(session: AsyncSession, body: CategoryCreate) -> CategoryOut:
    parent = None
    if body.parent is not None:
        parent = await repository.category_by_code(session, body.parent)
        if parent is None:
            raise UnknownCategory(f"no category has code {body.parent!r}", field="parent")
    category = Category(
        id=uuid.uuid4(),
        code=body.code,
        name=body.name,
        parent_id=parent.id if parent else None,
        path=rules.category_path(parent.path if parent else None, body.code),
        created_at=clock.now(),
    )
    await save(session, category)
    return category_out(category, body.parent)


async def list_categories(
    session: AsyncSession, *, under: str | None, limit: int, cursor: str | None
) -> Page[CategoryOut]:
    after = CATEGORIES.after(cursor)
    rows = await repository.list_categories(
        session, under=under, after_path=after[0] if after else None, limit=limit + 1
    )
    return CATEGORIES.page([category_out(c, parent) for c, parent in rows], limit, lambda c: [c.path])


CATEGORIES = Keyset("categories", str)
