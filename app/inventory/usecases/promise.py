"""The delivery promise's inputs: each location's cut-off, handling, transit and shipping days
(the date arithmetic itself is pure: inventory.rules, "delivery promise")."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.inventory import repository, rules
from app.inventory.usecases.locations import promise_terms as _terms_of


async def promise_terms(session: AsyncSession, codes: Sequence[str]) -> dict[str, rules.PromiseTerms]:
    """The promise settings of the named locations, by code (unknown codes are absent)."""
    if not codes:
        return {}
    return {loc.code: _terms_of(loc) for loc in await repository.locations_by_code(session, sorted(set(codes)))}
