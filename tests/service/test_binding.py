"""The serve command's sockets: a taken port fails in one line, and no second server joins a port."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from slotfill.service import workers
from slotfill.service.binding import PortInUseError, listen_alone, listen_for_workers


@pytest.fixture
def other_workers_server() -> Iterator[int]:
    """A server with SO_REUSEPORT on its port, as ``slotfill serve --workers`` listens."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def other_plain_server() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def close(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


@pytest.mark.parametrize("server", ["other_workers_server", "other_plain_server"])
def test_one_process_never_shares_a_taken_port(server: str, request: pytest.FixtureRequest) -> None:
    port = request.getfixturevalue(server)
    with pytest.raises(PortInUseError, match=f"^127.0.0.1:{port} is already in use; stop the other server"):
        listen_alone("127.0.0.1", port)


@pytest.mark.skipif(not workers.supported(), reason="needs Linux SO_REUSEPORT")
@pytest.mark.parametrize("server", ["other_workers_server", "other_plain_server"])
def test_workers_never_join_another_servers_port(server: str, request: pytest.FixtureRequest) -> None:
    """SO_REUSEPORT alone would let the workers join a server of the same user on the port and
    split its connections with it."""
    port = request.getfixturevalue(server)
    with pytest.raises(PortInUseError, match=f"^127.0.0.1:{port} is already in use"):
        listen_for_workers("127.0.0.1", port, 2)


@pytest.mark.skipif(not workers.supported(), reason="needs Linux SO_REUSEPORT")
def test_workers_get_one_listening_socket_each_on_one_port() -> None:
    sockets = listen_for_workers("127.0.0.1", 0, 3)
    try:
        ports = {sock.getsockname()[1] for sock in sockets}
        assert len(sockets) == 3 and len(ports) == 1
        (port,) = ports
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # listening from the start: a later server's check finds them
        with pytest.raises(PortInUseError):
            listen_for_workers("127.0.0.1", port, 2)  # a second `serve --workers 2`
        with pytest.raises(PortInUseError):
            listen_alone("127.0.0.1", port)  # a second `serve`
    finally:
        close(sockets)


def test_an_address_that_cannot_be_bound_is_named() -> None:
    with pytest.raises(PortInUseError, match=r"^cannot listen on 256\.0\.0\.1:0: "):
        listen_alone("256.0.0.1", 0)  # not an address at all
