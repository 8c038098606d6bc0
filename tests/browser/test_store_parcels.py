"""Screen 2, the store's back door (360 px handheld): a pickup at STORE-HAMBURG, which lacks
the scarf, comes ship-to-store from a warehouse. Another store's associate neither sees the
parcel nor can scan it in; at Hamburg a wrong scan is refused loudly, then the parcel's
tracking number is scanned in — as `POST /v1/parcels/received` — and the pickup moves on."""

from __future__ import annotations

import uuid

from playwright.async_api import expect

from app.console.rules import StaffRole
from tests.browser.conftest import Live, add_staff, place_order, screenshot, signed_in
from tests.factories.orders import GUEST_CONTACT

STORE, OTHER, SKU = "STORE-HAMBURG", "STORE-MUNICH", "SCARF-WOOL-GREY-ONESIZE"


async def test_associate_scans_in_a_ship_to_store_parcel(live: Live, browser: object) -> None:
    tracking = f"1Z{uuid.uuid4().int % 10**12:012d}"
    with live.api("admin") as admin:
        counted = admin.post("/v1/stock/counts", json={"location": STORE, "lines": [{"sku": SKU, "on_hand": 0}]})
        assert counted.status_code in (200, 201), counted.text
    order = place_order(live, {SKU: 1}, fulfillment={"method": "pickup", "location": STORE}, contact=GUEST_CONTACT)
    order_id = uuid.UUID(order["id"])
    inbound = (
        await live.rows(
            "SELECT id, number, location_code FROM fulfillment_orders WHERE order_id = :o AND type = 'ship_to_store'",
            o=order_id,
        )
    )[0]
    with live.api("admin") as admin:
        picks = admin.post("/v1/pick-lists", json={"location_code": inbound.location_code})
        assert picks.status_code == 201, picks.text
        found = [{"sku": ln["sku"], "found": ln["quantity"]} for ln in picks.json()["lines"]]
        confirmed = admin.post(f"/v1/pick-lists/{picks.json()['id']}/confirm", json={"lines": found})
        assert confirmed.status_code in (200, 201), confirmed.text
        packed = admin.post(
            f"/v1/fulfillment-orders/{inbound.id}/pack",
            json={"parcels": [{"carrier": "dhl", "tracking_number": tracking}]},
        )
        assert packed.status_code in (200, 201), packed.text
        shipped = admin.post(f"/v1/fulfillment-orders/{inbound.id}/ship")
        assert shipped.status_code in (200, 201), shipped.text

    # Munich's associate: not their parcel — not listed, and their scan is refused.
    munich = await signed_in(browser, live, await add_staff(live, StaffRole.STORE_ASSOCIATE, OTHER))
    await munich.goto("/console/store")
    await expect(munich.locator("body")).not_to_contain_text(tracking)
    scan = munich.get_by_label("Scan a parcel: tracking number or fulfillment order number")
    await scan.fill(tracking)
    await scan.press("Enter")
    await expect(munich.get_by_role("alert")).to_contain_text("NOT EXPECTED HERE")

    associate = await add_staff(live, StaffRole.STORE_ASSOCIATE, STORE)
    page = await signed_in(browser, live, associate)
    await page.get_by_role("navigation").get_by_role("link", name="Store").click()
    arriving = page.locator(".parcel", has_text=inbound.number)
    await expect(arriving).to_contain_text(tracking)
    await expect(arriving).to_contain_text(order["number"])
    scan = page.get_by_label("Scan a parcel: tracking number or fulfillment order number")
    await scan.fill("4006381333931")
    await scan.press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("NOT EXPECTED HERE")
    await expect(page.get_by_label("Scan a parcel: tracking number or fulfillment order number")).to_be_focused()
    await screenshot(page, "store-parcel-refused")
    assert await live.value("SELECT status FROM fulfillment_orders WHERE id = :f", f=inbound.id) == "shipped"

    scan = page.get_by_label("Scan a parcel: tracking number or fulfillment order number")
    await scan.fill(tracking)
    await scan.press("Enter")
    await expect(page.get_by_role("status")).to_contain_text(f"Parcel {tracking} received")
    await expect(page.locator(".parcel", has_text=inbound.number)).to_have_count(0)
    await screenshot(page, "store-parcels")

    delivered = await live.value("SELECT delivered_at FROM parcels WHERE tracking_number = :t", t=tracking)
    assert delivered is not None
    statuses = await live.rows("SELECT type, status FROM fulfillment_orders WHERE order_id = :o", o=order_id)
    by_type = {r.type: r.status for r in statuses}
    assert by_type["ship_to_store"] == "delivered"
    assert by_type["pickup"] not in ("awaiting_transfer", "cancelled")
    on_hand = await live.value("SELECT on_hand FROM stock_levels WHERE sku = :s AND location_code = :l", s=SKU, l=STORE)
    assert on_hand == 1
