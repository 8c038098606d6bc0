"""One settings object, read from the environment once.

Every knob of the service is here, documented in README.md ("Configuration").
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _str(name: str, default: str | None = None) -> str | None:
    raw = os.environ.get(name)
    return raw if raw not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
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
    # Dramatiq's key prefix in Redis: separate deployments (or test runs) sharing one Redis.
    queue_namespace: str = "dramatiq"
    # Seconds a process trusts a key it has already looked up (revocation delay; 0 = never cache).
    key_cache_seconds: float = 5.0
    # Largest request body accepted (413 beyond it, before the body is read).
    max_body_bytes: int = 1024 * 1024
    # How far back a stock count may be dated (applied as of its time, so an old one rewrites history).
    stock_count_horizon_days: int = 7
    # /metrics needs an admin or integration key; with a port, it is also served without a
    # key there (bind it where only the monitoring network reaches it).
    metrics_port: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def async_database_url(self) -> str:
        """The SQLAlchemy URL with the asyncpg driver, whatever scheme the operator wrote."""
        if self.database_url is None:
            raise RuntimeError("DATABASE_URL is not set; call app.core.embedded.ensure_services() first")
        return to_asyncpg_url(self.database_url)


def to_asyncpg_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"unsupported database URL scheme: {url.split(':', 1)[0]}")


def load_settings() -> Settings:
    return Settings(
        database_url=_str("DATABASE_URL"),
        redis_url=_str("REDIS_URL"),
        data_dir=Path(_str("OMS_DATA_DIR", ".oms-data") or ".oms-data"),
        host=_str("OMS_HOST", "127.0.0.1") or "127.0.0.1",
        port=_int("OMS_PORT", 8000),
        log_level=(_str("OMS_LOG_LEVEL", "INFO") or "INFO").upper(),
        db_pool_size=_int("OMS_DB_POOL_SIZE", 10),
        db_max_overflow=_int("OMS_DB_MAX_OVERFLOW", 5),
        db_pool_timeout=float(_str("OMS_DB_POOL_TIMEOUT", "2.0") or "2.0"),
        db_statement_timeout_ms=_int("OMS_DB_STATEMENT_TIMEOUT_MS", 10_000),
        db_plan_cache_mode=_str("OMS_DB_PLAN_CACHE_MODE", "force_generic_plan") or "force_generic_plan",
        retry_after_seconds=_int("OMS_RETRY_AFTER_SECONDS", 2),
        currency=(_str("OMS_CURRENCY", "EUR") or "EUR").upper(),
        cart_ttl_minutes=_int("OMS_CART_TTL_MINUTES", 60 * 24 * 7),
        hold_ttl_minutes=_int("OMS_HOLD_TTL_MINUTES", 30),
        hold_max_minutes=_int("OMS_HOLD_MAX_MINUTES", 240),
        outbox_stream=_str("OMS_OUTBOX_STREAM", "oms:events") or "oms:events",
        queue_namespace=_str("OMS_QUEUE_NAMESPACE", "dramatiq") or "dramatiq",
        key_cache_seconds=float(_str("OMS_KEY_CACHE_SECONDS", "5") or "5"),
        max_body_bytes=_int("OMS_MAX_BODY_BYTES", 1024 * 1024),
        stock_count_horizon_days=_int("OMS_STOCK_COUNT_HORIZON_DAYS", 7),
        metrics_port=_int("OMS_METRICS_PORT", 0) or None,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reload_settings() -> Settings:
    """Re-read the environment (after the embedded servers set their URLs, or in tests)."""
    get_settings.cache_clear()
    return get_settings()
