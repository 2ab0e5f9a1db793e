"""Tagging: one text, or a bounded batch of texts, through the shared micro-batcher."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response

from slotfill.model.prediction import Parse
from slotfill.service.batcher import (
    BatcherClosedError,
    InferenceTimeoutError,
    QueueFullError,
    RequestTooCostlyError,
)
from slotfill.service.deps import MetricsDep, RuntimeDep, SettingsDep, require_json
from slotfill.service.errors import BODY_ERRORS, COMMON_ERRORS, RETRY_AFTER, APIError
from slotfill.service.metrics import Metrics
from slotfill.service.schemas import (
    ParseBatchRequest,
    ParseBatchResponse,
    ParseRequest,
    ParseResponse,
    parse_json_fields,
)
from slotfill.service.settings import Settings
from slotfill.service.state import Runtime

logger = logging.getLogger("slotfill.service")
router = APIRouter(
    prefix="/v1",
    tags=["parse"],
    dependencies=[Depends(require_json)],
    responses={**COMMON_ERRORS, **BODY_ERRORS},
)


def _check_length(text: str, field: str, settings: Settings) -> None:
    if len(text) > settings.max_text_chars:
        raise APIError(
            422,
            "text_too_long",
            f"{field}: {len(text)} characters; the limit is {settings.max_text_chars}",
            field,
        )


def _note(request: Request, texts: Sequence[str]) -> None:
    """What the access log may say about the texts: their count and length (the texts themselves
    only when SLOTFILL_LOG_TEXT is on; the middleware decides)."""
    request.state.texts = len(texts)
    request.state.text_chars = sum(len(t) for t in texts)
    request.state.text_values = list(texts)


async def _tag(request: Request, runtime: Runtime, metrics: Metrics, texts: list[str]) -> list[Parse]:
    """Run texts through the batcher, turning its failures into API errors."""
    try:
        return await runtime.batcher.submit(texts)
    except RequestTooCostlyError as error:
        metrics.rejected.labels("too_costly").inc(len(texts))
        raise APIError(422, "too_costly", str(error)) from None
    except QueueFullError as error:
        metrics.rejected.labels("queue_full").inc(len(texts))
        raise APIError(503, "overloaded", f"too busy: {error}; retry later", headers=RETRY_AFTER) from None
    except BatcherClosedError as error:
        metrics.rejected.labels("shutting_down").inc(len(texts))
        raise APIError(503, "shutting_down", str(error), headers=RETRY_AFTER) from None
    except InferenceTimeoutError as error:
        metrics.rejected.labels("timeout").inc(len(texts))
        raise APIError(504, "timeout", str(error)) from None
    except Exception:
        metrics.rejected.labels("inference_error").inc(len(texts))
        request_id = request.state.request_id
        logger.exception("the model failed", extra={"request_id": request_id, "texts": len(texts)})
        raise APIError(
            500, "inference_failed", f"the model failed on this input; request id {request_id}"
        ) from None


def _took_ms(begun: float) -> float:
    return round((time.perf_counter() - begun) * 1000, 3)


def _json(content: dict[str, Any]) -> Response:
    """The answer encoded by orjson: the route's ``response_model`` documents it in OpenAPI, and
    FastAPI sends a ``Response`` as it is, without validating and encoding it a second time."""
    return Response(orjson.dumps(content), media_type="application/json")


@router.post("/parse", summary="Tag one text", response_model=ParseResponse)
async def parse(
    body: ParseRequest, request: Request, runtime: RuntimeDep, settings: SettingsDep, metrics: MetricsDep
) -> Response:
    """Tokens with offsets, one BIO tag per token, the slots (``text[start:end] == value``) and the
    intent. Offsets count Unicode code points."""
    begun = time.perf_counter()
    _check_length(body.text, "text", settings)
    _note(request, [body.text])
    (result,) = await _tag(request, runtime, metrics, [body.text])
    model = runtime.ref.model_dump()
    return _json({**parse_json_fields(result), "model": model, "took_ms": _took_ms(begun)})


@router.post("/parse/batch", summary="Tag several texts", response_model=ParseBatchResponse)
async def parse_batch(
    body: ParseBatchRequest, request: Request, runtime: RuntimeDep, settings: SettingsDep, metrics: MetricsDep
) -> Response:
    """One result per text, in the order sent. The texts join the same micro-batches as single
    requests; if any text fails the whole call fails."""
    begun = time.perf_counter()
    if len(body.texts) > settings.max_batch_texts:
        raise APIError(
            422,
            "batch_too_large",
            f"texts: {len(body.texts)} texts; the limit is {settings.max_batch_texts}",
            "texts",
        )
    for index, text in enumerate(body.texts):
        _check_length(text, f"texts[{index}]", settings)
    _note(request, body.texts)
    results = await _tag(request, runtime, metrics, body.texts)
    return _json(
        {
            "results": [parse_json_fields(r) for r in results],
            "model": runtime.ref.model_dump(),
            "took_ms": _took_ms(begun),
        }
    )
