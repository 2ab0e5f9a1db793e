"""Hostile traffic against the real server, while a legitimate client keeps asking: does it hold?

One server (``python -m slotfill.service``, started as ``bench/serving.py`` starts it) takes each
attack in turn. Throughout every scenario a legitimate client sends one ordinary request at a time
(c=1, keep-alive); its latency and statuses, the server's memory (VmRSS of the process tree,
against its idle figure) and what became of the attack's connections are the results:

* ``baseline``: no attack, the reference for the rest;
* ``big headers``: ``--header-senders`` clients each stream a 100 MB header until the server hangs
  up (bytes it took before closing);
* ``slowloris``: ``--slow-connections`` connections, a third idle, a third with half a request
  head, a third with a head and half a body, held open (how many the server closed, and when);
* ``costly batches``: ``--costly-senders`` clients send, again and again, the costliest valid
  batch (64 texts of 1,000 "!");
* ``overload``: ``--burst`` clients at once, each sending 8-text batches (half of them costly),
  then the second after the burst (statuses, ``Retry-After`` on every 503, recovery);
* ``taken port``: a second server on the port, with and without ``--workers 2``.

Targets (issue 22): legitimate p99 <= 50 ms under each attack, RSS within +100 MB of idle, every
attack connection closed within its deadline; overload answers only 200 and 503, ``Retry-After``
on every 503, normal within 1 s after the burst; a second server exits non-zero with one line.
On a shared machine compare each scenario with the baseline of the same run.

    python bench/attacks.py                 # models/default, built first if missing; --write
    python bench/attacks.py --quick         # a smoke run: tiny model, short scenarios, no write
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchmarks_md import command_line, replace_section  # noqa: E402
from serving import (  # noqa: E402
    BENCHMARKS,
    ROOT,
    TEXTS,
    clean_environment,
    ensure_default_model,
    ensure_tiny_model,
    machine,
    running_server,
)

logger = logging.getLogger("bench.attacks")
START, END = "<!-- attacks:start -->", "<!-- attacks:end -->"
HEADING = "## Hostile traffic (`bench/attacks.py`)"
COSTLY = ["!" * 1000] * 64
TARGET_P99_MS = 50.0
TARGET_RSS_MIB = 100.0


# --- the legitimate client ---------------------------------------------------------------------


def _request(path: str, body: bytes, port: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _read_response(sock: socket.socket, pending: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length: status, headers, and what followed it."""
    data = pending
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        rest += chunk
    return status, headers, rest[length:]


class Client:
    """Sends one ordinary request at a time on a keep-alive connection until stopped.

    It runs in a process of its own: in this one the attack generators' threads and event loop
    would hold the interpreter lock, and the legitimate client's latency would be partly ours.
    """

    def __init__(self, port: int, texts: list[str]) -> None:
        self.port = port
        self.texts = texts
        self.results: list[tuple[float, float, int]] = []  # (when, seconds, status); 0: failed
        context = multiprocessing.get_context("fork")
        self._stopping = context.Event()
        self._results, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=self._main, args=(sender,), daemon=True)

    def start(self) -> None:
        self._process.start()

    def stop(self) -> None:
        """Stop sending, and take the results over (``time.monotonic`` is the same clock here)."""
        self._stopping.set()
        if self._results.poll(30):
            self.results = self._results.recv()
        self._process.join(30)

    def _main(self, sender: Connection) -> None:
        results: list[tuple[float, float, int]] = []
        sock: socket.socket | None = None
        index = 0
        while not self._stopping.is_set():
            body = json.dumps({"text": self.texts[index % len(self.texts)]}).encode()
            index += 1
            began = time.monotonic()
            try:
                if sock is None:
                    sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                sock.sendall(_request("/v1/parse", body, self.port))
                status, headers, _ = _read_response(sock)
                if headers.get("connection", "").lower() == "close":
                    sock.close()
                    sock = None
            except OSError:
                status = 0
                if sock is not None:
                    sock.close()
                sock = None
            results.append((began, time.monotonic() - began, status))
        if sock is not None:
            sock.close()
        sender.send(results)

    def between(self, begun: float, ended: float) -> dict[str, Any]:
        inside = [(seconds, status) for when, seconds, status in self.results if begun <= when <= ended]
        latencies = sorted(seconds * 1000 for seconds, status in inside if status == 200)
        if not latencies:
            return {"requests": len(inside), "statuses": dict(Counter(s for _, s in inside))}
        return {
            "requests": len(inside),
            "p50_ms": round(statistics.median(latencies), 2),
            "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2),
            "statuses": {str(k): v for k, v in sorted(Counter(s for _, s in inside).items())},
        }


