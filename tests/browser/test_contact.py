"""Screen 4, the contact center: the caller is found by e-mail; the one customer view lists
their orders from the contact center and a kiosk; the agent puts a hold on the kiosk order
and then cancels it — the order, its hold and its timeline name the agent."""

from __future__ import annotations

import uuid

from playwright.async_api import expect

from app.console.rules import StaffRole
from tests.browser.conftest import Live, add_staff, place_order, screenshot, signed_in


async def test_agent_finds_the_customer_holds_and_cancels_an_order(live: Live, browser: object) -> None:
    email = f"caller.{uuid.uuid4().hex[:6]}@example.com"
    with live.api("contact_center") as cc:
        created = cc.post("/v1/customers", json={"name": "Ada Caller", "email": email})
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    phoned = place_order(live, {"TEE-CLASSIC-BLACK-S": 1}, key="contact_center", customer_id=customer_id)
    kiosk = place_order(live, {"TEE-POCKET-NAVY-M": 1}, key="kiosk", customer_id=customer_id)
    agent = await add_staff(live, StaffRole.CONTACT_CENTER)
    staff_id = await live.value("SELECT id FROM staff_members WHERE email = :e", e=agent)

    page = await signed_in(browser, live, agent, viewport={"width": 1024, "height": 800})
    await page.get_by_role("navigation").get_by_role("link", name="Customers").click()
    find = page.get_by_label("Customer's e-mail, phone, loyalty card or an order number")
    await find.fill(email)
    await find.press("Enter")
    await expect(page.get_by_role("heading", name="Ada Caller")).to_be_visible()
    history = page.locator("tbody tr")
    await expect(history).to_have_count(2)
    await expect(page.locator("tbody")).to_contain_text("contact center")
    await expect(page.locator("tbody")).to_contain_text("kiosk")
    await screenshot(page, "contact-customer")

    await page.get_by_role("link", name=f"Order {kiosk['number']}").click()
    await page.get_by_label("Hold type").select_option("fraud_review")
    await page.get_by_label("Why hold it").fill("caller says the card was stolen")
    await page.get_by_role("button", name="Add hold").click()
    await expect(page.get_by_role("status")).to_contain_text("Hold added")
    await page.get_by_label("Why cancel it").fill("customer asked on the phone")
    await page.get_by_role("button", name="Cancel the order").click()
    await expect(page.get_by_role("status")).to_contain_text("Order cancelled")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("cancelled")
    await expect(page.locator("ol")).to_contain_text(f"by {agent}")
    await screenshot(page, "contact-order")

    kiosk_id, phoned_id = uuid.UUID(str(kiosk["id"])), uuid.UUID(str(phoned["id"]))
    assert await live.value("SELECT status FROM orders WHERE id = :o", o=kiosk_id) == "cancelled"
    assert await live.value("SELECT status FROM orders WHERE id = :o", o=phoned_id) != "cancelled"
    holds = await live.rows("SELECT type, placed_by FROM order_holds WHERE order_id = :o", o=kiosk_id)
    assert [(h.type, h.placed_by) for h in holds] == [("fraud_review", staff_id)]
    kinds = await live.rows(
        "SELECT to_status FROM order_timeline WHERE order_id = :o AND actor_key_id = :a", o=kiosk_id, a=staff_id
    )
    assert "cancelled" in {k.to_status for k in kinds}


async def test_manager_adjusts_points_with_a_reason(live: Live, browser: object) -> None:
    email = f"points.{uuid.uuid4().hex[:6]}@example.com"
    with live.api("contact_center") as cc:
        created = cc.post("/v1/customers", json={"name": "Bo Points", "email": email})
    assert created.status_code == 201, created.text
    agent = await add_staff(live, StaffRole.CONTACT_CENTER)
    manager = await add_staff(live, StaffRole.MANAGER)

    page = await signed_in(browser, live, agent)
    await page.goto(f"/console/contact/customers/{created.json()['id']}")
    await expect(page.get_by_role("heading", name="Bo Points")).to_be_visible()
    # The API lets admin keys only correct points: an agent gets no form.
    await expect(page.get_by_label("Points to add (minus to take away)")).to_have_count(0)

    page = await signed_in(browser, live, manager)
    await page.goto(f"/console/contact/customers/{created.json()['id']}")
    await page.get_by_label("Points to add (minus to take away)").fill("250")
    await page.get_by_label("Why").fill("goodwill: late delivery")
    await page.get_by_role("button", name="Adjust points").click()
    await expect(page.get_by_role("status")).to_contain_text("+250 points")
    await expect(page.locator("#points")).to_have_text("250 points")
    await screenshot(page, "contact-points")
    rows = await live.rows(
        "SELECT l.points, l.note, l.reference FROM loyalty_ledger l JOIN loyalty_accounts a ON a.id = l.account_id "
        "WHERE a.card_number = :c",
        c=created.json()["card_number"],
    )
    assert [r.points for r in rows] == [250]
    assert f"goodwill: late delivery (by {manager})" in (rows[0].note or rows[0].reference)
