"""A real ``python -m service`` (what ``slotfill serve`` runs) on a free loopback port, for the tests
that speak HTTP to it (test_live_server.py, test_demo_page.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


def start_server(model: Path, log: Path, *args: str, **settings: str) -> Server:
    """Start the service on ``model`` (extra command-line ``args``, e.g. ``--workers 2``) with
    ``SLOTFILL_<NAME>`` set from ``settings`` (and no other SLOTFILL_* of the environment), and wait
    until /readyz says ready."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SLOTFILL_")}
    env.update({f"SLOTFILL_{k.upper()}": v for k, v in settings.items()})
    env["PYTHONPATH"] = str(ROOT)
    handle: IO[bytes] = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "slotfill.service", str(model), "--port", str(port), "--device", "cpu", *args],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.stop()
    raise AssertionError(f"server not ready in 60 s:\n{log.read_text()}")
