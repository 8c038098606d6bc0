"""Statements on reservations: reserving (the hot path, on the driver), reading, settling, expiring."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Row, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import db
from app.inventory.models import Reservation, StockLevel
from app.inventory.repository.common import NOW, SAFETY, _outbox_insert

# The reservation statements run on the driver (app.core.db.fetch…, positional parameters):
# they are on every order placement, where SQLAlchemy's per-statement work cost more CPU
# than the statements themselves.
_RESERVE_ONE = f"""
WITH p AS (
    SELECT CAST($1 AS text) AS sku, CAST($2 AS text) AS loc, CAST($3 AS bigint) AS qty,
           CAST($4 AS text) AS ref, CAST($5 AS timestamptz) AS expires_at
),
upd AS (
    UPDATE stock_levels s SET reserved = s.reserved + p.qty, updated_at = CAST($6 AS timestamptz)
    FROM p, locations l
    WHERE s.sku = p.sku AND s.location_code = p.loc AND l.code = s.location_code
      AND s.on_hand - s.reserved - {SAFETY} >= p.qty
      AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.reference = p.ref)
    RETURNING s.sku
),
res AS (
    INSERT INTO reservations (id, reference, status, expires_at, actor_key_id, holder, created_at, updated_at)
    SELECT CAST($7 AS uuid), p.ref, 'open', p.expires_at, CAST($8 AS uuid), CAST($9 AS text),
           CAST($6 AS timestamptz), CAST($6 AS timestamptz)
    FROM upd, p
    ON CONFLICT (reference) DO NOTHING
    RETURNING id
),
line AS (
    INSERT INTO reservation_lines (reservation_id, sku, location_code, quantity, released_qty, consumed_qty)
    SELECT res.id, p.sku, p.loc, p.qty, 0, 0 FROM res, p
),
event AS (
    {
    _outbox_insert(
        "reservation.created",
        "res, p",
        "reservation",
        "CAST(res.id AS text)",
        "jsonb_build_object('reservation_id', res.id, 'reference', p.ref, 'expires_at', p.expires_at, "
        "'lines', jsonb_build_array(jsonb_build_object('sku', p.sku, 'location', p.loc, 'quantity', p.qty)))",
        now="CAST($6 AS timestamptz)",
    )
}
)
SELECT (SELECT count(*) FROM upd) AS reserved, (SELECT count(*) FROM res) AS created
"""


def _without_safety(statement: str) -> str:
    """The same statement guarding only `on_hand - reserved` (units for a named order)."""
    guarded = statement.replace(f" - {SAFETY} >=", " >=").replace(f" - {SAFETY} AS available", " AS available")
    assert guarded != statement
    return guarded


_RESERVE_ONE_NAMED = _without_safety(_RESERVE_ONE)


async def reserve_one(
    session: AsyncSession,
    *,
    reservation_id: uuid.UUID,
    reference: str,
    sku: str,
    location_code: str,
    quantity: int,
    expires_at: datetime | None,
    actor: uuid.UUID | None,
    now: datetime,
    holder: str | None = None,
    beyond_safety_stock: bool = False,
) -> tuple[bool, bool]:
    """The hot path, one round trip: the conditional UPDATE, the reservation, its line and
    its event in one statement. Returns (stock was reserved, reservation row was created);
    (True, False) means a concurrent request took the same reference first and the caller
    must give the units back."""
    statement = _RESERVE_ONE_NAMED if beyond_safety_stock else _RESERVE_ONE
    row = await db.fetchrow(
        session, statement, sku, location_code, quantity, reference, expires_at, now, reservation_id, actor, holder
    )
    return bool(row["reserved"]), bool(row["created"])


# Rows in (SKU, location) order, so that concurrent reservations cannot deadlock.
_LOCK_LINES = f"""
SELECT s.sku, s.location_code, s.on_hand - s.reserved - {SAFETY} AS available
FROM stock_levels s
JOIN unnest(CAST($1 AS text[]), CAST($2 AS text[])) AS x(sku, loc)
  ON s.sku = x.sku AND s.location_code = x.loc
