"""The load generator of ``bench/serving.py``: closed-loop HTTP/1.1 keep-alive clients in their own process.

``load`` runs phases back to back (``NAME:CONCURRENCY:SECONDS``), each with its own fresh connections
(opened before the phase's clock starts) and each connection sending the next utterance as soon as
the previous answer is in: a closed loop, so ``concurrency`` is the number of requests in flight.
A phase stops *issuing* at its end; its last requests finish in the background while the next phase
already runs (so an overload phase followed by a recovery phase shows whether the service
recovers at once). Latency is from the first byte written to the last byte read, per request.

Two clients: ``raw`` (default) speaks HTTP/1.1 over asyncio streams (uvloop when installed) with
the requests pre-encoded, so the generator costs as little CPU as possible on a machine it shares
with the service; ``httpx`` uses ``httpx.AsyncClient``, the ordinary Python client, for comparison.
``stub`` is a canned-answer HTTP server used to measure the generator's own ceiling.

    python bench/serving_load.py load --url http://127.0.0.1:8000/v1/parse --texts seq.in \\
        --phases c32:32:10 --warmup 1 --json-out result.json
    python bench/serving_load.py stub --port 8001
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

STUB_BODY = b'{"tags":["O"],"slots":[],"intent":null}'


@dataclass(frozen=True)
class Phase:
    name: str
    concurrency: int
    seconds: float

    @classmethod
    def parse(cls, spec: str) -> Phase:
        try:
            name, concurrency, seconds = spec.split(":")
            phase = cls(name, int(concurrency), float(seconds))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected NAME:CONCURRENCY:SECONDS, got {spec!r}") from None
        if not name or phase.concurrency < 1 or phase.seconds <= 0:
            raise argparse.ArgumentTypeError(
                f"a phase needs a name, concurrency >= 1 and seconds > 0: {spec!r}"
            )
        return phase


@dataclass
class Tally:
    """What one phase saw: latencies of the requests it issued (in ms, with their start times)."""

    phase: Phase
    starts: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    error_times: list[float] = field(default_factory=list)
    begun: float = 0.0
    ended: float = 0.0
    bad_body: int = 0
    cpu_begun: float = 0.0
    cpu_ended: float = 0.0

    def record(self, started: float, finished: float, status: int) -> None:
        self.starts.append(started)
        self.latencies.append((finished - started) * 1000)
        self.codes.append(status)
        self.statuses[status] += 1

    def fail(self, kind: str) -> None:
        self.errors[kind] += 1
        self.error_times.append(now())

    def settled_ms(self) -> float:
        """Time from the phase's start to the end of its last failed request (0: none failed)."""
        ends = [
            start + latency / 1000
            for start, latency, code in zip(self.starts, self.latencies, self.codes, strict=True)
            if code != 200
        ]
        last = max([*ends, *self.error_times], default=self.begun)
        return max(0.0, (last - self.begun) * 1000)


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def now() -> float:
    """The clock of every timing here: uvloop's ``loop.time()`` only has millisecond resolution."""
    return time.perf_counter()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def summarise(tally: Tally, clock_offset: float, buckets: int = 8) -> dict[str, Any]:
    ordered = sorted(tally.latencies)
    seconds = tally.ended - tally.begun
    timeline = []
    width = seconds / buckets
    for index in range(buckets):
        low, high = tally.begun + index * width, tally.begun + (index + 1) * width
        inside = sorted(lat for s, lat in zip(tally.starts, tally.latencies, strict=True) if low <= s < high)
        timeline.append(
            {
                "t": round(index * width, 3),
                "requests": len(inside),
                "p50_ms": round(percentile(inside, 0.5), 3),
            }
        )
    first = [round(lat, 3) for _, lat in sorted(zip(tally.starts, tally.latencies, strict=True))[:10]]
    by_status = {}
    for code in sorted(tally.statuses):
        of_code = sorted(lat for lat, c in zip(tally.latencies, tally.codes, strict=True) if c == code)
        by_status[str(code)] = {
            "p50_ms": round(percentile(of_code, 0.50), 3),
            "p99_ms": round(percentile(of_code, 0.99), 3),
        }
    return {
        "name": tally.phase.name,
        "concurrency": tally.phase.concurrency,
        "seconds": round(seconds, 3),
        "requests": len(ordered),
        "rps": round(len(ordered) / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(percentile(ordered, 0.50), 3),
        "p90_ms": round(percentile(ordered, 0.90), 3),
        "p99_ms": round(percentile(ordered, 0.99), 3),
        "max_ms": round(ordered[-1], 3) if ordered else 0.0,
        "mean_ms": round(sum(ordered) / len(ordered), 3) if ordered else 0.0,
        "statuses": {str(code): count for code, count in sorted(tally.statuses.items())},
        "errors": dict(tally.errors),
        "latency_by_status": by_status,
        "settled_ms": round(tally.settled_ms(), 1),
        "bad_bodies": tally.bad_body,
        "first_ms": first,
        "timeline": timeline,
        "generator_cpu_cores": round((tally.cpu_ended - tally.cpu_begun) / seconds, 2)
        if seconds > 0
        else 0.0,
        # wall-clock times, comparable with the harness's samples of the server
        "wall_begun": tally.begun + clock_offset,
        "wall_ended": tally.ended + clock_offset,
    }


# --- the raw client ------------------------------------------------------------------------------------


class ProtocolError(Exception):
    pass


def encode_requests(url: str, texts: list[str]) -> list[bytes]:
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    requests = []
    for text in texts:
        body = json.dumps({"text": text}).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode("latin-1") + body)
    return requests


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """Status, whether the server closes the connection, and the body of one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split(b" ", 2)[1])
    except (IndexError, ValueError):
        raise ProtocolError(f"bad status line {lines[0][:80]!r}") from None
    length: int | None = None
    chunked = close = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = b"close" in value.lower()
    if chunked:
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
        return status, close, bytes(body)
    if length is None:
        return status, True, await reader.read()
    return status, close, await reader.readexactly(length)


async def raw_connection(
    host: str,
    port: int,
    requests: list[bytes],
    offset: int,
    tally: Tally,
    stop_at: float,
    timeout: float,
    measure_from: float,
) -> None:
    """One keep-alive connection sending requests back to back until ``stop_at`` (:func:`now` time)."""
    index = offset
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    checked = False
    try:
        while now() < stop_at:
            if writer is None:
                try:
                    async with asyncio.timeout(timeout):
                        reader, writer = await asyncio.open_connection(host, port)
                except (OSError, TimeoutError) as error:
                    tally.fail(f"connect: {type(error).__name__}")
                    await asyncio.sleep(0.05)
                    continue
            assert reader is not None
            request = requests[index % len(requests)]
            index += 1
            started = now()
            try:
                async with asyncio.timeout(timeout):
                    writer.write(request)
                    status, close, body = await read_response(reader)
            except (
                OSError,
                TimeoutError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                ProtocolError,
                ValueError,
            ) as error:
                if started >= measure_from:
                    tally.fail(type(error).__name__)
                writer.close()
                writer = reader = None
                continue
            finished = now()
            if started >= measure_from:
                tally.record(started, finished, status)
                if status == 200 and not checked:  # the service answers parses, not just 200s
                    checked = True
                    if b'"tags"' not in body:
                        tally.bad_body += 1
            if close:
                writer.close()
                writer = reader = None
    finally:
        if writer is not None:
            writer.close()


async def check_reachable(host: str, port: int, timeout: float) -> None:
    """Fail at once, before any clock starts, when nothing listens at ``host:port``."""
    async with asyncio.timeout(timeout):
        _, writer = await asyncio.open_connection(host, port)
    writer.close()


# --- the httpx client ----------------------------------------------------------------------------------


async def httpx_worker(
    client: Any, url: str, bodies: list[bytes], offset: int, tally: Tally, stop_at: float, measure_from: float
) -> None:
    import httpx

    index = offset
    checked = False
    headers = {"Content-Type": "application/json"}
    while now() < stop_at:
        body = bodies[index % len(bodies)]
        index += 1
        started = now()
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.TimeoutException as error:
            if started >= measure_from:
                tally.fail(type(error).__name__)
            continue
        except httpx.TransportError as error:
            if started >= measure_from:
                tally.fail(type(error).__name__)
            await asyncio.sleep(0.01)
            continue
        finished = now()
        if started >= measure_from:
            tally.record(started, finished, response.status_code)
            if response.status_code == 200 and not checked:
                checked = True
                if b'"tags"' not in response.content:
                    tally.bad_body += 1


# --- phases --------------------------------------------------------------------------------------------


async def run_phases(args: argparse.Namespace) -> dict[str, Any]:
    texts = [line.strip() for line in Path(args.texts).read_text().splitlines() if line.strip()]
    if not texts:
        raise SystemExit(f"no texts in {args.texts}")
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    clock_offset = time.time() - now()
    client: Any = None
    if args.client == "httpx":
        import httpx

        most = max(p.concurrency for p in args.phases)
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(args.timeout),
            limits=httpx.Limits(max_connections=most, max_keepalive_connections=most),
        )
        bodies = [json.dumps({"text": text}).encode() for text in texts]
    else:
        requests = encode_requests(args.url, texts)
        await check_reachable(host, port, args.timeout)

    tallies: list[Tally] = []
    background: list[asyncio.Task[None]] = []
    stride = max(1, len(texts) // max(p.concurrency for p in args.phases))
    for number, phase in enumerate(args.phases):
        tally = Tally(phase)
        tallies.append(tally)
        warmup = args.warmup if number == 0 else 0.0
        begun = now()
        measure_from = begun + warmup
        stop_at = measure_from + phase.seconds
        tasks = []
        for worker in range(phase.concurrency):
            offset = (worker * stride + number * 7) % len(texts)
            if client is not None:
                coroutine = httpx_worker(client, args.url, bodies, offset, tally, stop_at, measure_from)
            else:
                coroutine = raw_connection(
                    host, port, requests, offset, tally, stop_at, args.timeout, measure_from
                )
            tasks.append(asyncio.create_task(coroutine))
        background.extend(tasks)
        await asyncio.sleep(max(0.0, measure_from - now()))
        tally.begun, tally.cpu_begun = now(), cpu_seconds()
        await asyncio.sleep(max(0.0, stop_at - now()))
        tally.ended, tally.cpu_ended = now(), cpu_seconds()
    await asyncio.gather(*background)  # the last phase's in-flight requests (and any stragglers)
    if client is not None:
        await client.aclose()
    return {
        "url": args.url,
        "client": args.client,
        "event_loop": type(loop).__module__.split(".")[0],
        "texts": len(texts),
        "phases": [summarise(t, clock_offset) for t in tallies],
    }


# --- the stub server -----------------------------------------------------------------------------------


async def stub_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(STUB_BODY)).encode()
        + b"\r\n\r\n"
        + STUB_BODY
    )
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            writer.write(answer)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve_stub(port: int) -> None:
    server = await asyncio.start_server(stub_handler, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


# --- command line --------------------------------------------------------------------------------------


def run(coroutine: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load", help="run phases of closed-loop load against a URL")
    load.add_argument("--url", required=True, help="POST target, e.g. http://127.0.0.1:8000/v1/parse")
    load.add_argument("--texts", type=Path, required=True, help="one utterance a line, cycled")
    load.add_argument(
        "--phases", type=Phase.parse, nargs="+", required=True, help="NAME:CONCURRENCY:SECONDS, run in order"
    )
    load.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before the first phase")
    load.add_argument("--timeout", type=float, default=10.0, help="seconds before a request counts as failed")
    load.add_argument("--client", choices=("raw", "httpx"), default="raw")
    load.add_argument("--json-out", type=Path, help="write the results here (default: stdout)")
    stub = commands.add_parser("stub", help="a canned-answer HTTP server, for the generator's own ceiling")
    stub.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    if args.command == "stub":
        with contextlib.suppress(KeyboardInterrupt):
            run(serve_stub(args.port))
        return 0
    result = run(run_phases(args))
    text = json.dumps(result, indent=2)
    if args.json_out:
        args.json_out.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
