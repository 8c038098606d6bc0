"""The printed pick list in Chromium's print layout, on A4 and on a 4-inch label printer:
nothing runs off the paper, every line keeps its box, bin, quantity and a barcode wide enough
to scan (a module of at least 0.25 mm, Code 128's usual minimum being 0.19 mm)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, sync_playwright

from app.core.barcode import code128_modules
from app.fulfillment.schemas import PickLineOut, PickListOut, PickShareOut, ToteOut
from app.fulfillment.usecases.pick_sheet import print_view

CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
CSS_PX_PER_MM = 96 / 25.4
# Printable widths at 96 CSS px per inch: A4 (210 mm) and a 4-inch label, less 10 mm margins each side.
PAPERS = {"a4": round((210 - 20) * CSS_PX_PER_MM), "label-4in": round((4 * 25.4 - 20) * CSS_PX_PER_MM)}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed (apt-get install -y chromium; .ci/run does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _sheet() -> PickListOut:
    home, store = uuid.uuid4(), uuid.uuid4()

    def line(sku: str, bin_code: str, name: str, size: str, color: str, barcode: str, into: list[tuple]) -> PickLineOut:  # type: ignore[type-arg]
        shares = [PickShareOut(fulfillment_order_id=fo, fulfillment_order_number=n, line_id="1", quantity=q, tote=t)
                  for fo, n, q, t in into]  # fmt: skip
        return PickLineOut(sku=sku, bin=bin_code, quantity=sum(s.quantity for s in shares), shares=shares,
                           product_name=name, size=size, color=color, barcode=barcode)  # fmt: skip

    return PickListOut(
        id=uuid.uuid4(),
        location_code="WH-LYON",
        status="open",
        lines=[
            line(
                "TEE-ORGANIC-CREW-WHITE-XXL",
                "A-9-1",
                "Organic cotton crew-neck T-shirt, long name",
                "XXL",
                "off-white / natural",
                "04006381333931",
                [(home, "H-1", 1, "A"), (store, "S-1", 2, "B")],
            ),
            line(
                "JEAN-SLIM-32-34", "A-10-1", "Slim jeans", "32/34", "indigo", "4006381333931", [(store, "S-1", 1, "B")]
            ),
            line("SOCK-3", "C-01-2", "Socks", "39-42", "grey", "12345670", [(home, "H-1", 3, "A")]),
        ],
        fulfillment_order_ids=[home, store],
        created_at=datetime(2026, 12, 7, 23, 30, tzinfo=UTC),
        confirmed_at=None,
        confirmation=None,
        title="Lyon warehouse (WH-LYON) · Tue 08 Dec · list 3",
        sequence=3,
        location_name="Lyon warehouse",
        time_zone="Europe/Paris",
        created_at_local="2026-12-08T00:30+01:00",
        totes=[
            ToteOut(
                tote="A",
                fulfillment_order_id=home,
                fulfillment_order_number="H-1",
                order_number="H",
                type="delivery",
                deliver_to=None,
                pickup_slot_at=None,
                units=4,
            ),
            ToteOut(
                tote="B",
                fulfillment_order_id=store,
                fulfillment_order_number="S-1",
                order_number="S",
                type="ship_to_store",
                deliver_to="STORE-PARIS-01",
                pickup_slot_at=None,
                units=3,
            ),
        ],
    )


@pytest.mark.parametrize("paper", sorted(PAPERS))
def test_the_print_layout_fits_the_paper_and_keeps_every_line_readable(chromium: Browser, paper: str) -> None:
    sheet = _sheet()
    width = PAPERS[paper]
    page = chromium.new_page(viewport={"width": width, "height": 1000})
    page.emulate_media(media="print")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.set_content(print_view(sheet), wait_until="load")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    rows = page.locator("tr.line")
    assert rows.count() == 3
    for index, line in enumerate(sheet.lines):
        row = rows.nth(index)
        assert row.locator(".box").is_visible() and row.locator(".bin").inner_text().startswith(line.bin or "")
        assert row.locator(".qty").inner_text() == str(line.quantity)
        box = row.locator("svg.barcode").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        module_mm = box["width"] / len(code128_modules(line.barcode or line.sku)) / CSS_PX_PER_MM
        assert module_mm >= 0.25, (paper, line.sku, module_mm)
    assert requested == []  # nothing is fetched: inline SVG and CSS only
    page.close()
