"""Structured access logs with request ids; user text only when SLOTFILL_LOG_TEXT asks for it."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from slotfill.service.log import JsonFormatter, TextFormatter, configure_logging

AppFactory = Callable[..., FastAPI]
SECRET_TEXT = "arrive taipei, my passport is X1234567"


def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "slotfill.access"]


def test_one_access_line_per_request_without_the_text(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="slotfill.access"):
        response = client.post("/v1/parse", json={"text": SECRET_TEXT})
        client.post("/v1/parse/batch", json={"texts": [SECRET_TEXT, "leave boston"]})
    single, batch = access_records(caplog)
    assert single.request_id == response.headers["x-request-id"]  # type: ignore[attr-defined]
    assert single.method == "POST" and single.path == "/v1/parse"  # type: ignore[attr-defined]
    assert single.status == 200 and single.duration_ms > 0  # type: ignore[attr-defined]
    assert single.texts == 1 and single.text_chars == len(SECRET_TEXT)  # type: ignore[attr-defined]
    assert batch.texts == 2 and batch.text_chars == len(SECRET_TEXT) + 12  # type: ignore[attr-defined]
    line = JsonFormatter().format(single)
    assert "passport" not in line and "X1234567" not in line
    assert "passport" not in caplog.text


def test_the_text_is_logged_only_when_asked(make_app: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    with (
        TestClient(make_app(log_text=True)) as client,
        caplog.at_level(logging.INFO, logger="slotfill.access"),
    ):
        client.post("/v1/parse", json={"text": SECRET_TEXT})
    (record,) = access_records(caplog)
    assert record.text == [SECRET_TEXT]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("abc-123", True),
        ("trace:4bf92f35/00f067aa.1", True),
        ("bad id", False),
        ("x" * 200, False),
        ("\u00e9", False),
    ],
)
def test_request_id_is_honoured_when_safe(
    client: TestClient, caplog: pytest.LogCaptureFixture, sent: str, kept: bool
) -> None:
    with caplog.at_level(logging.INFO, logger="slotfill.access"):
        response = client.get("/healthz", headers={"X-Request-ID": sent.encode()})
    returned = response.headers["x-request-id"]
    assert (returned == sent) is kept
    if not kept:
        assert len(returned) == 32  # a fresh uuid4 hex
    assert access_records(caplog)[0].request_id == returned  # type: ignore[attr-defined]


def test_every_answer_has_a_request_id(client: TestClient) -> None:
    ids = {client.get(path).headers["x-request-id"] for path in ("/healthz", "/nowhere", "/v1/model")}
    assert len(ids) == 3


def test_json_and_text_formats() -> None:
    record = logging.LogRecord("slotfill.access", logging.INFO, __file__, 1, "POST %s", ("/v1/parse",), None)
    record.status = 200
    record.request_id = "r1"
    data = json.loads(JsonFormatter().format(record))
    assert (
        data["message"] == "POST /v1/parse"
        and data["level"] == "info"
        and data["logger"] == "slotfill.access"
    )
    assert data["status"] == 200 and data["request_id"] == "r1" and data["ts"].endswith("+00:00")
    line = TextFormatter().format(record)
    assert "POST /v1/parse" in line and "status=200" in line and "request_id='r1'" in line


def test_exceptions_are_one_json_line() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line and "ValueError: bad" in json.loads(line)["exc_info"]


def test_configure_logging_routes_uvicorn_through_one_handler() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("json", "warning")
        assert len(root.handlers) == 1 and isinstance(root.handlers[0].formatter, JsonFormatter)
        assert root.level == logging.WARNING
        assert (
            logging.getLogger("uvicorn.error").propagate and not logging.getLogger("uvicorn.error").handlers
        )
        assert logging.getLogger("uvicorn.access").disabled
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("uvicorn.access").disabled = False


def test_a_path_cannot_forge_a_text_log_line(
    make_app: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """A %0a in the path (404s are logged, no key needed) stays inside its own line."""
    forged = "2026-12-04 10:00:00,000 ERROR slotfill.service: database corrupt"
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("text", "info")
    try:
        with TestClient(make_app()) as client:
            assert client.get("/x%0a" + forged.replace(" ", "%20") + "%0d%1b[2K").status_code == 404
    finally:  # the handler writes to this test's captured stderr, closed after it
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = capsys.readouterr().err.splitlines()
    access = [line for line in lines if "slotfill.access" in line]
    assert len(access) == 1
    assert "/x\\n2026-12-04 10:00:00,000 ERROR slotfill.service: database corrupt\\r\\x1b[2K" in access[0]
    assert not any(line.startswith("2026-12-04 10:00:00,000 ERROR") for line in lines)


def test_a_traceback_keeps_its_lines_in_text_logs() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed\n%s", ("now",), sys.exc_info())
    text = TextFormatter().format(record)
    first, *rest = text.splitlines()
    assert first.endswith("x: failed\\nnow")
    assert rest[0] == "Traceback (most recent call last):" and rest[-1] == "ValueError: boom"
