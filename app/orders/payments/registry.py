"""Which payment providers exist: the built-in `test` gateway plus entry-point plugins."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.orders.errors import UnknownPaymentProvider
from app.orders.payments.provider import PaymentProvider
from app.orders.payments.test_gateway import TestGateway

ProviderFactory = Callable[[async_sessionmaker[AsyncSession]], PaymentProvider]
ENTRY_POINT_GROUP = "oms.payment_providers"
DEFAULT_PROVIDER = "test"

_factories: dict[str, ProviderFactory] = {"test": TestGateway}
_plugins_loaded = False


def register(name: str, factory: ProviderFactory) -> None:
    """Add (or replace) a provider; plugins may also call this at import."""
    _factories[name] = factory


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        _factories.setdefault(entry.name, entry.load())


def provider(name: str, sessionmaker: async_sessionmaker[AsyncSession]) -> PaymentProvider:
    _load_plugins()
    factory = _factories.get(name)
    if factory is None:
        raise UnknownPaymentProvider(f"no payment provider {name!r}", provider=name)
    return factory(sessionmaker)


def names() -> list[str]:
    _load_plugins()
    return sorted(_factories)
