"""Earning points on what was paid, idempotent by (source document, event type)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.money import is_supported, minor_per_unit
from app.core.settings import get_settings
from app.loyalty import repository, rules
from app.loyalty.errors import EarningConflict, InvalidEarning
from app.loyalty.models import Lot
from app.loyalty.schemas import Earning
from app.loyalty.usecases.accounts import _existing_account, _retier
from app.loyalty.usecases.common import _check_lines, _reference, tiers
from app.loyalty.usecases.reversing import _apply_reversal_lines


async def earn(
    session: AsyncSession,
    *,
    source_id: str,
    event_type: str,
    card_number: str,
    channel: str | None,
    lines: Sequence[tuple[str, int]],
    currency: str,
    occurred_at: datetime,
    points_paid_minor: int = 0,
    order_id: str | None = None,
) -> Earning:
    source_id, event_type = _reference(source_id, "source_id"), _reference(event_type, "event_type")
    _check_lines(lines, InvalidEarning)
    if not is_supported(currency):
        raise InvalidEarning(f"unsupported currency {currency}")
    if not 0 <= points_paid_minor <= sum(amount for _, amount in lines):
        raise InvalidEarning("points_paid_minor must be between 0 and what the lines cost")
    try:
        occurred_at = clock.ensure_utc(occurred_at)
    except ValueError as exc:
        raise InvalidEarning(str(exc)) from None
    payload_hash = rules.fingerprint(
        [card_number, channel, sorted(lines), currency, occurred_at.isoformat(), points_paid_minor, order_id]
    )
    await repository.lock_lines(session, [line_id for line_id, _ in lines])
    account = await _existing_account(session, card_number, lock=True)
    tier = rules.tier_named(account.tier, tiers())
    computed = rules.earn_for_lines(
        lines,
        points_paid_minor=points_paid_minor,
        points_per_unit=tier.points_per_unit,
        minor_per_unit=minor_per_unit(currency),
    )
    total = sum(line.points for line in computed)
    available_at = occurred_at + timedelta(days=get_settings().loyalty_pending_days)
    expires_at = rules.add_months(occurred_at, get_settings().loyalty_expiry_months)
    lot_id = await repository.insert_lot(
        session,
        account_id=account.id,
        source="earn",
        source_id=source_id,
        event_type=event_type,
        payload_hash=payload_hash,
        channel=channel,
        order_id=order_id,
        currency=currency,
        points=total,
        remaining=total,
        spend_minor=sum(line.earnable_minor for line in computed),
        status="pending",
        earned_at=occurred_at,
        available_at=available_at,
        expires_at=expires_at,
    )
    if lot_id is None:  # this document and event already earned: a repeat, or a conflict
        existing = await repository.lot_by_key(session, source_id, event_type)
        assert existing is not None
        return await _replayed_earning(session, existing, payload_hash)
    await repository.insert_earning_lines(
        session,
        [
            {
                "lot_id": lot_id,
                "line_id": line.line_id,
                "net_paid_minor": line.net_paid_minor,
                "earnable_minor": line.earnable_minor,
                "points": line.points,
            }
            for line in computed
        ],
    )
    now = clock.now()
    if total:
        await repository.insert_entries(
            session,
            [
                {
                    "account_id": account.id,
                    "kind": "earn",
                    "points": total,
                    "reference": order_id or source_id,
                    "channel": channel,
                    "note": f"{event_type} {source_id}, pending until {available_at.date().isoformat()}",
                    "occurred_at": occurred_at,
                }
            ],
        )
    # Returns that reached us before this sale (an offline till) are applied now.
    waiting = await repository.waiting_reversal_lines(session, [line.line_id for line in computed])
    taken = await _apply_reversal_lines(session, account.id, [(line, channel_) for line, channel_ in waiting], now)
    tier_name, spend = await _retier(session, account.id, now)
    await repository.change_balances(
        session,
        account.id,
        available=-taken.available,
        pending=total - taken.pending,
        tier=tier_name,
        spend_minor=spend,
        now=now,
    )
    return Earning(
        card_number=account.card_number,
        points=total,
        lines={line.line_id: line.points for line in computed},
        tier=tier_name,
        available_at=available_at,
        expires_at=expires_at,
    )


async def _replayed_earning(session: AsyncSession, lot: Lot, payload_hash: bytes) -> Earning:
    if lot.payload_hash != payload_hash:
        raise EarningConflict(
            f"{lot.event_type} {lot.source_id} already earned points with other data",
            source_id=lot.source_id,
            event_type=lot.event_type,
        )
    account = await repository.account_by_id(session, lot.account_id)
    lines = await repository.earning_lines(session, lot.id)
    assert account is not None
    return Earning(
        card_number=account.card_number,
        points=sum(line.points for line in lines),
        lines={line.line_id: line.points for line in lines},
        tier=account.tier,
        available_at=lot.available_at,
        expires_at=lot.expires_at,
        replayed=True,
    )
