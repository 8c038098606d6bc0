"""The wiring of domains into each other's hooks — the arrows that go against the dependency
direction (customers ← orders, loyalty; orders ← fulfilment, loyalty; pricing ← inventory).

Imported by both `app/main.py` (API processes) and `app/worker.py` (Dramatiq processes):
jobs run use cases too, and must see the same hooks as requests.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.loyalty import service as loyalty_service
from app.loyalty.schemas import DeliveredOrder
from app.orders import service as orders_service


def wire_orders() -> None:
    """Orders plug into the customer record: a merge moves the absorbed
    customer's orders and carts to the survivor; the contact-center history lists orders."""
    from app.customers import service as customers_service

    customers_service.on_merge(orders_service.on_customer_merge)
    customers_service.register_history_provider(orders_service.order_history)


def wire_loyalty() -> None:
    """Loyalty plugs into the customer record and the order's tenders: a
    merge moves the absorbed card's points to the survivor's card; the contact-center view
    shows the balance; points pay as a tender and come back on cancellation or refund."""
    from app.customers import service as customers_service

    customers_service.on_merge(loyalty_service.merge_cards)
    customers_service.register_balance_provider(loyalty_service.balance_for_customer)
    orders_service.register_points_tender(loyalty_service.redeem_for_order, loyalty_service.restore_for_order)
    loyalty_service.register_delivered_order_provider(delivered_order)


async def delivered_order(session: AsyncSession, event: dict[str, Any]) -> DeliveredOrder | None:
    """A delivered/collected fulfillment order as loyalty earns on it: the order's lines and
    tenders (orders) and the units that fulfillment order handed over (fulfilment)."""
    import uuid

    from app.core.auth import Principal, Role
    from app.fulfillment import service as fulfillment_service

    order = await orders_service.get_order(session, uuid.UUID(event["order_id"]))
    staff = Principal(key_id=uuid.UUID(int=0), role=Role.ADMIN)
    fo = await fulfillment_service.get_fulfillment_order(session, staff, uuid.UUID(event["fulfillment_order_id"]))
    ordered = {str(line.line_no): line for line in order.lines}
    return DeliveredOrder(
        order_id=str(order.id),
        customer_id=order.customer_id,
        channel=order.channel,
        currency=order.currency,
        order_total_minor=order.total,
        points_paid_minor=sum(t.amount for t in order.tenders if t.kind == "loyalty_points"),
        lines=[
            (
                int(ln.line_id),
                ordered[ln.line_id].quantity,
                ordered[ln.line_id].line_total,
                ln.quantity - ln.short_quantity,
            )
            for ln in fo.lines
            if ln.line_id in ordered
        ],
    )


def wire_fulfillment() -> None:
    """Fulfilment plugs into cancellations: it gives up the cancelled
    units of its open fulfillment orders and releases the reservations holding them, and
    tells whether anything of an order is still on its way (an order whose last open units
    are cancelled after the rest was delivered is completed then)."""
    from app.fulfillment import service as fulfillment_service

    orders_service.on_cancel(fulfillment_service.cancel_order_lines)
    orders_service.register_handover_check(fulfillment_service.order_handed_over)


def wire_pricing() -> None:
    """A store's price zone is `locations.zone` (inventory); a customer's tier and first
    order are loyalty's and orders' facts: pricing reads them through these hooks, since it
    may not import those domains."""
    from app.inventory import service as inventory_service
    from app.inventory.errors import LocationNotFound
    from app.pricing import service as pricing_service

    async def store_zone(session: AsyncSession, code: str) -> str | None:
        try:
            return (await inventory_service.get_location(session, code)).zone
        except LocationNotFound:
            return None

    pricing_service.use_store_zones(store_zone)
    pricing_service.use_customer_facts(customer_facts)


async def customer_facts(session: AsyncSession, customer_id: uuid.UUID) -> tuple[str | None, bool]:
    """A known customer's pricing facts from the records: the loyalty tier (loyalty) and
    whether no order was placed yet (orders)."""
    tier = (await loyalty_service.balance_for_customer(session, customer_id)).tier
    return tier, not await orders_service.has_orders(session, customer_id)


_wired: list[bool] = []


def wire_domains() -> None:
    """Register every cross-domain hook, once per process (API and worker both call this)."""
    if _wired:
        return
    _wired.append(True)
    wire_orders()
    wire_loyalty()
    wire_fulfillment()
    wire_pricing()
