"""The console's routes: one router under /console (its own session middleware, role guard
with CSRF, failures rendered as pages), and the vendored static files."""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.static_files import create_static_files_router

from app.console.pages import auth, contact, contact_order, dashboard, picker, returns, stock, store
from app.console.web import (
    EXCEPTION_HANDLERS,
    STATIC,
    StaffSessionMiddleware,
    page_headers,
    provide_staff,
    staff_guard,
)

PAGES: list[Any] = [
    *auth.ROUTES,
    *picker.ROUTES,
    *store.ROUTES,
    *stock.ROUTES,
    *returns.ROUTES,
    *contact.ROUTES,
    *contact_order.ROUTES,
    *dashboard.ROUTES,
]


def console_routes() -> list[Router]:
    pages = Router(
        path="/console",
        route_handlers=PAGES,
        guards=[staff_guard],
        dependencies={"staff": Provide(provide_staff, sync_to_thread=False)},
        middleware=[DefineMiddleware(StaffSessionMiddleware, exclude=["^/console/login$"])],
        exception_handlers=EXCEPTION_HANDLERS,
        after_request=page_headers,
        include_in_schema=False,
    )
    static = create_static_files_router(
        path="/console/static",
        directories=[STATIC],
        opt={"public": True},
        include_in_schema=False,
        cache_control=None,
    )
    return [pages, static]
