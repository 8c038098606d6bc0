"""Fixtures shared by every test.

- The schema is built once per pytest worker by `alembic upgrade head` in a fresh database.
- `db`: a session inside a transaction that is rolled back after the test (savepoints).
- `client`: the real app over HTTP (ASGI), bound to that same rolled-back transaction.
- `committed`: real, separate connections on committed data, for races and crashes;
  the tables are emptied afterwards.
"""

from __future__ import annotations

import atexit
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace

from tests.support import alembic_config, drop_database, recreate_database, resolve_servers

_BASE_DB, _REDIS = resolve_servers()
# One database per pytest process (xdist workers, or several runs at once on one server),
# dropped when the process ends.
_TEST_DB_NAME = f"oms_test_{os.getpid()}"
TEST_DB_URL = recreate_database(_BASE_DB, _TEST_DB_NAME)
atexit.register(drop_database, _BASE_DB, _TEST_DB_NAME)
os.environ["DATABASE_URL"] = TEST_DB_URL
os.environ.setdefault("OMS_LOG_LEVEL", "WARNING")
# Jobs of this test process go to queues no other run (or a running service) listens to.
os.environ["OMS_QUEUE_NAMESPACE"] = f"oms-test-{os.getpid()}"
# Webhook tests deliver to receivers on 127.0.0.1 (tests of the address policy turn it off).
os.environ["OMS_WEBHOOKS_ALLOW_PRIVATE"] = "true"

import httpx  # noqa: E402
import pytest  # noqa: E402
from alembic import command  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker  # noqa: E402

from app.core import clock  # noqa: E402
from app.core.auth import Channel, Role, create_key  # noqa: E402
from app.core.db import create_engine, create_sessionmaker  # noqa: E402
from app.core.settings import Settings, get_settings, reload_settings, settings_in_force  # noqa: E402
from app.main import create_app  # noqa: E402
from app.models import metadata  # noqa: E402

command.upgrade(alembic_config(TEST_DB_URL), "head")
SETTINGS = reload_settings()

# Location codes the role keys are bound to in tests.
TEST_STORE = "STORE-TEST"
TEST_WAREHOUSE = "WH-TEST"


@pytest.fixture(scope="session")
def settings():  # type: ignore[no-untyped-def]
    return SETTINGS


@pytest.fixture
def configure() -> Iterator[Callable[..., Settings]]:
    """`configure(loyalty_expiry_months=3)`: the settings in force with those fields changed,
    answered by `get_settings()` until the test ends (code reads settings when it runs)."""
    with ExitStack() as stack:

        def configure(**changes: object) -> Settings:
            return stack.enter_context(settings_in_force(replace(get_settings(), **changes)))  # type: ignore[arg-type]

        yield configure


@pytest.fixture(scope="session")
async def engine() -> AsyncIterator[AsyncEngine]:
    eng = create_engine(SETTINGS)
    yield eng
    await eng.dispose()


@pytest.fixture(autouse=True)
def _reset_clock() -> None:
    clock.reset()


@pytest.fixture
async def db_maker(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory whose sessions all live inside one rolled-back transaction."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield async_sessionmaker(
            bind=conn, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
        )
        if outer.is_active:
            await outer.rollback()


@pytest.fixture
async def db(db_maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with db_maker() as session:
        yield session


async def make_keys(session: AsyncSession, store: str = TEST_STORE, warehouse: str = TEST_WAREHOUSE) -> dict[str, str]:
    """One key per role (and per storefront channel); kiosk/pos bound to `store`."""
    specs: dict[str, tuple[Role, Channel | None, str | None]] = {
        "admin": (Role.ADMIN, None, None),
        "merchandiser": (Role.MERCHANDISER, None, None),
        "storefront": (Role.STOREFRONT, Channel.WEB, None),
        "app": (Role.STOREFRONT, Channel.APP, None),
        "kiosk": (Role.KIOSK, Channel.KIOSK, store),
        "contact_center": (Role.CONTACT_CENTER, Channel.CONTACT_CENTER, None),
        "pos": (Role.POS, Channel.POS, store),
        "logistics": (Role.LOGISTICS, None, warehouse),
        "integration": (Role.INTEGRATION, None, None),
    }
    keys: dict[str, str] = {}
    for label, (role, channel, location) in specs.items():
        _, plaintext = await create_key(
            session, role=role, name=f"test {label}", channel=channel, location_code=location
        )
        keys[label] = plaintext
    await session.commit()
    return keys


IDEMPOTENCY_KEY = "Idempotency-Key"
# The money-moving creates, which answer 428 without an Idempotency-Key.
KEYED_POSTS = re.compile(
    r"^/v1/(orders|returns|exchanges|returns/[^/]+/refund|loyalty/cards/[^/]+/adjustments"
    r"|stock/(adjustments|counts|sync))/?$"
)


class AsKey:
    """The client, sending every request with one role's key. Like a well-behaved client, it
    sends a fresh `Idempotency-Key` with every money-moving POST unless the test names one; a
    test that needs such a POST without one passes `headers={"Idempotency-Key": None}`."""

    def __init__(self, client: httpx.AsyncClient, key: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    async def request(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        headers = {**self.headers, **(kwargs.pop("headers", None) or {})}  # type: ignore[dict-item]
        if method == "POST" and IDEMPOTENCY_KEY not in headers and KEYED_POSTS.match(url.split("?")[0]):
            headers[IDEMPOTENCY_KEY] = f"test-{uuid.uuid4()}"
        headers = {k: v for k, v in headers.items() if v is not None}
        return await self.client.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]

    async def get(self, url: str, **kwargs: object) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: object) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: object) -> httpx.Response:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: object) -> httpx.Response:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: object) -> httpx.Response:
        return await self.request("DELETE", url, **kwargs)


class Api:
    """The app over HTTP with the test keys: `await api.as_("pos").get("/v1/...")`."""

    def __init__(self, client: httpx.AsyncClient, keys: dict[str, str]) -> None:
        self.client = client
        self.keys = keys

    def as_(self, label: str | None) -> AsKey:
        return AsKey(self.client, self.keys[label] if label else None)

    def with_key(self, key: str) -> AsKey:
        return AsKey(self.client, key)


@pytest.fixture
async def keys(db_maker: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with db_maker() as session:
        return await make_keys(session)


@pytest.fixture
async def client(db_maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(SETTINGS, sessionmaker=db_maker, log=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as c:
        yield c


@pytest.fixture
async def api(client: httpx.AsyncClient, keys: dict[str, str]) -> Api:
    return Api(client, keys)


# ---- committed data: races, crashes, several processes ----------------------------------


async def truncate_all(engine: AsyncEngine) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory on real, separate connections; tables are emptied afterwards."""
    await truncate_all(engine)
    yield create_sessionmaker(engine)
    await truncate_all(engine)


@pytest.fixture
async def committed_api(committed: async_sessionmaker[AsyncSession]) -> AsyncIterator[Api]:
    """The app on its own pool (concurrent requests use separate connections)."""
    async with committed() as session:
        keys = await make_keys(session)
    app = create_app(SETTINGS, log=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as c:
        yield Api(c, keys)
