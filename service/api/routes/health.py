"""Probes for orchestrators: always open, even when an API key is required."""

from __future__ import annotations

from fastapi import APIRouter, Response

from slotfill.service.deps import StateDep
from slotfill.service.errors import APIError, error_body
from slotfill.service.schemas import ErrorResponse, HealthResponse, ReadyResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> HealthResponse:
    return HealthResponse()


@router.get(
    "/readyz",
    summary="Readiness: the model is loaded, warmed up and not stuck",
    responses={
        503: {
            "model": ErrorResponse,
            "description": "Not ready: loading, shutting down, or a model call is stuck",
            "content": {"application/json": {"example": error_body("not_ready", "the model is loading")}},
        }
    },
)
async def readyz(state: StateDep) -> ReadyResponse:
    runtime = state.runtime
    if runtime is None:
        raise APIError(503, "not_ready", "the model is not loaded yet")
    if not runtime.batcher.running:
        raise APIError(503, "shutting_down", "the service is shutting down")
    stuck = runtime.batcher.busy_for
    if stuck > state.settings.request_timeout_s:
        raise APIError(503, "stalled", f"a model call has been running for {stuck:.1f} s")
    return ReadyResponse(model=runtime.ref)


# HEAD too, for load balancers and uptime checkers that probe with it: the same status, no body
# (out of the schema, which would otherwise list each probe twice).
@router.head("/healthz", include_in_schema=False)
async def healthz_head() -> Response:
    return Response()


@router.head("/readyz", include_in_schema=False)
async def readyz_head(state: StateDep) -> Response:
    await readyz(state)  # raises the same 503 when not ready
    return Response()
