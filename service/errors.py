"""One error shape for every 4xx and 5xx: ``{"error": {"code", "message", "field"}}``.

FastAPI's own answers (validation errors, unknown routes, wrong methods) are converted to it, so a
client needs one parser and can switch on ``code``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from slotfill.service.schemas import ErrorResponse

_STATUS_CODES = {
    400: "invalid_json",  # FastAPI's only 400: a body it cannot decode (not UTF-8, nested too deep)
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    500: "internal_error",
    503: "unavailable",
    504: "timeout",
}


# Overload and shutdown are passing: a client may retry, after a second.
RETRY_AFTER = {"Retry-After": "1"}


class APIError(Exception):
    """An answer other than 2xx, raised anywhere below a route."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


class BodyError(HTTPException):
    """A body refused while it is read, before anything parses it."""

    code = "invalid_json"


class BodyTooLargeError(BodyError):
    code = "body_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the {limit} byte limit")


class BodyNotUtf8Error(BodyError):
    """JSON bodies are UTF-8 (RFC 8259): the parser would otherwise guess UTF-16 or UTF-32 from
    the byte pattern and accept them, and a client would never learn it sent the wrong thing."""

    def __init__(self, reason: str) -> None:
        super().__init__(400, f"the body is not UTF-8 JSON: {reason}")


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message, field), status_code=status, headers=headers)


def field_name(loc: Sequence[Any]) -> str | None:
    """``("body", "texts", 2)`` -> ``"texts[2]"``; the body itself -> None."""
    name = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or None


def _describe(error: Mapping[str, Any]) -> tuple[str, str, str | None]:
    kind = str(error.get("type", ""))
    field = field_name(error.get("loc", ()))
    if kind == "missing" and field is None:
        return "missing_body", "the request body is required (a JSON object)", None
    if kind in ("model_attributes_type", "dict_type", "model_type") and field is None:
        return "wrong_type", "the request body must be a JSON object", None
    if kind == "missing":
        return "missing_field", f"field '{field}' is required", field
    if kind == "extra_forbidden":
        return "unknown_field", f"field '{field}' is not accepted here", field
    if kind == "string_type":
        return "wrong_type", f"field '{field}' must be a string", field
    if kind == "list_type":
        return "wrong_type", f"field '{field}' must be a list of strings", field
    if kind == "too_short":
        return "empty_batch", f"field '{field}' must hold at least one text", field
    message = str(error.get("msg", "invalid value"))
    return kind or "invalid_request", f"{field}: {message}" if field else message, field  # empty_text, ...


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    invalid_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if invalid_json is not None:
        reason = str((invalid_json.get("ctx") or {}).get("error", "JSON decode error"))
        # Some of json's messages end in "at" themselves ("Invalid control character at").
        reason = reason.removesuffix(" at")
        position = invalid_json["loc"][-1] if invalid_json.get("loc") else "?"
        return error_response(400, "invalid_json", f"the body is not valid JSON: {reason} at byte {position}")
    code, message, field = _describe(errors[0]) if errors else ("invalid_request", "invalid request", None)
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return error_response(422, code, message, field)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, APIError)
    return error_response(exc.status, exc.code, exc.message, exc.field, exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if isinstance(exc, BodyError):  # raised by the middleware while the route read the body
        return error_response(exc.status_code, exc.code, str(exc.detail))
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    message = str(exc.detail)
    if exc.status_code == 400:
        message = "the body could not be read as JSON (not UTF-8, or nested too deeply)"
    elif exc.status_code == 404:
        message = f"no route {request.url.path}; see /docs for the API"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    return error_response(exc.status_code, code, message, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(APIError, _api_error)
    app.add_exception_handler(HTTPException, _http_error)


def _doc(description: str, code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {
        "model": ErrorResponse,
        "description": description,
        "content": {"application/json": {"example": error_body(code, message, field)}},
    }


# OpenAPI ``responses=`` for the routes: every error a client may see, with an example.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _doc("API key missing or wrong", "unauthorized", "a valid API key is required"),
    500: _doc(
        "The model failed on this input",
        "inference_failed",
        "the model failed on this input; request id 6f1c...",
    ),
}
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _doc("The body is not valid JSON", "invalid_json", "the body is not valid JSON: ..."),
    413: _doc(
        "The body is larger than the limit",
        "body_too_large",
        "the request body is over the 1048576 byte limit",
    ),
    415: _doc(
        "The body is not JSON",
        "unsupported_media_type",
        "Content-Type must be application/json (got 'text/plain')",
    ),
    422: _doc(
        "The body is JSON but not a valid request",
        "text_too_long",
        "text: 1204 characters; the limit is 1000",
        "text",
    ),
    503: {
        **_doc("Too busy (retry after Retry-After seconds) or shutting down", "overloaded", "queue full"),
        "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
    },
    504: _doc("The model did not answer in time", "timeout", "the model did not answer within 5 s"),
}
