"""Statements on stock levels: reads, safety stock, and every stock change (`apply_changes`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Row, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.inventory.models import StockLevel
from app.inventory.repository.common import ACTOR, AVAILABLE, NOW, SAFETY, _outbox_insert

LEVEL_COLUMNS = (
    "s.sku, s.location_code, s.on_hand, s.reserved, s.in_transit, s.safety_stock, "
    f"{SAFETY} AS effective_safety_stock, {AVAILABLE} AS available, s.updated_at"
)


async def stock_levels(
    session: AsyncSession,
    *,
    sku: str | None,
    location_code: str | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[Row[Any]]:
    """Keyset page ordered by (sku, location) — or (location, sku) when only a location is named."""
    by_location = location_code is not None and sku is None
    where = ["TRUE"]
    params: dict[str, Any] = {"limit": limit}
    if sku is not None:
        where.append("s.sku = :sku")
        params["sku"] = sku
    if location_code is not None:
        where.append("s.location_code = :loc")
        params["loc"] = location_code
    order = "s.location_code, s.sku" if by_location else "s.sku, s.location_code"
    if after is not None:
        where.append(f"({order}) > (:a0, :a1)")
        params["a0"], params["a1"] = after
    sql = (
        f"SELECT {LEVEL_COLUMNS} FROM stock_levels s JOIN locations l ON l.code = s.location_code "
        f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT :limit"
    )
    return list((await session.execute(text(sql), params)).all())


async def stock_level(session: AsyncSession, sku: str, location_code: str) -> Row[Any] | None:
    sql = (
        f"SELECT {LEVEL_COLUMNS} FROM stock_levels s JOIN locations l ON l.code = s.location_code "
        "WHERE s.sku = :sku AND s.location_code = :loc"
    )
    return (await session.execute(text(sql), {"sku": sku, "loc": location_code})).first()


async def set_safety_stock(
    session: AsyncSession, sku: str, location_code: str, value: int | None, now: datetime
) -> None:
    stmt = insert(StockLevel).values(
        sku=sku, location_code=location_code, on_hand=0, reserved=0, in_transit=0, safety_stock=value, updated_at=now
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[StockLevel.sku, StockLevel.location_code],
            set_={"safety_stock": value, "updated_at": now},
        )
    )


class Change(NamedTuple):
    """One row's change: on_hand/reserved/in_transit deltas; a ledger row when on_hand moves."""

    sku: str
    location: str
    on_hand: int = 0
    reserved: int = 0
    in_transit: int = 0
    reason: str | None = None
    reference: str | None = None
    effective_at: datetime | None = None
    # Refuse to take on_hand below reserved (a dispatch may not ship promised units).
    keep_reserved: bool = False


