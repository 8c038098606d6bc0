"""Pricing over HTTP: price zones, prices (with their history), promotions and codes, quotes —
one module per resource in this package; `ROUTES` here.

Merchandiser and admin keys write. `POST /v1/pricing/quote` is open to every role and
answers the same body for the same input whatever the caller's channel: a channel is not
an input of a price. The one exception is a promotion a merchandiser explicitly
restricted to some channels (off by default); only then does the key's channel matter.
"""

from __future__ import annotations

from typing import Any

from app.pricing.controllers.prices import (
    create_zone,
    get_zone,
    list_zones,
    price_history,
    set_price,
    update_zone,
    withdraw_price,
)
from app.pricing.controllers.promotions import (
    add_codes,
    archive_promotion,
    create_promotion,
    get_promotion,
    list_codes,
    list_promotions,
    update_promotion,
)
from app.pricing.controllers.quote import quote

ROUTES: list[Any] = [
    create_zone,
    list_zones,
    get_zone,
    update_zone,
    set_price,
    price_history,
    withdraw_price,
    create_promotion,
    list_promotions,
    get_promotion,
    update_promotion,
    archive_promotion,
    add_codes,
    list_codes,
    quote,
]
