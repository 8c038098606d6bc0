"""Sign in, sign out, and the start page (the screens this staff member may open)."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import service
from app.console.rules import MAX_FAILED_LOGINS, SESSION_LIFETIME, Staff
from app.console.web import EVERYONE, LOGIN_COOKIE, SESSION_COOKIE, login_token, page, session_cookie, staff_roles

log = logging.getLogger("oms.console")
PUBLIC = {"public": True}


def _next_path(raw: object) -> str:
    """Only a console path: never an open redirect to another site."""
    if isinstance(raw, str) and raw.startswith("/console/") and not raw.startswith("//") and "\\" not in raw:
        return raw[:200]
    return "/console/"


@get("/login", opt=PUBLIC, name="console:login")
async def login_form(request: Request[Any, Any, Any], next: str | None = None) -> Template:
    token, cookie = login_token(request)
    response = page("login.html", None, login_csrf=token, next=_next_path(next), error=None)
    if cookie is not None:
        response.cookies.append(cookie)
    return response


@post("/login", opt=PUBLIC, status_code=200)
async def login(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    form = await request.form()
    cookie_token = request.cookies.get(LOGIN_COOKIE, "")
    sent = form.get("_csrf")
    if not cookie_token or not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), cookie_token.encode()):
        detail = "Reload the sign-in page and try again."
        return page("error.html", None, status=403, title="Not allowed", detail=detail)
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    result = await service.sign_in(db_session, email=email, password=password)
    if result.token is None:
        # Committed with the answer: the failure counts toward the lock. Never log the e-mail or password.
        log.info("console sign-in refused", extra={"route": "console:login"})
        error = (
            "This account is locked after too many wrong passwords. Try again in 15 minutes or ask a manager."
            if result.refused == "locked"
            else f"Wrong e-mail or password. After {MAX_FAILED_LOGINS} wrong tries the account locks."
        )
        return page(
            "login.html", None, status=401, login_csrf=cookie_token, next=_next_path(form.get("next")), error=error
        )
    response = Redirect(path=_next_path(form.get("next")), status_code=303)
    response.cookies.append(session_cookie(request, result.token, max_age=int(SESSION_LIFETIME.total_seconds())))
    return response


@post("/logout", opt=staff_roles(EVERYONE), status_code=200)
async def logout(request: Request[Any, Any, Any], db_session: AsyncSession) -> Response[Any]:
    await service.sign_out(db_session, request.cookies.get(SESSION_COOKIE, ""))
    response = Redirect(path="/console/login", status_code=303)
    response.cookies.append(session_cookie(request, "", max_age=0))
    return response


@get("/", opt=staff_roles(EVERYONE), name="console:home")
async def home(staff: Staff) -> Template:
    return page("home.html", staff)


ROUTES: list[Any] = [login_form, login, logout, home]
