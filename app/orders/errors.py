"""Problem types of the orders domain (stable codes)."""

from __future__ import annotations

from app.core.errors import Conflict, InvalidInput, InvalidTransition, NotFound, Problem, declare_codes


class CartNotFound(NotFound):
    code, title = "cart_not_found", "Cart not found"


class CartNotOpen(Conflict):
    code, title = "cart_not_open", "Cart is no longer open (ordered, expired or merged)"


class CartEmpty(InvalidInput):
    code, title = "cart_empty", "The cart has no lines"


class CartLimitReached(InvalidInput):
    code, title = "cart_limit_reached", "The cart cannot take more lines"


class OrderNotFound(NotFound):
    code, title = "order_not_found", "Order not found"


class HoldNotFound(NotFound):
    code, title = "hold_not_found", "Hold not found"


class HoldAlreadyLifted(Conflict):
    code, title = "hold_already_lifted", "The hold was already lifted"


class OrderInvalidTransition(InvalidTransition):
    """409 `invalid_transition` with `from_status` and `action`."""


class TendersDoNotSumToTotal(InvalidInput):
    code, title = "tenders_do_not_match_total", "Tenders must sum to the order total"


class TenderNotAllowed(InvalidInput):
    code, title = "tender_not_allowed", "This tender cannot be used here"


class PickupNotOffered(InvalidInput):
    code, title = "pickup_not_offered", "This store does not offer pickup"


class UnknownLocation(InvalidInput):
    code, title = "unknown_location", "No location has this code"


class InvalidAddress(InvalidInput):
    code, title = "invalid_address", "The delivery address is not complete"


class ContactRequired(InvalidInput):
    code, title = "contact_required", "A guest's pickup order needs a phone or e-mail for the pickup notice"


class CurrencyMismatch(InvalidInput):
    code, title = "currency_mismatch", "Amounts must be in the order's currency"


class NoLinesToCancel(InvalidInput):
    code, title = "nothing_to_cancel", "None of these quantities can still be cancelled"


class CardDeclined(Problem):
    status, code, title = 402, "card_declined", "The card was declined"


class PaymentGatewayTimeout(Problem):
    status, code, title = 503, "payment_gateway_timeout", "The payment gateway did not answer in time"


class PaymentGatewayError(Problem):
    status, code, title = 502, "payment_gateway_error", "The payment gateway failed"


class UnknownPaymentProvider(InvalidInput):
    code, title = "unknown_payment_provider", "No payment provider has this name"


class UnknownPromotionCode(InvalidInput):
    code, title = "unknown_promotion_code", "No promotion has this code"


class LinesOrCart(InvalidInput):
    code, title = "lines_or_cart", "Send either a cart_id or lines, not both and not neither"


# Codes this domain passes as `code=` to refine a general problem (see app.core.errors).
declare_codes("unknown_line", "invalid_fulfillment", "channel_required", "unsupported_currency")
