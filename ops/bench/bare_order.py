"""The bare floor of order placement: what Litestar + msgspec + asyncpg can do on this box with
none of the OMS's features. `ops/bench/orders_floor.py` serves it next to the real service and
loads both with the same clients, so the service's orders/s can be read as a fraction of it.

`POST /v1/orders` takes the same JSON body as the service (unknown fields are ignored), prices
the lines from prices loaded once at start, and writes the order in ONE statement: reserve each
line's unit at WH-1 with the conditional UPDATE, insert the order row and its lines. A line
that cannot be reserved raises inside the statement (division by zero), so the statement —
PostgreSQL's implicit transaction — leaves nothing behind and the answer is 409. No auth, no
idempotency record, no payment, no sourcing, no outbox: that is the point of a floor.

Serve it: `uvicorn bare_order:app --app-dir ops/bench` with DATABASE_URL pointing at a database
the orders bench seeded (orders_floor.py does this).
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import msgspec
from litestar import Litestar, Response, get, post
from litestar.datastructures import State

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
BENCH_KEY_ID = uuid.UUID(int=0)

PLACE = """
WITH wanted AS (
    SELECT sku, qty, price, n
      FROM unnest($1::text[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS l(sku, qty, price, n)
), reserved AS (
    UPDATE stock_levels s SET reserved = s.reserved + w.qty, updated_at = now()
      FROM wanted w
     WHERE s.sku = w.sku AND s.location_code = 'WH-1'
       AND s.on_hand - s.reserved - coalesce(s.safety_stock, 0) >= w.qty
    RETURNING s.sku
), placed AS (
    INSERT INTO orders (id, number, status, channel, api_key_id, fulfillment, delivery_address, currency,
                        subtotal, discount_total, total, pricing, reservation_ref, payment_key, placed_at, updated_at)
    SELECT $4, $5, 'placed', 'web', $6, 'delivery', $7::jsonb, 'EUR', $8, 0, $8, '{}'::jsonb, $9, $9, now(), now()
     WHERE 1 / ((SELECT count(*) FROM reserved) = cardinality($1::text[]))::int = 1
    RETURNING id
)
INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price, discount, line_total, pricing, location_code)
SELECT placed.id, w.n, w.sku, w.qty, w.price, 0, w.price * w.qty, '{}'::jsonb, 'WH-1' FROM placed, wanted w
"""


class Line(msgspec.Struct):
    sku: str
    quantity: int


class OrderIn(msgspec.Struct):
    lines: list[Line]


class OrderOut(msgspec.Struct):
    id: uuid.UUID
    number: str
    total: int


@asynccontextmanager
async def database(app: Litestar) -> AsyncIterator[None]:
    dsn = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    pool = await asyncpg.create_pool(dsn, min_size=10, max_size=15)
    rows = await pool.fetch("SELECT sku, amount FROM prices")
    app.state.pool, app.state.prices = pool, {r["sku"]: r["amount"] for r in rows}
    try:
        yield
    finally:
        await pool.close()


@post("/v1/orders")
async def place(data: OrderIn, state: State) -> Response[OrderOut]:
    prices: dict[str, int] = state.prices
    lines = sorted(data.lines, key=lambda line: line.sku)  # lock stock rows in one order, as the service does
    skus = [line.sku for line in lines]
    qtys = [line.quantity for line in lines]
    unit = [prices[sku] for sku in skus]
    total = sum(p * q for p, q in zip(unit, qtys, strict=True))
    order_id, number = uuid.uuid4(), "".join(secrets.choice(ALPHABET) for _ in range(10))
    address = '{"line1": "1 Bench Street", "city": "Munich", "postal_code": "80331", "country": "DE"}'
    try:
        await state.pool.execute(PLACE, skus, qtys, unit, order_id, number, BENCH_KEY_ID, address, total, str(order_id))
    except asyncpg.DivisionByZeroError:
        return Response(OrderOut(order_id, "", 0), status_code=409)
    except asyncpg.DeadlockDetectedError:  # UPDATE … FROM does not promise the lock order; rare
        return Response(OrderOut(order_id, "", 0), status_code=503)
    return Response(OrderOut(order_id, number, total), status_code=201)


@get("/ready")
async def ready() -> str:
    return "ok"


app = Litestar([place, ready], lifespan=[database], openapi_config=None)
