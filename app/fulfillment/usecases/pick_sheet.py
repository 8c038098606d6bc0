"""The pick list as a picker reads it: product, size, colour and barcode per line, the walk in
bin order, one tote per order (A, B, C...) marked delivery / pickup / ship-to-store, a title of
location and sequence, the location's local time, and a printable page (A4 or a 4-inch label
printer) with a box to tick per line.

`dress(session, pick_list)` fills those facts into a PickListOut (the stored walk keeps only SKU,
bin, quantity and shares); `print_view(pick_list)` is pure HTML of a dressed list.
"""

from __future__ import annotations

import html
import string
from datetime import datetime, time
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.core.barcode import code128_svg
from app.fulfillment import repository
from app.fulfillment.models import PickList
from app.fulfillment.schemas import PickLineOut, PickListOut, ToteOut
from app.inventory import service as inventory

HOW_IT_LEAVES = {"delivery": "DELIVERY", "pickup": "PICKUP", "ship_to_store": "SHIP TO STORE"}


def tote_label(position: int) -> str:
    """A, B, ... Z, then A2, B2, ... (a tote letter is what a picker shouts across an aisle)."""
    letter = string.ascii_uppercase[position % 26]
    return letter if position < 26 else f"{letter}{position // 26 + 1}"


async def dress(session: AsyncSession, pl: PickList, out: PickListOut) -> PickListOut:
    location = await inventory.get_location(session, pl.location_code)
    zone = ZoneInfo(location.time_zone)
    local = out.created_at.astimezone(zone)
    midnight = datetime.combine(local.date(), time(0), tzinfo=zone)
    sequence = await repository.pick_list_sequence(session, pl, midnight)
    fos = await repository.fulfillment_orders_by_id(session, out.fulfillment_order_ids)
    totes = [
        ToteOut(
            tote=tote_label(position),
            fulfillment_order_id=fo_id,
            fulfillment_order_number=fos[fo_id].number,
            order_number=fos[fo_id].order_number,
            type=fos[fo_id].type,  # type: ignore[arg-type]  # a CHECK keeps it to the three
            deliver_to=fos[fo_id].deliver_to,
            pickup_slot_at=fos[fo_id].pickup_slot_at,
            units=fos[fo_id].units,
        )
        for position, fo_id in enumerate(out.fulfillment_order_ids)
        if fo_id in fos
    ]
    tote_of = {t.fulfillment_order_id: t.tote for t in totes}
    variants = {sku: await catalog.get_variant(session, sku) for sku in {ln.sku for ln in out.lines}}
    lines = [
        msgspec.structs.replace(
            ln,
            product_name=variants[ln.sku].product.name,
            size=variants[ln.sku].size,
            color=variants[ln.sku].color,
            barcode=variants[ln.sku].barcode,
            shares=[msgspec.structs.replace(s, tote=tote_of.get(s.fulfillment_order_id)) for s in ln.shares],
        )
        for ln in out.lines
    ]
    return msgspec.structs.replace(
        out,
        lines=lines,
        totes=totes,
        sequence=sequence,
        location_name=location.name,
        time_zone=location.time_zone,
        created_at_local=local.isoformat(timespec="minutes"),
        title=f"{location.name} ({location.code}) · {local:%a %d %b} · list {sequence}",
    )


# ---- the printed page ---------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text))


def _tote_row(t: ToteOut, zone: ZoneInfo) -> str:
    where = HOW_IT_LEAVES[t.type]
    if t.type == "ship_to_store" and t.deliver_to:
        where += f" → {t.deliver_to}"
    if t.pickup_slot_at is not None:
        where += f" · slot {t.pickup_slot_at.astimezone(zone):%H:%M}"
    return (
        f'<li class="tote {t.type}"><b class="letter">{_e(t.tote)}</b>'
        f'<span class="how">{_e(where)}</span>'
        f'<span class="ref">order {_e(t.order_number)} · {_e(t.fulfillment_order_number)}'
        f" · {t.units} unit(s)</span></li>"
    )


def _barcode(ln: PickLineOut) -> str:
    text = ln.barcode or ln.sku
    try:
        svg = code128_svg(text)
    except ValueError:  # a SKU with characters Code 128 cannot carry: the digits/text still print
        svg = ""
    return f'<div class="code">{svg}<div class="digits">{_e(text)}</div></div>'


