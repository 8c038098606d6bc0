"""Points as a tender: redeem, restore, and the points tender of an order in money."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.loyalty import repository, rules
from app.loyalty.errors import AlreadyRedeemed, InsufficientPoints, InvalidPoints
from app.loyalty.schemas import Redemption
from app.loyalty.usecases.accounts import _account, _survivor
from app.loyalty.usecases.common import _currency, _point_value, _reference, points_value


async def redeem(
    session: AsyncSession, *, card_number: str, points: int, reference: str, channel: str | None
) -> Redemption:
    if points <= 0:
        raise InvalidPoints("redeem a positive number of points")
    reference = _reference(reference)
    account = await _account(session, card_number, create=False, lock=False)
    if account is None:  # never used: nothing to spend, and nothing is written
        raise InsufficientPoints("this card has no available points", available=0, requested=points)
    now = clock.now()
    after = await repository.take_available(session, account.id, points, now)
    if after is None:
        raise InsufficientPoints(
            f"{points} points requested, fewer are available", available=account.available, requested=points
        )
    entry_id = await repository.insert_entry(
        session,
        account_id=account.id,
        kind="redeem",
        points=-points,
        reference=reference,
        channel=channel,
        dedupe_key=f"redeem:{reference}",
        occurred_at=now,
    )
    if entry_id is None:
        raise AlreadyRedeemed(f"points were already redeemed for {reference}", reference=reference)
    draws = rules.draw_fifo(await repository.spendable_lots(session, account.id), points)
    if sum(p for _, p in draws) != points:
        raise RuntimeError(f"card {account.card_number}: available points and lots disagree")
    await repository.take_from_lots(session, draws)
    await repository.insert_draws(session, entry_id, draws)
    return Redemption(card_number=account.card_number, points=points, value=points_value(points), available_after=after)


async def restore(
    session: AsyncSession, *, reference: str, points: int | None = None, channel: str | None = None
) -> int:
    """Give back up to `points` (all, when None) of what was redeemed for `reference`, to the
    lots they came from (they keep their expiry: an expired lot expires again). Never more
    than was redeemed: a repeat after everything came back restores 0."""
    if points is not None and points < 0:
        raise InvalidPoints("restore a positive number of points")
    redemption = await repository.entry_by_dedupe_key(session, f"redeem:{_reference(reference)}")
    if redemption is None or points == 0:
        return 0
    account = await _survivor(session, redemption.account_id, lock=True)
    restorable = await repository.restorable_draws(session, redemption.id)
    wanted = sum(left for _, left in restorable) if points is None else points
    draws = rules.draw_fifo(restorable, wanted)
    restored = sum(taken for _, taken in draws)
    if not restored:
        return 0
    now = clock.now()
    await repository.insert_entry(
        session,
        account_id=account.id,
        kind="restore",
        points=restored,
        reference=reference,
        channel=channel,
        occurred_at=now,
    )
    await repository.give_back_to_lots(session, draws)
    await repository.mark_restored(session, redemption.id, draws)
    await repository.change_balances(session, account.id, available=restored, now=now)
    return restored


async def redeem_for_order(
    session: AsyncSession,
    card_number: str,
    amount_minor: int,
    currency: str,
    order_id: uuid.UUID,
    *,
    channel: str | None = None,
) -> str:
    """The orders domain's points tender: pay `amount_minor` with points in the order's
    `channel`; the reference to restore with is the order id."""
    if currency != _currency():
        raise InvalidPoints(f"points pay in {_currency()} only")
    if amount_minor <= 0 or amount_minor % _point_value():
        raise InvalidPoints(f"a points tender is a positive multiple of {_point_value()} minor units")
    reference = str(order_id)
    await redeem(
        session,
        card_number=card_number,
        points=amount_minor // _point_value(),
        reference=reference,
        channel=channel,
    )
    return reference


async def restore_for_order(
    session: AsyncSession, reference: str, amount_minor: int, *, channel: str | None = None
) -> None:
    """A cancellation or a refund gives `amount_minor` of the points tender back as points
    (exactly that part of the redemption, not all of it)."""
    await restore(session, reference=reference, points=amount_minor // _point_value(), channel=channel)
