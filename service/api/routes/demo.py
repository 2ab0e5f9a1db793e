"""The demo page at ``/``: type a sentence, see its slots highlighted. Static files from
``service/web``, read once at import (they ship inside the package, so they cannot change under a
running service). Always open, like the probes: the page holds no data, and it asks for the API key
itself when ``/v1/parse`` answers 401. Hidden from the OpenAPI schema: it is not part of the API."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from slotfill.service.errors import APIError

# Everything from this origin only: no inline script or style, no CDN, no frames, no plugins.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidate every time: after an upgrade the page and its script must not mismatch.
    "Cache-Control": "no-cache",
}
_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


def _read(name: str) -> tuple[bytes, str]:
    """A file of ``service/web`` and its Content-Type (through importlib.resources, so it also
    works from a wheel or a zip)."""
    data = resources.files("slotfill.service").joinpath("web").joinpath(name).read_bytes()
    return data, _MEDIA_TYPES[name[name.rindex(".") :]]


PAGE = _read("index.html")
ASSETS = {name: _read(name) for name in ("demo.js", "demo.css")}

router = APIRouter(tags=["demo"], include_in_schema=False)


def _answer(file: tuple[bytes, str]) -> Response:
    data, media_type = file
    return Response(data, media_type=media_type, headers=SECURITY_HEADERS)


@router.get("/")
async def page() -> Response:
    return _answer(PAGE)


@router.get("/demo/{name}")
async def asset(name: str) -> Response:
    file = ASSETS.get(name)
    if file is None:
        raise APIError(404, "not_found", f"no demo file {name!r}")
    return _answer(file)
