"""Pieces every loyalty use case shares: the settings in force (tiers, what a point is
worth), limits, checks of references and lines, the ledger entry's shape."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import lru_cache

from app.core.money import Money
from app.core.pagination import Keyset
from app.core.settings import get_settings
from app.loyalty import rules
from app.loyalty.errors import InvalidEarning, InvalidReference, InvalidReversal
from app.loyalty.models import LedgerEntry
from app.loyalty.schemas import LedgerEntryOut

TIER_WINDOW = timedelta(days=365)


EARNING_EVENTS = ("fulfillment.delivered", "fulfillment.collected")


MAX_LINES = 500


MAX_ID_LENGTH = 120


UPCOMING_EXPIRIES = 12


CARD_LEDGER_LIMIT = 20


POINTS_LEDGER = Keyset("points_ledger", int)


def _currency() -> str:
    return get_settings().currency


def tiers() -> tuple[rules.Tier, ...]:
    """The tiers of the settings in force (`OMS_LOYALTY_TIERS`), lowest first."""
    return _parsed_tiers(get_settings().loyalty_tiers)


@lru_cache(maxsize=8)
def _parsed_tiers(text: str) -> tuple[rules.Tier, ...]:
    return rules.parse_tiers(text)


def _point_value() -> int:
    return get_settings().loyalty_point_value_minor


def points_value(points: int) -> Money:
    """What `points` pay at checkout, in the retailer's currency."""
    return Money(rules.points_value_minor(points, _point_value()), _currency())


def points_to_cover(amount_minor: int) -> int:
    return rules.points_to_cover(amount_minor, _point_value())


def _reference(value: str, what: str = "reference") -> str:
    if not value or len(value) > MAX_ID_LENGTH:
        raise InvalidReference(f"{what} must be 1 to {MAX_ID_LENGTH} characters")
    return value


def _check_lines(lines: Sequence[tuple[str, int]], error: type[InvalidEarning] | type[InvalidReversal]) -> None:
    if not lines or len(lines) > MAX_LINES:
        raise error(f"send 1 to {MAX_LINES} lines")
    ids = [line_id for line_id, _ in lines]
    if len(set(ids)) != len(ids):
        raise error("a line appears twice")
    for line_id, amount in lines:
        if not line_id or len(line_id) > MAX_ID_LENGTH:
            raise error(f"line ids are 1 to {MAX_ID_LENGTH} characters")
        if amount < 0 or amount > 10**15:
            raise error(f"line {line_id}: amount out of range")


def _entry_out(entry: LedgerEntry) -> LedgerEntryOut:
    return LedgerEntryOut(
        id=entry.id,
        kind=entry.kind,
        points=entry.points,
        reference=entry.reference,
        channel=entry.channel,
        note=entry.note,
        occurred_at=entry.occurred_at,
    )
