"""Connection limits on a real server: oversized heads, too many headers, stalled heads and bodies.

Each case talks raw HTTP over a socket, as a hostile client would, then checks the server still
answers a normal request and logged no traceback.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.live import Server, start_server

pytestmark = pytest.mark.slow  # starts a live server

LIMITS = {"max_header_bytes": "4096", "max_headers": "20", "header_timeout_s": "0.5", "body_timeout_s": "0.5"}


@pytest.fixture(scope="module")
def server(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tiny_model_dir, tmp_path_factory.mktemp("limits") / "server.log", **LIMITS)
    yield running
    running.stop()
    assert "Traceback" not in running.log.read_text()


def connect(server: Server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (10 s at most)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def still_serves(server: Server) -> None:
    response = httpx.post(f"{server.url}/v1/parse", json={"text": "fly to paris"}, timeout=10)
    assert response.status_code == 200


def test_an_oversized_head_is_431_and_closed(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n")
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 431 ")
    assert b"over 4096 bytes" in reply
    still_serves(server)


def test_a_head_streamed_without_end_is_cut_off_at_the_cap(server: Server) -> None:
    """The server never buffers more than the cap: it closes while the client is still sending."""
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nX-Big: ")
        sent = 0
        with pytest.raises(OSError):  # reset or broken pipe once the server has closed
            while sent < 50_000_000:
                sock.sendall(b"a" * 65536)
                sent += 65536
        assert sent < 50_000_000


def test_too_many_header_fields_is_400_and_closed(server: Server) -> None:
    fields = b"".join(b"X-%d: y\r\n" % i for i in range(30))
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 400 ")
    still_serves(server)


def test_a_body_may_follow_its_head_in_one_packet(server: Server) -> None:
    """Only the head counts against the cap, whatever arrives with it."""
    body = json.dumps({"texts": ["fly to paris " * 40] * 10}).encode()  # 5 KB, over the 4 KB head cap
    head = b"POST /v1/parse/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += b"Connection: close\r\n"
    with connect(server) as sock:
        sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        reply = answer(sock)
        assert reply.startswith(b"HTTP/1.1 200 "), reply[:400]


@pytest.mark.parametrize(
    ("sent", "status"),
    [
        (b"", None),  # connected, never sent a byte: closed without a word
        (b"POST /v1/parse HTTP/1.1\r\nHost: x\r\nContent-Ty", b"408"),  # half a head
        (  # a head, and half its body
            b"POST /v1/parse HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"text": "fly',
            b"408",
        ),
    ],
    ids=["idle", "half a head", "half a body"],
)
def test_a_stalled_request_is_closed_at_its_deadline(
    server: Server, sent: bytes, status: bytes | None
) -> None:
    with connect(server) as sock:
        sock.sendall(sent)
        began = time.monotonic()
        reply = answer(sock)
        waited = time.monotonic() - began
    assert waited < 9  # closed by the server's 0.5 s deadline, not by the client's 10 s timeout
    if status is None:
        assert reply == b""
    else:
        assert reply.startswith(b"HTTP/1.1 " + status + b" ")
    still_serves(server)


def test_a_keep_alive_connection_gets_a_fresh_deadline_per_request(server: Server) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    with connect(server) as sock:
        for _ in range(4):
            sock.sendall(request)
            reply = b""
            while not reply.endswith(b'{"status":"ok"}'):
                chunk = sock.recv(65536)
                assert chunk, f"closed after {reply!r}"
                reply += chunk
            assert reply.startswith(b"HTTP/1.1 200 ")
            time.sleep(0.2)  # under the 0.5 s head deadline each time, 0.8 s in all
