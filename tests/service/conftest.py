"""Fixtures for the service tests: settings on the session's tiny model, and apps built from them."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from slotfill.model.predictor import Predictor
from slotfill.service.main import create_app
from slotfill.service.settings import Settings

SettingsFactory = Callable[..., Settings]
AppFactory = Callable[..., FastAPI]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SLOTFILL_* variable of the machine running the tests leaks into them."""
    for name in list(os.environ):
        if name.upper().startswith("SLOTFILL_"):
            monkeypatch.delenv(name)


@pytest.fixture
def make_settings(tiny_model_dir: Path) -> SettingsFactory:
    def make(**overrides: Any) -> Settings:
        return Settings(**{"model_path": tiny_model_dir, "log_format": "text", **overrides})

    return make


@pytest.fixture
def make_app(make_settings: SettingsFactory, tiny_predictor: Predictor) -> AppFactory:
    """An app on the tiny model (already loaded, so building one costs milliseconds)."""

    def make(predictor: Predictor | None = None, **overrides: Any) -> FastAPI:
        return create_app(make_settings(**overrides), predictor or tiny_predictor)

    return make


@pytest.fixture
def client(make_app: AppFactory) -> Iterator[TestClient]:
    """A started app (lifespan run: model warmed up, batcher running) with default settings."""
    with TestClient(make_app()) as started:
        yield started


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    """Replaces uvicorn's ways of serving: a test fails if a server would have been started by
    mistake. Each call is recorded as (app, options); one process serving on its own socket
    records its port as ``options["port"]``."""
    calls: list[tuple[Any, dict[str, Any]]] = []

    def run_server(server: Any, sockets: list[socket.socket] | None = None) -> None:
        config = server.config
        options = {
            "port": sockets[0].getsockname()[1] if sockets else None,
            "host": sockets[0].getsockname()[0] if sockets else None,
            "log_config": config.log_config,
            "access_log": config.access_log,
            "timeout_graceful_shutdown": config.timeout_graceful_shutdown,
        }
        calls.append((config.app, options))
        server.started = True

    monkeypatch.setattr("uvicorn.run", lambda app, **options: calls.append((app, options)))
    monkeypatch.setattr("uvicorn.Server.run", run_server)
    return calls


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The root logger's handlers and level as they were: `slotfill serve` reconfigures logging."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.getLogger("uvicorn.access").disabled = False
