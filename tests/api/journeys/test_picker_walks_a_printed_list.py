"""Journey: a picker (the warehouse's logistics key, nothing else) takes the next pick list,
reads it as JSON and prints it, and every figure on it is what the walk needs: product, size,
colour, barcode, bin, quantity, in bin order, which tote (one per order) and how each order
leaves, the title and the warehouse's local time."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import Variant
from app.core import clock
from app.core.barcode import code128_svg
from tests.api.fulfillment.conftest import location, order_body, retailer
from tests.conftest import Api

LYON = (45.7640, 4.8357)
LOUVRE = (48.8606, 2.3376)
# 23:30 UTC is already Tuesday 00:30 in Lyon: the title and times follow the warehouse's clock.
MADE_AT = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)


async def _shop(db: AsyncSession) -> dict[str, dict[str, Any]]:
    shop = await retailer(db, 3)
    looks = {shop.skus[0]: ("S", "red"), shop.skus[1]: ("L", "navy"), shop.skus[2]: ("M", "white")}
    for sku, (size, color) in looks.items():
        await db.execute(update(Variant).where(Variant.sku == sku).values(size=size, color=color))
    await location(db, "WH-TEST", "warehouse", *LYON, {sku: 5 for sku in shop.skus}, name="Lyon warehouse")
    await location(db, "STORE-TEST", "store", *LOUVRE, {})
    await db.commit()
    return {sku: {"size": size, "color": color} for sku, (size, color) in looks.items()}


async def test_the_picker_walks_the_printed_list(api: Api, db: AsyncSession) -> None:
    clock.freeze(MADE_AT)
    looks = await _shop(db)
    a, b, c = looks
    picker = api.as_("logistics")
    bins = {a: "C-01-2", b: "A-10-1", c: "A-9-1"}
    r = await picker.put("/v1/bins/WH-TEST", json={"bins": [{"sku": s, "bin": code} for s, code in bins.items()]})
    assert r.status_code == 200, r.text
    home = await api.as_("storefront").post("/v1/orders", json=order_body({a: 1, c: 1}))
    store = await api.as_("app").post("/v1/orders", json=order_body({b: 2, c: 1}, pickup="STORE-TEST"))
    assert home.status_code == 201 and store.status_code == 201, (home.text, store.text)

    taken = await picker.post("/v1/pick-lists", json={})
    assert taken.status_code == 201, taken.text
    shown = await picker.get(f"/v1/pick-lists/{taken.json()['id']}")
    assert shown.status_code == 200
    pick_list = shown.json()
    assert pick_list == taken.json()
    variants = {s: (await picker.get(f"/v1/variants/{s}")).json() for s in looks}

    # Title: location name and code, the local day (already Tuesday in Lyon), the day's first list.
    assert pick_list["title"] == "Lyon warehouse (WH-TEST) · Tue 08 Dec · list 1"
    assert (pick_list["sequence"], pick_list["location_name"], pick_list["time_zone"]) == (
        1,
        "Lyon warehouse",
        "Europe/Paris",
    )
    assert pick_list["created_at_local"] == "2026-12-08T00:30+01:00"

    # One tote per order, lettered in the walk's priority order, each saying how it leaves.
    totes = {t["order_number"]: t for t in pick_list["totes"]}
    assert sorted(t["tote"] for t in pick_list["totes"]) == ["A", "B"]
    home_tote, store_tote = totes[home.json()["number"]], totes[store.json()["number"]]
    assert (home_tote["type"], home_tote["deliver_to"], home_tote["units"]) == ("delivery", None, 2)
    assert (store_tote["type"], store_tote["deliver_to"], store_tote["units"]) == ("ship_to_store", "STORE-TEST", 3)
    letter = {home.json()["number"]: home_tote["tote"], store.json()["number"]: store_tote["tote"]}
    h, s = letter[home.json()["number"]], letter[store.json()["number"]]

    # The walk: bin order (A-9 before A-10 before C-01), what the shelf label says, into which tote.
    expected = [
        (c, "A-9-1", 2, {h: 1, s: 1}),
        (b, "A-10-1", 2, {s: 2}),
        (a, "C-01-2", 1, {h: 1}),
    ]
    assert len(pick_list["lines"]) == 3
    for line, (sku, bin_code, qty, into) in zip(pick_list["lines"], expected, strict=True):
        v = variants[sku]
        assert (line["sku"], line["bin"], line["quantity"]) == (sku, bin_code, qty)
        assert (line["product_name"], line["size"], line["color"], line["barcode"]) == (
            v["product"]["name"],
            looks[sku]["size"],
            looks[sku]["color"],
            v["barcode"],
        )
        assert {sh["tote"]: sh["quantity"] for sh in line["shares"]} == into

    printed = await picker.get(f"/v1/pick-lists/{pick_list['id']}/print")
    assert printed.status_code == 200 and printed.headers["content-type"].startswith("text/html")
    page = printed.text
    assert f"<title>{pick_list['title']}</title>" in page
    assert "Made 08 Dec 2026 00:30 (Europe/Paris) · 2 order(s) · 5 unit(s)" in unescape(page)
    tote_items = re.findall(r'<li class="tote (\w+)"><b class="letter">(\w+)</b><span class="how">([^<]*)</span>', page)
    assert sorted(tote_items) == sorted(
        [("delivery", h, "DELIVERY"), ("ship_to_store", s, "SHIP TO STORE → STORE-TEST")]
    )
    rows = re.findall(r'<tr class="line">(.*?)</tr>', page, flags=re.S)
    assert len(rows) == 3
    for number, (row, (sku, bin_code, qty, into)) in enumerate(zip(rows, expected, strict=True), start=1):
        v = variants[sku]
        assert row.count('<span class="box"></span>') == 1  # one box to tick per stop
        assert f'<td class="bin">{bin_code}<div class="step">#{number}</div></td>' in row
        assert f'<div class="name">{v["product"]["name"]}</div>' in row
        assert f'<div class="variant">{looks[sku]["size"]} · {looks[sku]["color"]}</div>' in row
        assert f'<div class="sku">SKU {sku}</div>' in row
        assert code128_svg(v["barcode"]) in row and f'<div class="digits">{v["barcode"]}</div>' in row
        assert f'<td class="qty">{qty}</td>' in row
        shown_into = re.findall(r'<span class="into">(\w+) <b>×(\d+)</b></span>', row)
        assert {t: int(n) for t, n in shown_into} == into

    # Another location's picker sees none of it.
    assert (await api.as_("pos").get(f"/v1/pick-lists/{pick_list['id']}/print")).status_code in (403, 404)
