"""Problem types of returns and exchanges (stable codes)."""

from __future__ import annotations

from app.core.errors import Conflict, InvalidInput, InvalidTransition, NotFound, declare_codes


class ReturnNotFound(NotFound):
    code, title = "return_not_found", "Return not found"


class ReturnOrderNotFound(NotFound):
    code, title = "order_not_found", "Order not found"


class ReturnInvalidTransition(InvalidTransition):
    """409 `invalid_transition` with `from_status`, `action` and `allowed`."""


class NotEligible(InvalidInput):
    """422 with the line's reason as the code (`return_window_closed`, `not_returnable`,
    `already_returned`, `not_delivered`) and `lines=[{line_no, reason}]` for every line."""

    code, title = "return_not_eligible", "Some lines cannot be returned"
    refines = ("return_window_closed", "not_returnable", "already_returned", "not_delivered")


class ExceedsPurchase(InvalidInput):
    code, title = "return_exceeds_purchase", "More units than were bought"


class UnknownOrderLine(InvalidInput):
    code, title = "unknown_order_line", "The order has no such line"


class DuplicateLine(InvalidInput):
    code, title = "duplicate_line", "A line appears twice"


class OrderRequired(InvalidInput):
    code, title = "order_required", "Send exactly one of order_id and order_number"


class LocationDoesNotAcceptReturns(InvalidInput):
    code, title = "location_does_not_accept_returns", "This location does not accept returns"


class UnknownLocation(InvalidInput):
    code, title = "unknown_location", "No location has this code"


class LocationRequired(InvalidInput):
    code, title = "location_required", "Name the location where the goods are"


class ReceiptMismatch(InvalidInput):
    code, title = "receipt_mismatch", "Dispositions must cover every returned unit exactly"


class OverrideNotAllowed(InvalidInput):
    code, title = "override_not_allowed", "Only an admin key may override eligibility"


class ImmediateOnlyAtStore(InvalidInput):
    code, title = "immediate_return_at_store_only", "Immediate returns happen at a store's till"


class ReturnRace(Conflict):
    """Another return took the same units first (the conditional UPDATE found none left)."""

    code, title = "already_returned", "These units were returned meanwhile"


class UnknownSku(InvalidInput):
    code, title = "unknown_sku", "No variant has this SKU"


class ExchangePaymentRequired(InvalidInput):
    code, title = "exchange_payment_required", "The replacement costs more: say how the difference is paid"


class ExchangeStockShort(Conflict):
    code, title = "insufficient_stock", "The replacement is not available at this store"


class ReturnsFilterRequired(InvalidInput):
    code, title = "returns_filter_required", "Send exactly one of customer_id and order_id"


# Codes this domain passes as `code=` to refine a general problem (see app.core.errors).
# NotEligible answers the first line's reason (app.orders.returns.rules.Reason) as its code.
declare_codes("customer_not_found", status=404)