JOIN locations l ON l.code = s.location_code
ORDER BY s.sku, s.location_code
FOR UPDATE OF s
"""


_RESERVE_MANY = f"""
WITH x AS (
    SELECT * FROM unnest(CAST($3 AS text[]), CAST($4 AS text[]), CAST($5 AS bigint[])) AS x(sku, loc, qty)
),
upd AS (
    UPDATE stock_levels s SET reserved = s.reserved + x.qty, updated_at = CAST($8 AS timestamptz)
    FROM x, locations l
    WHERE s.sku = x.sku AND s.location_code = x.loc AND l.code = s.location_code
      AND s.on_hand - s.reserved - {SAFETY} >= x.qty
    RETURNING s.sku
),
res AS (
    INSERT INTO reservations (id, reference, status, expires_at, actor_key_id, holder, created_at, updated_at)
    SELECT CAST($1 AS uuid), CAST($2 AS text), 'open', CAST($6 AS timestamptz), CAST($7 AS uuid),
           CAST($9 AS text), CAST($8 AS timestamptz), CAST($8 AS timestamptz)
    WHERE (SELECT count(*) FROM upd) = cardinality(CAST($3 AS text[]))
    ON CONFLICT (reference) DO NOTHING
    RETURNING id
),
lines AS (
    INSERT INTO reservation_lines (reservation_id, sku, location_code, quantity, released_qty, consumed_qty)
    SELECT res.id, x.sku, x.loc, x.qty, 0, 0 FROM res, x
),
event AS (
    {
    _outbox_insert(
        "reservation.created",
        "res",
        "reservation",
        "CAST(id AS text)",
        "jsonb_build_object('reservation_id', id, 'reference', CAST($2 AS text), 'expires_at', "
        "CAST($6 AS timestamptz), 'lines', (SELECT jsonb_agg(jsonb_build_object("
        "'sku', x.sku, 'location', x.loc, 'quantity', x.qty)) FROM x))",
        now="CAST($8 AS timestamptz)",
    )
}
)
SELECT (SELECT count(*) FROM upd) AS reserved, (SELECT count(*) FROM res) AS created
"""


_LOCK_LINES_NAMED = _without_safety(_LOCK_LINES)
_RESERVE_MANY_NAMED = _without_safety(_RESERVE_MANY)


async def reserve_many(
    session: AsyncSession,
    *,
    reservation_id: uuid.UUID,
    reference: str,
    lines: Sequence[tuple[str, str, int]],
    expires_at: datetime | None,
    actor: uuid.UUID | None,
    now: datetime,
    holder: str | None = None,
    beyond_safety_stock: bool = False,
) -> tuple[bool, bool]:
    """A multi-line reservation in two round trips, all or nothing. First lock the lines'
    stock rows in (SKU, location) order (concurrent reservations cannot deadlock) and read
    what they have; then, only if every line has a row with enough, one statement reserves
    every line (the conditional UPDATE still guards each row) and writes the reservation, its
    lines and its event. Two statements, not one: an UPDATE in the statement that locked a
    row concurrently changed since its snapshot skips that row. Returns (stock was reserved,
    reservation row was created) like `reserve_one`; (False, False) when a line is short or
    has no stock row."""
    skus, locs, qtys = [line[0] for line in lines], [line[1] for line in lines], [line[2] for line in lines]
    lock, reserve = (_LOCK_LINES_NAMED, _RESERVE_MANY_NAMED) if beyond_safety_stock else (_LOCK_LINES, _RESERVE_MANY)
    found = {(r[0], r[1]): r[2] for r in await db.fetch(session, lock, skus, locs)}
    if any(found.get((sku, loc), 0) < qty for sku, loc, qty in lines):
        return False, False
    row = await db.fetchrow(
        session, reserve, reservation_id, reference, skus, locs, qtys, expires_at, actor, now, holder
    )
    if row["reserved"] != len(lines):  # cannot happen under the row locks; never keep a part
        raise RuntimeError("a multi-line reservation reserved only some of its lines")
    return True, bool(row["created"])


async def unreserve_row(session: AsyncSession, sku: str, location_code: str, quantity: int) -> None:
    """Give back units this transaction reserved (its own uncommitted change, row still locked)."""
    await session.execute(
        update(StockLevel)
        .where(StockLevel.sku == sku, StockLevel.location_code == location_code)
        .values(reserved=StockLevel.reserved - quantity)
    )


async def lock_reservation(
    session: AsyncSession, *, reference: str | None = None, reservation_id: uuid.UUID | None = None
) -> Reservation | None:
    query = select(Reservation).with_for_update()
    if reference is not None:
        query = query.where(Reservation.reference == reference)
    else:
        query = query.where(Reservation.id == reservation_id)
    result: Reservation | None = await session.scalar(query.execution_options(populate_existing=True))
    return result


async def reservation_by(
    session: AsyncSession, *, reference: str | None = None, reservation_id: uuid.UUID | None = None
) -> Reservation | None:
    query = select(Reservation)
    if reference is not None:
        query = query.where(Reservation.reference == reference)
    else:
        query = query.where(Reservation.id == reservation_id)
    result: Reservation | None = await session.scalar(query.execution_options(populate_existing=True))
    return result


async def reservation_lines(session: AsyncSession, reservation_ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    sql = """
    SELECT reservation_id, sku, location_code, quantity, released_qty, consumed_qty
    FROM reservation_lines WHERE reservation_id = ANY(CAST(:ids AS uuid[]))
    ORDER BY reservation_id, sku, location_code
    """
    return list((await session.execute(text(sql), {"ids": list(reservation_ids)})).all())


async def open_lines_by_reference(session: AsyncSession, references: Sequence[str]) -> list[Row[Any]]:
    """(reference, sku, location_code, open) of these references' reservation lines."""
    sql = """
    SELECT r.reference, l.sku, l.location_code, l.quantity - l.released_qty - l.consumed_qty AS open
    FROM reservations r JOIN reservation_lines l ON l.reservation_id = r.id
    WHERE r.reference = ANY(CAST(:refs AS text[]))
    """
    return list((await session.execute(text(sql), {"refs": list(references)})).all())


