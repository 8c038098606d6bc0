"""Who may touch a reservation through /v1/reservations (issue 12, item 1): an order's
reservation moves only with its order; a hold only by the channel (and store) that made it;
channel holds always expire; consume is a POS till sale; no error names another caller's
reservation; `oms check` finds an open order whose reservation was released behind its back."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cli import main as oms
from app.core import clock
from app.core.auth import Channel, Role, create_key
from app.core.settings import get_settings
from app.inventory import service
from app.inventory.models import Reservation, StockMovement
from tests.conftest import TEST_STORE, Api
from tests.factories.orders import delivery_order, make_shop

TOTAL3 = 1000 + 2500 + 499


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


async def _place(api: Api, skus: list[str]) -> dict[str, Any]:
    r = await api.as_("storefront").post(
        "/v1/orders", json=delivery_order(skus, TOTAL3), headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_an_orders_reservation_cannot_be_found_or_released_through_the_api(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    order = await _place(api, shop.skus)
    reservation = await db.scalar(select(Reservation).where(Reservation.reference == f"order:{order['id']}"))
    assert reservation is not None
    line = {"sku": shop.skus[0], "location": shop.warehouse, "quantity": 1}
    # Another channel's key names the order's reference: no reservation id comes back.
    for lines in ([line], [{**line, "quantity": 2}]):
        squat = await api.as_("app").post(
            "/v1/reservations", json={"reference": f"order:{order['id']}", "lines": lines}
        )
        _problem(squat, 422, "reference_reserved")
        assert str(reservation.id) not in squat.text
    # Even knowing its id, no key releases or consumes it here (an admin neither).
    url = f"/v1/reservations/{reservation.id}"
    for label in ("storefront", "app", "kiosk", "integration", "admin"):
        _problem(await api.as_(label).post(f"{url}/release", json={}), 409, "reservation_held_by_order")
    _problem(
        await api.as_("pos").post(f"{url}/consume", json={"sale_reference": "r1"}), 409, "reservation_held_by_order"
    )
    _problem(await api.as_("storefront").get(url), 409, "reservation_held_by_order")
    assert (await api.as_("admin").get(url)).json()["status"] == "open"
    # The order still cancels, and its cancellation releases its stock.
    cancelled = await api.as_("storefront").post(f"/v1/orders/{order['id']}/cancel", json={"reason": "changed mind"})
    assert cancelled.status_code == 200, cancelled.text
    assert (await api.as_("admin").get(url)).json()["status"] == "released"
    assert await service.check_integrity(db) == []


async def test_a_hold_is_settled_only_by_its_channel_and_store(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    line = {"sku": shop.skus[0], "location": shop.warehouse, "quantity": 1}
    web = await api.as_("storefront").post("/v1/reservations", json={"reference": "cart:w1", "lines": [line]})
    assert web.status_code == 201, web.text
    url = f"/v1/reservations/{web.json()['id']}"
    for label in ("app", "contact_center", "integration", "kiosk"):
        _problem(await api.as_(label).post(f"{url}/release", json={}), 403, "not_reservation_holder")
        _problem(await api.as_(label).get(url), 403, "not_reservation_holder")
    # The same reference from another channel: a conflict that does not say whose it is.
    taken = await api.as_("app").post("/v1/reservations", json={"reference": "cart:w1", "lines": [line]})
    body = _problem(taken, 409, "reference_in_use")
    assert web.json()["id"] not in taken.text and "reservation_id" not in body.get("extra", {})
    # Another key of the same channel (a second web server) may; so may an admin.
    _, other_web = await create_key(db, role=Role.STOREFRONT, name="web 2", channel=Channel.WEB)
    await db.commit()
    released = await api.with_key(other_web).post(f"{url}/release", json={})
    assert released.status_code == 200 and released.json()["status"] == "released"
    # A kiosk's hold belongs to its store: another store's kiosk may not release it.
    kiosk = await api.as_("kiosk").post(
        "/v1/reservations", json={"reference": "cart:k1", "lines": [{**line, "location": shop.store}]}
    )
    assert kiosk.status_code == 201, kiosk.text
    _, far_kiosk = await create_key(
        db, role=Role.KIOSK, name="far", channel=Channel.KIOSK, location_code=shop.other_store
    )
    await db.commit()
    far = await api.with_key(far_kiosk).post(f"/v1/reservations/{kiosk.json()['id']}/release", json={})
    _problem(far, 403, "not_reservation_holder")
    admin = await api.as_("admin").post(f"/v1/reservations/{kiosk.json()['id']}/release", json={})
    assert admin.json()["status"] == "released"
    assert await service.check_integrity(db) == []


async def test_channel_holds_always_expire(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    settings = get_settings()
    line = {"sku": shop.skus[0], "location": shop.warehouse, "quantity": 2}
    r = await api.as_("storefront").post("/v1/reservations", json={"reference": "cart:x1", "lines": [line]})
    assert r.status_code == 201, r.text
    expires = clock.ensure_utc(datetime.fromisoformat(r.json()["expires_at"]))
    assert abs(expires - (clock.now() + timedelta(minutes=settings.hold_ttl_minutes))) < timedelta(minutes=1)
    too_far = (clock.now() + timedelta(minutes=settings.hold_max_minutes + 5)).isoformat()
    _problem(
        await api.as_("app").post(
            "/v1/reservations", json={"reference": "cart:x2", "lines": [line], "expires_at": too_far}
        ),
        422,
        "expiry_too_far",
    )
    # An integration (ERP allocation) may hold until released.
    erp = await api.as_("integration").post("/v1/reservations", json={"reference": "erp:1", "lines": [line]})
    assert erp.status_code == 201 and erp.json()["expires_at"] is None
    clock.advance(timedelta(minutes=settings.hold_ttl_minutes + 1))
    assert await service.expire_reservations(db) == 1
    gone = await api.as_("storefront").get(f"/v1/reservations/{r.json()['id']}")
    assert gone.json()["status"] == "released"
    assert await db.scalar(select(Reservation.id).where(Reservation.reference == "cart:x2")) is None


async def test_consume_is_a_pos_till_sale_with_a_sale_reference(api: Api, db: AsyncSession) -> None:
    shop = await make_shop(db)
    line = {"sku": shop.skus[0], "location": TEST_STORE, "quantity": 1}
    web = await api.as_("storefront").post("/v1/reservations", json={"reference": "cart:c1", "lines": [line]})
    for label in ("storefront", "kiosk", "contact_center", "integration", "admin"):
        refused = await api.as_(label).post(
            f"/v1/reservations/{web.json()['id']}/consume", json={"sale_reference": "r"}
        )
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden", (label, refused.text)
    till = await api.as_("pos").post("/v1/reservations", json={"reference": "till:77", "lines": [line]})
    assert till.status_code == 201, till.text
    url = f"/v1/reservations/{till.json()['id']}/consume"
    _problem(await api.as_("pos").post(url, json={}), 400, "validation_error")
    sold = await api.as_("pos").post(url, json={"sale_reference": "receipt-0042"})
    assert sold.status_code == 200 and sold.json()["status"] == "consumed", sold.text
    sales = (await db.scalars(select(StockMovement).where(StockMovement.reason == "sale"))).all()
    assert [(m.reference, m.delta) for m in sales] == [("receipt-0042", -1)]
    # The web hold was not consumed by anyone.
    assert (await api.as_("storefront").get(f"/v1/reservations/{web.json()['id']}")).json()["status"] == "open"


async def test_oms_check_reports_an_open_order_whose_reservation_is_gone(
    committed_api: Api, committed: async_sessionmaker[AsyncSession]
) -> None:
    async with committed() as session:
        shop = await make_shop(session)
        await session.commit()
    order = await _place(committed_api, shop.skus)
    runner = CliRunner()
    clean = await asyncio.to_thread(runner.invoke, oms, ["check"])  # the CLI runs its own event loop
    assert clean.exit_code == 0, clean.output
    # What the old /v1/reservations let a storefront do: release the order's reservation.
    async with committed() as session:
        await service.release(session, reference=f"order:{order['id']}")
        await session.commit()
    broken = await asyncio.to_thread(runner.invoke, oms, ["check"])
    assert broken.exit_code == 1, broken.output
    missing = [line for line in broken.output.splitlines() if line.startswith("order_reservation_missing")]
    assert len(missing) == 3, broken.output
    assert all(f"order={order['number']}" in line and "awaiting=1 reserved=0" in line for line in missing)
