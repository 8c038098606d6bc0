"""Every SQL statement of inventory.

The stock writes are data-modifying CTEs: the row change, its ledger rows and its outbox
events travel in one statement (one round trip, one lock acquisition per row). Writers
take stock rows in (sku, location) order: the reservation path by issuing its conditional
UPDATEs in that order, every other path by a `SELECT ... ORDER BY ... FOR UPDATE` CTE
(`locked`) before touching the rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import msgspec
from sqlalchemy import Row, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import db
from app.inventory.models import (
    Location,
    Reservation,
    StockLevel,
    StockMovement,
    StockSyncBatch,
    Transfer,
    TransferLine,
)

# Parameters used in several places of one statement are cast the same way everywhere, or
# PostgreSQL deduces inconsistent types for them.
NOW = "CAST(:now AS timestamptz)"
ACTOR = "CAST(:actor AS uuid)"

# Effective safety stock of a stock row `s` at its location `l`.
SAFETY = "coalesce(s.safety_stock, l.default_safety_stock)"
AVAILABLE = f"greatest(s.on_hand - s.reserved - {SAFETY}, 0)"


def _outbox_insert(
    event_type: str, source: str, aggregate_type: str, aggregate_id: str, payload: str, now: str = NOW
) -> str:
    """INSERT of one outbox event per row of `source` (same columns as app.core.outbox.record)."""
    return (
        "INSERT INTO outbox_events"
        " (event_id, type, schema_version, aggregate_type, aggregate_id, payload, occurred_at) "
        f"SELECT gen_random_uuid(), '{event_type}', 1, '{aggregate_type}', {aggregate_id}, {payload}, {now} "
        f"FROM {source}"
    )


# ---- locations -------------------------------------------------------------------------


async def location(session: AsyncSession, code: str, *, lock: bool = False) -> Location | None:
    query = select(Location).where(Location.code == code)
    if lock:
        query = query.with_for_update()
    result: Location | None = await session.scalar(query)
    return result


async def existing_location_codes(session: AsyncSession, codes: Sequence[str]) -> set[str]:
    rows = await session.scalars(select(Location.code).where(Location.code.in_(list(codes))))
    return set(rows.all())


async def add_location(session: AsyncSession, loc: Location) -> bool:
    """False when the code is taken (the request's transaction stays usable)."""
    try:
        async with session.begin_nested():
            session.add(loc)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def list_locations(
    session: AsyncSession,
    *,
    kind: str | None,
    ships: bool | None,
    pickup: bool | None,
    after: str | None,
    limit: int | None,
) -> list[Location]:
    query = select(Location).order_by(Location.code)
    if kind is not None:
        query = query.where(Location.kind == kind)
    if ships is not None:
        query = query.where(Location.ships == ships)
    if pickup is not None:
        query = query.where(Location.pickup == pickup)
    if after is not None:
        query = query.where(Location.code > after)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.scalars(query)).all())


async def location_in_use(session: AsyncSession, code: str) -> bool:
    row = await session.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM stock_levels WHERE location_code = :c)"
            " OR EXISTS (SELECT 1 FROM stock_movements WHERE location_code = :c)"
            " OR EXISTS (SELECT 1 FROM transfers WHERE from_location = :c OR to_location = :c)"
            " OR EXISTS (SELECT 1 FROM stock_sync_batches WHERE location_code = :c)"
            " OR EXISTS (SELECT 1 FROM reservation_lines WHERE location_code = :c)"
        ),
        {"c": code},
    )
    return bool(row.scalar())


async def delete_location(session: AsyncSession, loc: Location) -> None:
    await session.delete(loc)
    await session.flush()


# ---- stock levels ------------------------------------------------------------------------

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


# ---- reservations ---------------------------------------------------------------------------


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


# ---- ledger ------------------------------------------------------------------------------


async def ledger_page(
    session: AsyncSession, *, sku: str | None, location_code: str | None, before_id: int | None, limit: int
) -> list[StockMovement]:
    query = select(StockMovement).order_by(StockMovement.id.desc()).limit(limit)
    if sku is not None:
        query = query.where(StockMovement.sku == sku)
    if location_code is not None:
        query = query.where(StockMovement.location_code == location_code)
    if before_id is not None:
        query = query.where(StockMovement.id < before_id)
    return list((await session.scalars(query)).all())


