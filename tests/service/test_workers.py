"""``slotfill serve --workers N`` for real: N processes on one port, connections spread over them by
the kernel (one SO_REUSEPORT socket each), SIGTERM stopping them all, a dead worker stopping the rest."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from slotfill.service import workers
from tests.service.live import Server, start_server

pytestmark = [
    pytest.mark.skipif(not workers.supported(), reason="needs Linux SO_REUSEPORT"),
    pytest.mark.slow,  # starts live servers with two workers each
]


def worker_id(url: str) -> str:
    """Which worker answered, on a fresh connection: each keeps its own metrics registry, created at
    its own start-up time."""
    with httpx.Client(base_url=url, timeout=10) as client:
        metrics = client.get("/metrics").text
    return next(line for line in metrics.splitlines() if line.startswith("slotfill_batch_size_created"))


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


@pytest.fixture
def server(tiny_model_dir: Path, tmp_path: Path) -> Iterator[Server]:
    running = start_server(tiny_model_dir, tmp_path / "server.log", "--workers", "2")
    deadline = time.monotonic() + 60
    while len({worker_id(running.url) for _ in range(8)}) < 2:  # the second may still be loading
        assert time.monotonic() < deadline, running.log.read_text()
        time.sleep(0.2)
    yield running
    running.stop()


def test_connections_are_spread_over_the_workers_and_both_tag(server: Server) -> None:
    answered = {worker_id(server.url) for _ in range(24)}
    assert len(answered) == 2  # 24 fresh connections all on one worker: 2 ** -23
    with httpx.Client(base_url=server.url, timeout=10) as client:
        body = client.post("/v1/parse", json={"text": "arrive Taipei on November 2nd"}).json()
    assert [(s["slot"], s["value"]) for s in body["slots"]] == [("dest", "Taipei"), ("time", "November 2nd")]


def test_sigterm_stops_every_worker(server: Server) -> None:
    # Workers only: multiprocessing's resource tracker, also a child, exits on its own once the
    # master has gone, which can be a moment after the master's exit.
    pids = [pid for pid in children(server.process.pid) if "spawn_main" in _cmdline(pid)]
    assert len(pids) == 2
    assert server.stop() == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_the_supervisor_holds_no_torch(server: Server) -> None:
    """It only forwards signals and watches the workers: torch and a model (~300 MB) are theirs."""
    maps = Path(f"/proc/{server.process.pid}/maps").read_text()
    assert "libtorch" not in maps
    worker = next(pid for pid in children(server.process.pid) if "spawn_main" in _cmdline(pid))
    assert "libtorch" in Path(f"/proc/{worker}/maps").read_text()


def test_a_dead_worker_takes_the_service_down_for_a_restart(server: Server) -> None:
    """Rather than serve on at half capacity unnoticed: the orchestrator sees the exit and restarts."""
    worker = next(pid for pid in children(server.process.pid) if "spawn_main" in _cmdline(pid))
    os.kill(worker, signal.SIGKILL)
    assert server.process.wait(30) == 1
    assert "exited with -9; stopping the others" in server.log.read_text()


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
