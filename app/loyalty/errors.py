"""Problem types of the loyalty domain (stable codes)."""

from __future__ import annotations

from app.core.errors import Conflict, InvalidInput, NotFound


class CardNotFound(NotFound):
    code, title = "card_not_found", "No loyalty card has this number"


class InvalidCardNumber(InvalidInput):
    code, title = "invalid_card_number", "Loyalty card number is not valid"


class InsufficientPoints(Conflict):
    """Raised with `available` and `requested`."""

    code, title = "insufficient_points", "Not enough available points"


class AlreadyRedeemed(Conflict):
    code, title = "points_already_redeemed", "Points were already redeemed for this reference"


class EarningConflict(Conflict):
    code, title = "earning_conflict", "This document already earned points with other data"


class ReversalConflict(Conflict):
    code, title = "reversal_conflict", "This return already reversed points with other data"


class InvalidEarning(InvalidInput):
    code, title = "invalid_earning", "Earning data is not valid"


class InvalidReversal(InvalidInput):
    code, title = "invalid_reversal", "Reversal data is not valid"


class InvalidPoints(InvalidInput):
    code, title = "invalid_points", "Points must be a positive whole number"


class InvalidReference(InvalidInput):
    code, title = "invalid_reference", "Reference is not valid"
