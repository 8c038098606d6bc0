"""Screen 3, the returns counter at STORE-BERLIN: a collected pickup order is found by its
number (the receipt's scan), one unit comes back to the shelf; the refund per tender is shown
before confirming and is exactly what is then written; the receipt prints."""

from __future__ import annotations

import uuid

from playwright.async_api import expect

from app import demo
from app.console.rules import StaffRole
from tests.browser.conftest import Live, add_staff, place_order, screenshot, signed_in
from tests.factories.orders import GUEST_CONTACT

STORE, SKU = "STORE-BERLIN", "TEE-POCKET-OLIVE-S"


def collected_pickup(live: Live) -> dict[str, object]:
    """A BOPIS order picked, made ready and collected at the Berlin store through the API."""
    order = place_order(live, {SKU: 1}, fulfillment={"method": "pickup", "location": STORE}, contact=GUEST_CONTACT)
    with live.api("logistics (store)") as picker, live.api("pos") as till:
        walk = picker.post("/v1/pick-lists", json={})
        assert walk.status_code == 201, walk.text
        found = [{"sku": ln["sku"], "found": ln["quantity"]} for ln in walk.json()["lines"]]
        assert picker.post(f"/v1/pick-lists/{walk.json()['id']}/confirm", json={"lines": found}).status_code == 200
        fos = till.get("/v1/fulfillment-orders", params={"order_id": order["id"]}).json()["items"]
        assert till.post(f"/v1/fulfillment-orders/{fos[0]['id']}/ready").status_code == 200
    return order


async def test_return_at_the_counter_shows_the_refund_then_writes_it(live: Live, browser: object) -> None:
    order = collected_pickup(live)
    code = await live.value(
        "SELECT payload->>'pickup_code' FROM outbox_events WHERE type = 'fulfillment.pickup_ready' "
        "AND payload->>'order_id' = :o",
        o=order["id"],
    )
    fo_id = await live.value("SELECT id FROM fulfillment_orders WHERE order_id = :o", o=uuid.UUID(str(order["id"])))
    with live.api("pos") as till:
        assert till.post(f"/v1/fulfillment-orders/{fo_id}/collect", json={"code": code}).status_code == 200
    associate = await add_staff(live, StaffRole.STORE_ASSOCIATE, STORE)
    staff_id = await live.value("SELECT id FROM staff_members WHERE email = :e", e=associate)
    price = demo.price_of(SKU)

    page = await signed_in(browser, live, associate)
    await page.get_by_role("navigation").get_by_role("link", name="Returns").click()
    find = page.get_by_label("Order number, loyalty card, phone or e-mail")
    await find.fill(str(order["number"]))
    await find.press("Enter")
    await page.get_by_label(f"Units of {SKU} to return").select_option("1")
    await page.get_by_label(f"Condition of {SKU}").select_option("restock")
    await page.get_by_role("button", name=f"See the refund for order {order['number']}").click()
    await expect(page.locator("#refunds")).to_have_text(f"card: {price / 100:.2f} EUR")
    await screenshot(page, "returns-preview")
    # The preview wrote nothing.
    assert await live.value("SELECT count(*) FROM returns WHERE order_id = :o", o=uuid.UUID(str(order["id"]))) == 0

    await page.get_by_role("button", name="Confirm return and refund").click()
    await expect(page.get_by_role("region", name="Return receipt")).to_contain_text(f"{price / 100:.2f} EUR")
    await screenshot(page, "returns-receipt")

    rows = await live.rows(
        "SELECT r.status, r.refund_total, r.api_key_id, f.kind, f.amount FROM returns r "
        "JOIN return_refunds f ON f.return_id = r.id WHERE r.order_id = :o",
        o=uuid.UUID(str(order["id"])),
    )
    assert [(r.status, r.refund_total, r.kind, r.amount) for r in rows] == [("refunded", price, "card", price)]
    assert rows[0].api_key_id == staff_id
    restocked = await live.rows(
        "SELECT delta FROM stock_movements WHERE sku = :s AND location_code = :l AND reason = 'return_restock' "
        "AND actor_key_id = :a",
        s=SKU,
        l=STORE,
        a=staff_id,
    )
    assert [r.delta for r in restocked] == [1]
