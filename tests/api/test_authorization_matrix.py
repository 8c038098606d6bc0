"""Every /v1 endpoint × every role: no key → 401; a role the route does not declare → 403;
a declared role is never refused for its role (it may still be refused for another location,
or for bad input) — and nobody ever gets a 5xx.

Routes come from the app itself, so a new endpoint is covered the day it lands.
"""

from __future__ import annotations

import re
import uuid

from litestar import Litestar
from litestar.routes import HTTPRoute

from app.core.auth import Role
from app.main import create_app
from tests.conftest import SETTINGS, Api

ROLE_DENIED = "this key's role may not do this"
LABEL_ROLE = {
    "admin": Role.ADMIN,
    "merchandiser": Role.MERCHANDISER,
    "storefront": Role.STOREFRONT,
    "kiosk": Role.KIOSK,
    "contact_center": Role.CONTACT_CENTER,
    "pos": Role.POS,
    "logistics": Role.LOGISTICS,
    "integration": Role.INTEGRATION,
}


def _concrete(path: str) -> str:
    def value(match: re.Match[str]) -> str:
        kind = match.group(2)
        if kind == "uuid":
            return str(uuid.UUID(int=7))
        if kind == "int":
            return "7"
        return "UNKNOWN-7"

    return re.sub(r"\{(\w+):(\w+)\}", value, path)


def v1_endpoints(app: Litestar) -> list[tuple[str, str, frozenset[Role]]]:
    endpoints = []
    for route in app.routes:
        # /metrics is keyed like the API (issue 12): it joins the matrix.
        if not isinstance(route, HTTPRoute) or not (route.path.startswith("/v1") or route.path == "/metrics"):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method in {"HEAD", "OPTIONS"}:
                    continue
                allowed = handler.opt.get("roles")
                assert allowed is not None, f"{method} {route.path} declares no roles"
                endpoints.append((method, route.path, frozenset(allowed)))
    return sorted(endpoints)


def test_every_v1_route_declares_roles() -> None:
    assert v1_endpoints(create_app(SETTINGS, log=False))


async def test_authorization_matrix(api: Api) -> None:
    endpoints = v1_endpoints(create_app(SETTINGS, log=False))
    failures = []
    for method, path, allowed in endpoints:
        url = _concrete(path)
        body = {"json": {}} if method in {"POST", "PUT", "PATCH"} else {}
        anonymous = await api.as_(None).request(method, url, **body)
        if anonymous.status_code != 401:
            failures.append(f"{method} {path} without key -> {anonymous.status_code}")
        for label, role in LABEL_ROLE.items():
            response = await api.as_(label).request(method, url, **body)
            denied_for_role = response.status_code == 403 and ROLE_DENIED in response.text
            if response.status_code >= 500:
                failures.append(f"{method} {path} as {label} -> {response.status_code}")
            elif role in allowed and denied_for_role:
                failures.append(f"{method} {path} as {label}: declared but refused")
            elif role not in allowed and not denied_for_role:
                failures.append(f"{method} {path} as {label}: not declared but got {response.status_code}")
    assert not failures, "\n".join(failures)


def test_matrix_covers_the_new_routes_of_issue_12() -> None:
    """API keys are admin-only; /metrics is for admin and integration keys; a reservation's
    consume is a till sale (POS keys only)."""
    declared = {(m, p): allowed for m, p, allowed in v1_endpoints(create_app(SETTINGS, log=False))}
    admin_only = frozenset({Role.ADMIN})
    assert declared[("GET", "/v1/api-keys")] == admin_only
    assert declared[("POST", "/v1/api-keys")] == admin_only
    assert declared[("DELETE", "/v1/api-keys/{key_id:uuid}")] == admin_only
    assert declared[("GET", "/metrics")] == frozenset({Role.ADMIN, Role.INTEGRATION})
    assert declared[("POST", "/v1/reservations/{reservation_id:uuid}/consume")] == frozenset({Role.POS})
