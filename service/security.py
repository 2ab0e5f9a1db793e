"""Optional API key: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``, compared in constant
time. Without ``SLOTFILL_API_KEY`` the routes are open; the health probes are always open."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from slotfill.service.deps import SettingsDep
from slotfill.service.errors import APIError

bearer_scheme = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
header_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="the API key")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="slotfill"'}


def key_matches(supplied: list[str], expected: str) -> bool:
    """True when any supplied key equals the expected one; every comparison runs in full."""
    # Digests first, so the comparison does not even reveal the key's length.
    secret = hashlib.sha256(expected.encode("utf-8")).digest()
    found = False
    for key in supplied:
        # Header values arrive latin-1 decoded; latin-1 gives back the exact bytes sent.
        digest = hashlib.sha256(key.encode("latin-1", "replace")).digest()
        found |= hmac.compare_digest(digest, secret)
    return found


# The routes behind the key (the probes, the demo page and the docs stay open).
PROTECTED = ("/v1/", "/metrics")


def is_protected(path: str) -> bool:
    return path.startswith(PROTECTED[0]) or path == PROTECTED[1] or path.startswith(PROTECTED[1] + "/")


def check_key(bearer: str | None, api_key: str | None, expected: str) -> None:
    """Raise the 401 for the keys a request supplied (as a Bearer token or X-API-Key)."""
    supplied = [key for key in (bearer, api_key) if key]
    if not supplied:
        raise APIError(
            401,
            "unauthorized",
            "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers=CHALLENGE,
        )
    if not key_matches(supplied, expected):
        raise APIError(401, "unauthorized", "the API key is not valid", headers=CHALLENGE)


def check_raw_headers(headers: list[tuple[bytes, bytes]], expected: str) -> None:
    """``check_key`` on an ASGI scope's raw headers: what the middleware runs before the body is
    read, so a request without the key learns that first (401), not what is wrong with its body."""
    bearer = api_key = None
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                bearer = credentials.strip()
        elif name == b"x-api-key":
            api_key = value.decode("latin-1")
    check_key(bearer, api_key, expected)


async def require_api_key(
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(header_scheme)],
) -> None:
    """The key as a route dependency: it puts the key in the OpenAPI schema (the "Authorize"
    button of /docs); the middleware has already refused requests without it."""
    if settings.api_key is None:
        return
    check_key(bearer.credentials if bearer else None, api_key, settings.api_key.get_secret_value())
