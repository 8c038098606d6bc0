"""Problem types of the customers domain (stable codes)."""

from __future__ import annotations

from app.core.errors import Conflict, InvalidInput, NotFound, Problem


class CustomerNotFound(NotFound):
    code, title = "customer_not_found", "Customer not found"


class CustomerExists(Conflict):
    """Raised with `existing_customer_id` (the survivor if the match was merged away)."""

    code, title = "customer_exists", "A customer with this email or phone already exists"


class InvalidEmail(InvalidInput):
    code, title = "invalid_email", "Email address is not valid"


class InvalidPhone(InvalidInput):
    code, title = "invalid_phone", "Phone number is not valid"


class InvalidCardNumber(InvalidInput):
    code, title = "invalid_card_number", "Loyalty card number is not valid"


class AddressNotFound(NotFound):
    code, title = "address_not_found", "The customer has no saved address with this id"


class TooManyAddresses(InvalidInput):
    code, title = "too_many_addresses", "The customer has saved as many addresses as allowed"


class InvalidLookup(Problem):
    status, code, title = 400, "invalid_lookup", "Look up by exactly one of email, phone or card"


class CannotMergeSelf(InvalidInput):
    code, title = "cannot_merge_self", "A customer cannot absorb itself"


class CustomerMerged(Conflict):
    """The record was merged into another one (`merged_into`); act on that one."""

    code, title = "customer_merged", "Customer record was merged into another one"


class CustomerTokenRequired(Problem):
    status, code, title = 403, "customer_token_required", "Send the customer's X-Customer-Token"


class CustomerTokenInvalid(Problem):
    status, code, title = 403, "customer_token_invalid", "The customer token is unknown, expired or for someone else"
