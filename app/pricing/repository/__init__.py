"""Every SQL statement of pricing (one module per job in this package; this is its face:
`from app.pricing import repository` and `repository.<statement>`)."""

from __future__ import annotations

from app.pricing.repository.prices import delete_price, get_price, insert_price, price_history
from app.pricing.repository.promotions import (
    add_promotion,
    code_page,
    get_promotion,
    insert_codes,
    live_redemptions,
    promotion_page,
    recount_customer_uses,
)
from app.pricing.repository.quoting import CodeRow, PriceRow, PromotionRow, QuoteFacts, quote_facts
from app.pricing.repository.redemptions import (
    code_limits,
    give_back_redemptions,
    insert_redemptions,
    limits_of,
    redeemed_promotions,
    return_code_use,
    return_customer_use,
    return_promotion_use,
    take_code_use,
    take_customer_use,
    take_promotion_use,
)
from app.pricing.repository.zones import (
    areas_of_other_zones,
    ensure_default_zone,
    fees_and_areas,
    get_zone,
    insert_zone,
    replace_areas,
    replace_fees,
    zone_for_address,
    zone_page,
)

__all__ = [
    "CodeRow",
    "PriceRow",
    "PromotionRow",
    "QuoteFacts",
    "add_promotion",
    "areas_of_other_zones",
    "code_limits",
    "code_page",
    "delete_price",
    "ensure_default_zone",
    "fees_and_areas",
    "get_price",
    "get_promotion",
    "get_zone",
    "give_back_redemptions",
    "insert_codes",
    "insert_price",
    "insert_redemptions",
    "insert_zone",
    "limits_of",
    "live_redemptions",
    "price_history",
    "promotion_page",
    "quote_facts",
    "recount_customer_uses",
    "redeemed_promotions",
    "replace_areas",
    "replace_fees",
    "return_code_use",
    "return_customer_use",
    "return_promotion_use",
    "take_code_use",
    "take_customer_use",
    "take_promotion_use",
    "zone_for_address",
    "zone_page",
]
