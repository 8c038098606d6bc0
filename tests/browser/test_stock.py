"""Screen 5, stock: a store associate scans a barcode, sees their store's stock, enters a
count by hand; the ledger records the difference under their staff id and the page names
them. A manager sees every location."""

from __future__ import annotations

from playwright.async_api import expect

from app.console.rules import StaffRole
from tests.browser.conftest import Live, add_staff, catalog, screenshot, signed_in

STORE, SKU = "STORE-MUNICH", "TEE-POCKET-OLIVE-S"


async def test_stock_lookup_by_scan_and_a_hand_count(live: Live, browser: object) -> None:
    associate = await add_staff(live, StaffRole.STORE_ASSOCIATE, STORE)
    staff_id = await live.value("SELECT id FROM staff_members WHERE email = :e", e=associate)
    before = await live.value("SELECT on_hand FROM stock_levels WHERE sku = :s AND location_code = :l", s=SKU, l=STORE)

    page = await signed_in(browser, live, associate)
    await page.get_by_role("navigation").get_by_role("link", name="Stock").click()
    find = page.get_by_label("Scan a barcode or type a SKU")
    await find.fill("4000000000000")  # not a valid EAN: refused, not a crash
    await find.press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("No item has the barcode")
    find = page.get_by_label("Scan a barcode or type a SKU")
    await find.fill(catalog()[SKU])
    await find.press("Enter")
    await expect(page.get_by_role("heading", level=2).first).to_contain_text("Pocket")
    # Their own store only, as a store's API key sees it.
    await expect(page.locator("tbody th[scope=row]")).to_have_text([STORE])

    await page.get_by_label("Units counted").fill(str(before + 5))
    await page.get_by_label("Units counted").press("Enter")
    await expect(page.get_by_role("status")).to_contain_text(f"Counted {before + 5} × {SKU} at {STORE}")
    await expect(page.locator("table").last).to_contain_text(associate)
    await screenshot(page, "stock")

    assert (
        await live.value("SELECT on_hand FROM stock_levels WHERE sku = :s AND location_code = :l", s=SKU, l=STORE)
        == before + 5
    )
    ledger = await live.rows(
        "SELECT delta, reason FROM stock_movements WHERE sku = :s AND location_code = :l AND actor_key_id = :a",
        s=SKU,
        l=STORE,
        a=staff_id,
    )
    assert [(r.delta, r.reason) for r in ledger] == [(5, "cycle_count")]

    manager = await add_staff(live, StaffRole.MANAGER)
    desk = await signed_in(browser, live, manager, viewport={"width": 1100, "height": 800})
    await desk.goto(f"/console/stock?q={SKU}")
    await expect(desk.locator("tbody th[scope=row]")).to_have_count(6)
