"""Stock: scan a barcode or type a SKU → stock per location (on hand, reserved, safety,
available, in transit), the open transfers carrying it (planned and on their way, in and out
of each location), and the ledger with who moved it; a count entered by hand.

Who sees what follows the API's stock routes: location-bound staff (pickers, store associates)
read and count their own location only, as a location-bound key does."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import service as staff_accounts
from app.console.rules import Staff, StaffRole
from app.console.web import MANAGERS, find_variant, page, staff_roles, whole_number
from app.inventory import service as inventory
from app.inventory.schemas import TransferOut

READERS = staff_roles(StaffRole.PICKER, StaffRole.STORE_ASSOCIATE, StaffRole.MERCHANDISER, MANAGERS)
COUNTERS = staff_roles(StaffRole.PICKER, StaffRole.STORE_ASSOCIATE, MANAGERS)
LEDGER_READERS = frozenset({StaffRole.PICKER, StaffRole.STORE_ASSOCIATE, *MANAGERS})
COUNTING_ROLES = LEDGER_READERS
OPEN_TRANSFERS = ("dispatched", "draft")  # on their way, then planned


async def _open_transfers(session: AsyncSession, sku: str, own: str | None) -> list[TransferOut]:
    """The transfers carrying `sku` not received yet (a location-bound reader: its own ends)."""
    found: list[TransferOut] = []
    for status in OPEN_TRANSFERS:
        listed = await inventory.list_transfers(
            session, status=status, location_code=own, limit=50, cursor=None, sku=sku
        )
        found.extend(listed.items)
    return found


async def _stock_page(session: AsyncSession, staff: Staff, q: str, *, status: int = 200, **extra: Any) -> Template:
    context: dict[str, Any] = {
        "q": q,
        "variant": None,
        "levels": [],
        "transfers": [],
        "ledger": [],
        "who": {},
        "locations": [],
    }
    variant = await find_variant(session, q) if q else None
    if q and variant is None:
        return page("stock.html", staff, status=404, **context, not_found=q[:64], **extra)
    if variant is not None:
        own = staff.location_code
        levels = await inventory.stock_levels(session, sku=variant.sku, location_code=own, limit=100)
        transfers = await _open_transfers(session, variant.sku, own)
        context.update(variant=variant, levels=levels.items, transfers=transfers)
        if staff.role in LEDGER_READERS:
            ledger = await inventory.ledger(session, sku=variant.sku, location_code=own, limit=15)
            actors = sorted({e.actor_key_id for e in ledger.items if e.actor_key_id is not None})
            context.update(ledger=ledger.items, who=await staff_accounts.staff_names(session, actors))
        if staff.role in COUNTING_ROLES:
            context["locations"] = [own] if own else [loc.code for loc in await inventory.list_locations(session)]
    return page("stock.html", staff, status=status, not_found=None, **context, **extra)


@get("/stock", opt=READERS)
async def stock(db_session: AsyncSession, staff: Staff, q: str | None = None) -> Template:
    return await _stock_page(db_session, staff, (q or "").strip()[:64])


@post("/stock/counts", opt=COUNTERS, status_code=200)
async def count(request: Request[Any, Any, Any], db_session: AsyncSession, staff: Staff) -> Template:
    form = await request.form()
    sku, location = str(form.get("sku", ""))[:64], str(form.get("location", ""))[:40]
    on_hand = whole_number(form.get("on_hand"))
    if on_hand is None or on_hand > 1_000_000:
        return await _stock_page(db_session, staff, sku, status=422, refusal="Enter the units you counted (0 or more).")
    staff.principal.require_location(location)
    await inventory.count(
        db_session,
        location_code=location,
        lines=[(sku, on_hand)],
        reference=f"console-count:{uuid.uuid4().hex[:12]}",
        actor=staff.id,
    )
    return await _stock_page(db_session, staff, sku, done=f"Counted {on_hand} × {sku} at {location}.")


ROUTES: list[Any] = [stock, count]
