"""A customer merge moves the absorbed card's points to the survivor's."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.customers import service as customers_service
from app.loyalty import repository
from app.loyalty.usecases.accounts import _retier, open_account


async def merge_cards(session: AsyncSession, survivor_id: uuid.UUID, absorbed_id: uuid.UUID) -> None:
    """Move the absorbed customer's points, lots and pending points to the survivor's card,
    inside the customer merge's transaction; a `merge` ledger row on each card."""
    absorbed = await repository.live_account_of_customer(session, absorbed_id)
    if absorbed is None:
        return
    survivor = await repository.live_account_of_customer(session, survivor_id)
    if survivor is None:
        customer = await customers_service.get_customer(session, survivor_id)
        await open_account(session, card_number=customer.card_number, customer_id=customer.id)
        survivor = await repository.live_account_of_customer(session, survivor_id)
        assert survivor is not None
    await repository.lock_accounts(session, [absorbed.id, survivor.id])
    moved = await repository.account_by_id(session, absorbed.id)
    assert moved is not None
    # Read before the UPDATEs: they also refresh the loaded account objects.
    available, pending, absorbed_card = moved.available, moved.pending, moved.card_number
    now = clock.now()
    await repository.move_lots(session, moved.id, survivor.id)
    await repository.close_merged_account(session, moved.id, survivor.id, now)
    points = available + pending
    if points:
        await repository.insert_entries(
            session,
            [
                {
                    "account_id": moved.id,
                    "kind": "merge",
                    "points": -points,
                    "reference": survivor.card_number,
                    "note": "moved to the surviving card of a customer merge",
                    "occurred_at": now,
                },
                {
                    "account_id": survivor.id,
                    "kind": "merge",
                    "points": points,
                    "reference": absorbed_card,
                    "note": "moved from a card merged into this one",
                    "occurred_at": now,
                },
            ],
        )
    tier_name, spend = await _retier(session, survivor.id, now)
    await repository.change_balances(
        session,
        survivor.id,
        available=available,
        pending=pending,
        tier=tier_name,
        spend_minor=spend,
        now=now,
    )
