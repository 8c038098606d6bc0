"""The integrity checks' statements (`oms check`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

CHECKS: dict[str, str] = {
    "on_hand_differs_from_ledger": """
        SELECT coalesce(s.sku, m.sku) AS sku, coalesce(s.location_code, m.location_code) AS location,
               s.on_hand AS actual, coalesce(m.total, 0) AS expected
        FROM stock_levels s
        FULL JOIN (SELECT sku, location_code, sum(delta) AS total FROM stock_movements GROUP BY 1, 2) m
          ON m.sku = s.sku AND m.location_code = s.location_code
        WHERE coalesce(s.on_hand, 0) <> coalesce(m.total, 0)
    """,
    "reserved_differs_from_open_reservations": """
        SELECT coalesce(s.sku, o.sku) AS sku, coalesce(s.location_code, o.location_code) AS location,
               s.reserved AS actual, coalesce(o.open, 0) AS expected
        FROM stock_levels s
        FULL JOIN (
            SELECT rl.sku, rl.location_code, sum(rl.quantity - rl.released_qty - rl.consumed_qty) AS open
            FROM reservation_lines rl WHERE rl.released_qty + rl.consumed_qty < rl.quantity GROUP BY 1, 2
        ) o ON o.sku = s.sku AND o.location_code = s.location_code
        WHERE coalesce(s.reserved, 0) <> coalesce(o.open, 0)
    """,
    "in_transit_differs_from_dispatched_transfers": """
        SELECT coalesce(s.sku, t.sku) AS sku, coalesce(s.location_code, t.to_location) AS location,
               s.in_transit AS actual, coalesce(t.qty, 0) AS expected
        FROM stock_levels s
        FULL JOIN (
            SELECT tl.sku, tr.to_location, sum(tl.quantity) AS qty FROM transfer_lines tl
            JOIN transfers tr ON tr.id = tl.transfer_id WHERE tr.status = 'dispatched' GROUP BY 1, 2
        ) t ON t.sku = s.sku AND t.to_location = s.location_code
        WHERE coalesce(s.in_transit, 0) <> coalesce(t.qty, 0)
    """,
    "negative_quantity": """
        SELECT sku, location_code AS location, least(on_hand, reserved, in_transit) AS actual, 0 AS expected
        FROM stock_levels WHERE on_hand < 0 OR reserved < 0 OR in_transit < 0
    """,
    "ledger_row_negative_on_hand": """
        SELECT sku, location_code AS location, on_hand_after AS actual, 0 AS expected
        FROM stock_movements WHERE on_hand_after < 0
    """,
    "reservation_status_wrong": """
        SELECT r.reference AS sku, NULL AS location,
               CAST(count(*) FILTER (WHERE l.released_qty + l.consumed_qty < l.quantity) AS bigint) AS actual,
               CAST(CASE WHEN r.status = 'open' THEN 1 ELSE 0 END AS bigint) AS expected
        FROM reservations r JOIN reservation_lines l ON l.reservation_id = r.id
        GROUP BY r.id, r.reference, r.status
        HAVING (r.status = 'open') <> bool_or(l.released_qty + l.consumed_qty < l.quantity)
    """,
}


async def integrity_findings(session: AsyncSession, limit: int) -> list[tuple[str, Row[Any]]]:
    findings: list[tuple[str, Row[Any]]] = []
    for name, sql in CHECKS.items():
        rows = await session.execute(text(f"SELECT * FROM ({sql}) q LIMIT :limit"), {"limit": limit})
        findings.extend((name, row) for row in rows)
    return findings
