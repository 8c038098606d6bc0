"""Screen 6, the channel dashboard: orders in all five channels, the reports' summary brought
up to date (what the `reports.refresh_order` consumer does after the event relay; this live
server runs no worker), then a manager reads the figures, the charts and a CSV export — and
they match what the orders table holds."""

from __future__ import annotations

import csv
import io

from playwright.async_api import expect

from app.console.rules import StaffRole
from app.core.db import create_sessionmaker, transaction
from app.reports import service as reports
from tests.browser.conftest import Live, add_staff, place_order, screenshot, signed_in

CHANNEL_KEYS = {
    "web": "storefront (web)",
    "app": "storefront (app)",
    "kiosk": "kiosk",
    "contact_center": "contact_center",
    "pos": "pos",
}


async def test_manager_reads_the_channel_dashboard_and_exports_csv(live: Live, browser: object) -> None:
    for key in CHANNEL_KEYS.values():
        place_order(live, {"TEE-CLASSIC-WHITE-S": 1}, key=key)
    ids = [r.id for r in await live.rows("SELECT id FROM orders")]
    async with transaction(create_sessionmaker(live.engine)) as session:
        await reports.refresh_orders(session, ids)
    expected = {
        r.channel: (r.orders, r.revenue)
        for r in await live.rows(
            "SELECT channel, count(*) AS orders, sum(total) AS revenue FROM orders "
            "WHERE status <> 'cancelled' GROUP BY channel"
        )
    }
    assert set(expected) == set(CHANNEL_KEYS)
    manager = await add_staff(live, StaffRole.MANAGER)

    page = await signed_in(browser, live, manager, viewport={"width": 1100, "height": 900})
    await page.get_by_role("navigation").get_by_role("link", name="Dashboard").click()
    await expect(page.get_by_role("heading", name="Channel dashboard")).to_be_visible()
    await expect(page.locator("#kpi-orders")).to_have_text(str(sum(n for n, _ in expected.values())))
    for channel, (orders, _revenue) in expected.items():
        row = page.locator("#by-channel tbody tr", has=page.get_by_role("rowheader", name=channel.replace("_", " ")))
        await expect(row.locator("td").first).to_have_text(str(orders))
    await expect(page.get_by_role("img", name="Revenue by channel (EUR)")).to_be_visible()
    await expect(page.get_by_role("img", name="Revenue per day by channel (EUR)")).to_be_visible()
    await screenshot(page, "dashboard")

    exported = await page.request.get("/console/dashboard.csv?table=by_channel")
    assert exported.status == 200
    rows = list(csv.DictReader(io.StringIO(await exported.text())))
    got = {r["channel"]: (int(r["orders"]), int(r["revenue"])) for r in rows if r["channel"] != "all"}
    assert {c: v for c, v in got.items() if v[0]} == expected