# --- the attacks ----------------------------------------------------------------------------------


def big_headers(port: int, senders: int, budget_bytes: int = 100_000_000) -> dict[str, Any]:
    """Each sender streams one endless header; returns the most bytes the server took and when it
    closed the connections."""
    outcomes: list[tuple[int, float, bool]] = []

    def send() -> None:
        sent, began, closed = 0, time.monotonic(), False
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
                chunk = b"a" * 65536
                while sent < budget_bytes:
                    sock.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                closed = True
        outcomes.append((sent, time.monotonic() - began, closed))

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return {
        "connections": senders,
        "closed_by_server": sum(closed for _, _, closed in outcomes),
        "most_bytes_sent_mib": round(max(sent for sent, _, _ in outcomes) / 2**20, 2),
        "slowest_close_s": round(max(seconds for _, seconds, _ in outcomes), 2),
    }


def slowloris(port: int, connections: int, hold_s: float) -> dict[str, Any]:
    """Open ``connections`` stalled connections and watch for the server to close them."""
    body_head = (
        b"POST /v1/parse HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"text": "fly'
    )
    stalls = [b"", b"POST /v1/parse HTTP/1.1\r\nHost: x\r\nContent-Ty", body_head]
    socks = []
    began = time.monotonic()
    for index in range(connections):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(stalls[index % 3])
        sock.setblocking(False)
        socks.append(sock)
    closed_at: dict[int, float] = {}
    deadline = began + hold_s
    while len(closed_at) < len(socks) and time.monotonic() < deadline:
        for index, sock in enumerate(socks):
            if index in closed_at:
                continue
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data or data.startswith(b"HTTP/1.1 408"):
                closed_at[index] = time.monotonic() - began
        time.sleep(0.05)
    for sock in socks:
        sock.close()
    return {
        "connections": connections,
        "closed_by_server": len(closed_at),
        "last_close_s": round(max(closed_at.values()), 2) if closed_at else None,
    }


def costly(port: int, senders: int, seconds: float) -> dict[str, Any]:
    body = json.dumps({"texts": COSTLY}).encode()
    statuses: Counter[int] = Counter()
    stop = time.monotonic() + seconds

    def send() -> None:
        while time.monotonic() < stop:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                    sock.sendall(_request("/v1/parse/batch", body, port))
                    statuses[_read_response(sock)[0]] += 1
            except OSError:
                statuses[0] += 1

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    return {"senders": senders, "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def overload(port: int, clients: int, seconds: float, texts: list[str]) -> dict[str, Any]:
    """``clients`` connections at once sending 8-text batches, half of them costly."""
    statuses: Counter[int] = Counter()
    missing_retry_after = 0

    async def one(index: int) -> None:
        nonlocal missing_retry_after
        batch = COSTLY[:8] if index % 2 else [texts[(index * 8 + i) % len(texts)] for i in range(8)]
        request = _request("/v1/parse/batch", json.dumps({"texts": batch}).encode(), port)
        stop = loop.time() + seconds
        while loop.time() < stop:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split()[1])
                names = {line.partition(":")[0].strip().lower() for line in lines[1:]}
                if status == 503 and "retry-after" not in names:
                    missing_retry_after += 1
                statuses[status] += 1
                writer.close()
            except (OSError, asyncio.IncompleteReadError, TimeoutError):
                statuses[0] += 1

    async def burst() -> None:
        await asyncio.gather(*(one(i) for i in range(clients)))

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(burst())
    finally:
        loop.close()
    return {
        "clients": clients,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "503_without_retry_after": missing_retry_after,
    }


