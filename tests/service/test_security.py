"""The optional API key: Bearer or X-API-Key, 401 without it, probes always open."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from slotfill.service.security import key_matches

AppFactory = Callable[..., FastAPI]
KEY = "correct-horse-battery-staple"


@pytest.fixture
def secured(make_app: AppFactory) -> Iterator[TestClient]:
    with TestClient(make_app(api_key=KEY)) as client:
        yield client


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": f"Bearer {KEY}"}, {"Authorization": f"bearer {KEY}"}, {"X-API-Key": KEY}],
)
def test_the_right_key_opens_every_route(secured: TestClient, headers: dict[str, str]) -> None:
    assert secured.post("/v1/parse", json={"text": "arrive taipei"}, headers=headers).status_code == 200
    assert secured.post("/v1/parse/batch", json={"texts": ["a"]}, headers=headers).status_code == 200
    assert secured.get("/v1/model", headers=headers).status_code == 200
    assert secured.get("/metrics", headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "API key is required"),
        ({"Authorization": "Bearer wrong"}, "not valid"),
        ({"X-API-Key": KEY[:-1]}, "not valid"),
        ({"X-API-Key": KEY + "x"}, "not valid"),
        ({"Authorization": f"Basic {KEY}"}, "API key is required"),
        ({"Authorization": f"Bearer {KEY.upper()}"}, "not valid"),
        ({"X-API-Key": "ключ".encode()}, "not valid"),
    ],
)
def test_no_or_wrong_key_is_401(secured: TestClient, headers: dict[str, str | bytes], message: str) -> None:
    for response in (
        secured.post("/v1/parse", json={"text": "arrive taipei"}, headers=headers),
        secured.post("/v1/parse/batch", json={"texts": ["a"]}, headers=headers),
        secured.get("/v1/model", headers=headers),
        secured.get("/metrics", headers=headers),
    ):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert message in response.json()["error"]["message"]
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_probes_and_docs_stay_open(secured: TestClient) -> None:
    assert secured.get("/healthz").status_code == 200
    assert secured.get("/readyz").status_code == 200
    schema = secured.get("/openapi.json").json()
    assert set(schema["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyHeader"}
    assert "401" in schema["paths"]["/v1/parse"]["post"]["responses"]
    assert "security" not in schema["paths"]["/healthz"]["get"]


def test_key_comparison() -> None:
    assert key_matches(["nope", KEY], KEY)
    assert not key_matches(["nope", ""], KEY)
    assert not key_matches([], KEY)


def test_no_route_reads_files(client: TestClient) -> None:
    for path in ("/v1/model?path=/etc/passwd", "/../../etc/passwd", "/static/../config.json"):
        response = client.get(path)
        assert "root:" not in response.text
    assert client.get("/v1/model?path=/etc/passwd").json()["id"] == "model"  # query ignored


@pytest.mark.parametrize(
    "body", [b'{"text": ', b"\xff\xfe{}", b'{"texts": 3}'], ids=["invalid JSON", "not UTF-8", "wrong shape"]
)
def test_the_key_is_checked_before_the_body_is_read(secured: TestClient, body: bytes) -> None:
    """Without the key a client learns nothing about what its body would have got."""
    json_type = {"Content-Type": "application/json"}
    response = secured.post("/v1/parse", content=body, headers=json_type)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    with_key = secured.post("/v1/parse", content=body, headers={**json_type, "X-API-Key": KEY})
    assert with_key.status_code in (400, 422)


def test_the_demo_page_stays_open_behind_a_key(secured: TestClient) -> None:
    assert secured.get("/").status_code == 200
    assert secured.get("/v1/model").status_code == 401
    assert secured.get("/metricsx").status_code == 404
