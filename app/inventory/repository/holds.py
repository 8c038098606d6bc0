"""The statement of the per-SKU hold combiner (app/inventory/holds.py): many single-line holds of one
stock row at once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.inventory.repository.common import AVAILABLE, NOW, SAFETY, _outbox_insert


class HoldRequest(NamedTuple):
    reservation_id: uuid.UUID
    reference: str
    quantity: int
    expires_at: datetime | None
    actor: uuid.UUID | None
    holder: str | None = None


async def hold_batch(
    session: AsyncSession, sku: str, location_code: str, requests: Sequence[HoldRequest], now: datetime
) -> tuple[list[Row[Any]], int | None]:
    """Many single-line holds of one (sku, location), in arrival order, in one statement: one
    conditional UPDATE of the stock row grants the longest prefix of requests that fits
    (rules.granted_prefix), and the winners' reservations, lines and events are inserted by
    the same statement. Returns per request (reservation_id, won, created, fresh) and the
    row's available after the statement (None: no stock row for this SKU here)."""
    sql = f"""
    WITH req AS (
        SELECT * FROM unnest(
            CAST(:ids AS uuid[]), CAST(:refs AS text[]), CAST(:qtys AS bigint[]),
            CAST(:expires AS timestamptz[]), CAST(:actors AS uuid[]), CAST(:holders AS text[])
        ) WITH ORDINALITY AS r(id, ref, qty, expires_at, actor, holder, ord)
    ),
    fresh AS MATERIALIZED (
        SELECT r.*, sum(r.qty) OVER (ORDER BY r.ord) AS cum FROM req r
        WHERE NOT EXISTS (SELECT 1 FROM reservations x WHERE x.reference = r.ref)
    ),
    upd AS (
        UPDATE stock_levels s
           SET reserved = s.reserved + (
                   SELECT coalesce(max(f.cum), 0) FROM fresh f WHERE f.cum <= s.on_hand - s.reserved - {SAFETY}),
               last_grant = (
                   SELECT coalesce(max(f.cum), 0) FROM fresh f WHERE f.cum <= s.on_hand - s.reserved - {SAFETY}),
               updated_at = {NOW}
          FROM locations l
         WHERE s.sku = CAST(:sku AS text) AND s.location_code = CAST(:loc AS text) AND l.code = s.location_code
           AND s.on_hand - s.reserved - {SAFETY} >= (SELECT min(f.cum) FROM fresh f)
        RETURNING s.last_grant AS granted, {AVAILABLE} AS available
    ),
    won AS (SELECT f.* FROM fresh f, upd WHERE f.cum <= upd.granted),
    res AS (
        INSERT INTO reservations (id, reference, status, expires_at, actor_key_id, holder, created_at, updated_at)
        SELECT id, ref, 'open', expires_at, actor, holder, {NOW}, {NOW} FROM won
        ON CONFLICT (reference) DO NOTHING
        RETURNING id
    ),
    lines AS (
        INSERT INTO reservation_lines (reservation_id, sku, location_code, quantity, released_qty, consumed_qty)
        SELECT won.id, CAST(:sku AS text), CAST(:loc AS text), won.qty, 0, 0 FROM won JOIN res ON res.id = won.id
    ),
    events AS (
        {
        _outbox_insert(
            "reservation.created",
            "won JOIN res ON res.id = won.id",
            "reservation",
            "CAST(won.id AS text)",
            "jsonb_build_object('reservation_id', won.id, 'reference', won.ref, 'expires_at', won.expires_at, "
            "'lines', jsonb_build_array(jsonb_build_object("
            "'sku', CAST(:sku AS text), 'location', CAST(:loc AS text), 'quantity', won.qty)))",
        )
    }
    ),
    now_available AS (
        SELECT coalesce((SELECT available FROM upd), (
            SELECT {AVAILABLE} FROM stock_levels s JOIN locations l ON l.code = s.location_code
            WHERE s.sku = CAST(:sku AS text) AND s.location_code = CAST(:loc AS text))) AS available
    )
    SELECT r.id AS reservation_id, w.id IS NOT NULL AS won, c.id IS NOT NULL AS created,
           f.id IS NOT NULL AS fresh, (SELECT available FROM now_available) AS available
    FROM req r LEFT JOIN fresh f ON f.id = r.id LEFT JOIN won w ON w.id = r.id LEFT JOIN res c ON c.id = r.id
    ORDER BY r.ord
    """
    rows = list(
        (
            await session.execute(
                text(sql),
                {
                    "ids": [r.reservation_id for r in requests],
                    "refs": [r.reference for r in requests],
                    "qtys": [r.quantity for r in requests],
                    "expires": [r.expires_at for r in requests],
                    "actors": [r.actor for r in requests],
                    "holders": [r.holder for r in requests],
                    "sku": sku,
                    "loc": location_code,
                    "now": now,
                },
            )
        ).all()
    )
    available = rows[0].available if rows else None
    return rows, None if available is None else int(available)
