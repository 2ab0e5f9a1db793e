"""HTTP connection limits below the application: header size and count, read deadlines.

Why a protocol class: everything here happens before a request reaches ASGI, where no middleware
can act. uvicorn's httptools protocol buffers a header of any size before the application sees it
(a 50 MB header got a 200; eight of 100 MB took the server from 370 MB to 1.2 GB), and gives a
connection that never finishes its request no deadline (3,000 half-sent bodies held 3,016 file
descriptors). This subclass of it adds:

- a cap on the request head (request line and headers): counted as bytes arrive, before the
  parser buffers them, answered 431 and the connection closed; and a cap on the number of header
  fields (400, the parser's own answer to a callback that refuses);
- a deadline to receive the whole head, from the connection's first byte or the previous
  response; a deadline to receive the body once the head is in. Either ends the connection with
  408 (the idle wait between requests stays uvicorn's keep-alive timeout).

The limits are the service settings of the process (``configure``, called by ``create_app``), so
every worker of ``serve --workers`` applies its own copy.
"""

from __future__ import annotations

import logging
from asyncio import TimerHandle
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

logger = logging.getLogger("slotfill.service")


@dataclass(frozen=True)
class Limits:
    max_header_bytes: int = 16_384
    max_headers: int = 100
    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0


_limits = Limits()


def configure(limits: Limits) -> None:
    """Set the limits every connection of this process gets from now on."""
    global _limits  # noqa: PLW0603 (one setting per process, read by every connection)
    _limits = limits


class TooManyHeadersError(Exception):
    """Raised from the parser's header callback: uvicorn answers 400 and closes the connection."""


_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = _limits
        self._reading_head = True
        self._head_bytes = 0
        self._tail = b""
        self._header_count = 0
        self._deadline: TimerHandle | None = None

    # --- the head ---------------------------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._await_head()

    def _await_head(self) -> None:
        self._reading_head = True
        self._head_bytes = 0
        self._tail = b""
        self._header_count = 0
        self._arm(self.limits.header_timeout_s, "the request head")

    def data_received(self, data: bytes) -> None:
        if self._reading_head:
            # Only the head's bytes count: a body may follow the blank line in the same chunk.
            window = self._tail + data
            end = window.find(b"\r\n\r\n")
            self._head_bytes += len(data) if end < 0 else max(0, end + 4 - len(self._tail))
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse(431, f"the request head is over {self.limits.max_header_bytes} bytes")
                return
            self._tail = window[-3:]
        super().data_received(data)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            raise TooManyHeadersError(f"more than {self.limits.max_headers} header fields")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._arm(self.limits.body_timeout_s, "the request body")
        super().on_headers_complete()

    # --- the body and the next request --------------------------------------------------------

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_head()  # the next request's head, once it starts arriving

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # --- deadlines ------------------------------------------------------------------------------------

    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow, what, seconds)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self, what: str, seconds: float) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._reading_head and not self._head_bytes:  # not a byte of a request: close quietly
            self.transport.close()
            return
        self._refuse(408, f"{what} did not arrive within {seconds:g} s")

    def _refuse(self, status: int, reason: str) -> None:
        """Answer ``status`` (unless a response has begun), then close the connection."""
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "?"
        logger.info("closing a connection from %s: %s", client, reason, extra={"status": status})
        started = self.cycle is not None and self.cycle.response_started
        if not started:
            body = reason.encode("utf-8")
            head = (
                b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n" % (status, _REASONS[status], len(body))
            )
            self.transport.write(head + body)
        self._disarm()
        self.transport.close()