async def on_hand_at(session: AsyncSession, sku: str, location_code: str, at: datetime) -> int | None:
    """on_hand as of `at`: today's on_hand minus every movement effective after `at`.
    None when the SKU was never stocked there."""
    sql = """
    SELECT s.on_hand - coalesce((
        SELECT sum(m.delta) FROM stock_movements m
        WHERE m.sku = s.sku AND m.location_code = s.location_code AND m.effective_at > :at
    ), 0) AS on_hand
    FROM stock_levels s WHERE s.sku = :sku AND s.location_code = :loc
    """
    value = await session.scalar(text(sql), {"sku": sku, "loc": location_code, "at": at})
    return None if value is None else int(value)


async def count_basis(
    session: AsyncSession, location_code: str, lines: Sequence[tuple[str, datetime]]
) -> dict[str, tuple[int, int]]:
    """For each (sku, counted_at) at a location: (on_hand now, sum of movements effective
    after counted_at), with the stock rows locked in sku order until the transaction ends."""
    sql = """
    WITH x AS (
        SELECT * FROM unnest(CAST(:skus AS text[]), CAST(:at AS timestamptz[])) AS x(sku, counted_at)
    ),
    locked AS MATERIALIZED (
        SELECT s.sku, s.on_hand FROM stock_levels s JOIN x ON s.sku = x.sku
        WHERE s.location_code = :loc ORDER BY s.sku FOR UPDATE OF s
    )
    SELECT k.sku, k.on_hand, coalesce((
        SELECT sum(m.delta) FROM stock_movements m
        WHERE m.sku = k.sku AND m.location_code = :loc AND m.effective_at > x.counted_at
    ), 0) AS moved
    FROM locked k JOIN x ON x.sku = k.sku
    """
    rows = await session.execute(
        text(sql), {"loc": location_code, "skus": [line[0] for line in lines], "at": [line[1] for line in lines]}
    )
    return {r.sku: (int(r.on_hand), int(r.moved)) for r in rows}


async def claim_sync_batch(
    session: AsyncSession, location_code: str, batch_id: str, actor: uuid.UUID | None, now: datetime
) -> bool:
    """Record the batch before applying it; False when it was received before. A concurrent
    re-send waits on the key until the first commits, then sees it."""
    stmt = (
        insert(StockSyncBatch)
        .values(location_code=location_code, batch_id=batch_id, received_at=now, actor_key_id=actor, outcome={})
        .on_conflict_do_nothing()
        .returning(StockSyncBatch.batch_id)
    )
    return (await session.execute(stmt)).first() is not None


async def sync_batch(session: AsyncSession, location_code: str, batch_id: str) -> StockSyncBatch | None:
    result: StockSyncBatch | None = await session.get(StockSyncBatch, (location_code, batch_id))
    return result


async def save_sync_outcome(session: AsyncSession, location_code: str, batch_id: str, outcome: dict[str, Any]) -> None:
    await session.execute(
        update(StockSyncBatch)
        .where(StockSyncBatch.location_code == location_code, StockSyncBatch.batch_id == batch_id)
        .values(outcome=outcome)
    )


# ---- transfers -----------------------------------------------------------------------------


async def add_transfer(session: AsyncSession, transfer: Transfer, lines: Sequence[TransferLine]) -> None:
    session.add(transfer)
    session.add_all(lines)
    await session.flush()


async def transfer(session: AsyncSession, transfer_id: uuid.UUID, *, lock: bool = False) -> Transfer | None:
    query = select(Transfer).where(Transfer.id == transfer_id).execution_options(populate_existing=True)
    if lock:
        query = query.with_for_update()
    result: Transfer | None = await session.scalar(query)
    return result


async def transfer_lines(session: AsyncSession, transfer_ids: Sequence[uuid.UUID]) -> list[TransferLine]:
    query = (
        select(TransferLine)
        .where(TransferLine.transfer_id.in_(list(transfer_ids)))
        .order_by(TransferLine.transfer_id, TransferLine.sku)
    )
    return list((await session.scalars(query)).all())


async def list_transfers(
    session: AsyncSession,
    *,
    status: str | None,
    location_code: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Transfer]:
    query = select(Transfer).order_by(Transfer.created_at.desc(), Transfer.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Transfer.status == status)
    if location_code is not None:
        query = query.where((Transfer.from_location == location_code) | (Transfer.to_location == location_code))
    if after is not None:
        query = query.where(tuple_(Transfer.created_at, Transfer.id) < tuple_(*after))
    return list((await session.scalars(query)).all())


