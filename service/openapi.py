"""The generated OpenAPI schema, with the configured limits filled in (``maxLength``, ``maxItems``),
so clients and fuzzers see exactly what the service accepts."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from slotfill.service.settings import Settings

DESCRIPTION = """Slot filling for chatbots: send a user message, get its slots with character offsets
into the text (`text[start:end] == value`, counted in Unicode code points), one BIO tag per token,
and the intent.

Every 4xx and 5xx answer has the body `{"error": {"code", "message", "field"}}`; `field` names the
request field at fault (`text`, `texts[2]`) or is null. The codes:

| status | code | meaning |
|---|---|---|
| 400 | `invalid_json` | the body is not valid JSON |
| 401 | `unauthorized` | API key missing or wrong (`Authorization: Bearer <key>` or `X-API-Key`) |
| 404 | `not_found` | no such route |
| 405 | `method_not_allowed` | wrong method for the route (see the `Allow` header) |
| 413 | `body_too_large` | the body is over the size limit |
| 415 | `unsupported_media_type` | the body is not declared `application/json` |
| 422 | `missing_body`, `missing_field`, `unknown_field`, `wrong_type` | the JSON is not a valid request |
| 422 | `empty_text`, `text_too_long`, `invalid_unicode` | a text is blank, too long, or not Unicode |
| 422 | `empty_batch`, `batch_too_large` | a batch has no texts or too many |
| 500 | `inference_failed`, `internal_error` | the model or the service failed; quote the `X-Request-ID` |
| 503 | `overloaded`, `shutting_down`, `not_ready`, `stalled` | retry later (`Retry-After`) |
| 504 | `timeout` | the model did not answer within the request timeout |

Every answer carries an `X-Request-ID` header (the caller's, when it sent a plain one)."""


def _limit(schema: dict[str, Any], settings: Settings) -> None:
    properties = schema.get("components", {}).get("schemas", {})
    single = properties.get("ParseRequest", {}).get("properties", {}).get("text")
    if single is not None:
        single["maxLength"] = settings.max_text_chars
    batch = properties.get("ParseBatchRequest", {}).get("properties", {}).get("texts")
    if batch is not None:
        batch["maxItems"] = settings.max_batch_texts
        batch.get("items", {})["maxLength"] = settings.max_text_chars


def install_openapi(app: FastAPI, settings: Settings) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            _limit(schema, settings)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
