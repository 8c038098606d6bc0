"""Accounts: one per card (the survivor's after a merge), opened on first use; the tier."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.customers import service as customers_service
from app.customers.schemas import CustomerOut
from app.loyalty import repository, rules
from app.loyalty.errors import CardNotFound, InvalidCardNumber
from app.loyalty.models import LoyaltyAccount
from app.loyalty.usecases.common import TIER_WINDOW, tiers


def _card(card_number: str) -> str:
    number = card_number.strip()
    if len(number) != 13 or not number.isdigit():
        raise InvalidCardNumber("a card number is 13 digits")
    return number


async def _customer_of_card(session: AsyncSession, number: str) -> CustomerOut:
    found = await customers_service.find_customers(session, card=number)
    if not found:
        raise CardNotFound(f"no loyalty card {number}")
    return found[0]


async def _account(session: AsyncSession, card_number: str, *, create: bool, lock: bool) -> LoyaltyAccount | None:
    """The card's account (the survivor's after a merge), opened on first use when `create`."""
    number = _card(card_number)
    account = await repository.account_by_card(session, number, lock=lock)
    if account is not None:
        return account
    customer = await _customer_of_card(session, number)
    if customer.card_number != number:  # a card merged into another customer's
        account = await repository.account_by_card(session, customer.card_number, lock=lock)
        if account is not None or not create:
            return account
    if not create:
        return None
    await repository.insert_account(
        session, card_number=customer.card_number, customer_id=customer.id, tier=tiers()[0].name, now=clock.now()
    )
    return await repository.account_by_card(session, customer.card_number, lock=lock)


async def _existing_account(session: AsyncSession, card_number: str, *, lock: bool) -> LoyaltyAccount:
    account = await _account(session, card_number, create=True, lock=lock)
    if account is None:  # pragma: no cover - insert_account just made it
        raise CardNotFound(f"no loyalty card {card_number}")
    return account


async def open_account(session: AsyncSession, *, card_number: str, customer_id: uuid.UUID) -> None:
    await repository.insert_account(
        session, card_number=_card(card_number), customer_id=customer_id, tier=tiers()[0].name, now=clock.now()
    )


async def _retier(session: AsyncSession, account_id: uuid.UUID, now: datetime) -> tuple[str, int]:
    spend = await repository.rolling_spend(session, account_id, now - TIER_WINDOW)
    return rules.tier_for_spend(spend, tiers()).name, spend


async def _survivor(session: AsyncSession, account_id: uuid.UUID, *, lock: bool) -> LoyaltyAccount:
    account = await repository.account_by_id(session, account_id)
    if account is not None and account.merged_into_id is not None:
        account_id = account.merged_into_id
    account = await repository.account_by_id(session, account_id, lock=lock)
    if account is None:  # pragma: no cover - ledger rows always have their account
        raise CardNotFound("the card of this redemption is gone")
    return account
