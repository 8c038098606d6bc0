"""One settings object, read from the environment once.

Every knob of the service is here, documented in README.md ("Configuration"); nothing else
reads the environment. Code takes the settings as an argument or asks `get_settings()` when it
runs, never at import, so tests put the settings they need in force (`settings_in_force`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    # Streaming replicas for the reads that may be stale (app.core.replicas); none: all on the primary.
    database_replica_urls: tuple[str, ...] = ()
    # A replica further behind than this serves no reads (they go to the primary).
    replica_max_lag_seconds: float = 5.0
    redis_url: str | None = None
    data_dir: Path = Path(".oms-data")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    db_pool_size: int = 10
    db_max_overflow: int = 5
    db_pool_timeout: float = 2.0
    db_statement_timeout_ms: int = 10_000
    db_plan_cache_mode: str = "force_generic_plan"
    retry_after_seconds: int = 2
    currency: str = "EUR"
    cart_ttl_minutes: int = 60 * 24 * 7
    hold_ttl_minutes: int = 30
    # The longest a hold made by a channel key (storefront, kiosk, contact center, POS) may last.
    hold_max_minutes: int = 240
    outbox_stream: str = "oms:events"
    # Idempotency records older than this are deleted (`idempotency.expire`): a client retries
    # within minutes or hours, not after a month.
    idempotency_ttl_days: int = 30
    # Dramatiq's key prefix in Redis: separate deployments (or test runs) sharing one Redis.
    queue_namespace: str = "dramatiq"
    # A killed worker's unacknowledged messages go back to the queue once its heartbeat is
    # older than the timeout, found by the "maintenance" that runs on a share of broker
    # commands (Dramatiq's defaults: 60 s, 1000 per million); the fleet test shortens both.
    broker_heartbeat_timeout_ms: int = 60_000
    broker_maintenance_chance: int = 1000
    # Seconds a process trusts a key it has already looked up (revocation delay; 0 = never cache).
    key_cache_seconds: float = 5.0
    # Master key webhook signing secrets derive from (None: generated into data_dir/secret.key).
    secret_key: str | None = None
    # Country assumed for phone numbers written without a country code.
    default_region: str = "DE"
    customer_token_ttl_minutes: int = 24 * 60
    # name:threshold_minor:points_per_unit, lowest first (parsed by app.loyalty.rules.parse_tiers).
    loyalty_tiers: str = "basic:0:1,silver:50000:2,gold:150000:3"
    loyalty_point_value_minor: int = 1
    loyalty_pending_days: int = 30
    loyalty_expiry_months: int = 24
    # The retailer's rule: refund delivery when every unit of the order came back.
    returns_refund_delivery: bool = False
    # Webhooks may target loopback/private/link-local addresses (development and tests only).
    webhooks_allow_private: bool = False
    # Largest request body accepted (413 beyond it, before the body is read).
    max_body_bytes: int = 1024 * 1024
    # How far back a stock count may be dated (applied as of its time, so an old one rewrites history).
    stock_count_horizon_days: int = 7
    # /metrics needs an admin or integration key; with a port, it is also served without a
    # key there (bind it where only the monitoring network reaches it).
    metrics_port: int | None = None
    # carrier=URL with {tracking}, comma-separated: the tracking link shown with each parcel
    # (a carrier not listed gets no link).
    carrier_tracking_urls: str = (
        "colissimo=https://www.laposte.fr/outils/suivre-vos-envois?code={tracking},"
        "dhl=https://www.dhl.com/global-en/home/tracking.html?tracking-id={tracking},"
        "dpd=https://tracking.dpd.de/status/en_US/parcel/{tracking},"
        "ups=https://www.ups.com/track?tracknum={tracking}"
    )
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def async_database_url(self) -> str:
        """The SQLAlchemy URL with the asyncpg driver, whatever scheme the operator wrote."""
        if self.database_url is None:
            raise RuntimeError("DATABASE_URL is not set; call app.core.embedded.ensure_services() first")
        return to_asyncpg_url(self.database_url)


# The environment variable of each setting (README.md's configuration table lists them all).
VARIABLES: dict[str, str] = {
    "database_url": "DATABASE_URL",
    "database_replica_urls": "OMS_DATABASE_REPLICA_URL",
    "replica_max_lag_seconds": "OMS_REPLICA_MAX_LAG_SECONDS",
    "redis_url": "REDIS_URL",
    "data_dir": "OMS_DATA_DIR",
    "host": "OMS_HOST",
    "port": "OMS_PORT",
    "log_level": "OMS_LOG_LEVEL",
    "db_pool_size": "OMS_DB_POOL_SIZE",
    "db_max_overflow": "OMS_DB_MAX_OVERFLOW",
    "db_pool_timeout": "OMS_DB_POOL_TIMEOUT",
    "db_statement_timeout_ms": "OMS_DB_STATEMENT_TIMEOUT_MS",
    "db_plan_cache_mode": "OMS_DB_PLAN_CACHE_MODE",
    "retry_after_seconds": "OMS_RETRY_AFTER_SECONDS",
    "currency": "OMS_CURRENCY",
    "cart_ttl_minutes": "OMS_CART_TTL_MINUTES",
    "hold_ttl_minutes": "OMS_HOLD_TTL_MINUTES",
    "hold_max_minutes": "OMS_HOLD_MAX_MINUTES",
    "outbox_stream": "OMS_OUTBOX_STREAM",
    "idempotency_ttl_days": "OMS_IDEMPOTENCY_TTL_DAYS",
    "queue_namespace": "OMS_QUEUE_NAMESPACE",
    "broker_heartbeat_timeout_ms": "OMS_BROKER_HEARTBEAT_TIMEOUT_MS",
    "broker_maintenance_chance": "OMS_BROKER_MAINTENANCE_CHANCE",
    "key_cache_seconds": "OMS_KEY_CACHE_SECONDS",
    "secret_key": "OMS_SECRET_KEY",
    "default_region": "OMS_DEFAULT_REGION",
    "customer_token_ttl_minutes": "OMS_CUSTOMER_TOKEN_TTL_MINUTES",
    "loyalty_tiers": "OMS_LOYALTY_TIERS",
    "loyalty_point_value_minor": "OMS_LOYALTY_POINT_VALUE_MINOR",
    "loyalty_pending_days": "OMS_LOYALTY_PENDING_DAYS",
    "loyalty_expiry_months": "OMS_LOYALTY_EXPIRY_MONTHS",
    "returns_refund_delivery": "OMS_RETURNS_REFUND_DELIVERY",
    "webhooks_allow_private": "OMS_WEBHOOKS_ALLOW_PRIVATE",
    "max_body_bytes": "OMS_MAX_BODY_BYTES",
    "stock_count_horizon_days": "OMS_STOCK_COUNT_HORIZON_DAYS",
    "metrics_port": "OMS_METRICS_PORT",
    "carrier_tracking_urls": "OMS_CARRIER_TRACKING_URLS",
}


def to_asyncpg_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"unsupported database URL scheme: {url.split(':', 1)[0]}")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from `environ` (default: the process environment); unset or empty = default."""
    env = os.environ if environ is None else environ
    default = Settings()

    def raw(name: str) -> str | None:
        value = env.get(VARIABLES[name])
        return value if value not in (None, "") else None

    def text(name: str) -> str:
        value = raw(name)
        return value if value is not None else str(getattr(default, name))

    def number(name: str) -> int:
        value = raw(name)
        return int(value) if value is not None else int(getattr(default, name))

    def optional_number(name: str) -> int | None:
        value = raw(name)
        return (int(value) or None) if value is not None else None  # "0" = off, as unset

    def seconds(name: str) -> float:
        value = raw(name)
        return float(value) if value is not None else float(getattr(default, name))

    def flag(name: str) -> bool:
        value = raw(name)
        return value.lower() in ("1", "true", "yes") if value is not None else bool(getattr(default, name))

    return Settings(
        database_url=raw("database_url"),
        database_replica_urls=tuple(u.strip() for u in (raw("database_replica_urls") or "").split(",") if u.strip()),
        replica_max_lag_seconds=seconds("replica_max_lag_seconds"),
        redis_url=raw("redis_url"),
        data_dir=Path(text("data_dir")),
        host=text("host"),
        port=number("port"),
        log_level=text("log_level").upper(),
        db_pool_size=number("db_pool_size"),
        db_max_overflow=number("db_max_overflow"),
        db_pool_timeout=seconds("db_pool_timeout"),
        db_statement_timeout_ms=number("db_statement_timeout_ms"),
        db_plan_cache_mode=text("db_plan_cache_mode"),
        retry_after_seconds=number("retry_after_seconds"),
        currency=text("currency").upper(),
        cart_ttl_minutes=number("cart_ttl_minutes"),
        hold_ttl_minutes=number("hold_ttl_minutes"),
        hold_max_minutes=number("hold_max_minutes"),
        outbox_stream=text("outbox_stream"),
        idempotency_ttl_days=number("idempotency_ttl_days"),
        queue_namespace=text("queue_namespace"),
        broker_heartbeat_timeout_ms=number("broker_heartbeat_timeout_ms"),
        broker_maintenance_chance=number("broker_maintenance_chance"),
        key_cache_seconds=seconds("key_cache_seconds"),
        secret_key=raw("secret_key"),
        default_region=text("default_region").upper(),
        customer_token_ttl_minutes=number("customer_token_ttl_minutes"),
        loyalty_tiers=text("loyalty_tiers"),
        loyalty_point_value_minor=number("loyalty_point_value_minor"),
        loyalty_pending_days=number("loyalty_pending_days"),
        loyalty_expiry_months=number("loyalty_expiry_months"),
        returns_refund_delivery=flag("returns_refund_delivery"),
        webhooks_allow_private=flag("webhooks_allow_private"),
        max_body_bytes=number("max_body_bytes"),
        stock_count_horizon_days=number("stock_count_horizon_days"),
        metrics_port=optional_number("metrics_port"),
        carrier_tracking_urls=text("carrier_tracking_urls"),
    )


_current: Settings | None = None


def get_settings() -> Settings:
    """The settings in force, read from the environment on first use. Code reads them at call
    time (never into module constants), so a test can put others in force."""
    global _current
    if _current is None:
        _current = load_settings()
    return _current


def reload_settings() -> Settings:
    """Re-read the environment (after the embedded servers set their URLs, or in tests)."""
    global _current
    _current = load_settings()
    return _current


@contextmanager
def settings_in_force(settings: Settings) -> Iterator[Settings]:
    """Inside the block, `get_settings()` answers `settings` (tests build the settings they need
    with `dataclasses.replace(get_settings(), ...)` instead of patching module constants)."""
    global _current
    previous = _current
    _current = settings
    try:
        yield settings
    finally:
        _current = previous
