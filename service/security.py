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


async def require_api_key(
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(header_scheme)],
) -> None:
    if settings.api_key is None:
        return
    supplied = [key for key in (bearer.credentials if bearer else None, api_key) if key]
    if not supplied:
        raise APIError(
            401,
            "unauthorized",
            "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers=CHALLENGE,
        )
    if not key_matches(supplied, settings.api_key.get_secret_value()):
        raise APIError(401, "unauthorized", "the API key is not valid", headers=CHALLENGE)
