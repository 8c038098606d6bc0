"""create_app(): the only place that wires the domains together."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.catalog.controllers import ROUTES as CATALOG_ROUTES
from app.core import health
from app.core.auth import ApiKeyMiddleware, KeyCache, roles_guard
from app.core.db import create_engine, create_sessionmaker
from app.core.deps import DEPENDENCIES
from app.core.errors import EXCEPTION_HANDLERS
from app.core.observability import configure_logging, request_id_middleware, stamp_response
from app.core.settings import Settings, get_settings
from app.customers.controllers import ROUTES as CUSTOMERS_ROUTES
from app.fulfillment.controllers import ROUTES as FULFILLMENT_ROUTES
from app.integration.controllers import ROUTES as INTEGRATION_ROUTES
from app.inventory.controllers import ROUTES as INVENTORY_ROUTES
from app.loyalty import service as loyalty_service
from app.loyalty.controllers import ROUTES as LOYALTY_ROUTES
from app.loyalty.schemas import DeliveredOrder
from app.orders import service as orders_service
from app.orders.controllers import ROUTES as ORDERS_ROUTES
from app.orders.returns.controllers import ROUTES as RETURNS_ROUTES
from app.pricing.controllers import ROUTES as PRICING_ROUTES

PUBLIC_PATHS = ["^/health$", "^/ready$", "^/metrics$", "^/schema"]

V1_ROUTES: list[Any] = [
    *CATALOG_ROUTES,
    *CUSTOMERS_ROUTES,
    *FULFILLMENT_ROUTES,
    *INTEGRATION_ROUTES,
    *INVENTORY_ROUTES,
    *LOYALTY_ROUTES,
    *ORDERS_ROUTES,
    *RETURNS_ROUTES,
    *PRICING_ROUTES,
]


def wire_orders() -> None:
    """Orders plug into the customer record (once per process): a merge moves the absorbed
    customer's orders and carts to the survivor; the contact-center history lists orders."""
    from app.customers import service as customers_service

    if getattr(wire_orders, "done", False):
        return
    customers_service.on_merge(orders_service.on_customer_merge)
    customers_service.register_history_provider(orders_service.order_history)
    wire_orders.done = True  # type: ignore[attr-defined]


wire_orders()


def wire_loyalty() -> None:
    """Loyalty plugs into the customer record and the order's tenders (once per process): a
    merge moves the absorbed card's points to the survivor's card; the contact-center view
    shows the balance; points pay as a tender and come back on cancellation or refund."""
    from app.customers import service as customers_service

    if getattr(wire_loyalty, "done", False):
        return
    customers_service.on_merge(loyalty_service.merge_cards)
    customers_service.register_balance_provider(loyalty_service.balance_for_customer)
    orders_service.register_points_tender(loyalty_service.redeem_for_order, loyalty_service.restore_for_order)
    loyalty_service.register_delivered_order_provider(delivered_order)
    wire_loyalty.done = True  # type: ignore[attr-defined]


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


wire_loyalty()


def wire_fulfillment() -> None:
    """Fulfilment plugs into cancellations (once per process): it gives up the cancelled
    units of its open fulfillment orders and releases the reservations holding them."""
    from app.fulfillment import service as fulfillment_service

    if getattr(wire_fulfillment, "done", False):
        return
    orders_service.on_cancel(fulfillment_service.cancel_order_lines)
    wire_fulfillment.done = True  # type: ignore[attr-defined]


wire_fulfillment()


def wire_pricing() -> None:
    """A store's price zone is `locations.zone` (inventory); pricing reads it through this
    hook, since pricing may not import inventory."""
    from app.inventory import service as inventory_service
    from app.inventory.errors import LocationNotFound
    from app.pricing import service as pricing_service

    async def store_zone(session: AsyncSession, code: str) -> str | None:
        try:
            return (await inventory_service.get_location(session, code)).zone
        except LocationNotFound:
            return None

    pricing_service.use_store_zones(store_zone)


wire_pricing()


def create_app(
    settings: Settings | None = None,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    redis: Redis | None = None,
    log: bool = True,
) -> Litestar:
    settings = settings or get_settings()
    if log:
        configure_logging(settings.log_level)
    engine = None
    if sessionmaker is None:
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
    if redis is None:
        redis = Redis.from_url(
            settings.redis_url or "redis://127.0.0.1:6379", socket_timeout=2, socket_connect_timeout=2
        )
    state = State(
        {
            "sessionmaker": sessionmaker,
            "redis": redis,
            "settings": settings,
            "key_cache": KeyCache(settings.key_cache_seconds),
        }
    )

    async def close_resources() -> None:
        if engine is not None:
            await engine.dispose()
        await redis.aclose()

    v1 = Router(path="/v1", route_handlers=V1_ROUTES, guards=[roles_guard])
    return Litestar(
        route_handlers=[*health.ROUTES, v1],
        state=state,
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            request_id_middleware,
            DefineMiddleware(ApiKeyMiddleware, exclude=PUBLIC_PATHS),
        ],
        on_shutdown=[close_resources],
        before_send=[stamp_response],
        openapi_config=OpenAPIConfig(
            title="Omnichannel OMS",
            version="1",
            description="One catalog, one price, one stock picture, orders from every channel.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            components=Components(
                security_schemes={"apiKey": SecurityScheme(type="http", scheme="bearer", description="API key")}
            ),
            security=[{"apiKey": []}],
        ),
        compression_config=CompressionConfig(backend="gzip", minimum_size=2048),
        request_max_body_size=20 * 1024 * 1024,
        debug=False,
        logging_config=None,  # our JSON logging (configure_logging), not Litestar's default
    )
