"""Property-based fuzzing with schemathesis against the live OpenAPI schema of a real uvicorn
server: examples, boundary values (coverage) and random valid and invalid requests must never get
a 5xx, an undocumented status, or a body that does not match the schema.

It runs schemathesis' own runner (as ``st run`` would) rather than its pytest plugin, which relies
on a private pytest attribute that pytest 9 no longer has; the runner also has the coverage phase
(boundary lengths, wrong types, wrong methods and content types) that plain generation lacks.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from slotfill.model.predictor import Predictor
from slotfill.service.main import create_app
from slotfill.service.settings import Settings

pytestmark = pytest.mark.slow  # a live server and schemathesis in a subprocess

KEY = "fuzz-key-0123456789"
EXAMPLES = 30  # per operation and phase: a few seconds in all


@pytest.fixture(scope="module", params=[None, KEY], ids=["open", "api-key"])
def live(
    request: pytest.FixtureRequest, tiny_model_dir: Path, tiny_predictor: Predictor
) -> Iterator[tuple[str, dict[str, str]]]:
    """(base URL, headers a client needs) of a running server, without and with an API key."""
    # Small limits, so the fuzzer reaches them; a short window, so examples run fast.
    settings = Settings(
        model_path=tiny_model_dir,
        max_text_chars=200,
        max_batch_texts=8,
        batch_wait_ms=0.5,
        api_key=request.param,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, tiny_predictor),
            host="127.0.0.1",
            port=0,  # any free port
            log_config=None,
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    yield url, ({"Authorization": f"Bearer {request.param}"} if request.param else {})
    server.should_exit = True
    thread.join(10)


def test_no_server_errors_and_no_schema_violations(live: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    live_url, headers = live
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{live_url}/openapi.json",
        "--checks=all",
        "--mode=all",
        "--phases=examples,coverage,fuzzing",
        f"--max-examples={EXAMPLES}",
        "--workers=1",
        "--suppress-health-check=all",
        "--request-timeout=10",
    ]
    command += [f"--header={name}: {value}" for name, value in headers.items()]
    # Run in a scratch folder: schemathesis keeps a cache folder where it runs.
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "6 selected / 6 total" in report and "No issues found" in report

    # The fuzzer got through (valid requests tagged, invalid ones refused), not just 401s.
    metrics = httpx.get(f"{live_url}/metrics", headers=headers).text
    for route, status in (
        ("/v1/parse", 200),
        ("/v1/parse/batch", 200),
        ("/v1/parse", 422),
        ("/v1/parse", 415),
    ):
        line = f'slotfill_http_requests_total{{method="POST",route="{route}",status="{status}"}}'
        assert line in metrics, f"the fuzzer never got {status} from {route}"
