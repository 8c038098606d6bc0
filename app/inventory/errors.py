"""Inventory problem types (stable codes)."""

from __future__ import annotations

from app.core.errors import Conflict, InvalidInput, NotFound, Problem, declare_codes


class InsufficientStock(Conflict):
    """extra `lines`: [{sku, location, requested, available}] for every line that could not be served."""

    code, title = "insufficient_stock", "Not enough stock"


class SoldOutRetryLater(Problem):
    """The hold queue of a hot SKU is full in this process: retry after Retry-After seconds."""

    status, code, title = 429, "hold_queue_full", "Too many holds for this SKU right now"


class LocationNotFound(NotFound):
    code, title = "location_not_found", "No such location"


class LocationExists(Conflict):
    code, title = "location_exists", "A location with this code exists"


class LocationInUse(Conflict):
    code, title = "location_in_use", "The location has stock, ledger or transfers"


class InvalidLocation(InvalidInput):
    code, title = "invalid_location", "Location capabilities are not valid"


class UnknownPriceZone(InvalidInput):
    """extra `field`: "zone". A location's `zone` must name a price zone: orders through it are
    priced there, and a zone that does not exist would refuse every one of them."""

    code, title = "unknown_price_zone", "The location names a price zone that does not exist"


class UnknownSku(InvalidInput):
    code, title = "unknown_sku", "Unknown SKU"


class UnknownLocation(InvalidInput):
    code, title = "unknown_location", "Unknown location"


class DuplicateLine(InvalidInput):
    code, title = "duplicate_line", "The same SKU (and location) appears twice"


class InvalidReason(InvalidInput):
    code, title = "invalid_reason", "This reason does not fit this change"


class OnHandWouldGoNegative(Conflict):
    code, title = "on_hand_would_go_negative", "The change would make on_hand negative"


class ReservationNotFound(NotFound):
    code, title = "reservation_not_found", "No such reservation"


class ReferenceInUse(Conflict):
    code, title = "reference_in_use", "The reference already holds a different reservation"


class ExceedsOpenQuantity(Conflict):
    code, title = "exceeds_open_quantity", "More than the reservation still holds"


class TransferNotFound(NotFound):
    code, title = "transfer_not_found", "No such transfer"


class InvalidTransferTransition(Conflict):
    code, title = "invalid_transfer_transition", "The transfer is not in a state that allows this"


class BatchTooLarge(InvalidInput):
    code, title = "batch_too_large", "Too many lines in one batch"


class ReservationHeldByOrder(Conflict):
    """The reservation belongs to an order or its fulfillment: cancel the order or act on its
    fulfillment order; /v1/reservations never touches it."""

    code, title = "reservation_held_by_order", "An order's reservation moves only with its order"


class NotReservationHolder(Problem):
    """Another channel (or store) made this reservation: only its holder may settle it."""

    status, code, title = 403, "not_reservation_holder", "Another channel or store holds this reservation"


class ReservedReference(InvalidInput):
    code, title = "reference_reserved", "References of orders and fulfillment cannot be reserved through the API"


class ExpiryTooFar(InvalidInput):
    code, title = "expiry_too_far", "Holds made by channel keys expire within the hold limit"


# Codes this domain passes as `code=` to refine a general problem (see app.core.errors).
declare_codes(
    "naive_time",
    "ledger_filter_required",
    "invalid_expiry",
    "no_lines",
    "no_skus",
    "too_many_skus",
    "invalid_point",
    "same_location",
    "invalid_time_zone",
    "invalid_promise_settings",
    "invalid_limit",
    "invalid_quantity",
    # a count line's rejection reason, answered as the problem's code
    "counted_in_future",
    "count_conflicts_with_later_movements",
    "counted_too_long_ago",
)