# ---- availability -------------------------------------------------------------------------------


async def availability(
    session: AsyncSession,
    skus: Sequence[str],
    *,
    lat: float | None,
    lon: float | None,
    radius_km: float | None,
    pickup_only: bool,
    location_codes: Sequence[str] | None = None,
) -> list[Row[Any]]:
    """One statement for all SKUs: per SKU a total row (location NULL: available to ship
    from every shipping location) followed by its per-location rows (available > 0,
    within the radius, pickup stores only if asked), nearest first. Stock rows are found
    through the (sku, location) primary key; the distance is computed per location,
    which is cheap because locations are few."""
    distance = (
        "2 * 6371.0088 * asin(least(1, sqrt(power(sin(radians(l.latitude - :lat) / 2), 2) + "
        "cos(radians(:lat)) * cos(radians(l.latitude)) * power(sin(radians(l.longitude - :lon) / 2), 2))))"
        if lat is not None and lon is not None
        else "CAST(NULL AS double precision)"
    )
    filters = ["r.available > 0"]
    if radius_km is not None and lat is not None:
        filters.append("r.distance_km <= :radius")
    if pickup_only:
        filters.append("r.pickup")
    if location_codes is not None:
        filters.append("r.location_code = ANY(CAST(:codes AS text[]))")
    sql = f"""
    WITH r AS (
        SELECT s.sku, s.location_code, l.kind, l.ships, l.pickup, {AVAILABLE} AS available, {distance} AS distance_km
        FROM stock_levels s JOIN locations l ON l.code = s.location_code
        WHERE s.sku = ANY(CAST(:skus AS text[])) AND l.active
    )
    SELECT sku, NULL AS location_code, NULL AS kind, NULL AS ships, NULL AS pickup,
           coalesce(sum(available) FILTER (WHERE ships), 0) AS available, NULL AS distance_km, 0 AS part
    FROM r GROUP BY sku
    UNION ALL
    SELECT sku, location_code, kind, ships, pickup, available, distance_km, 1 AS part
    FROM r WHERE {" AND ".join(filters)}
    ORDER BY sku, part, distance_km NULLS LAST, location_code
    """
    params: dict[str, Any] = {"skus": list(skus), "lat": lat, "lon": lon, "radius": radius_km}
    if location_codes is not None:
        params["codes"] = list(location_codes)
    return list((await session.execute(text(sql), params)).all())


async def available_by_location(
    session: AsyncSession, skus: Sequence[str], location_codes: Sequence[str] | None
) -> list[Row[Any]]:
    where = "s.sku = ANY(CAST(:skus AS text[])) AND l.active"
    params: dict[str, Any] = {"skus": list(skus)}
    if location_codes is not None:
        where += " AND s.location_code = ANY(CAST(:codes AS text[]))"
        params["codes"] = list(location_codes)
    sql = (
        f"SELECT s.sku, s.location_code, {AVAILABLE} AS available FROM stock_levels s "
        f"JOIN locations l ON l.code = s.location_code WHERE {where}"
    )
    return list((await session.execute(text(sql), params)).all())


# Where an order could be sourced from, with what those locations have of its SKUs: one
# driver statement per placement. `{locations}` narrows the locations, `{stocked}` the
# stock rows read (only where the planner could take them).
_SOURCING_LOCATIONS = f"""
WITH stock AS (
    SELECT s.location_code, array_agg(s.sku) AS skus, array_agg({AVAILABLE}) AS available
    FROM stock_levels s JOIN locations l ON l.code = s.location_code
    WHERE s.sku = ANY(CAST($1 AS text[])) AND l.active AND {{stocked}}
    GROUP BY s.location_code
)
SELECT l.code, l.kind, l.latitude, l.longitude, l.ships, l.pickup, l.active, l.daily_capacity,
       stock.skus, stock.available
FROM locations l LEFT JOIN stock ON stock.location_code = l.code
WHERE {{locations}}
ORDER BY l.code
"""
_PICKUP = "(l.code = CAST($2 AS text) OR l.kind = 'warehouse')"
SOURCING_STATEMENTS = {
    # The explanation of a delivery's plan names every location; only shipping ones serve it.
    "delivery": _SOURCING_LOCATIONS.format(locations="true", stocked="l.ships"),
    # A pickup is served by its store, or by warehouses shipping to it.
    "pickup": _SOURCING_LOCATIONS.format(locations=_PICKUP, stocked=_PICKUP),
    "any": _SOURCING_LOCATIONS.format(locations="true", stocked="true"),
}


