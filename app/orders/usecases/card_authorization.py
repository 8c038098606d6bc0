"""Step 2 of placing an order: authorize its card tenders at their gateways, outside any
transaction of ours, and void them if the order is not written (see `placement.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import transaction
from app.core.idempotency import IdempotencyKeyReused
from app.core.settings import get_settings
from app.orders import repository, rules
from app.orders.errors import CardDeclined, PaymentGatewayError, PaymentGatewayTimeout
from app.orders.payments import registry
from app.orders.payments.provider import Declined, GatewayError, GatewayTimeout
from app.orders.usecases.common import Draft

_REAUTHORIZE_ATTEMPTS = 5


@dataclass
class CardAuthorization:
    position: int
    provider: str
    authorization_id: str
    amount: int


@dataclass
class Authorizations:
    payment_key: str
    cards: list[CardAuthorization] = field(default_factory=list)


# Only to check that a provider name exists; never used to open a session.
_NO_SESSIONS: async_sessionmaker[AsyncSession] = async_sessionmaker()


async def authorize_cards(maker: async_sessionmaker[AsyncSession], draft: Draft, payment_key: str) -> Authorizations:
    """Authorize every card tender, outside any transaction of ours."""
    result = Authorizations(payment_key=payment_key)
    for position, tender in enumerate(draft.tenders):
        if tender.kind != rules.TenderKind.CARD:
            continue
        name = tender.provider or registry.DEFAULT_PROVIDER
        gateway = registry.provider(name, maker)
        try:
            auth = None
            for attempt in range(_REAUTHORIZE_ATTEMPTS):
                # A key whose authorization we voided after a failed attempt answers
                # "voided" forever: a retry of the request authorizes under a fresh suffix.
                key = f"{payment_key}:{position}" + (f":r{attempt}" if attempt else "")
                auth = await gateway.authorize(key, tender.card_token or "", tender.amount, draft.currency)
                if auth.status == "authorized":
                    break
            assert auth is not None
        except Declined as exc:
            await void_cards(maker, result)
            raise CardDeclined(
                f"the card was declined: {exc.reason}", tender=position, decline_code=exc.reason
            ) from None
        except GatewayTimeout:
            await void_cards(maker, result)
            raise PaymentGatewayTimeout(
                "the payment gateway did not answer; retry with the same Idempotency-Key",
                tender=position,
                headers={"Retry-After": str(get_settings().retry_after_seconds)},
            ) from None
        except GatewayError as exc:
            await void_cards(maker, result)
            if "reused" in str(exc):
                raise IdempotencyKeyReused("this key was first used with another card or amount") from None
            raise PaymentGatewayError(str(exc), tender=position) from None
        result.cards.append(CardAuthorization(position, name, auth.id, tender.amount))
    return result


async def void_cards(maker: async_sessionmaker[AsyncSession], auths: Authorizations) -> None:
    """Release the authorizations of an order that was not written. A twin request with the
    same key may have committed the order meanwhile: then the money stays held."""
    if not auths.cards:
        return
    async with transaction(maker) as session:
        if await repository.order_id_by_payment_key(session, auths.payment_key) is not None:
            return
    for card in auths.cards:
        await registry.provider(card.provider, maker).void(f"void:{card.authorization_id}", card.authorization_id)
