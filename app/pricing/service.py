"""Pricing use cases (the code lives in `app/pricing/usecases/`; this is its face): price
zones, the price history, promotions and codes, quotes, redemptions.

Public functions (other domains call only these):

- `quote(session, request: QuoteInput, *, now: datetime | None = None) -> Quote`
  Prices lines for a zone and currency at `now` (default: the clock): resolves each SKU's
  price in force (the zone's own price, else the default zone's), loads the live promotions
  and the offered codes (with the zone, one statement after catalog's) and runs the engine
  (`rules.price`). `zone` may be a `ZoneAddress`: the quote is then in that address' zone
  (what `resolve_zone` finds), resolved in the same statement. Customer facts
  (loyalty tier, first order) come from the caller. The channel is read only by promotions
  explicitly restricted to channels. `Quote.result.lines` are the per-line snapshots
  (`rules.LineSnapshot`) an order stores verbatim. Raises `UnknownSku`, `PriceNotFound`,
  `UnknownZone`, `UnsupportedCurrency` (422); an unusable code is never an error, it gets a
  reason in `Quote.result.codes`.
- `redeem(session, *, quote: Quote, order_id: UUID, customer_id: UUID | None = None) -> list[UUID]`
  At order placement, in the order's transaction: takes one use of every promotion and code
  the quote applied, atomically (conditional UPDATEs, rows in a fixed order). Raises
  `UsageLimitReached` (409 `usage_limit_reached`) when a last use was taken meanwhile — the
  caller rolls back and re-quotes. Idempotent per order.
- `give_back(session, *, order_id: UUID) -> int`
  On cancellation: returns the order's uses to their promotions and codes (idempotent).
- `resolve_zone(session, *, zone=None, country=None, postal_code=None) -> str`
  The price zone of an explicit zone (a store's: the caller reads it from inventory), or a
  delivery address; else `default`.
  To quote for a delivery address, prefer `QuoteInput(zone=ZoneAddress(country,
  postal_code))`: the quote resolves it without a round trip of its own.

Types: `QuoteInput(currency, lines: tuple[QuoteLine, ...], zone: str | ZoneAddress = "default",
codes=(), customer_id=None, loyalty_tier=None, first_order=False, channel=None,
home_delivery=False)` (tier and first order: the records', read by the flow above — loyalty,
orders — never the caller's; `CustomerFacts(customer_id, loyalty_tier, first_order)` carries
them, `GUEST` has none), `QuoteLine(sku, quantity)`, `ZoneAddress(country, postal_code="")`,
`Quote` (`priced_at`, `customer_id`, `result: rules.PricingResult`, `compare_at`,
`promotion_names`); `rules.LineSnapshot` is the
per-line snapshot (sku, quantity, unit_price, gross, discounts [{promotion_id, code, amount}],
net) — store it verbatim (`msgspec.to_builtins`); refunds read it, never today's price.
Events: `price.scheduled` (sku, zone, currency, amount, compare_at_amount, valid_from).

- `zone_exists(session, code) -> bool`: whether a price zone of that code exists (`default`
  always does) — what a location naming its store's zone is checked against.

- `price_in_force(session, sku, *, zone, currency, now=None) -> PriceInForceOut`: the price
  a SKU has now (the zone's own, else the default zone's) and its next scheduled change.

HTTP-facing use cases: `create_zone`, `update_zone`, `get_zone`, `list_zones`, `set_price`,
`price_history`, `withdraw_price`, `create_promotion`, `update_promotion`, `get_promotion`,
`list_promotions`, `archive_promotion`, `add_codes`, `list_codes`.
"""

from __future__ import annotations

from app.pricing import rules
from app.pricing.models import DEFAULT_ZONE
from app.pricing.usecases.in_force import price_in_force
from app.pricing.usecases.management import (
    add_codes,
    archive_promotion,
    create_promotion,
    create_zone,
    get_promotion,
    get_zone,
    list_codes,
    list_promotions,
    list_zones,
    price_history,
    set_price,
    update_promotion,
    update_zone,
    withdraw_price,
    zone_details,
    zone_exists,
)
from app.pricing.usecases.quoting import (
    GUEST,
    CustomerFacts,
    Quote,
    QuoteInput,
    QuoteLine,
    ZoneAddress,
    give_back,
    normalize_code,
    quote,
    redeem,
    resolve_zone,
)

__all__ = [
    "DEFAULT_ZONE",
    "GUEST",
    "CustomerFacts",
    "Quote",
    "QuoteInput",
    "QuoteLine",
    "ZoneAddress",
    "add_codes",
    "archive_promotion",
    "create_promotion",
    "create_zone",
    "get_promotion",
    "get_zone",
    "give_back",
    "list_codes",
    "list_promotions",
    "list_zones",
    "normalize_code",
    "price_history",
    "price_in_force",
    "quote",
    "redeem",
    "resolve_zone",
    "rules",
    "set_price",
    "update_promotion",
    "update_zone",
    "withdraw_price",
    "zone_details",
    "zone_exists",
]
