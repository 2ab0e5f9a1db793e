"""The real thing: ``python -m service`` (what ``slotfill serve`` runs) on a free loopback port,
spoken to over HTTP, then stopped with SIGTERM while requests are in flight."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.live import Server, start_server

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="uses SIGTERM"), pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tiny_model_dir, tmp_path_factory.mktemp("live") / "server.log")
    yield running
    running.stop()


def _access_lines(server: Server, request_id: str) -> list[dict[str, object]]:
    return [
        line
        for line in server.lines()
        if line["logger"] == "slotfill.access" and line.get("request_id") == request_id
    ]


def _queued(server: Server) -> float:
    """Texts waiting in the service's batcher, as its metrics say."""
    metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
    sample = re.search(r"^slotfill_queue_depth (\S+)$", metrics, re.MULTILINE)
    assert sample, metrics
    return float(sample.group(1))


def test_parse_over_http(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        response = client.post(
            "/v1/parse", json={"text": "arrive Taipei on November 2nd"}, headers={"X-Request-ID": "live-1"}
        )
        assert response.status_code == 200
        assert response.headers["x-request-id"] == "live-1"
        assert "server" not in response.headers  # no software banner
        body = response.json()
        assert [(s["slot"], s["value"]) for s in body["slots"]] == [
            ("dest", "Taipei"),
            ("time", "November 2nd"),
        ]
        batch = client.post("/v1/parse/batch", json={"texts": ["leave boston", "fly to 東京 😀"]})
        assert [r["text"] for r in batch.json()["results"]] == ["leave boston", "fly to 東京 😀"]
        bad = client.post("/v1/parse", content=b"{", headers={"Content-Type": "application/json"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/v1/model").json()["id"] == "model"
        assert 'route="/v1/parse",status="200"' in client.get("/metrics").text


def test_the_printed_curl_example_works_as_pasted(server: Server) -> None:
    """``slotfill serve`` prints, once ready, a curl line to paste; pasted into a shell, it answers."""
    lines = server.log.read_text().splitlines()
    assert "slotfill is ready." in lines
    assert f"  demo page: {server.url}/" in lines
    command = next(line for line in lines if "curl -s" in line).split("try:", 1)[1].strip()
    assert command.startswith(f"curl -s {server.url}/v1/parse ")
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30, check=True)
    body = json.loads(done.stdout)
    assert body["text"] == "arrive Taipei on November 2nd"
    assert [slot["slot"] for slot in body["slots"]] == ["dest", "time"]


def test_logs_are_json_lines_without_user_text(server: Server) -> None:
    secret = "leave paris, card number 4111 1111 1111 1111"
    httpx.post(
        f"{server.url}/v1/parse", json={"text": secret}, headers={"X-Request-ID": "live-2"}, timeout=10
    )
    # The access line is written once the response has gone out: wait for it, not for a set time.
    deadline = time.monotonic() + 10
    while not (access := _access_lines(server, "live-2")) and time.monotonic() < deadline:
        time.sleep(0.02)
    text = server.log.read_text()
    # Not "4111" alone: random request ids (hex) and timings contain such digits now and then.
    assert "card number" not in text and "4111 1111" not in text
    lines = server.lines()
    assert len(access) == 1
    assert access[0]["status"] == 200 and access[0]["text_chars"] == len(secret)
    assert access[0]["method"] == "POST" and access[0]["path"] == "/v1/parse"
    assert any("ready" in str(line["message"]) for line in lines)
    assert all(line["level"] in ("debug", "info", "warning", "error") for line in lines)


def test_sigterm_lets_requests_in_flight_finish(tiny_model_dir: Path, tmp_path: Path) -> None:
    # A one-second batching window keeps the texts waiting inside the service (two texts per
    # request, so the batcher does wait the window out) until the test has seen all ten queued.
    server = start_server(tiny_model_dir, tmp_path / "server.log", batch_wait_ms="1000")
    statuses: list[int] = []

    def call(i: int) -> None:
        texts = [f"leave boston {i}", f"arrive paris {i}"]
        response = httpx.post(f"{server.url}/v1/parse/batch", json={"texts": texts}, timeout=10)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(5)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while _queued(server) < 10:  # every request inside the service, waiting: now the signal
        assert time.monotonic() < deadline, "the requests never all reached the batcher"
        time.sleep(0.01)
    server.process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(15)
    assert statuses == [200] * 5
    assert server.stop() == 0  # a clean stop, as with --workers (README: exit status)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/healthz", timeout=1)
    assert any("stopped" in str(line["message"]) for line in server.lines())


def test_ctrl_c_is_a_clean_stop_too(tiny_model_dir: Path, tmp_path: Path) -> None:
    server = start_server(tiny_model_dir, tmp_path / "server.log")
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(30) == 0
    assert "Traceback" not in server.log.read_text()
