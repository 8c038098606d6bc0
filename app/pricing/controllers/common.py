"""What the pricing controllers share: who writes, who reads, what a shopper-facing key sees."""

from __future__ import annotations

from app.core.auth import ALL_ROLES, STAFF_ROLES, Principal, Role, roles

WRITERS = roles(STAFF_ROLES)
EVERYONE = roles(ALL_ROLES)
# Keys that sit on shoppers' devices (web, app, kiosk), where a key can be extracted: they
# see only what a shopper may (running promotions needing no code, prices in force); staff
# and back-office keys see everything.
SHOPPER_FACING = frozenset({Role.STOREFRONT, Role.KIOSK})


def shopper_facing(principal: Principal) -> tuple[bool, str | None]:
    """(whether the key faces shoppers, its channel): what the lists and reads may show it."""
    return principal.role in SHOPPER_FACING, principal.channel.value if principal.channel else None