def _line_row(number: int, ln: PickLineOut) -> str:
    variant = " · ".join(_e(v) for v in (ln.size, ln.color) if v)
    into = "".join(f'<span class="into">{_e(s.tote or "?")} <b>×{s.quantity}</b></span>' for s in ln.shares)
    bin_code = _e(ln.bin) if ln.bin else '<span class="nobin">NO BIN</span>'
    return (
        f'<tr class="line"><td class="tick"><span class="box"></span></td>'
        f'<td class="bin">{bin_code}<div class="step">#{number}</div></td>'
        f'<td class="item"><div class="name">{_e(ln.product_name or ln.sku)}</div>'
        f'<div class="variant">{variant}</div><div class="sku">SKU {_e(ln.sku)}</div>{_barcode(ln)}</td>'
        f'<td class="qty">{ln.quantity}</td><td class="totes">{into}</td></tr>'
    )


def print_view(pl: PickListOut) -> str:
    """The walk on paper: A4 by default; on a 4-inch label printer (or a handheld) each line
    becomes a card of its own. Nothing is loaded from elsewhere (inline SVG and CSS)."""
    zone = ZoneInfo(pl.time_zone)
    units = sum(ln.quantity for ln in pl.lines)
    local = datetime.fromisoformat(pl.created_at_local) if pl.created_at_local else pl.created_at
    rows = "".join(_line_row(number, ln) for number, ln in enumerate(pl.lines, start=1))
    totes = "".join(_tote_row(t, zone) for t in pl.totes)
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><meta name=viewport content="width=device-width, initial-scale=1">
<title>{_e(pl.title or f"Pick list {pl.id}")}</title>
<style>{_CSS}</style></head>
<body>
<header><h1>{_e(pl.title)}</h1>
<p class="meta">Made {local:%d %b %Y %H:%M} ({_e(pl.time_zone)}) · {len(pl.totes)} order(s) · {units} unit(s)
 · {len(pl.lines)} stop(s) · {_e(pl.status)}</p>
<p class="meta">List {_e(pl.id)}</p></header>
<section><h2>Totes</h2><ul class="totes">{totes}</ul></section>
<table><thead><tr><th>✓</th><th>Bin</th><th>Item</th><th>Qty</th><th>Into tote</th></tr></thead>
<tbody>{rows}</tbody></table>
<footer>Walk the bins top to bottom. Short? Confirm what you found; the rest is re-sourced.</footer>
</body></html>"""


_CSS = """
@page { margin: 10mm; }
* { box-sizing: border-box; }
body { font: 13px/1.3 system-ui, "DejaVu Sans", sans-serif; margin: 0 8px; color: #000; }
h1 { font-size: 20px; margin: 8px 0 2px; } h2 { font-size: 14px; margin: 8px 0 4px; }
.meta { margin: 2px 0; }
ul.totes { list-style: none; padding: 0; margin: 0 0 8px; display: flex; flex-wrap: wrap; gap: 6px; }
.tote { border: 2px solid #000; padding: 4px 8px; display: flex; gap: 8px; align-items: center; }
.tote .letter { font-size: 24px; } .tote .how { font-weight: bold; } .tote .ref { font-size: 11px; }
.tote.pickup { border-style: dashed; } .tote.ship_to_store { border-style: double; border-width: 4px; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; border-bottom: 2px solid #000; padding: 4px; }
td { border-bottom: 1px solid #000; padding: 6px 4px; vertical-align: top; }
tr.line { break-inside: avoid; page-break-inside: avoid; }
.tick .box { display: inline-block; width: 22px; height: 22px; border: 2px solid #000; }
.bin { font-size: 20px; font-weight: bold; white-space: nowrap; } .bin .step { font-size: 11px; font-weight: normal; }
.nobin { border: 2px solid #000; padding: 0 4px; }
.name { font-size: 15px; font-weight: bold; } .variant { font-size: 15px; } .sku { font-size: 11px; }
.code svg { height: 40px; width: auto; max-width: 100%; display: block; margin-top: 4px; }
.code .digits { font: 12px monospace; letter-spacing: 1px; }
.qty { font-size: 24px; font-weight: bold; text-align: center; }
.into { display: inline-block; border: 2px solid #000; padding: 0 6px; margin: 0 4px 4px 0; font-size: 16px; }
footer { margin-top: 8px; font-size: 11px; }
/* A 4-inch label printer or a handheld: one card per stop, bin and quantity first. */
@media (max-width: 4.5in) {
  body { font-size: 12px; margin: 0; }
  h1 { font-size: 16px; }
  thead { display: none; }
  table, tbody, tr, td { display: block; width: 100%; }
  tr.line { display: grid; grid-template-columns: 30px 1fr auto; border: 2px solid #000; margin: 0 0 6px; }
  td { border: 0; padding: 3px 4px; }
  td.tick { grid-row: 1 / span 3; } td.bin { grid-column: 2; } td.qty { grid-column: 3; grid-row: 1; }
  td.item { grid-column: 2 / span 2; } td.totes { grid-column: 2 / span 2; }
  .tote { width: 100%; }
}
"""
