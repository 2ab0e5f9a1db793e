"""``slotfill serve --workers N``: N server processes, each with its own listening socket on one port.

Why not uvicorn's own multi-process mode: its workers share the master's single listening socket,
and whichever worker wakes first accepts every connection waiting in the backlog. A client that
opens its keep-alive connections together (a chatbot backend's pool, a load generator) can end up
with all of them on one worker while the others idle; bench/serving.py saw exactly that. With
``SO_REUSEPORT`` every worker has its own socket and the kernel spreads new connections across
them by their address hash. The sockets are bound and listening before the workers start
(``service.binding``), so a taken port fails once, in the parent, and no other server can join.

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


def supported() -> bool:
    """Whether the kernel spreads connections over sockets sharing a port (Linux does)."""
    return hasattr(socket, "SO_REUSEPORT") and os.uname().sysname == "Linux"


def _worker(sock: socket.socket, options: dict[str, Any]) -> None:
    """One server process on its own listening socket, the app built from the environment."""
    import uvicorn

    config = uvicorn.Config(APP, factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve_workers(sockets: list[socket.socket], options: dict[str, Any]) -> int:
    """Run one server process per listening socket until a signal or a worker's death."""
    port = sockets[0].getsockname()[1]
    context = multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = [
        context.Process(target=_worker, args=(sock, options), name=f"slotfill-worker-{i + 1}")
        for i, sock in enumerate(sockets)
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
        for sock in sockets:
            sock.close()  # each worker has its own copy now
        logger.info("%d workers on port %d, pids %s", len(processes), port, [p.pid for p in processes])
        while any(process.is_alive() for process in processes):
            dead = [p for p in processes if not p.is_alive()]
            if dead and not stopping:
                logger.error("worker %s exited with %s; stopping the others", dead[0].name, dead[0].exitcode)
                stop(signal.SIGTERM, None)
            time.sleep(0.2)
    finally:
        for sock in sockets:
            sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    # uvicorn re-raises the signal it stopped on once it has drained, so a clean stop is 0 or -SIG.
    clean = {0, -signal.SIGTERM, -signal.SIGINT}
    return 0 if stopping and all(process.exitcode in clean for process in processes) else 1
