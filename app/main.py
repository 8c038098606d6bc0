"""create_app(): the only place that wires the domains together."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.catalog.controllers import ROUTES as CATALOG_ROUTES
from app.console.controllers import console_routes
from app.console.web import TEMPLATES
from app.core import health
from app.core.api_keys import ROUTES as API_KEYS_ROUTES
from app.core.auth import ApiKeyMiddleware, KeyCache, roles_guard
from app.core.db import create_engine, create_sessionmaker
from app.core.deps import DEPENDENCIES
from app.core.docs_page import render_plugins, static_router
from app.core.edge import check_request
from app.core.errors import EXCEPTION_HANDLERS
from app.core.observability import configure_logging, request_id_middleware, stamp_response
from app.core.openapi_schema import StrictBodySchemaPlugin, state_msgspec_bounds
from app.core.replicas import create_replicas
from app.core.settings import Settings, get_settings
from app.customers.controllers import ROUTES as CUSTOMERS_ROUTES
from app.fulfillment.controllers import ROUTES as FULFILLMENT_ROUTES
from app.integration.controllers import ROUTES as INTEGRATION_ROUTES
from app.inventory.controllers import ROUTES as INVENTORY_ROUTES
from app.loyalty import rules as loyalty_rules
from app.loyalty.controllers import ROUTES as LOYALTY_ROUTES
from app.orders.controllers import ROUTES as ORDERS_ROUTES
from app.orders.returns.controllers import ROUTES as RETURNS_ROUTES
from app.pricing.controllers import ROUTES as PRICING_ROUTES
from app.reports.controllers import ROUTES as REPORTS_ROUTES

# /console authenticates staff by their session cookie (app/console/web.py), never by API key.
PUBLIC_PATHS = ["^/health$", "^/ready$", "^/schema", "^/console", "^/static/"]

V1_ROUTES: list[Any] = [
    *API_KEYS_ROUTES,
    *CATALOG_ROUTES,
    *CUSTOMERS_ROUTES,
    *FULFILLMENT_ROUTES,
    *INTEGRATION_ROUTES,
    *INVENTORY_ROUTES,
    *LOYALTY_ROUTES,
    *ORDERS_ROUTES,
    *RETURNS_ROUTES,
    *PRICING_ROUTES,
    *REPORTS_ROUTES,
]


def create_app(
    settings: Settings | None = None,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    redis: Redis | None = None,
    log: bool = True,
) -> Litestar:
    settings = settings or get_settings()
    loyalty_rules.parse_tiers(settings.loyalty_tiers)  # a bad OMS_LOYALTY_TIERS stops the start, not a sale
    if log:
        configure_logging(settings.log_level)
    engine = None
    if sessionmaker is None:
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
    replicas = create_replicas(settings)
    if redis is None:
        redis = Redis.from_url(
            settings.redis_url or "redis://127.0.0.1:6379", socket_timeout=2, socket_connect_timeout=2
        )
    state = State(
        {
            "sessionmaker": sessionmaker,
            "replicas": replicas,
            "redis": redis,
            "settings": settings,
            "key_cache": KeyCache(settings.key_cache_seconds),
        }
    )

    stop_metrics: list[Callable[[], None]] = []

    async def open_metrics_port() -> None:
        stop = health.serve_metrics_port(settings)
        if stop is not None:
            stop_metrics.append(stop)

    async def close_resources() -> None:
        for stop in stop_metrics:
            stop()
        if engine is not None:
            await engine.dispose()
        await replicas.dispose()
        await redis.aclose()

    v1 = Router(path="/v1", route_handlers=V1_ROUTES, guards=[roles_guard])
    state_msgspec_bounds()
    return Litestar(
        route_handlers=[*health.ROUTES, v1, *console_routes(), static_router()],
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        state=state,
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            request_id_middleware,
            DefineMiddleware(ApiKeyMiddleware, exclude=PUBLIC_PATHS),
        ],
        on_startup=[open_metrics_port],
        on_shutdown=[close_resources],
        before_send=[stamp_response],
        plugins=[StrictBodySchemaPlugin()],
        openapi_config=OpenAPIConfig(
            title="Omnichannel OMS",
            version="1",
            description="One catalog, one price, one stock picture, orders from every channel.",
            path="/schema",
            render_plugins=render_plugins(),
            components=Components(
                security_schemes={"apiKey": SecurityScheme(type="http", scheme="bearer", description="API key")}
            ),
            security=[{"apiKey": []}],
        ),
        compression_config=CompressionConfig(backend="gzip", minimum_size=2048),
        request_max_body_size=settings.max_body_bytes,
        before_request=check_request,
        debug=False,
        logging_config=None,  # our JSON logging (configure_logging), not Litestar's default
    )
