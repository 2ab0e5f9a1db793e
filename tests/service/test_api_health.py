"""Probes, model information, Prometheus metrics and the OpenAPI schema."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from slotfill.model.artifact import sha256_file
from slotfill.model.predictor import Predictor

AppFactory = Callable[..., FastAPI]


def test_healthz_and_readyz(client: TestClient, tiny_predictor: Predictor) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["model"]["version"] == tiny_predictor.metadata.version


def test_probes_answer_head_requests(client: TestClient) -> None:
    """Some load balancers and uptime checkers probe with HEAD."""
    for path in ("/healthz", "/readyz"):
        response = client.head(path)
        assert response.status_code == 200
        assert response.content == b""


def test_not_ready_before_the_model_is_loaded(make_app: AppFactory) -> None:
    client = TestClient(make_app())  # no `with`: the lifespan (model load, warm-up) has not run
    assert client.get("/healthz").status_code == 200
    assert client.head("/healthz").status_code == 200
    assert client.head("/readyz").status_code == 503
    for response in (client.get("/readyz"), client.post("/v1/parse", json={"text": "arrive taipei"})):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "not_ready"


def test_not_ready_while_a_model_call_is_stuck(
    make_app: AppFactory, tiny_predictor: Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    real = tiny_predictor.parse_batch
    monkeypatch.setattr(tiny_predictor, "parse_batch", lambda texts: gate.wait(10) and real(texts))
    gate.set()  # the warm-up passes
    with TestClient(make_app(request_timeout_s=0.1)) as client:
        gate.clear()
        assert client.post("/v1/parse", json={"text": "stuck"}).status_code == 504
        threading.Event().wait(0.15)
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "stalled"
        gate.set()
        deadline = time.monotonic() + 10  # ready again once the call returns, however slow the machine
        while (status := client.get("/readyz").status_code) != 200 and time.monotonic() < deadline:
            threading.Event().wait(0.01)
        assert status == 200


def test_not_ready_after_shutdown(make_app: AppFactory) -> None:
    app = make_app()
    with TestClient(app) as client:
        pass
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["error"]["code"] == "shutting_down"
    response = client.post("/v1/parse", json={"text": "arrive taipei"})
    assert response.status_code == 503 and response.json()["error"]["code"] == "shutting_down"


def test_model_information(client: TestClient, tiny_model_dir: Path) -> None:
    info = client.get("/v1/model").json()
    config = json.loads((tiny_model_dir / "config.json").read_text())
    assert info["id"] == "model"
    assert info["digest"] == sha256_file(tiny_model_dir / "model.safetensors")
    assert info["version"] == info["digest"][:12]
    assert info["created"] == config["created"]
    assert info["slot_tags"] == config["model"]["slot_tags"]
    assert info["slots"] == ["departure", "dest", "time"]
    assert info["intents"] == ["airfare", "flight"]
    assert info["encoders"] == ["word", "trigram"] and info["cell"] == "lstm" and info["crf"] is True
    assert info["hidden_size"] == 16 and info["num_layers"] == 1 and info["bidirectional"] is True
    assert info["members"] == 1
    temperatures = (config["model"]["slot_temperature"], config["model"]["intent_temperature"])
    assert (info["slot_temperature"], info["intent_temperature"]) == temperatures
    assert info["metrics"] == {}  # the fixture's folder has no metrics.json
    assert info["versions"]["torch"]
    assert info["device"] == "cpu"
    assert info["limits"] == {"max_text_chars": 1000, "max_batch_texts": 64, "max_body_bytes": 1 << 20}


def test_model_information_shows_metrics_json(
    make_app: AppFactory, tiny_model_dir: Path, tmp_path: Path
) -> None:
    import shutil

    folder = tmp_path / "atis-small"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "metrics.json").write_text(json.dumps({"test": {"slot_f1": 0.95}}))
    with TestClient(make_app(Predictor.load(folder, "cpu"), model_path=folder)) as client:
        info = client.get("/v1/model").json()
    assert info["id"] == "atis-small"
    assert info["metrics"] == {"test": {"slot_f1": 0.95}}


def sample(text: str, name: str, labels: dict[str, str] | None = None) -> float:
    """The value of one Prometheus sample in an exposition text."""
    wanted = labels or {}
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, value = line.rsplit(" ", 1)
        found = dict(part.split("=", 1) for part in head[len(name) + 1 : -1].split(",") if "=" in part)
        if all(found.get(k) == f'"{v}"' for k, v in wanted.items()):
            return float(value)
    raise AssertionError(f"no sample {name}{wanted}")


def test_metrics(client: TestClient) -> None:
    for _ in range(3):
        client.post("/v1/parse", json={"text": "arrive taipei"})
    client.post("/v1/parse/batch", json={"texts": ["leave boston", "fly to paris"]})
    client.post("/v1/parse", json={"text": ""})
    client.get("/nowhere")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    ok = {"method": "POST", "route": "/v1/parse", "status": "200"}
    assert sample(text, "slotfill_http_requests_total", ok) == 3
    assert sample(text, "slotfill_http_request_duration_seconds_count", ok) == 3
    assert sample(text, "slotfill_http_requests_total", {"route": "/v1/parse", "status": "422"}) == 1
    assert sample(text, "slotfill_http_requests_total", {"route": "/v1/parse/batch", "status": "200"}) == 1
    assert sample(text, "slotfill_http_requests_total", {"route": "unmatched", "status": "404"}) == 1
    assert sample(text, "slotfill_batch_size_sum") == 5  # texts that reached the model (no warm-up)
    assert sample(text, "slotfill_model_inference_seconds_count") >= 2
    assert sample(text, "slotfill_queue_depth") == 0
    assert sample(text, "slotfill_batch_tokens_sum") == 2 * 3 + 2 + 3
    assert sample(text, "slotfill_model_info", {"model_id": "model"}) == 1


def test_openapi_documents_routes_limits_errors_and_examples(make_app: AppFactory) -> None:
    with TestClient(make_app(max_text_chars=300, max_batch_texts=8)) as client:
        schema: dict[str, Any] = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert {"/v1/parse", "/v1/parse/batch", "/v1/model", "/healthz", "/readyz", "/metrics"} <= set(paths)
    components = schema["components"]["schemas"]
    text = components["ParseRequest"]["properties"]["text"]
    assert text["maxLength"] == 300 and text["minLength"] == 1
    texts = components["ParseBatchRequest"]["properties"]["texts"]
    assert texts["maxItems"] == 8 and texts["minItems"] == 1 and texts["items"]["maxLength"] == 300
    assert components["ParseRequest"]["examples"] == [{"text": "arrive Taipei on November 2nd"}]
    parse = paths["/v1/parse"]["post"]
    for status in ("400", "401", "413", "415", "422", "500", "503", "504"):
        content = parse["responses"][status]["content"]["application/json"]
        assert content["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
        assert "example" in content
    assert "HTTPValidationError" not in components  # FastAPI's own 422 shape is never answered
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
    assert "securitySchemes" not in schema.get("components", {})  # no API key configured


def test_startup_moves_the_long_lived_heap_out_of_the_collectors_view(make_app: AppFactory) -> None:
    """gc.freeze() after warm-up: full collections no longer rescan the model and the app, which
    took the c=32 p99 from about 140 ms to under 60 ms in bench/serving.py."""
    import gc

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with TestClient(make_app()) as started:
        assert started.get("/readyz").status_code == 200
        assert gc.get_freeze_count() > 10_000
