"""Problem types of fulfillment (stable codes)."""

from __future__ import annotations

from app.core.errors import Conflict, InvalidInput, InvalidTransition, NotFound, Problem, declare_codes


class NotSourceable(Conflict):
    """extra `lines`: [{sku, requested, available}], `available_at`: {sku: {location: units}}, `summary`."""

    code, title = "insufficient_stock", "No location (or set of locations) can serve the order"


class StockMoved(Problem):
    """The stock a placement planned was taken by another order before its commit. Placement
    runs its transaction again (a fresh plan); should it ever reach a client, it is a
    retryable 503."""

    status, code, title = 503, "contention", "The stock moved while the order was placed; retry"


class PickupNotOffered(InvalidInput):
    code, title = "pickup_not_offered", "This store does not offer pickup"


class UnknownBinSku(InvalidInput):
    code, title = "unknown_sku", "SKU not in the catalog"


class UnknownLocation(InvalidInput):
    code, title = "unknown_location", "No location has this code"


class FulfillmentOrderNotFound(NotFound):
    code, title = "fulfillment_order_not_found", "No such fulfillment order"


class PickListNotFound(NotFound):
    code, title = "pick_list_not_found", "No such pick list"


class NothingToPick(NotFound):
    code, title = "nothing_to_pick", "No open fulfillment orders at this location"


class RuleVersionNotFound(NotFound):
    code, title = "rule_version_not_found", "No such sourcing rule version"


class FulfillmentInvalidTransition(InvalidTransition):
    """409 `invalid_transition` with `from_status`, `action` and `type`."""


class PickListClosed(Conflict):
    code, title = "pick_list_closed", "The pick list was already confirmed"


class ConfirmationMismatch(InvalidInput):
    code, title = "confirmation_mismatch", "Confirm every line of the pick list once, within its quantity"


class TrackingNumberTaken(Conflict):
    code, title = "tracking_number_taken", "This carrier's tracking number is already on a parcel"


class UnknownParcel(NotFound):
    code, title = "unknown_parcel", "No parcel has this carrier and tracking number"


class AmbiguousParcel(InvalidInput):
    code, title = "ambiguous_parcel", "Several carriers' parcels have this tracking number"


class NotShipped(InvalidInput):
    """422 with `lines=[{line_no, units}]`: units a customer presents at a till that never
    left (not shipped yet, or a pickup not collected): they cannot come back."""

    code, title = "not_shipped", "These units have not been shipped to the customer yet"


class WrongPickupCode(Problem):
    status, code, title = 422, "wrong_pickup_code", "The pickup code is not right"


class PickupLocked(Problem):
    status, code, title = 423, "pickup_locked", "Too many wrong codes: the pickup is locked"


class InvalidBins(InvalidInput):
    code, title = "invalid_bins", "The bin list is not valid"


# Codes this domain passes as `code=` to refine a general problem (see app.core.errors).
declare_codes("invalid_status", "location_required", "unknown_location")
