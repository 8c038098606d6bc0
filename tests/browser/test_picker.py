"""Screen 1, the picker: a whole walk on a handheld (360 px) at WH-NORTH — the next pick list
in bin order, a wrong item refused loudly, a short pick re-sourced, pack with carrier and
tracking, ship — and what the database then holds, recorded under the picker's staff id."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import expect

from app.console.rules import StaffRole
from tests.browser.conftest import HAMBURG, Live, add_staff, catalog, place_order, screenshot, signed_in

WAREHOUSE = "WH-NORTH"
FIRST, SECOND, WRONG = "TEE-CLASSIC-WHITE-M", "TEE-POCKET-NAVY-S", "TEE-CLASSIC-BLACK-XL"


async def test_picker_walks_scans_short_picks_packs_and_ships(live: Live, browser: object) -> None:
    with live.api("admin") as admin:
        bins = [{"sku": FIRST, "bin": "B-02-1"}, {"sku": SECOND, "bin": "A-01-3"}]
        assert admin.put(f"/v1/bins/{WAREHOUSE}", json={"bins": bins}).status_code == 200
    order = place_order(live, {FIRST: 2, SECOND: 1}, fulfillment={"method": "delivery", "address": HAMBURG})
    picker = await add_staff(live, StaffRole.PICKER, WAREHOUSE)
    staff_id = await live.value("SELECT id FROM staff_members WHERE email = :e", e=picker)
    barcodes = catalog()

    page = await signed_in(browser, live, picker)
    await page.get_by_role("navigation").get_by_role("link", name="Picking").click()
    await page.get_by_role("button", name="Take the next pick list").click()
    await expect(page.get_by_role("heading", name=f"Pick list · {WAREHOUSE}")).to_be_visible()
    # The walk is in bin order: A-01-3 before B-02-1.
    await expect(page.locator("tbody td.bin")).to_have_text(["A-01-3", "B-02-1"])
    # Left and come back (a dropped handheld): the walk is resumed, not lost.
    await page.get_by_role("navigation").get_by_role("link", name="Picking").click()
    await page.get_by_role("link", name=re.compile("^Resume pick list")).click()
    await expect(page.locator("tbody td.bin")).to_have_text(["A-01-3", "B-02-1"])

    scan = page.get_by_label(re.compile("^Scan item"))
    await scan.fill(barcodes[WRONG])
    await scan.press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("WRONG ITEM")
    await screenshot(page, "picker-wrong-item")

    for code in (barcodes[FIRST], barcodes[FIRST]):
        await page.get_by_label(re.compile("^Scan item")).fill(code)
        await page.get_by_label(re.compile("^Scan item")).press("Enter")
        await expect(page.get_by_role("status")).to_contain_text(FIRST)
    await expect(page.locator("tr.done .sku")).to_have_text([FIRST])
    await screenshot(page, "picker-walk")

    # SECOND is not on the shelf: confirm short.
    await page.get_by_role("button", name="Confirm pick list").click()
    await expect(page.get_by_role("alertdialog")).to_contain_text(SECOND)
    await page.get_by_role("button", name="Confirm short pick").click()
    await expect(page.get_by_role("heading", name="Pick list confirmed")).to_be_visible()
    await page.get_by_role("link", name=re.compile("^Pack ")).click()

    tracking = f"TRK{uuid.uuid4().hex[:10].upper()}"
    await page.get_by_label("Carrier").select_option("dhl")
    await page.get_by_label(re.compile("^Tracking number")).fill(tracking)
    await page.get_by_label(re.compile("^Tracking number")).press("Enter")
    await expect(page.get_by_text(f"DHL {tracking}")).to_be_visible()
    await screenshot(page, "picker-pack")
    await page.get_by_role("button", name=re.compile("ship$")).click()
    await expect(page.get_by_role("status")).to_contain_text("Shipped")

    fos = await live.rows(
        "SELECT location_code, status, id FROM fulfillment_orders WHERE order_id = :o ORDER BY created_at",
        o=uuid.UUID(order["id"]),
    )
    here = [fo for fo in fos if fo.location_code == WAREHOUSE]
    assert [fo.status for fo in here] == ["shipped"]
    # The unit not found went elsewhere (re-sourced, as the API's confirm does).
    elsewhere = await live.rows(
        "SELECT f.location_code, l.sku, l.quantity FROM fulfillment_orders f "
        "JOIN fulfillment_order_lines l ON l.fulfillment_order_id = f.id "
        "WHERE f.order_id = :o AND f.location_code <> :w",
        o=uuid.UUID(order["id"]),
        w=WAREHOUSE,
    )
    assert [(r.sku, r.quantity) for r in elsewhere] == [(SECOND, 1)]
    parcel = await live.rows(
        "SELECT carrier, tracking_number FROM parcels WHERE fulfillment_order_id = :f", f=here[0].id
    )
    assert [(p.carrier, p.tracking_number) for p in parcel] == [("dhl", tracking)]
    # Every step is recorded with the picker: the fulfillment timeline and the stock ledger.
    actors = await live.rows(
        "SELECT DISTINCT to_status FROM fulfillment_events WHERE fulfillment_order_id = :f AND actor_key_id = :a",
        f=here[0].id,
        a=staff_id,
    )
    assert {r.to_status for r in actors} >= {"assigned", "picked", "packed", "shipped"}
    ledger = await live.rows(
        "SELECT sku, delta, reason FROM stock_movements WHERE location_code = :w AND actor_key_id = :a ORDER BY id",
        w=WAREHOUSE,
        a=staff_id,
    )
    assert (SECOND, -1) in [(r.sku, r.delta) for r in ledger]
    assert (FIRST, -2) in [(r.sku, r.delta) for r in ledger]
