"""The API docs pages (`/schema`: Scalar, `/swagger`: Swagger UI) served without a CDN.

Litestar's render plugins load their JavaScript from jsDelivr at `@latest` by default: blank on a
store's closed network, and online whatever version was published last. Here every asset comes
from `app/core/static/vendor/` (pinned npm releases, see its README), so no request leaves the page.
"""

from __future__ import annotations

from pathlib import Path

from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import OpenAPIRenderPlugin, ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router

SCALAR_VERSION = "1.76.4"
SWAGGER_VERSION = "5.36.0"
VENDOR_DIR = Path(__file__).parent / "static" / "vendor"
STATIC_PATH = "/static"
_VENDOR = f"{STATIC_PATH}/vendor"
# The version is in the query so a browser never runs an old copy after an update.
_SCALAR_JS = f"{_VENDOR}/scalar-api-reference/standalone.js?v={SCALAR_VERSION}"
_SWAGGER = f"{_VENDOR}/swagger-ui-dist"
_FAVICON = f"<link rel='icon' type='image/png' href='{_SWAGGER}/favicon-32x32.png'>"
# Scalar's defaults fetch fonts from fonts.scalar.com (the system fonts need no network) and show
# its hosted tools (AI agent, deploy, developer tools): a reader of this API needs none of them.
_SCALAR_OPTIONS: dict[str, object] = {
    "withDefaultFonts": False,
    "hideClientButton": True,
    "showDeveloperTools": "never",
    "agent": {"disabled": True},
    "defaultOpenAllTags": True,
}


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """Scalar at /schema (the default page) and Swagger UI at /swagger, both from local files."""
    return [
        ScalarRenderPlugin(
            js_url=_SCALAR_JS,
            css_url=f"{STATIC_PATH}/docs-page.css",  # Scalar carries its own styles; this is ours
            favicon=_FAVICON,
            options=_SCALAR_OPTIONS,
        ),
        SwaggerRenderPlugin(
            path="/swagger",
            js_url=f"{_SWAGGER}/swagger-ui-bundle.js?v={SWAGGER_VERSION}",
            css_url=f"{_SWAGGER}/swagger-ui.css?v={SWAGGER_VERSION}",
            standalone_preset_js_url=f"{_SWAGGER}/swagger-ui-standalone-preset.js?v={SWAGGER_VERSION}",
            favicon=_FAVICON,
        ),
    ]


def static_router() -> Router:
    """`/static/vendor/...`: public, cacheable for a day (the URLs carry the version)."""
    return create_static_files_router(
        path=STATIC_PATH,
        directories=[VENDOR_DIR.parent],
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=86400, public=True),
        send_as_attachment=False,
    )
