"""Integrity: stock against the ledger, reservations and transfers (`oms check`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.inventory import repository
from app.inventory.schemas import Finding


async def check_integrity(session: AsyncSession, *, limit: int = 1000) -> list[Finding]:
    findings = await repository.integrity_findings(session, limit)
    return [
        Finding(
            check=name,
            sku=row.sku,
            location=row.location,
            actual=None if row.actual is None else int(row.actual),
            expected=None if row.expected is None else int(row.expected),
        )
        for name, row in findings
    ]
