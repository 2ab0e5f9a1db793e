"""``slotfill serve --workers N``: N server processes, each with its own listening socket on one port.

Why not uvicorn's own multi-process mode: its workers share the master's single listening socket,
and whichever worker wakes first accepts every connection waiting in the backlog. A client that
opens its keep-alive connections together (a chatbot backend's pool, a load generator) can end up
with all of them on one worker while the others idle; bench/serving.py saw exactly that. With
``SO_REUSEPORT`` every worker binds its own socket and the kernel spreads new connections across
them by their address hash.

The parent only supervises: it forwards SIGTERM/SIGINT to the workers (each drains its requests in
flight, as a single server does) and, if a worker dies on its own, stops the others and exits non-zero
so the orchestrator restarts the whole service rather than leaving it at reduced capacity.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

logger = logging.getLogger("slotfill.service")
APP = "slotfill.service.main:create_app"
_BACKLOG = 2048


def supported() -> bool:
    """Whether the kernel spreads connections over sockets sharing a port (Linux does)."""
    return hasattr(socket, "SO_REUSEPORT") and os.uname().sysname == "Linux"


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    """One server process: its own socket on the shared port, the app built from the environment."""
    import uvicorn

    sock = _socket(host, port)
    sock.listen(_BACKLOG)
    config = uvicorn.Config(APP, factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve_workers(host: str, port: int, workers: int, options: dict[str, Any]) -> int:
    """Run ``workers`` server processes on ``host:port`` until a signal or a worker's death."""
    # Hold the port (bound, not listening: it takes no connections) so that port 0 gives every
    # worker the same port, and a port already in use fails here, once, before any worker starts.
    holder = _socket(host, port)
    port = holder.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = [
        context.Process(target=_worker, args=(host, port, options), name=f"slotfill-worker-{i + 1}")
        for i in range(workers)
    ]
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for process in processes:
            process.start()
        holder.close()
        logger.info("%d workers on port %d, pids %s", workers, port, [p.pid for p in processes])
        while any(process.is_alive() for process in processes):
            dead = [p for p in processes if not p.is_alive()]
            if dead and not stopping:
                logger.error("worker %s exited with %s; stopping the others", dead[0].name, dead[0].exitcode)
                stop(signal.SIGTERM, None)
            time.sleep(0.2)
    finally:
        holder.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    # uvicorn re-raises the signal it stopped on once it has drained, so a clean stop is 0 or -SIG.
    clean = {0, -signal.SIGTERM, -signal.SIGINT}
    return 0 if stopping and all(process.exitcode in clean for process in processes) else 1