def taken_port(model: Path, port: int) -> dict[str, Any]:
    """A second server on the port, with one process and with two workers."""
    found = {}
    for label, extra in (("one process", []), ("--workers 2", ["--workers", "2"])):
        command = [sys.executable, "-m", "slotfill.service", str(model), "--port", str(port), *extra]
        done = subprocess.run(
            command,
            check=False,
            cwd=ROOT,
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = [line for line in done.stderr.splitlines() if line.strip() and "error" in line.lower()]
        found[label] = {
            "exit": done.returncode,
            "error_lines": lines,
            "ready_printed": "ready" in done.stdout,
        }
    return found


# --- the run ----------------------------------------------------------------------------------------


def scenario(name: str, server: Any, idle_rss: float, attack: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one attack; the legitimate client's figures for its span are filled in afterwards."""
    logger.info("scenario: %s", name)
    began, wall_began = time.monotonic(), time.time()
    outcome = attack()
    ended = time.monotonic()
    memory = server.sampler.between(wall_began, time.time())  # the sampler stamps wall-clock time
    time.sleep(0.5)  # let the last attack connections go before the next scenario
    return {
        "scenario": name,
        "span": (began, ended),
        "rss_over_idle_mib": round(memory.get("rss_peak_mib", idle_rss) - idle_rss, 1),
        "attack": outcome,
    }


def pause(seconds: float) -> dict[str, Any]:
    """No attack: the legitimate client alone."""
    time.sleep(seconds)
    return {}


def run(args: argparse.Namespace) -> dict[str, Any]:
    texts = [line for line in TEXTS.read_text().splitlines() if line.strip()]
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    model = ensure_tiny_model(out / "tiny-model", (200, 50, 50)) if args.quick else ensure_default_model()
    seconds = args.seconds
    results: list[dict[str, Any]] = []
    # The quick run waits for stalled connections no longer than it has to.
    deadlines = {"header_timeout_s": "1", "body_timeout_s": "1"} if args.quick else {}
    with running_server(model, "cpu", out, "attacks", **deadlines) as server:
        time.sleep(1.0)
        idle = server.sampler.between(0, time.time()).get("rss_end_mib", 0.0)
        client = Client(server.port, texts)
        client.start()
        try:
            steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
                ("baseline", lambda: pause(seconds)),
                ("big headers", lambda: big_headers(server.port, args.header_senders)),
                ("slowloris", lambda: slowloris(server.port, args.slow_connections, args.slow_hold_s)),
                ("costly batches", lambda: costly(server.port, args.costly_senders, seconds)),
                ("overload", lambda: overload(server.port, args.burst, seconds, texts)),
                ("after the burst", lambda: pause(1.0)),
            ]
            for name, attack in steps:
                results.append(scenario(name, server, idle, attack))
        finally:
            client.stop()
        for row in results:
            row["legit"] = client.between(*row.pop("span"))
        port_check = taken_port(model, server.port)
    return {
        "model": str(model.relative_to(ROOT)) if model.is_relative_to(ROOT) else model.name,
        "idle_rss_mib": idle,
        "scenarios": results,
        "taken_port": port_check,
    }


def table(results: dict[str, Any]) -> str:
    rows = [
        "| scenario | legit requests | legit p50 / p99 (ms) | legit statuses | RSS over idle (MB) "
        "| the attack |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["scenarios"]:
        legit = row["legit"]
        latency = f"{legit.get('p50_ms', '-')} / {legit.get('p99_ms', '-')}"
        attack = ", ".join(f"{k}: {v}" for k, v in row["attack"].items()) or "-"
        statuses = ", ".join(f"{k}: {v}" for k, v in legit.get("statuses", {}).items())
        rows.append(
            f"| {row['scenario']} | {legit['requests']} | {latency} | {statuses} | "
            f"{row['rss_over_idle_mib']} | {attack} |"
        )
    for label, check in results["taken_port"].items():
        lines = check["error_lines"]
        rows.append(
            f"| second server on the port, {label} | - | - | - | - | exit {check['exit']}, "
            f"{len(lines)} error line(s){': `' + lines[0] + '`' if lines else ''}, "
            f"ready printed: {check['ready_printed']} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny model, short scenarios, no write")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "attacks")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the timed scenarios")
    parser.add_argument("--header-senders", type=int, default=8)
    parser.add_argument("--slow-connections", type=int, default=900)
    parser.add_argument("--slow-hold-s", type=float, default=20.0, help="how long to watch the stalled ones")
    parser.add_argument("--costly-senders", type=int, default=8)
    parser.add_argument("--burst", type=int, default=256)
    parser.add_argument("--write", action="store_true", help="put the table into BENCHMARKS.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    results = run(args)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    text = table(results)
    print(text)
    if args.write and not args.quick:
        block = "\n".join(
            [
                START,
                f"Command: `{command_line('bench/attacks.py', sys.argv[1:] if argv is None else argv)}`  ",
                f"Date: {datetime.now(UTC).date()}; machine: {machine()}; model: `{results['model']}`, "
                f"idle RSS {results['idle_rss_mib']} MB  ",
                "",
                text,
                END,
            ]
        )
        replace_section(BENCHMARKS, START, END, HEADING, block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
