"""Problem types of pricing (stable codes)."""

from __future__ import annotations

from app.core.errors import Conflict, InvalidInput, NotFound, declare_codes


class UnknownSku(InvalidInput):
    code, title = "unknown_sku", "SKU not in the catalog"


class PriceNotFound(InvalidInput):
    code, title = "price_not_found", "No price for the SKU in this zone and currency"


class UnsupportedCurrency(InvalidInput):
    code, title = "unsupported_currency", "Currency not supported"


class UnknownZone(InvalidInput):
    code, title = "unknown_zone", "Price zone does not exist"


class ZoneNotFound(NotFound):
    code, title = "price_zone_not_found", "Price zone not found"


class ZoneExists(Conflict):
    code, title = "price_zone_exists", "Price zone already exists"


class PriceInPast(InvalidInput):
    code, title = "price_in_past", "A price cannot start in the past"


class PriceExists(Conflict):
    code, title = "price_exists", "A price already starts at that time"


class PriceNotScheduled(Conflict):
    code, title = "price_already_effective", "Only a price that has not started yet can be withdrawn"


class PriceRecordNotFound(NotFound):
    code, title = "price_not_found", "Price not found"


class PromotionNotFound(NotFound):
    code, title = "promotion_not_found", "Promotion not found"


class InvalidPromotion(InvalidInput):
    code, title = "invalid_promotion", "Promotion is not well formed"


class CodeExists(Conflict):
    code, title = "promotion_code_exists", "Promotion code already exists"


class UsageLimitReached(Conflict):
    code, title = "usage_limit_reached", "Promotion usage limit reached"


# Codes this domain passes as `code=` to refine a general problem (see app.core.errors).
declare_codes("duplicate_currency", "zone_area_taken", "compare_at_not_above_price", "invalid_codes_request")
