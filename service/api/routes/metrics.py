"""Prometheus exposition of this process's metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response

from slotfill.service.deps import MetricsDep
from slotfill.service.errors import COMMON_ERRORS
from slotfill.service.metrics import CONTENT_TYPE

router = APIRouter(tags=["monitoring"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        401: COMMON_ERRORS[401],
    },
)
async def metrics(metrics: MetricsDep) -> Response:
    return Response(metrics.render(), media_type=CONTENT_TYPE)
