"""``/docs`` (Swagger UI) and ``/redoc`` with their scripts served by the service itself.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so in a cluster without internet they
stay blank. The files come from the ``fastapi-offline`` package (Swagger UI 5, which reads the
OpenAPI 3.1 schema FastAPI writes), read once at import. Open like the demo page: they hold no
data, and the API calls made from them carry the key the user enters."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response

from slotfill.service.errors import APIError

ASSET_PREFIX = "/docs/assets"
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
_NAMES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


def _read(name: str) -> tuple[bytes, str]:
    data = resources.files("fastapi_offline").joinpath("static").joinpath(name).read_bytes()
    return data, _MEDIA_TYPES[name[name.rindex(".") :]]


ASSETS = {name: _read(name) for name in _NAMES}


def docs_router(app: FastAPI) -> APIRouter:
    """The pages for ``app`` (its title and schema URL); create ``app`` with ``docs_url=None,
    redoc_url=None`` so that FastAPI's CDN versions are not registered too."""
    router = APIRouter(include_in_schema=False)
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = "/docs/oauth2-redirect"

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=redirect_url,
            swagger_js_url=f"{ASSET_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSET_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{ASSET_PREFIX}/favicon.png",
        )

    @router.get(redirect_url)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSET_PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSET_PREFIX}/favicon.png",
            with_google_fonts=False,
        )

    @router.get(ASSET_PREFIX + "/{name}")
    async def asset(name: str) -> Response:
        file = ASSETS.get(name)
        if file is None:
            raise APIError(404, "not_found", f"no docs file {name!r}")
        data, media_type = file
        return Response(data, media_type=media_type, headers=HEADERS)

    return router
