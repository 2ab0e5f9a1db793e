"""The one ASGI middleware around every request: request id, body size limit, access log, metrics,
and a JSON 500 (never a stack trace) for anything unexpected.

Plain ASGI rather than ``BaseHTTPMiddleware``: it adds no task per request and never buffers bodies.
"""

from __future__ import annotations

import codecs
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slotfill.service.errors import (
    APIError,
    BodyError,
    BodyNotUtf8Error,
    BodyTooLargeError,
    error_response,
)
from slotfill.service.log import access_logger
from slotfill.service.metrics import Metrics
from slotfill.service.security import check_raw_headers, is_protected

logger = logging.getLogger("slotfill.service")
REQUEST_ID = "X-Request-ID"
_REQUEST_ID_BYTES = REQUEST_ID.lower().encode("latin-1")
_SAFE_ID = re.compile(rb"[A-Za-z0-9._:/+=-]{1,128}")


class _Utf8Check:
    """Checks a body chunk by chunk as it arrives: valid UTF-8, and no NUL byte (never valid
    anywhere in JSON text, and the mark of UTF-16 or UTF-32 text)."""

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.offset = 0

    def feed(self, chunk: bytes, final: bool) -> None:
        nul = chunk.find(b"\0")
        if nul >= 0:
            raise BodyNotUtf8Error(f"a NUL byte at byte {self.offset + nul} (UTF-16 or UTF-32 text?)")
        try:
            self.decoder.decode(chunk, final)
        except UnicodeDecodeError as error:
            raise BodyNotUtf8Error(f"invalid byte at byte {self.offset + error.start}") from None
        self.offset += len(chunk)


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-ID when it is short and plain (safe to log and echo), else a new one."""
    for name, value in scope["headers"]:
        if name == _REQUEST_ID_BYTES and _SAFE_ID.fullmatch(value):
            return str(value.decode("latin-1"))
    return uuid.uuid4().hex


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body_bytes: int,
        log_text: bool,
        api_key: str | None = None,
        shed: Callable[[Scope], APIError | None] | None = None,
    ) -> None:
        """``shed(scope)``: an error to answer at once, before the body is read (overload)."""
        self.app = app
        self.api_key = api_key
        self.shed = shed
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.log_text = log_text

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        begun = time.perf_counter()
        request_id = request_id_of(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID] = request_id
            await send(message)

        received = 0
        utf8 = _Utf8Check()

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            body = message.get("body", b"")
            received += len(body)
            if received > self.max_body_bytes:
                raise BodyTooLargeError(self.max_body_bytes)
            if message["type"] == "http.request":
                utf8.feed(body, final=not message.get("more_body", False))
            return message

        try:
            self._check_head(scope)
            await self.app(scope, receive_limited, send_with_id)
        except APIError as error:  # refused from the head: the API key, or an overloaded model
            if not started:
                response = error_response(error.status, error.code, error.message, headers=error.headers)
                await response(scope, receive, send_with_id)
        except BodyError as error:
            if not started:
                response = error_response(error.status_code, error.code, str(error.detail))
                await response(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error", extra={"request_id": request_id})
            if not started:
                response = error_response(
                    500, "internal_error", f"internal error; quote request id {request_id} when reporting it"
                )
                await response(scope, receive, send_with_id)
        finally:
            self._record(scope, state, status, time.perf_counter() - begun)

    def _check_head(self, scope: Scope) -> None:
        """What can be refused from the request head alone, before a byte of the body is read:
        a missing or wrong API key, a declared body over the limit, an overloaded model."""
        if self.api_key is not None and is_protected(scope["path"]):
            check_raw_headers(scope["headers"], self.api_key)
        length = _content_length(scope)
        if length is not None and length > self.max_body_bytes:
            raise BodyTooLargeError(self.max_body_bytes)
        refusal = self.shed(scope) if self.shed is not None else None
        if refusal is not None:
            raise refusal

    def _record(self, scope: Scope, state: dict[str, Any], status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", state.get("route_template", "unmatched"))
        self.metrics.observe_request(scope["method"], template, status, seconds)
        fields: dict[str, Any] = {
            "request_id": state["request_id"],
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
        }
        for key in ("texts", "text_chars"):
            if key in state:
                fields[key] = state[key]
        if self.log_text and "text_values" in state:
            fields["text"] = state["text_values"]
        access_logger.info(
            "%s %s %d %.1fms", scope["method"], scope["path"], status, seconds * 1000, extra=fields
        )