async def apply_changes(
    session: AsyncSession, changes: Sequence[Change], *, actor: uuid.UUID | None, now: datetime
) -> list[Row[Any]]:
    """Apply `changes` (one per (sku, location)) in one statement: lock rows in (sku,
    location) order, upsert the new quantities, write a ledger row and a `stock.changed`
    event for every on_hand change. Returns the rows that changed with their new state;
    a change that would break an invariant (negative on_hand/reserved/in_transit, dipping
    under reserved with keep_reserved) is skipped and absent from the result, and the
    caller raises."""
    if not changes:
        return []
    ordered = sorted(changes, key=lambda c: (c.sku, c.location))
    params: dict[str, Any] = {
        "skus": [c.sku for c in ordered],
        "locs": [c.location for c in ordered],
        "d_on_hand": [c.on_hand for c in ordered],
        "d_reserved": [c.reserved for c in ordered],
        "d_transit": [c.in_transit for c in ordered],
        "reasons": [c.reason for c in ordered],
        "refs": [c.reference for c in ordered],
        "effective": [c.effective_at or now for c in ordered],
        "keep": [c.keep_reserved for c in ordered],
        "actor": actor,
        "now": now,
    }
    sql = f"""
    WITH x AS (
        SELECT * FROM unnest(
            CAST(:skus AS text[]), CAST(:locs AS text[]), CAST(:d_on_hand AS bigint[]),
            CAST(:d_reserved AS bigint[]), CAST(:d_transit AS bigint[]), CAST(:reasons AS text[]),
            CAST(:refs AS text[]), CAST(:effective AS timestamptz[]), CAST(:keep AS boolean[])
        ) WITH ORDINALITY AS x(sku, loc, d_on_hand, d_reserved, d_transit, reason, reference, effective_at, keep, ord)
    ),
    locked AS MATERIALIZED (
        SELECT s.sku, s.location_code FROM stock_levels s JOIN x ON s.sku = x.sku AND s.location_code = x.loc
        ORDER BY s.sku, s.location_code FOR UPDATE OF s
    ),
    upd AS (
        UPDATE stock_levels t
           SET on_hand = t.on_hand + x.d_on_hand,
               reserved = t.reserved + x.d_reserved,
               in_transit = t.in_transit + x.d_transit,
               updated_at = {NOW}
          FROM x
         -- the uncorrelated count runs once, first: every row is locked, in order, before any write
         WHERE (SELECT count(*) FROM locked) >= 0
           AND t.sku = x.sku AND t.location_code = x.loc
           AND t.on_hand + x.d_on_hand >= 0
           AND t.reserved + x.d_reserved >= 0
           AND t.in_transit + x.d_transit >= 0
           AND (NOT x.keep OR t.on_hand + x.d_on_hand >= t.reserved + x.d_reserved)
        RETURNING t.sku, t.location_code, t.on_hand, t.reserved, t.in_transit, t.safety_stock
    ),
    ins AS (
        -- rows that do not exist yet can only be created by additions
        INSERT INTO stock_levels (sku, location_code, on_hand, reserved, in_transit, updated_at)
        SELECT x.sku, x.loc, x.d_on_hand, x.d_reserved, x.d_transit, {NOW} FROM x
        WHERE NOT EXISTS (SELECT 1 FROM locked k WHERE k.sku = x.sku AND k.location_code = x.loc)
          AND x.d_on_hand >= 0 AND x.d_reserved >= 0 AND x.d_transit >= 0
          AND NOT (x.keep AND x.d_on_hand < x.d_reserved)
        ORDER BY x.sku, x.loc
        ON CONFLICT (sku, location_code) DO NOTHING
        RETURNING sku, location_code, on_hand, reserved, in_transit, safety_stock
    ),
    up AS (SELECT * FROM upd UNION ALL SELECT * FROM ins),
    moved AS (
        SELECT up.*, x.d_on_hand, x.reason, x.reference, x.effective_at,
               greatest(up.on_hand - up.reserved - coalesce(up.safety_stock, l.default_safety_stock), 0) AS available
        FROM up JOIN x ON x.sku = up.sku AND x.loc = up.location_code
        JOIN locations l ON l.code = up.location_code
    ),
    ledger AS (
        INSERT INTO stock_movements
            (sku, location_code, delta, on_hand_after, reason, reference, actor_key_id, effective_at, recorded_at)
        SELECT sku, location_code, d_on_hand, on_hand, reason, reference, {ACTOR}, effective_at, {NOW}
        FROM moved WHERE d_on_hand <> 0
    ),
    events AS (
        {
        _outbox_insert(
            "stock.changed",
            "moved WHERE d_on_hand <> 0",
            "stock",
            "sku",
            "jsonb_build_object('sku', sku, 'location', location_code, 'on_hand', on_hand, 'available', available)",
        )
    }
    )
    SELECT sku, location_code, on_hand, reserved, in_transit, available, d_on_hand FROM moved
    ORDER BY sku, location_code
    """
    return list((await session.execute(text(sql), params)).all())


async def availability_of_lines(session: AsyncSession, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Current available per (sku, location); a missing stock row is 0."""
    sql = f"""
    SELECT x.sku, x.loc, coalesce({AVAILABLE}, 0) AS available
    FROM unnest(CAST(:skus AS text[]), CAST(:locs AS text[])) AS x(sku, loc)
    LEFT JOIN stock_levels s ON s.sku = x.sku AND s.location_code = x.loc
    LEFT JOIN locations l ON l.code = s.location_code
    """
    rows = await session.execute(text(sql), {"skus": [k[0] for k in keys], "locs": [k[1] for k in keys]})
    return {(r.sku, r.loc): int(r.available) for r in rows}
