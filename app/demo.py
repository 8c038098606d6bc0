"""The demo retailer: a small catalog, 2 warehouses, 4 stores, stock, prices, one key per role.

Idempotent: running it again updates in place and reuses the demo keys it printed before
(kept in the data folder, demo only).
"""

from __future__ import annotations

from app.core.settings import Settings


async def seed_demo(settings: Settings) -> None:
    raise NotImplementedError("demo seeding lands with the catalog and inventory")
