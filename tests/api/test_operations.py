from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from tests.conftest import SETTINGS, Api
from tests.support import free_port


async def test_health_is_public(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"]


async def test_ready_checks_database_and_redis(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "database": "ok", "redis": "ok"}


async def test_metrics_need_an_admin_or_integration_key(api: Api) -> None:
    await api.as_(None).get("/health")
    anonymous = await api.as_(None).get("/metrics")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"
    for label in ("storefront", "kiosk", "pos", "merchandiser", "logistics", "contact_center"):
        refused = await api.as_(label).get("/metrics")
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden", label
    for label in ("admin", "integration"):
        response = await api.as_(label).get("/metrics")
        assert response.status_code == 200
        assert "oms_http_requests_total" in response.text


async def test_metrics_port_serves_them_without_a_key(db_maker: async_sessionmaker[AsyncSession]) -> None:
    port = free_port()
    app = create_app(replace(SETTINGS, metrics_port=port, host="127.0.0.1"), sessionmaker=db_maker, log=False)
    async with AsyncTestClient(app) as client, httpx.AsyncClient() as scraper:
        await client.get("/health")
        scraped = await scraper.get(f"http://127.0.0.1:{port}/metrics")
        assert scraped.status_code == 200 and "oms_http_requests_total" in scraped.text
        assert (await client.get("/metrics")).status_code == 401  # the API port still wants a key
    async with httpx.AsyncClient() as scraper:
        with pytest.raises(httpx.ConnectError):  # stopped with the app
            await scraper.get(f"http://127.0.0.1:{port}/metrics")


async def test_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


async def test_v1_without_key_is_401_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/products")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "unauthorized"
    assert body["status"] == 401
    assert body["type"].endswith("/unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_unknown_key_is_401(api: Api) -> None:
    response = await api.with_key("oms_nope_" + "x" * 40).get("/v1/products")
    assert response.status_code == 401
    assert response.json()["detail"] == "unknown or revoked API key"


async def test_unknown_path_is_404_problem(api: Api) -> None:
    response = await api.as_("admin").get("/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_openapi_schema_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.1")
