"""Reading a card: its balance, tier progress, upcoming expiries and ledger."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.money import Money
from app.core.pagination import Page
from app.customers import service as customers_service
from app.customers.schemas import CustomerOut
from app.customers.service import LoyaltyBalance
from app.loyalty import repository, rules
from app.loyalty.models import LoyaltyAccount
from app.loyalty.schemas import CardOut, ExpiryOut, LedgerEntryOut, TierProgress
from app.loyalty.usecases.accounts import _card, _customer_of_card
from app.loyalty.usecases.common import (
    CARD_LEDGER_LIMIT,
    POINTS_LEDGER,
    UPCOMING_EXPIRIES,
    _currency,
    _entry_out,
    points_value,
    tiers,
)


async def _readable_account(
    session: AsyncSession, card_number: str, principal: Principal | None, customer_token: str | None
) -> tuple[LoyaltyAccount | None, CustomerOut | None]:
    """The account (None if the card was never used) and, then, its customer. A storefront
    key needs the customer's token, as for the customer record itself."""
    number = _card(card_number)
    account = await repository.account_by_card(session, number)
    customer = None
    if account is None:
        customer = await _customer_of_card(session, number)
        account = await repository.account_by_card(session, customer.card_number)
    owner = account.customer_id if account is not None else customer.id if customer is not None else None
    if principal is not None and owner is not None:
        await customers_service.authorize_customer_access(session, principal, owner, customer_token)
    return account, customer


def _progress(spend: int) -> TierProgress | None:
    upcoming = rules.next_tier(spend, tiers())
    if upcoming is None:
        return None
    return TierProgress(next_tier=upcoming[0].name, spend_missing=Money(upcoming[1], _currency()))


async def card_view(
    session: AsyncSession, card_number: str, *, principal: Principal | None = None, customer_token: str | None = None
) -> CardOut:
    account, customer = await _readable_account(session, card_number, principal, customer_token)
    if account is None:
        assert customer is not None
        return _card_out(customer.card_number, customer.id, tiers()[0].name, 0, 0, 0, [], Page(items=[]))
    expiries = await repository.upcoming_expiries(session, account.id, UPCOMING_EXPIRIES)
    page = await _ledger_page(session, account.id, CARD_LEDGER_LIMIT, None)
    return _card_out(
        account.card_number,
        account.customer_id,
        account.tier,
        account.available,
        account.pending,
        account.spend_minor,
        [ExpiryOut(expires_on=day, points=points) for day, points in expiries],
        page,
    )


def _card_out(
    number: str,
    customer_id: uuid.UUID,
    tier: str,
    available: int,
    pending: int,
    spend: int,
    expiries: list[ExpiryOut],
    page: Page[LedgerEntryOut],
) -> CardOut:
    return CardOut(
        card_number=number,
        customer_id=customer_id,
        available=available,
        pending=pending,
        available_value=points_value(available),
        tier=tier,
        earn_rate=rules.tier_named(tier, tiers()).points_per_unit,
        rolling_spend=Money(spend, _currency()),
        progress=_progress(spend),
        point_value=points_value(1),
        upcoming_expiries=expiries,
        ledger=page,
    )


async def _ledger_page(
    session: AsyncSession, account_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[LedgerEntryOut]:
    after = POINTS_LEDGER.after(cursor, scope=account_id)
    before_id = after[0] if after else None
    rows = await repository.ledger_page(session, account_id, before_id=before_id, limit=limit)
    return POINTS_LEDGER.page([_entry_out(row) for row in rows], limit, lambda entry: [entry.id], scope=account_id)


async def ledger(
    session: AsyncSession,
    card_number: str,
    *,
    limit: int,
    cursor: str | None,
    principal: Principal | None = None,
    customer_token: str | None = None,
) -> Page[LedgerEntryOut]:
    """The card's ledger, newest first."""
    account, _ = await _readable_account(session, card_number, principal, customer_token)
    if account is None:
        return Page(items=[])
    return await _ledger_page(session, account.id, limit, cursor)


async def balance_for_customer(session: AsyncSession, customer_id: uuid.UUID) -> LoyaltyBalance:
    """The contact-center view's loyalty box: available points and tier."""
    account = await repository.live_account_of_customer(session, customer_id)
    if account is None:
        return LoyaltyBalance(points=0, tier=tiers()[0].name)
    return LoyaltyBalance(points=account.available, tier=account.tier)
