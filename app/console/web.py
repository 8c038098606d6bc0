"""The console's HTTP plumbing: the session middleware, the role guard with its CSRF check,
rendering, and how failures become pages. Screens live in `app/console/pages/`.

- Sessions are server-side (`staff_sessions`); the cookie holds 32 random bytes only
  (HttpOnly, SameSite=Lax, Secure when the request came over https).
- Every page route declares `opt=staff_roles(...)`; a route without it is refused (deny by
  default, like the API's roles guard).
- Every POST carries the session's CSRF token (form field `_csrf`, or header `X-CSRF-Token`),
  compared in constant time; without it: 403. The sign-in form uses a double-submit cookie.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.catalog.errors import InvalidBarcode, UnknownBarcode, UnknownSku
from app.catalog.schemas import VariantDetail
from app.console import service
from app.console.rules import Staff, StaffRole
from app.core.errors import InvalidInput, Problem

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "oms_console"
LOGIN_COOKIE = "oms_console_login"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

EVERYONE = frozenset(StaffRole)
MANAGERS = frozenset({StaffRole.MANAGER, StaffRole.ADMIN})

# The screens, in menu order: (path, label, who may open it).
SCREENS: list[tuple[str, str, frozenset[StaffRole]]] = [
    ("/console/picker", "Picking", frozenset({StaffRole.PICKER, StaffRole.STORE_ASSOCIATE}) | MANAGERS),
    ("/console/store", "Store", frozenset({StaffRole.STORE_ASSOCIATE}) | MANAGERS),
    ("/console/returns", "Returns", frozenset({StaffRole.STORE_ASSOCIATE}) | MANAGERS),
    ("/console/contact", "Customers", frozenset({StaffRole.CONTACT_CENTER}) | MANAGERS),
    ("/console/dashboard", "Dashboard", MANAGERS),
    ("/console/stock", "Stock", EVERYONE - {StaffRole.CONTACT_CENTER}),
]


def staff_roles(*allowed: StaffRole | Iterable[StaffRole]) -> dict[str, Any]:
    flat: set[StaffRole] = set()
    for item in allowed:
        flat.update([item] if isinstance(item, StaffRole) else item)
    return {"staff_roles": frozenset(flat)}


class StaffSessionMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        token = connection.cookies.get(SESSION_COOKIE, "")
        if 0 < len(token) <= 100:
            async with connection.app.state.sessionmaker() as session:
                staff = await service.staff_of(session, token)
            if staff is not None:
                return AuthenticationResult(user=staff, auth=token)
        raise NotAuthorizedException(detail="sign in to the console")


async def staff_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    if handler.opt.get("public"):
        return
    allowed: frozenset[StaffRole] | None = handler.opt.get("staff_roles")
    staff = connection.user
    if not isinstance(staff, Staff):
        raise NotAuthorizedException(detail="sign in to the console")
    if allowed is None or staff.role not in allowed:
        raise PermissionDeniedException(detail="your role may not open this page")
    if not isinstance(connection, Request):
        raise PermissionDeniedException(detail="the console serves HTTP pages only")
    if connection.method not in SAFE_METHODS:
        form = await connection.form()  # parsed once: the handler reads the same form
        sent = connection.headers.get("x-csrf-token") or form.get("_csrf")
        if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), staff.csrf_token.encode()):
            raise PermissionDeniedException(detail="the form's security token is missing or stale: reload the page")
        # PostgreSQL cannot store a NUL character: refused here, for every form at once.
        if any(isinstance(value, str) and "\x00" in value for _, value in form.multi_items()):
            raise ValidationException(detail="a field contains a NUL character")


def provide_staff(request: Request[Any, Any, Any]) -> Staff:
    user = request.scope.get("user")
    if not isinstance(user, Staff):
        raise NotAuthorizedException()
    return user


def session_cookie(request: Request[Any, Any, Any], value: str, *, max_age: int | None) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        path="/console",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=max_age,
    )


def login_token(request: Request[Any, Any, Any]) -> tuple[str, Cookie | None]:
    """The sign-in form's double-submit token: the cookie's, or a new one (and its cookie)."""
    token = request.cookies.get(LOGIN_COOKIE, "")
    if 20 <= len(token) <= 100:
        return token, None
    token = secrets.token_urlsafe(32)
    cookie = Cookie(
        key=LOGIN_COOKIE,
        value=token,
        path="/console",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return token, cookie


_COUNT = re.compile(r"[0-9]{1,7}")
_SIGNED = re.compile(r"[+-]?[0-9]{1,7}")


def whole_number(raw: object, *, signed: bool = False) -> int | None:
    """A typed quantity (ASCII digits, at most 7): None for anything else."""
    text = str(raw or "").strip()
    return int(text) if (_SIGNED if signed else _COUNT).fullmatch(text) else None


def work_location(staff: Staff, asked: str | None) -> str:
    """Location-bound staff work at their own location whatever they ask; others name one."""
    if staff.location_code is not None:
        return staff.location_code
    if not asked:
        raise InvalidInput("choose a location", code="location_required", field="location")
    return asked[:40]


def page(template: str, staff: Staff | None, *, status: int = 200, **context: Any) -> Template:
    nav = [(path, label) for path, label, roles in SCREENS if staff is not None and staff.role in roles]
    return Template(
        template_name=template,
        context={"staff": staff, "csrf": staff.csrf_token if staff else "", "nav": nav, **context},
        status_code=status,
    )


async def find_variant(session: AsyncSession, scanned: str) -> VariantDetail | None:
    """What a scan or a typed entry names: a barcode (digits) or a SKU."""
    text = scanned.strip()
    if not text or len(text) > 64:
        return None
    if text.isascii() and text.isdigit():
        try:
            return await catalog.find_variant_by_barcode(session, text)
        except (InvalidBarcode, UnknownBarcode):
            pass
    try:
        return await catalog.get_variant(session, text)
    except UnknownSku:
        return None


async def variant_names(session: AsyncSession, skus: Iterable[str]) -> dict[str, str]:
    """What a person reads on the shelf label: product name, size, colour (by SKU)."""
    names: dict[str, str] = {}
    for sku in sorted(set(skus)):
        try:
            v = await catalog.get_variant(session, sku)
        except UnknownSku:
            continue
        names[sku] = " · ".join(part for part in (v.product.name, v.size, v.color) if part)
    return names


# Shared store tablets: no page (customer data) stays in the browser's cache, none is framed.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


async def page_headers(response: Response[Any]) -> Response[Any]:
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


# ---- failures as pages --------------------------------------------------------------------------


def _staff_of(request: Request[Any, Any, Any]) -> Staff | None:
    user = request.scope.get("user")
    return user if isinstance(user, Staff) else None


def _to_login(request: Request[Any, Any, Any], _exc: Exception) -> Response[Any]:
    target = f"/console/login?next={quote(request.url.path)}"
    if request.headers.get("hx-request"):
        return Response(content=b"", status_code=401, headers={"HX-Redirect": target})
    return Redirect(path=target, status_code=303)


def _error_page(request: Request[Any, Any, Any], status: int, title: str, detail: str | None) -> Response[Any]:
    return page("error.html", _staff_of(request), status=status, title=title, detail=detail)


def _on_problem(request: Request[Any, Any, Any], exc: Problem) -> Response[Any]:
    return _error_page(request, exc.status, exc.title, exc.detail)


def _on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, PermissionDeniedException):
        return _error_page(request, 403, "Not allowed", exc.detail)
    if isinstance(exc, NotFoundException):
        return _error_page(request, 404, "Not found", "There is no such page, or it belongs to another location.")
    if isinstance(exc, ValidationException):
        return _error_page(request, 400, "Check what you entered", exc.detail)
    return _error_page(request, exc.status_code, "Something went wrong", exc.detail)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    NotAuthorizedException: _to_login,
    Problem: _on_problem,
    HTTPException: _on_http,
}
