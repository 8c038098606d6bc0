"""A customer's returnable lines across their recent orders cost a fixed number of statements
however many orders are scanned (no statement per order), and say what each order says."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core import db as core_db
from tests.api.orders.helpers import customer_with_token, random_email
from tests.api.returns.conftest import (
    SHIRT_PRICE,
    Shop,
    collect,
    deliver,
    delivery_body,
    make_shop,
    pickup_body,
    place,
)
from tests.conftest import Api


@contextmanager
def statements(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement sent while inside: through SQLAlchemy and straight on the driver."""
    seen: list[str] = []

    def on_execute(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen.append(sql)

    driver_run = core_db._run

    async def counted_run(session: AsyncSession, method: str, sql: str, args: Any) -> Any:
        seen.append(sql)
        return await driver_run(session, method, sql, args)

    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    monkeypatch.setattr(core_db, "_run", counted_run)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", on_execute)
        monkeypatch.setattr(core_db, "_run", driver_run)


async def delivered_order(
    api: Api, db: AsyncSession, shop: Shop, customer_id: str, token: str, n: int
) -> dict[str, Any]:
    """Alternately delivered home (2 shirts) and collected at the store (1 shirt + 1 sock)."""
    headers = {"X-Customer-Token": token}
    if n % 2 == 0:
        order = await place(
            api, "storefront", delivery_body({shop.small: 2}, 2 * SHIRT_PRICE, customer_id=customer_id), headers
        )
        await deliver(api, order)
    else:
        body = pickup_body({shop.medium: 1, shop.sock: 1}, SHIRT_PRICE + 333, customer_id=customer_id)
        order = await place(api, "storefront", body, headers)
        await collect(api, db, order)
    return order


async def lookup(api: Api, customer_id: str) -> list[dict[str, Any]]:
    r = await api.as_("pos").get(f"/v1/customers/{customer_id}/returnable-lines")
    assert r.status_code == 200, r.text
    return list(r.json()["lines"])


async def per_order(api: Api, order_ids: list[str]) -> list[dict[str, Any]]:
    """The same lines, asked order by order (the single-order view)."""
    out: list[dict[str, Any]] = []
    for order_id in order_ids:
        r = await api.as_("pos").get(f"/v1/orders/{order_id}/returnable")
        assert r.status_code == 200, r.text
        out.extend(r.json()["lines"])
    return out


async def test_customer_lookup_costs_the_same_for_one_order_and_five(
    api: Api, db: AsyncSession, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = await make_shop(db)
    customer_id, token = await customer_with_token(api, random_email())
    orders = [await delivered_order(api, db, shop, customer_id, token, 0)]
    await lookup(api, customer_id)  # the key and the customer's first look-ups are cached after it
    with statements(engine, monkeypatch) as one:
        lines_one = await lookup(api, customer_id)
    assert [(ln["order_id"], ln["line_no"], ln["delivered"], ln["returnable_quantity"]) for ln in lines_one] == [
        (orders[0]["id"], 1, 2, 2)
    ]

    orders += [await delivered_order(api, db, shop, customer_id, token, n) for n in range(1, 5)]
    # Placing four orders on a busy box can outlast the API-key cache: warm it again, so both
    # counts are of the look-up alone.
    await lookup(api, customer_id)
    with statements(engine, monkeypatch) as five:
        lines_five = await lookup(api, customer_id)
    assert len(one) == len(five), (one, five)

    # Newest order first; each line as the order's own view tells it.
    newest_first = [o["id"] for o in reversed(orders)]
    assert [ln["order_id"] for ln in lines_five] == [o["id"] for o in reversed(orders) for _ in o["lines"]]
    assert lines_five == await per_order(api, newest_first)
    assert {(ln["sku"], ln["delivered"], ln["returnable_quantity"]) for ln in lines_five} == {
        (shop.small, 2, 2),
        (shop.medium, 1, 1),
        (shop.sock, 1, 1),
    }
    assert all(ln["delivered_at"] and ln["window_closes_at"] and ln["eligible"] for ln in lines_five)
