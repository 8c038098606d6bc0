"""Manual adjustments of a card's points."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.settings import get_settings
from app.loyalty import repository, rules
from app.loyalty.errors import InsufficientPoints, InvalidPoints
from app.loyalty.schemas import AdjustmentOut
from app.loyalty.usecases.accounts import _account, _existing_account
from app.loyalty.usecases.common import _entry_out


async def adjust(
    session: AsyncSession, *, card_number: str, points: int, reason: str, channel: str | None = None
) -> AdjustmentOut:
    if points == 0:
        raise InvalidPoints("an adjustment of 0 points changes nothing")
    now = clock.now()
    reference = f"adjustment:{uuid.uuid4()}"
    if points > 0:
        account = await _existing_account(session, card_number, lock=True)
        await repository.insert_lot(
            session,
            account_id=account.id,
            source="adjust",
            source_id=reference,
            event_type="adjustment",
            channel=channel,
            points=points,
            remaining=points,
            status="available",
            earned_at=now,
            available_at=now,
            expires_at=rules.add_months(now, get_settings().loyalty_expiry_months),
        )
    else:
        found = await _account(session, card_number, create=False, lock=False)
        if found is None:
            raise InsufficientPoints("this card has no available points", available=0, requested=-points)
        account = found
        if await repository.take_available(session, account.id, -points, now) is None:
            raise InsufficientPoints(
                f"{-points} points to take, fewer are available", available=account.available, requested=-points
            )
        await repository.take_from_lots(
            session, rules.draw_fifo(await repository.spendable_lots(session, account.id), -points)
        )
    entry_id = await repository.insert_entry(
        session,
        account_id=account.id,
        kind="adjust",
        points=points,
        reference=reference,
        channel=channel,
        note=reason,
        occurred_at=now,
    )
    available, pending = await repository.change_balances(
        session, account.id, available=points if points > 0 else 0, now=now
    )
    entry = await repository.entry_by_id(session, entry_id) if entry_id is not None else None
    assert entry is not None
    return AdjustmentOut(card_number=account.card_number, entry=_entry_out(entry), available=available, pending=pending)
