"""The slotfill REST service: wiring only. ``create_app()`` is also uvicorn's factory
(``uvicorn slotfill.service.main:create_app --factory``), reading its settings from ``SLOTFILL_*``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import metadata

from fastapi import Depends, FastAPI

from slotfill.model.predictor import Predictor
from slotfill.service import protocol
from slotfill.service.api.routes import demo, health, metrics, model, parse
from slotfill.service.api.routes.docs import docs_router
from slotfill.service.errors import install_error_handlers
from slotfill.service.log import configure_logging
from slotfill.service.metrics import Metrics
from slotfill.service.middleware import RequestMiddleware
from slotfill.service.openapi import DESCRIPTION, install_openapi
from slotfill.service.security import require_api_key
from slotfill.service.settings import Settings, load_settings
from slotfill.service.shedding import shed_when_full
from slotfill.service.state import ServiceState


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServiceState = app.state.slotfill
    await state.start()
    try:
        yield
    finally:
        await state.stop()


def _version() -> str:
    try:
        return metadata.version("slotfill")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def create_app(
    settings: Settings | None = None,
    predictor: Predictor | None = None,
    on_ready: Callable[[], None] | None = None,
) -> FastAPI:
    """The app for ``settings`` (default: from the environment, with logging set up as they say).
    ``predictor``, when given, is used instead of loading ``settings.model_path`` again; ``on_ready``
    is called once the model is warmed up (``slotfill serve`` prints its curl example then)."""
    if settings is None:
        settings = load_settings()
        configure_logging(settings.log_format, settings.log_level)
    protocol.configure(
        protocol.Limits(
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_headers,
            header_timeout_s=settings.header_timeout_s,
            body_timeout_s=settings.body_timeout_s,
        )
    )
    state = ServiceState(settings, Metrics(), predictor, on_ready)
    app = FastAPI(
        title="slotfill",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by docs_router from local files, not from a CDN
        redoc_url=None,
    )
    app.state.slotfill = state
    install_error_handlers(app)
    app.add_middleware(
        RequestMiddleware,
        metrics=state.metrics,
        max_body_bytes=settings.max_body_bytes,
        log_text=settings.log_text,
        api_key=settings.api_key.get_secret_value() if settings.api_key is not None else None,
        shed=shed_when_full(state, state.metrics),
    )
    auth = [Depends(require_api_key)] if settings.api_key is not None else []
    app.include_router(health.router)
    app.include_router(demo.router)  # the demo page: open, it asks for the key itself
    app.include_router(docs_router(app))  # /docs and /redoc, open like the demo page
    app.include_router(parse.router, dependencies=auth)
    app.include_router(model.router, dependencies=auth)
    app.include_router(metrics.router, dependencies=auth)
    install_openapi(app, settings)
    return app
