"""Typed dependencies: routes ask for ``SettingsDep``, ``RuntimeDep``, ... instead of digging in
``request.app.state`` themselves.

Every one is ``async def`` although none awaits anything: FastAPI runs a plain ``def`` dependency
in its thread pool, a hand-off to a worker thread and back for each one on every request (about
twenty per ``/v1/parse`` call, the largest share of the framework's time per request before).
They only read attributes, so the event loop runs them inline.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from slotfill.service.errors import APIError
from slotfill.service.metrics import Metrics
from slotfill.service.settings import Settings
from slotfill.service.state import Runtime, ServiceState


async def get_state(request: Request) -> ServiceState:
    state = request.app.state.slotfill
    assert isinstance(state, ServiceState)
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]


async def get_settings(state: StateDep) -> Settings:
    return state.settings


async def get_metrics(state: StateDep) -> Metrics:
    return state.metrics


async def get_runtime(state: StateDep) -> Runtime:
    if state.runtime is None:
        raise APIError(503, "not_ready", "the model is not loaded yet", headers={"Retry-After": "1"})
    return state.runtime


SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def require_json(request: Request) -> None:
    """415 unless the body is declared as JSON (``application/json`` or ``application/*+json``)."""
    declared = request.headers.get("content-type", "")
    media = declared.split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        shown = f"'{declared}'" if declared else "none"
        raise APIError(415, "unsupported_media_type", f"Content-Type must be application/json (got {shown})")
