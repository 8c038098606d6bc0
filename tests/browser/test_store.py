"""Screen 2, the store associate at STORE-BERLIN (on a 360 px handheld): a ship-from-store
request rejected with a reason (re-sourced elsewhere), a BOPIS order picked, made ready and
handed over against the customer's code after one wrong code — all recorded under the
associate's staff id."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import expect

from app.console.rules import StaffRole
from tests.browser.conftest import Live, add_staff, catalog, place_order, screenshot, signed_in
from tests.factories.orders import GUEST_CONTACT

STORE = "STORE-BERLIN"
SHIPPED_FROM_STORE, PICKED_UP = "TEE-CLASSIC-WHITE-XL", "TEE-CLASSIC-BLACK-M"
BERLIN = {"line1": "Unter den Linden 1", "city": "Berlin", "country": "DE", "latitude": 52.517, "longitude": 13.389}


async def test_store_rejects_a_request_and_hands_a_pickup_over(live: Live, browser: object) -> None:
    with live.api("admin") as admin:
        # The warehouses have none left, so a Berlin delivery is shipped from the Berlin store.
        for warehouse in ("WH-NORTH", "WH-SOUTH"):
            counted = admin.post(
                "/v1/stock/counts", json={"location": warehouse, "lines": [{"sku": SHIPPED_FROM_STORE, "on_hand": 0}]}
            )
            assert counted.status_code in (200, 201), counted.text
    delivery = place_order(live, {SHIPPED_FROM_STORE: 1}, fulfillment={"method": "delivery", "address": BERLIN})
    pickup = place_order(
        live, {PICKED_UP: 1}, fulfillment={"method": "pickup", "location": STORE}, contact=GUEST_CONTACT
    )
    associate = await add_staff(live, StaffRole.STORE_ASSOCIATE, STORE)
    staff_id = await live.value("SELECT id FROM staff_members WHERE email = :e", e=associate)
    request_fo = await live.value(
        "SELECT number FROM fulfillment_orders WHERE order_id = :o AND location_code = :s",
        o=uuid.UUID(delivery["id"]),
        s=STORE,
    )
    assert request_fo is not None, "the delivery was not sourced to the store"

    page = await signed_in(browser, live, associate)
    await page.get_by_role("navigation").get_by_role("link", name="Store").click()
    await expect(page.get_by_role("heading", name=f"Store · {STORE}")).to_be_visible()
    await page.get_by_label(f"Reason to reject {request_fo}").select_option("no_staff")
    await page.get_by_role("button", name=f"Reject {request_fo}").click()
    await expect(page.get_by_role("status")).to_contain_text(f"{request_fo} rejected")

    # The pickup: picked on the Picking screen, then put at the counter.
    await page.get_by_role("navigation").get_by_role("link", name="Picking").click()
    await page.get_by_role("button", name="Take the next pick list").click()
    scan = page.get_by_label(re.compile("^Scan item"))
    await scan.fill(catalog()[PICKED_UP])
    await scan.press("Enter")
    await expect(page.locator("tr.done .sku")).to_have_text([PICKED_UP])
    await page.get_by_role("button", name="Confirm pick list").click()
    await expect(page.get_by_role("heading", name="Pick list confirmed")).to_be_visible()
    await page.get_by_role("navigation").get_by_role("link", name="Store").click()
    await page.get_by_role("button", name=f"Ready for pickup: {pickup['number']}").click()
    await expect(page.get_by_role("status")).to_contain_text("is ready")

    code = await live.value(
        "SELECT payload->>'pickup_code' FROM outbox_events WHERE type = 'fulfillment.pickup_ready' "
        "AND payload->>'order_id' = :o",
        o=pickup["id"],
    )
    wrong = "000000" if code != "000000" else "111111"
    field = page.get_by_label(f"Customer's pickup code for order {pickup['number']}")
    await field.fill(wrong)
    await field.press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("WRONG CODE")
    await screenshot(page, "store-wrong-code")
    field = page.get_by_label(f"Customer's pickup code for order {pickup['number']}")
    await field.fill(code)
    await field.press("Enter")
    await expect(page.get_by_role("status")).to_contain_text("handed over")
    await screenshot(page, "store")

    rejected = await live.rows("SELECT status, reject_reason FROM fulfillment_orders WHERE number = :n", n=request_fo)
    assert [(r.status, r.reject_reason) for r in rejected] == [("rejected", "no_staff")]
    elsewhere = await live.value(
        "SELECT count(*) FROM fulfillment_orders WHERE order_id = :o AND location_code <> :s AND status <> 'rejected'",
        o=uuid.UUID(delivery["id"]),
        s=STORE,
    )
    assert elsewhere == 1
    handed = await live.rows(
        "SELECT status, code_attempts FROM fulfillment_orders WHERE order_id = :o", o=uuid.UUID(pickup["id"])
    )
    assert [(r.status, r.code_attempts) for r in handed] == [("collected", 1)]
    kinds = await live.rows(
        "SELECT e.kind, e.to_status FROM fulfillment_events e "
        "JOIN fulfillment_orders f ON f.id = e.fulfillment_order_id "
        "WHERE f.order_id IN (:a, :b) AND e.actor_key_id = :s",
        a=uuid.UUID(delivery["id"]),
        b=uuid.UUID(pickup["id"]),
        s=staff_id,
    )
    assert {"rejected", "picked", "ready_for_pickup", "collected"} <= {r.to_status for r in kinds}
    assert "wrong_pickup_code" in {r.kind for r in kinds}
    order_status = await live.value("SELECT status FROM orders WHERE id = :o", o=uuid.UUID(pickup["id"]))
    assert order_status == "completed"
