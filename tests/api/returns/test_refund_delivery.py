"""The retailer's delivery-refund rule (`OMS_RETURNS_REFUND_DELIVERY`), read from the settings
in force when the refund is computed: the fee comes back only when every unit does and the rule says so."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.settings import Settings
from tests.api.returns.conftest import SHIRT_PRICE, deliver, delivery_body, make_shop, place
from tests.conftest import Api

FEE = 495


@pytest.mark.parametrize(("refund_delivery", "fee_back"), [(True, FEE), (False, 0)])
async def test_delivery_fee_is_refunded_with_the_last_unit_only_when_the_rule_says_so(
    api: Api, db: AsyncSession, configure: Callable[..., Settings], refund_delivery: bool, fee_back: int
) -> None:
    configure(returns_refund_delivery=refund_delivery)
    shop = await make_shop(db)
    zone = await api.as_("merchandiser").patch(
        "/v1/price-zones/default", json={"delivery_fees": [{"currency": "EUR", "amount": FEE}]}
    )
    assert zone.status_code == 200, zone.text
    order = await place(api, "storefront", delivery_body({shop.small: 2}, 2 * SHIRT_PRICE + FEE))
    assert order["total"] == 2 * SHIRT_PRICE + FEE
    await deliver(api, order)

    refunds = []
    for _ in range(2):  # one unit, then the last one
        r = await api.as_("pos").post(
            "/v1/returns",
            json={
                "order_number": order["number"],
                "mode": "immediate",
                "reason": "too small",
                "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
            },
        )
        assert r.status_code == 201, r.text
        refunds.append((r.json()["refund_total"], r.json()["delivery_refund"]))
    assert refunds == [(SHIRT_PRICE, 0), (SHIRT_PRICE, fee_back)]
