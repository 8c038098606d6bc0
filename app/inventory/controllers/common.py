"""What the inventory routes share: who may call them, parameter bounds, a location-bound key's location."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from app.core.auth import ALL_ROLES, Principal, Role, roles

ADMIN = roles(Role.ADMIN)


EVERYONE = roles(ALL_ROLES)


STOCK_READERS = roles(Role.ADMIN, Role.MERCHANDISER, Role.INTEGRATION, Role.LOGISTICS, Role.POS)


LEDGER_READERS = roles(Role.ADMIN, Role.INTEGRATION, Role.LOGISTICS, Role.POS)


ADJUSTERS = roles(Role.ADMIN, Role.INTEGRATION, Role.LOGISTICS)


COUNTERS = roles(Role.ADMIN, Role.INTEGRATION, Role.LOGISTICS, Role.POS)


SYNCERS = roles(Role.ADMIN, Role.INTEGRATION, Role.POS)


MOVERS = roles(Role.ADMIN, Role.INTEGRATION, Role.LOGISTICS)


HOLDERS = roles(Role.ADMIN, Role.INTEGRATION, Role.STOREFRONT, Role.KIOSK, Role.CONTACT_CENTER, Role.POS)


TILLS = roles(Role.POS)


CodeParam = Annotated[str | None, Parameter(max_length=40)]


SkuParam = Annotated[str | None, Parameter(max_length=64)]


def own_location(principal: Principal, requested: str | None) -> str | None:
    """A location-bound key reads its own location (by default) and nothing else."""
    if principal.location_code is None:
        return requested
    principal.require_location(requested or principal.location_code)
    return principal.location_code
