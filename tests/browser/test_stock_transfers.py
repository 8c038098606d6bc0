"""Screen 5, stock: the transfers of the looked-up SKU. A manager sees every open transfer
carrying it (on its way and planned, in and out of each location); a store associate only
those at their own store's ends — as the database holds them — and receives the one coming to
their store from the Store screen."""

from __future__ import annotations

import uuid

from playwright.async_api import expect

from app.console.rules import StaffRole
from tests.browser.conftest import Live, add_staff, catalog, screenshot, signed_in

SKU = "BEANIE-RED-ONESIZE"


async def test_stock_shows_the_open_transfers_of_a_sku(live: Live, browser: object) -> None:
    with live.api("admin") as admin:
        sent = admin.post(
            "/v1/transfers",
            json={"from_location": "WH-SOUTH", "to_location": "STORE-BERLIN", "lines": [{"sku": SKU, "quantity": 4}]},
        )
        assert sent.status_code == 201, sent.text
        dispatched = admin.post(f"/v1/transfers/{sent.json()['id']}/dispatch")
        assert dispatched.status_code in (200, 201), dispatched.text
        planned = admin.post(
            "/v1/transfers",
            json={
                "from_location": "STORE-MUNICH",
                "to_location": "STORE-COLOGNE",
                "lines": [{"sku": SKU, "quantity": 1}],
            },
        )
        assert planned.status_code == 201, planned.text
    held = await live.rows(
        "SELECT t.from_location, t.to_location, l.quantity, t.status FROM transfers t "
        "JOIN transfer_lines l ON l.transfer_id = t.id WHERE l.sku = :s AND t.status IN ('draft', 'dispatched') "
        "ORDER BY t.status",
        s=SKU,
    )
    assert [(r.from_location, r.to_location, r.quantity, r.status) for r in held] == [
        ("WH-SOUTH", "STORE-BERLIN", 4, "dispatched"),
        ("STORE-MUNICH", "STORE-COLOGNE", 1, "draft"),
    ]

    manager = await add_staff(live, StaffRole.MANAGER)
    page = await signed_in(browser, live, manager)
    await page.get_by_role("navigation").get_by_role("link", name="Stock").click()
    find = page.get_by_label("Scan a barcode or type a SKU")
    await find.fill(catalog()[SKU])
    await find.press("Enter")
    rows = page.locator("#transfers tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("WH-SOUTH")
    await expect(rows.nth(0)).to_contain_text("STORE-BERLIN")
    await expect(rows.nth(0)).to_contain_text("on its way")
    await expect(rows.nth(0).locator("td.num")).to_have_text("4")
    await expect(rows.nth(1)).to_contain_text("STORE-COLOGNE")
    await expect(rows.nth(1)).to_contain_text("planned")
    await screenshot(page, "stock-transfers")

    # Berlin's associate: only the transfer coming to Berlin.
    associate = await add_staff(live, StaffRole.STORE_ASSOCIATE, "STORE-BERLIN")
    page = await signed_in(browser, live, associate)
    await page.goto(f"/console/stock?q={SKU}")
    rows = page.locator("#transfers tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("WH-SOUTH")
    in_transit = await live.value(
        "SELECT in_transit FROM stock_levels WHERE sku = :s AND location_code = 'STORE-BERLIN'", s=SKU
    )
    assert in_transit == 4

    # At Berlin's back door the transfer is received from the Store screen.
    before = await live.value(
        "SELECT on_hand FROM stock_levels WHERE sku = :s AND location_code = 'STORE-BERLIN'", s=SKU
    )
    await page.get_by_role("navigation").get_by_role("link", name="Store").click()
    await page.get_by_role("button", name="Received: transfer from WH-SOUTH").click()
    await expect(page.get_by_role("status")).to_contain_text("Transfer from WH-SOUTH received: 4 unit(s)")
    status = await live.value("SELECT status FROM transfers WHERE id = :t", t=uuid.UUID(sent.json()["id"]))
    assert status == "received"
    after = await live.rows(
        "SELECT on_hand, in_transit FROM stock_levels WHERE sku = :s AND location_code = 'STORE-BERLIN'", s=SKU
    )
    assert [(r.on_hand, r.in_transit) for r in after] == [(before + 4, 0)]
    moved_by = await live.value(
        "SELECT actor_key_id FROM stock_movements WHERE sku = :s AND location_code = 'STORE-BERLIN' "
        "AND reason = 'transfer_in'",
        s=SKU,
    )
    assert moved_by == await live.value("SELECT id FROM staff_members WHERE email = :e", e=associate)
