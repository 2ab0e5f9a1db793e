"""POST /v1/parse and /v1/parse/batch: answers, offsets for any Unicode, and every bad input."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slotfill.model.predictor import Predictor

AppFactory = Callable[..., FastAPI]

TEXT = "arrive Taipei on November 2nd"


def check_offsets(result: dict[str, Any]) -> None:
    text = result["text"]
    assert len(result["tags"]) == len(result["tokens"])
    for token in result["tokens"]:
        assert text[token["start"] : token["end"]] == token["text"]
    for slot in result["slots"]:
        assert text[slot["start"] : slot["end"]] == slot["value"]
        assert 0.0 <= slot["confidence"] <= 1.0


def error_of(response: Any, status: int, code: str, field: str | None = None) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["field"] == field
    message = body["error"]["message"]
    assert isinstance(message, str) and message
    return str(message)


def test_parse_gives_slots_tokens_intent_and_model(client: TestClient, tiny_predictor: Predictor) -> None:
    response = client.post("/v1/parse", json={"text": TEXT})
    assert response.status_code == 200
    body = response.json()
    assert body["text"] == TEXT
    assert [t["text"] for t in body["tokens"]] == ["arrive", "Taipei", "on", "November", "2nd"]
    assert body["tags"] == ["O", "B-dest", "O", "B-time", "I-time"]
    assert [(s["slot"], s["value"], s["start"], s["end"]) for s in body["slots"]] == [
        ("dest", "Taipei", 7, 13),
        ("time", "November 2nd", 17, 29),
    ]
    assert body["intent"]["intent"] == "flight" and 0 < body["intent"]["confidence"] <= 1
    digest = tiny_predictor.metadata.digest
    assert body["model"] == {
        "id": "model",
        "version": digest[:12],
        "created": tiny_predictor.metadata.created,
    }
    assert body["took_ms"] >= 0
    check_offsets(body)
    expected = tiny_predictor.parse(TEXT)
    assert [s["confidence"] for s in body["slots"]] == pytest.approx([s.confidence for s in expected.slots])


def test_batch_answers_in_order(client: TestClient, tiny_predictor: Predictor) -> None:
    texts = ["leave boston on monday", TEXT, "fly from paris to tokyo", "cheapest fare to tokyo"]
    response = client.post("/v1/parse/batch", json={"texts": texts})
    assert response.status_code == 200
    body = response.json()
    assert [r["text"] for r in body["results"]] == texts
    for result, expected in zip(body["results"], tiny_predictor.parse_batch(texts), strict=True):
        assert result["tags"] == expected.tags
        check_offsets(result)
    assert body["model"]["id"] == "model"


def test_a_model_without_intents_answers_null(make_app: AppFactory, tiny_predictor: Predictor) -> None:
    class NoIntents(Predictor):
        def parse_batch(self, texts: Any) -> Any:
            return [p.__class__(p.text, p.tokens, p.tags, p.slots, None) for p in super().parse_batch(texts)]

    predictor = NoIntents(tiny_predictor.model, tiny_predictor.featurizer, metadata=tiny_predictor.metadata)
    with TestClient(make_app(predictor)) as client:
        assert client.post("/v1/parse", json={"text": TEXT}).json()["intent"] is None


def test_an_ensemble_is_served_like_one_network(make_app: AppFactory, tiny_predictor: Predictor) -> None:
    """Two networks averaged (the library default): the same API, the model saying how many."""

    import torch

    from slotfill.model.ensemble import TaggerEnsemble, member_config
    from slotfill.model.tagger import SlotTagger

    config = tiny_predictor.config.replace(members=2)
    members = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        member = SlotTagger(member_config(config), tiny_predictor.featurizer.sizes)
        member.load_state_dict(tiny_predictor.model.state_dict())
        with torch.no_grad():
            member.slot_head.bias.add_(torch.randn_like(member.slot_head.bias) * 0.1)
        members.append(member)
    ensemble = Predictor(TaggerEnsemble(config, members).eval(), tiny_predictor.featurizer)
    with TestClient(make_app(ensemble)) as client:
        body = client.post("/v1/parse/batch", json={"texts": [TEXT, "fly from paris to tokyo"]}).json()
        assert client.get("/v1/model").json()["members"] == 2
    for result, expected in zip(
        body["results"], ensemble.parse_batch([TEXT, "fly from paris to tokyo"]), strict=True
    ):
        assert result["tags"] == expected.tags
        assert [s["confidence"] for s in result["slots"]] == pytest.approx(
            [s.confidence for s in expected.slots]
        )
        check_offsets(result)


UNUSUAL = [
    "arrive 🇹🇼 Taipei 😀 on November 2nd",  # emoji, flags (two code points), astral plane
    "arrive Taipe\u0301i on Nove\u0308mber 2nd",  # combining marks
    "الوصول إلى تايبيه arrive taipei",  # right-to-left
    "arrive \u200btaipei\u200d on \u2066november\u2069 2nd",  # zero-width and bidi controls
    "arrive\x00taipei\x07 on \x1bnovember 2nd\x7f",  # control characters
    "arrive\u00a0taipei\u3000on\u2028november\u20292nd",  # unusual spaces and line separators
    "到达台北 11月2日",  # no spaces at all
    "ＡＲＲＩＶＥ ＴＡＩＰＥＩ",  # full-width
    "\ufeffarrive taipei\ufffd",  # BOM and replacement character
    "a" * 1000,  # exactly at the limit
    "! ? . , ; :",  # only punctuation
]


@pytest.mark.parametrize("text", UNUSUAL)
def test_unusual_unicode_keeps_offsets_right(client: TestClient, text: str) -> None:
    response = client.post("/v1/parse", json={"text": text})
    assert response.status_code == 200, response.text
    assert response.json()["text"] == text
    check_offsets(response.json())


def test_unusual_unicode_in_a_batch(client: TestClient) -> None:
    response = client.post("/v1/parse/batch", json={"texts": UNUSUAL})
    assert response.status_code == 200
    for text, result in zip(UNUSUAL, response.json()["results"], strict=True):
        assert result["text"] == text
        check_offsets(result)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=60))
def test_any_text_is_tagged_with_exact_offsets_or_refused_as_empty(client: TestClient, text: str) -> None:
    response = client.post("/v1/parse", json={"text": text})
    if text.strip():
        assert response.status_code == 200, response.text
        assert response.json()["text"] == text
        check_offsets(response.json())
    else:
        error_of(response, 422, "empty_text", "text")


# Bad input: every case names its problem ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"text": ""}, "empty_text", "text"),
        ({"text": " \t\n\u3000\x1c"}, "empty_text", "text"),
        ({"text": "a" * 1001}, "text_too_long", "text"),
        ({"text": 42}, "wrong_type", "text"),
        ({"text": None}, "wrong_type", "text"),
        ({"text": ["arrive", "taipei"]}, "wrong_type", "text"),
        ({"text": {"value": "x"}}, "wrong_type", "text"),
        ({"text": True}, "wrong_type", "text"),
        ({}, "missing_field", "text"),
        ({"txt": "arrive taipei"}, "missing_field", "text"),
        ({"text": "arrive taipei", "lang": "en"}, "unknown_field", "lang"),
        (["arrive taipei"], "wrong_type", None),
        ("arrive taipei", "wrong_type", None),
        (17, "wrong_type", None),
    ],
)
def test_bad_parse_bodies(client: TestClient, body: Any, code: str, field: str | None) -> None:
    message = error_of(client.post("/v1/parse", json=body), 422, code, field)
    if code == "text_too_long":
        assert "1001" in message and "1000" in message


def test_a_lone_surrogate_is_refused(client: TestClient) -> None:
    body = b'{"text": "arrive \\ud800 taipei"}'
    response = client.post("/v1/parse", content=body, headers={"Content-Type": "application/json"})
    assert "index 7" in error_of(response, 422, "invalid_unicode", "text")


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"texts": []}, "empty_batch", "texts"),
        ({"texts": [TEXT] * 65}, "batch_too_large", "texts"),
        ({"texts": [TEXT, "  "]}, "empty_text", "texts[1]"),
        ({"texts": [TEXT, "b" * 1001]}, "text_too_long", "texts[1]"),
        ({"texts": [TEXT, 7]}, "wrong_type", "texts[1]"),
        ({"texts": TEXT}, "wrong_type", "texts"),
        ({"texts": None}, "wrong_type", "texts"),
        ({"text": TEXT}, "missing_field", "texts"),
    ],
)
def test_bad_batch_bodies(client: TestClient, body: Any, code: str, field: str) -> None:
    error_of(client.post("/v1/parse/batch", json=body), 422, code, field)


@pytest.mark.parametrize("route", ["/v1/parse", "/v1/parse/batch"])
def test_invalid_json(client: TestClient, route: str) -> None:
    response = client.post(route, content=b'{"text": "arr', headers={"Content-Type": "application/json"})
    assert "not valid JSON" in error_of(response, 400, "invalid_json")


def test_a_json_error_names_its_byte_once(client: TestClient) -> None:
    body = b'{"text": "a\x01b"}'  # a raw control character inside a string
    response = client.post("/v1/parse", content=body, headers={"Content-Type": "application/json"})
    message = error_of(response, 400, "invalid_json")
    assert message == "the body is not valid JSON: Invalid control character at byte 11"


@pytest.mark.parametrize("body", [b'{"text": "caf\xe9"}', b"[" * 100_000, b"\xff\xfe{}"])
def test_undecodable_json(client: TestClient, body: bytes) -> None:
    response = client.post("/v1/parse", content=body, headers={"Content-Type": "application/json"})
    error_of(response, 400, "invalid_json")


@pytest.mark.parametrize(
    ("encoding", "where"),
    [
        ("utf-16", "a NUL byte"),
        ("utf-16-le", "a NUL byte"),
        ("utf-16-be", "a NUL byte"),
        ("utf-32", "a NUL byte"),
    ],
)
def test_json_in_another_encoding_is_refused(client: TestClient, encoding: str, where: str) -> None:
    """JSON bodies are UTF-8 (RFC 8259); the parser would guess UTF-16 or UTF-32 and accept them."""
    body = json.dumps({"text": TEXT}).encode(encoding)
    response = client.post("/v1/parse", content=body, headers={"Content-Type": "application/json"})
    message = error_of(response, 400, "invalid_json")
    assert message.startswith("the body is not UTF-8 JSON: ") and where in message


@pytest.mark.parametrize(
    ("body", "at"), [(b'{"text": "caf\xe9"}', 13), (b'{"text": "x"}\xff', 13), (b'{"text": "a\x00"}', 11)]
)
def test_a_bad_byte_is_named_with_its_position(client: TestClient, body: bytes, at: int) -> None:
    response = client.post("/v1/parse/batch", content=body, headers={"Content-Type": "application/json"})
    assert f"at byte {at}" in error_of(response, 400, "invalid_json")


def test_empty_or_null_body(client: TestClient) -> None:
    response = client.post("/v1/parse", content=b"", headers={"Content-Type": "application/json"})
    error_of(response, 422, "missing_body")
    response = client.post("/v1/parse", content=b"null", headers={"Content-Type": "application/json"})
    error_of(response, 422, "wrong_type")


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
@pytest.mark.parametrize("route", ["/v1/parse", "/v1/parse/batch"])
def test_wrong_content_type(client: TestClient, route: str, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(route, content=b'{"text": "arrive taipei"}', headers=headers)
    assert "application/json" in error_of(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/vnd.api+json"])
def test_json_content_types_are_accepted(client: TestClient, content_type: str) -> None:
    response = client.post(
        "/v1/parse", content=b'{"text": "arrive taipei"}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 200


def test_body_over_the_limit_by_content_length(make_app: AppFactory) -> None:
    with TestClient(make_app(max_body_bytes=2048)) as client:
        body = {"texts": ["x" * 900, "y" * 900, "z" * 900]}
        assert "2048" in error_of(client.post("/v1/parse/batch", json=body), 413, "body_too_large")
        assert client.post("/v1/parse", json={"text": "x" * 900}).status_code == 200


def test_body_over_the_limit_streamed_without_length(make_app: AppFactory) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(10):
            yield b"a" * 512
        yield b'"}'

    with TestClient(make_app(max_body_bytes=2048)) as client:
        response = client.post("/v1/parse", content=chunks(), headers={"Content-Type": "application/json"})
        error_of(response, 413, "body_too_large")


def test_unknown_route_and_wrong_method(client: TestClient) -> None:
    assert "/v2/parse" in error_of(client.post("/v2/parse", json={"text": TEXT}), 404, "not_found")
    response = client.get("/v1/parse")
    error_of(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


# Failures behind the API ----------------------------------------------------------------------


def test_a_model_failure_is_a_500_naming_the_request(
    make_app: AppFactory, tiny_predictor: Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tiny_predictor.parse_batch

    def flaky(texts: list[str]) -> Any:
        if "boom" in texts:
            raise RuntimeError("CUDA error: device-side assert triggered")
        return real(texts)

    monkeypatch.setattr(tiny_predictor, "parse_batch", flaky)
    with TestClient(make_app()) as client:
        response = client.post("/v1/parse", json={"text": "boom"}, headers={"X-Request-ID": "req-42"})
        message = error_of(response, 500, "inference_failed")
        assert "req-42" in message and "CUDA" not in message  # internals stay in the log
        assert client.post("/v1/parse", json={"text": TEXT}).status_code == 200
        response = client.post("/v1/parse/batch", json={"texts": [TEXT, "boom"]})
        error_of(response, 500, "inference_failed")


def test_an_unexpected_error_is_a_json_500(make_app: AppFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    from slotfill.service.api.routes import parse

    def broken(*args: Any) -> None:
        raise KeyError("bug")

    monkeypatch.setattr(parse, "_note", broken)
    with TestClient(make_app()) as client:
        response = client.post("/v1/parse", json={"text": TEXT})
        assert response.headers["x-request-id"] in error_of(response, 500, "internal_error")


class Blocking:
    """Wraps a predictor; its model calls wait until ``gate`` opens."""

    def __init__(self, predictor: Predictor, monkeypatch: pytest.MonkeyPatch) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        real = predictor.parse_batch

        def blocked(texts: list[str]) -> Any:
            if set(texts) != {"arrive taipei"}:  # the warm-up goes through
                self.started.set()
                self.gate.wait(10)
            return real(texts)

        monkeypatch.setattr(predictor, "parse_batch", blocked)


def test_full_queue_is_503_with_retry_after(
    make_app: AppFactory, tiny_predictor: Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocking = Blocking(tiny_predictor, monkeypatch)
    monkeypatch.setattr("slotfill.service.state.EXAMPLE_TEXT", "arrive taipei")
    app = make_app(queue_limit=2, batch_max_size=1, max_batch_texts=2, batch_wait_ms=0)
    with TestClient(app) as client:
        results: list[int] = []
        first = threading.Thread(
            target=lambda: results.append(client.post("/v1/parse", json={"text": "a"}).status_code)
        )
        first.start()
        assert blocking.started.wait(5)
        second = threading.Thread(
            target=lambda: results.append(
                client.post("/v1/parse/batch", json={"texts": ["b", "c"]}).status_code
            )
        )
        second.start()
        while app.state.slotfill.runtime.batcher.depth < 2:
            threading.Event().wait(0.005)
        response = client.post("/v1/parse", json={"text": "d"})
        error_of(response, 503, "overloaded")
        assert response.headers["retry-after"] == "1"
        # Refused from the head: a body that is not even JSON is never read (no 400 or 422).
        unread = client.post(
            "/v1/parse/batch", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert "2 texts are already waiting" in error_of(unread, 503, "overloaded")
        assert unread.headers["retry-after"] == "1"
        metrics = client.get("/metrics").text
        assert (
            'slotfill_http_requests_total{method="POST",route="/v1/parse/batch",status="503"} 1.0' in metrics
        )
        blocking.gate.set()
        first.join(5)
        second.join(5)
        assert results == [200, 200]


def test_slow_model_is_504(
    make_app: AppFactory, tiny_predictor: Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocking = Blocking(tiny_predictor, monkeypatch)
    monkeypatch.setattr("slotfill.service.state.EXAMPLE_TEXT", "arrive taipei")
    with TestClient(make_app(request_timeout_s=0.2)) as client:
        assert "0.2 s" in error_of(client.post("/v1/parse", json={"text": TEXT}), 504, "timeout")
        blocking.gate.set()
        assert client.post("/v1/parse", json={"text": TEXT}).status_code == 200


def test_the_answers_are_the_schemas_json(client: TestClient, tiny_predictor: Predictor) -> None:
    """Built as plain dicts for speed, they must be what the documented models would give."""
    from slotfill.service.schemas import ParseResult

    texts = [TEXT, "  Leave Boston, on  Friday!", "x", "fly from São Paulo to Tokyo \U0001f6eb"]
    single = client.post("/v1/parse", json={"text": texts[0]}).json()
    batch = client.post("/v1/parse/batch", json={"texts": texts}).json()
    parses = tiny_predictor.parse_batch(texts)
    expected = [ParseResult.of(parse).model_dump(mode="json") for parse in parses]
    alone = ParseResult.of(tiny_predictor.parse(texts[0])).model_dump(mode="json")
    assert list(single) == [*alone, "model", "took_ms"]
    assert {k: v for k, v in single.items() if k not in ("model", "took_ms")} == alone
    assert list(batch) == ["results", "model", "took_ms"]
    assert batch["results"] == expected
    assert set(batch["model"]) == {"id", "version", "created"}