async def settle_lines(
    session: AsyncSession,
    reservation_id: uuid.UUID,
    lines: Sequence[tuple[str, str, int]],
    *,
    column: str,
) -> None:
    """Add released (or consumed) units to the reservation's lines."""
    assert column in ("released_qty", "consumed_qty")
    sql = f"""
    UPDATE reservation_lines r SET {column} = r.{column} + x.qty
    FROM unnest(CAST(:skus AS text[]), CAST(:locs AS text[]), CAST(:qtys AS bigint[])) AS x(sku, loc, qty)
    WHERE r.reservation_id = :id AND r.sku = x.sku AND r.location_code = x.loc
    """
    await session.execute(
        text(sql),
        {
            "id": reservation_id,
            "skus": [line[0] for line in lines],
            "locs": [line[1] for line in lines],
            "qtys": [line[2] for line in lines],
        },
    )


async def settle_many_fully_released(session: AsyncSession, reservation_ids: Sequence[uuid.UUID]) -> None:
    """Release everything still open on these reservations' lines (expiry)."""
    await session.execute(
        text(
            "UPDATE reservation_lines SET released_qty = quantity - consumed_qty "
            "WHERE reservation_id = ANY(CAST(:ids AS uuid[])) AND released_qty + consumed_qty < quantity"
        ),
        {"ids": list(reservation_ids)},
    )


async def set_reservation_status(
    session: AsyncSession,
    statuses: dict[uuid.UUID, str],
    *,
    event: str,
    now: datetime,
    payloads: dict[uuid.UUID, dict[str, Any]],
) -> None:
    """New status + one `reservation.<event>` outbox event per reservation, one statement."""
    ids = list(statuses)
    sql = f"""
    WITH x AS (
        SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:payloads AS jsonb[]))
            AS x(id, status, payload)
    ),
    upd AS (
        UPDATE reservations r SET status = x.status, updated_at = {NOW} FROM x WHERE r.id = x.id
        RETURNING r.id, x.payload
    )
    {_outbox_insert(event, "upd", "reservation", "CAST(id AS text)", "payload")}
    """
    await session.execute(
        text(sql),
        {
            "ids": ids,
            "statuses": [statuses[i] for i in ids],
            "payloads": [msgspec.json.encode(payloads[i]).decode() for i in ids],
            "now": now,
        },
    )


async def expired_reservations(session: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    """Open reservations past their expiry, locked; rows another worker holds are skipped,
    so concurrent expiry runs never release the same reservation twice."""
    sql = """
    SELECT id FROM reservations WHERE status = 'open' AND expires_at <= :now
    ORDER BY expires_at, id LIMIT :limit FOR UPDATE SKIP LOCKED
    """
    return list((await session.scalars(text(sql), {"now": now, "limit": limit})).all())