async def sourcing_locations(
    session: AsyncSession, skus: Sequence[str], serves: str, pickup_location: str | None
) -> list[Any]:
    """Rows (code, kind, latitude, longitude, ships, pickup, active, daily_capacity, skus,
    available) by code; `skus`/`available` are parallel arrays, NULL without stock rows.
    `serves` is a key of SOURCING_STATEMENTS."""
    sql = SOURCING_STATEMENTS[serves]
    if serves == "pickup":
        return await db.fetch(session, sql, list(skus), pickup_location)
    return await db.fetch(session, sql, list(skus))


# ---- integrity -------------------------------------------------------------------------------------

CHECKS: dict[str, str] = {
    "on_hand_differs_from_ledger": """
        SELECT coalesce(s.sku, m.sku) AS sku, coalesce(s.location_code, m.location_code) AS location,
               s.on_hand AS actual, coalesce(m.total, 0) AS expected
        FROM stock_levels s
        FULL JOIN (SELECT sku, location_code, sum(delta) AS total FROM stock_movements GROUP BY 1, 2) m
          ON m.sku = s.sku AND m.location_code = s.location_code
        WHERE coalesce(s.on_hand, 0) <> coalesce(m.total, 0)
    """,
    "reserved_differs_from_open_reservations": """
        SELECT coalesce(s.sku, o.sku) AS sku, coalesce(s.location_code, o.location_code) AS location,
               s.reserved AS actual, coalesce(o.open, 0) AS expected
        FROM stock_levels s
        FULL JOIN (
            SELECT rl.sku, rl.location_code, sum(rl.quantity - rl.released_qty - rl.consumed_qty) AS open
            FROM reservation_lines rl WHERE rl.released_qty + rl.consumed_qty < rl.quantity GROUP BY 1, 2
        ) o ON o.sku = s.sku AND o.location_code = s.location_code
        WHERE coalesce(s.reserved, 0) <> coalesce(o.open, 0)
    """,
    "in_transit_differs_from_dispatched_transfers": """
        SELECT coalesce(s.sku, t.sku) AS sku, coalesce(s.location_code, t.to_location) AS location,
               s.in_transit AS actual, coalesce(t.qty, 0) AS expected
        FROM stock_levels s
        FULL JOIN (
            SELECT tl.sku, tr.to_location, sum(tl.quantity) AS qty FROM transfer_lines tl
            JOIN transfers tr ON tr.id = tl.transfer_id WHERE tr.status = 'dispatched' GROUP BY 1, 2
        ) t ON t.sku = s.sku AND t.to_location = s.location_code
        WHERE coalesce(s.in_transit, 0) <> coalesce(t.qty, 0)
    """,
    "negative_quantity": """
        SELECT sku, location_code AS location, least(on_hand, reserved, in_transit) AS actual, 0 AS expected
        FROM stock_levels WHERE on_hand < 0 OR reserved < 0 OR in_transit < 0
    """,
    "ledger_row_negative_on_hand": """
        SELECT sku, location_code AS location, on_hand_after AS actual, 0 AS expected
        FROM stock_movements WHERE on_hand_after < 0
    """,
    "reservation_status_wrong": """
        SELECT r.reference AS sku, NULL AS location,
               CAST(count(*) FILTER (WHERE l.released_qty + l.consumed_qty < l.quantity) AS bigint) AS actual,
               CAST(CASE WHEN r.status = 'open' THEN 1 ELSE 0 END AS bigint) AS expected
        FROM reservations r JOIN reservation_lines l ON l.reservation_id = r.id
        GROUP BY r.id, r.reference, r.status
        HAVING (r.status = 'open') <> bool_or(l.released_qty + l.consumed_qty < l.quantity)
    """,
}


async def integrity_findings(session: AsyncSession, limit: int) -> list[tuple[str, Row[Any]]]:
    findings: list[tuple[str, Row[Any]]] = []
    for name, sql in CHECKS.items():
        rows = await session.execute(text(f"SELECT * FROM ({sql}) q LIMIT :limit"), {"limit": limit})
        findings.extend((name, row) for row in rows)
    return findings
