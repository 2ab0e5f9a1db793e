"""The listening sockets of ``slotfill serve``, made before anything else and never shared by accident.

Why here rather than in uvicorn: uvicorn binds after the application has started (model loaded,
warmed up, "slotfill is ready." printed), so a port already in use showed up as a ready banner
followed by a traceback. And ``--workers`` binds one socket per worker with ``SO_REUSEPORT``, which
the kernel lets any process of the same user join: a second ``slotfill serve --workers 2`` on a
taken port started without a word and split the connections with the first, answering from the
wrong model.

So the sockets are bound, and for workers listening, in the command's own process before the
model is loaded: a taken port fails at once, in one line. Before binding the workers' sockets,
a connection is tried to the port: a server that accepts it (a slotfill with workers, or anything
else) means the port is taken. Their sockets listen from the start, so a later second server's
try is accepted and refused in turn. Two servers started within the same instant could still
both pass; nothing short of a lock outside the kernel's port table closes that.
"""

from __future__ import annotations

import errno
import socket

BACKLOG = 2048


class PortInUseError(Exception):
    """The address is taken (or cannot be bound); the message names it and says what to do."""


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _describe(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _bind(host: str, port: int, reuse_port: bool) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortInUseError(
                f"{_describe(host, port)} is already in use; stop the other server or choose --port"
            ) from None
        raise PortInUseError(f"cannot listen on {_describe(host, port)}: {error.strerror}") from None
    return sock


def _someone_listens(host: str, port: int) -> bool:
    """Whether a server accepts connections on the port (tried on loopback for a wildcard host)."""
    target = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    try:
        with socket.create_connection((target, port), timeout=1.0):
            return True
    except OSError:
        return False


def listen_alone(host: str, port: int) -> socket.socket:
    """One listening socket that no other process can share (no ``SO_REUSEPORT``)."""
    sock = _bind(host, port, reuse_port=False)
    sock.listen(BACKLOG)
    return sock


def listen_for_workers(host: str, port: int, workers: int) -> list[socket.socket]:
    """``workers`` listening sockets on one port, one per worker, the kernel spreading new
    connections over them; refused when another server already listens there."""
    if port and _someone_listens(host, port):
        raise PortInUseError(
            f"{_describe(host, port)} is already in use (a server answers there); "
            "stop the other server or choose --port"
        )
    first = _bind(host, port, reuse_port=True)
    port = first.getsockname()[1]  # port 0: the one the kernel chose, for every worker
    sockets = [first]
    try:
        sockets += [_bind(host, port, reuse_port=True) for _ in range(workers - 1)]
        for sock in sockets:
            sock.listen(BACKLOG)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets
