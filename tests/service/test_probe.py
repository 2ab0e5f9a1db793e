"""``python -m slotfill.service.probe``: the container's health check, without curl or torch."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from slotfill.service.probe import main, probe
from tests.service.live import free_port


class _Answers(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/readyz" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_ready_is_exit_0(url: str) -> None:
    assert probe(f"{url}/readyz") is None
    assert main([f"{url}/readyz"]) == 0


def test_not_ready_says_why(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([f"{url}/other"]) == 1
    assert capsys.readouterr().err == f"not ready: {url}/other: HTTP 503\n"


def test_nothing_listening_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([f"http://127.0.0.1:{free_port()}/readyz"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("not ready: ") and len(err.splitlines()) == 1


def test_it_never_imports_torch(url: str) -> None:
    script = (
        "import sys; from slotfill.service.probe import main; code = main(sys.argv[1:]);"
        "assert 'torch' not in sys.modules; sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", script, f"{url}/readyz"], check=False, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert main(["a", "b"]) == 2
