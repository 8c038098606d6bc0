from __future__ import annotations

import httpx

from tests.conftest import Api


async def test_health_is_public(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"]


async def test_ready_checks_database_and_redis(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "database": "ok", "redis": "ok"}


async def test_metrics_are_prometheus_text(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert "oms_http_requests_total" in response.text


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
