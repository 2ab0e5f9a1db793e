"""REST service benchmark: the real server (``python -m slotfill.service``) under load from another process.

The server runs as a subprocess exactly as deployed (``SLOTFILL_LOG_LEVEL=warning``, otherwise its
defaults); the load comes from ``bench/serving_load.py`` in its own process, a closed-loop
HTTP/1.1 keep-alive client (raw asyncio streams on uvloop) sending ATIS test utterances, cycled.
Both share this machine's cores: every scenario reports the CPU each side used.

Scenarios (each a fixed duration after a short unmeasured warm-up):

* ``c1``: one request at a time (latency);
* ``c32 batching on`` / ``c32 batching off``: 32 in flight, default settings, then the server
  restarted with ``SLOTFILL_BATCH_MAX_SIZE=1`` (what micro-batching buys);
* ``c32 workers`` (between those two): the same load on a server started with ``--workers N``
  (``--workers``, default 2; 0 or 1 skips it): N uvicorn worker processes, each with its own copy
  of the model, batcher and metrics. It counts as ready once N distinct workers have answered
  (``/readyz`` alone is answered by whichever worker is up first). Its batch figures are not
  reported: /metrics answers for one worker only;
* ``overload``: far more in flight than the service can serve, with a small
  ``SLOTFILL_QUEUE_LIMIT`` so it must shed load (only 200s and 503s expected), preceded by a few
  seconds at c=32 (the warmed-up memory baseline) and immediately followed by ``recovery``, one
  request at a time again, in the same generator run on the same server.

The server's memory (VmRSS) and CPU time are sampled from /proc throughout (Linux only), summed over
the server process and all its descendants (with ``--workers`` the model copies live in the workers).

Beside them: the in-process ``Predictor.parse`` latency (same texts, same torch threads as the
service) so the HTTP framework's share is visible, and the generator's own ceiling against a
canned-answer stub server (so a figure limited by the generator would show). The results go to
``OUT/results.json``, the table to stdout, and (not with ``--quick`` unless ``--write``) into
BENCHMARKS.md between the ``service`` markers, with command, date and machine.

    python bench/serving.py                        # models/default, built first if missing
    python bench/serving.py --model models/atis    # any model folder
    python bench/serving.py --quick                # smoke test: tiny model, ~1 s scenarios, no write

Without ``--model`` the server runs the product's bundled default model, ``models/default`` (what a
deployment serves out of the box), built with ``slotfill build-default`` when missing or unusable.
Whatever the model, the load is the ATIS test utterances: ATIS-length travel requests, the same
texts for every model so that figures compare. A full run takes about 100 s (plus, the first time,
building the default model). ``--quick`` trains (once; the folder is reused) a default-architecture
model on 100 ATIS utterances for one epoch with one thread: it is as slow to run as a real one but
tags nonsense; its figures only show that the harness works.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(1, str(ROOT))  # the repository's packages, after bench/ (this script's folder)

ATIS = ROOT.parent / "shared" / "datasets" / "atis"
TEXTS = ATIS / "test" / "seq.in"
LOAD = HERE / "serving_load.py"
BENCHMARKS = ROOT / "BENCHMARKS.md"
DEFAULT_MODEL = ROOT / "models" / "default"  # the product's bundled model (`slotfill build-default`)
DEFAULT_DATA = ROOT / "data" / "travel"  # its corpus, generated there by build-default when missing
HEADING = "## REST service (`bench/serving.py`)"
START, END = "<!-- service:start -->", "<!-- service:end -->"
PAGE_KIB = 1024

logger = logging.getLogger("bench.service")


@dataclass(frozen=True)
class Plan:
    """Durations (seconds) and sizes of one run."""

    warmup: float
    seconds: float  # c1 and c32 scenarios
    pre_overload_seconds: float  # c=32 on the overload server first: its warmed-up memory is the baseline
    overload_seconds: float
    recovery_seconds: float
    ceiling_seconds: float
    predictor_texts: int | None  # None: all of them
    subset: tuple[int, int, int] | None  # train/dev/test ATIS utterances of the tiny --quick model


FULL = Plan(
    warmup=1.0,
    seconds=10.0,
    pre_overload_seconds=3.0,
    overload_seconds=10.0,
    recovery_seconds=5.0,
    ceiling_seconds=3.0,
    predictor_texts=None,
    subset=None,
)
QUICK = Plan(
    warmup=0.3,
    seconds=1.0,
    pre_overload_seconds=0.5,
    overload_seconds=1.5,
    recovery_seconds=1.0,
    ceiling_seconds=0.5,
    predictor_texts=200,
    subset=(100, 20, 20),
)

# the targets of the service issue
C1_P50_MS, C1_P99_MS = 5.0, 20.0
C32_RPS, C32_P99_MS = 1000.0, 100.0
# "memory flat": peak RSS under overload at most 10 % over the RSS after a few seconds at c=32 on the
# same server (a fresh server grows by some MiB over its first seconds of traffic, then stays flat)
MEMORY_GROWTH = 0.10
# "recovers at once": c=1 right after the overload has no failure later than RECOVERY_MS into it (the
# overload's own last requests drain first) and its p50 is within RECOVERY_FACTOR x the c1 p50 (+1 ms)
RECOVERY_MS = 1000.0
RECOVERY_FACTOR = 1.5


# --- helpers --------------------------------------------------------------------------------------------


def machine() -> str:
    """The machine line, as ``bench/accuracy.py`` writes it."""
    from accuracy import machine as accuracy_machine

    return accuracy_machine()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any SLOTFILL_* (the server refuses unknown ones), plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SLOTFILL_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.update({f"SLOTFILL_{name.upper()}": value for name, value in settings.items()})
    return env


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def service_settings_default(name: str) -> Any:
    from slotfill.service.settings import Settings

    return Settings.model_fields[name].default


# --- the model ------------------------------------------------------------------------------------------


def write_subset(out: Path, sizes: tuple[int, int, int]) -> Path:
    """The first utterances of each ATIS split, in the same layout (a tiny model trains in seconds)."""
    for split, size in zip(("train", "dev", "test"), sizes, strict=True):
        folder = out / split
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("seq.in", "seq.out", "label"):
            lines = (ATIS / split / name).read_text().splitlines(keepends=True)[:size]
            (folder / name).write_text("".join(lines))
    return out


def ensure_default_model() -> Path:
    """The product's bundled default model, ``models/default``: what a deployment serves out of the box.

    ``build-default`` returns at once when the folder already holds a complete model, and (re)builds
    it, corpus included, when it is missing or unusable: so it is simply always called.
    """
    command = [
        sys.executable,
        "-m",
        "slotfill",
        "build-default",
        "--out",
        str(DEFAULT_MODEL.relative_to(ROOT)),
        "--data",
        str(DEFAULT_DATA.relative_to(ROOT)),
        "--quiet",
        "--device",
        "cpu",
    ]
    logger.info("checking the default model: %s", " ".join(command[1:]))
    subprocess.run(command, check=True, cwd=ROOT, env=clean_environment())
    return DEFAULT_MODEL


def ensure_tiny_model(folder: Path, sizes: tuple[int, int, int]) -> Path:
    """``folder`` when it already holds a model, else train a tiny one there (``--quick``): the default
    architecture on the first ``sizes`` ATIS utterances for one epoch with one thread."""
    if (folder / "config.json").is_file():
        logger.info("reusing the model in %s", folder)
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(folder.name + f".training-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    data = write_subset(staging.with_name(staging.name + "-data"), sizes)
    command = [
        sys.executable,
        "-m",
        "slotfill",
        "train",
        "--out",
        str(staging),
        "--quiet",
        "--device",
        "cpu",
        "--data",
        str(data),
        "--epochs",
        "1",
    ]
    logger.info("training %s: %s", folder, " ".join(command[1:]))
    started = time.perf_counter()
    env = clean_environment()
    env.update({name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")})  # no OpenMP spinning
    try:
        subprocess.run(command, check=True, cwd=ROOT, env=env)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(data, ignore_errors=True)
    if (folder / "config.json").is_file():  # another run trained it meanwhile
        shutil.rmtree(staging, ignore_errors=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    logger.info("trained in %.0f s", time.perf_counter() - started)
    return folder


# --- in-process Predictor latency (its own interpreter) ------------------------------------------------


def predictor_worker(model: Path, texts: list[str], device: str, out: Path) -> int:
    import torch

    from slotfill.model.predictor import Predictor

    threads = int(service_settings_default("torch_threads"))
    torch.set_num_threads(threads)
    predictor = Predictor.load(model, device)
    for text in texts[:20]:
        predictor.parse(text)
    single = []
    for text in texts:
        started = time.perf_counter()
        predictor.parse(text)
        single.append((time.perf_counter() - started) * 1000)
    batch_size = int(service_settings_default("batch_max_size"))
    batches = [texts[i : i + batch_size] for i in range(0, len(texts) - batch_size + 1, batch_size)]
    predictor.parse_batch(batches[0])
    batch_ms = []
    for batch in batches:
        started = time.perf_counter()
        predictor.parse_batch(batch)
        batch_ms.append((time.perf_counter() - started) * 1000)
    ordered = sorted(single)
    result = {
        "torch_threads": threads,
        "texts": len(texts),
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, round(0.99 * len(ordered)))], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
        "single_per_s": round(1000 / statistics.fmean(ordered), 1),
        "batch_size": batch_size,
        "batch_p50_ms": round(statistics.median(batch_ms), 3),
        "batch_per_s": round(batch_size * len(batch_ms) * 1000 / sum(batch_ms), 1),
    }
    out.write_text(json.dumps(result, indent=2))
    return 0


def measure_predictor(model: Path, texts_file: Path, device: str, out: Path) -> dict[str, Any]:
    result_path = out / "predictor.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "predictor",
        "--model",
        str(model),
        "--texts-file",
        str(texts_file),
        "--device",
        device,
        "--out",
        str(out),
    ]
    subprocess.run(command, check=True, cwd=ROOT, env=clean_environment())
    result: dict[str, Any] = json.loads(result_path.read_text())
    return result


# --- processes under test ------------------------------------------------------------------------------


class Sample(NamedTuple):
    """One reading of a process tree: totals, and each process's own figures (pid -> (RSS MiB, CPU s))."""

    wall: float
    rss_mib: float
    cpu_s: float
    processes: dict[int, tuple[float, float]]


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants (parents first), from ``/proc/PID/task/TID/children``.

    A child is listed under the thread that forked it, hence every task's file. A process that exits
    while it is walked simply drops out (its files vanish): the tree is a snapshot, not a promise.
    """
    found: list[int] = []
    pending, seen = [root], set()
    while pending:
        pid = pending.pop(0)
        if pid in seen:  # pids are reused: never loop
            continue
        seen.add(pid)
        found.append(pid)
        for children in sorted(Path(f"/proc/{pid}/task").glob("*/children")):
            try:
                pending.extend(int(child) for child in children.read_text().split())
            except (OSError, ValueError):
                continue
    return found


class Sampler:
    """Samples the VmRSS (MiB) and CPU time (s) of a process *and its descendants* every ``interval``.

    With ``--workers N`` uvicorn's master only supervises: the model copies live in the worker
    processes it spawns, so reading the master alone would miss nearly all the memory and CPU. The
    tree is walked again at every sample, so workers that start (or are restarted) later are counted.
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[Sample] = []
        self.roles: dict[int, str] = {}  # pid -> what it is, read once from its command line
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._ticks = os.sysconf("SC_CLK_TCK")

    def read_process(self, pid: int) -> tuple[float, float] | None:
        """One process's RSS (MiB; 0 for a zombie) and CPU seconds, or None when it is gone."""
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        fields = stat.rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / self._ticks  # utime, stime
        return rss / PAGE_KIB, cpu

    def role(self, pid: int) -> str:
        """``server`` for the sampled process, else what its command line says (for the report)."""
        if pid not in self.roles:
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                argv = []
            text = b" ".join(argv).decode(errors="replace")
            if pid == self.pid:
                self.roles[pid] = "server"
            elif "spawn_main" in text:  # multiprocessing's spawn: uvicorn's workers
                self.roles[pid] = "worker"
            elif "resource_tracker" in text:
                self.roles[pid] = "resource tracker"
            else:
                self.roles[pid] = Path(argv[0].decode(errors="replace")).name if argv and argv[0] else "?"
        return self.roles[pid]

    def read(self) -> Sample | None:
        """The tree's totals now, or None once the sampled process itself is gone."""
        processes: dict[int, tuple[float, float]] = {}
        for pid in process_tree(self.pid):
            figures = self.read_process(pid)
            if figures is not None:
                processes[pid] = figures
                self.role(pid)
        if self.pid not in processes:
            return None
        return Sample(
            time.time(),
            sum(rss for rss, _ in processes.values()),
            sum(cpu for _, cpu in processes.values()),
            processes,
        )

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            sample = self.read()
            if sample is not None:
                self.samples.append(sample)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def between(self, begun: float, ended: float) -> dict[str, Any]:
        """RSS before/peak/end (and a few samples between), CPU cores used over ``[begun, ended]``,
        the most processes seen at once and, per process at the end, its role, RSS and CPU cores.

        CPU is summed per process (end minus start, or its whole time for one born meanwhile), so a
        process that exits mid-way takes only its own time with it instead of making the total go
        backwards.
        """
        inside = [s for s in self.samples if begun <= s.wall <= ended]
        before = [s for s in self.samples if s.wall < begun]
        if not inside:
            return {}
        first = before[-1] if before else inside[0]
        last = inside[-1]
        span = last.wall - first.wall

        def cores(pid: int) -> float:
            used = last.processes[pid][1] - first.processes.get(pid, (0.0, 0.0))[1]
            return used / span if span > 0 else 0.0

        step = max(1, len(inside) // 8)
        return {
            "rss_timeline_mib": [round(sample.rss_mib, 1) for sample in inside[::step]]
            + [round(last.rss_mib, 1)],
            "rss_start_mib": round(first.rss_mib, 1),
            "rss_peak_mib": round(max(s.rss_mib for s in inside), 1),
            "rss_end_mib": round(last.rss_mib, 1),
            "server_cpu_cores": round(sum(cores(pid) for pid in last.processes), 2),
            "processes": max(len(s.processes) for s in inside),
            "per_process": [
                {"role": self.role(pid), "rss_end_mib": round(rss, 1), "cpu_cores": round(cores(pid), 2)}
                for pid, (rss, _) in last.processes.items()
            ],
        }


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    sampler: Sampler
    workers: int = 1
    ready_s: float = 0.0  # from start to ready
    identity_polls: int = 0  # /metrics connections it took to hear from every worker (several only)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def metrics(self) -> dict[str, float]:
        """The few Prometheus series the report uses (unlabelled, or ``name{label}`` as written).

        With several workers they are the numbers of whichever worker took the connection.
        """
        _, body = get(self.url + "/metrics")
        values = {}
        for line in body.decode().splitlines():
            if line.startswith(
                ("slotfill_batch_size_", "slotfill_rejected_total", "slotfill_model_inference")
            ):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def worker_identity(self) -> float | None:
        """Which worker answered this connection: when its metrics registry was created.

        Every worker builds its own registry at start-up (``slotfill_batch_size_created`` is its
        creation time, to the microsecond), and uvicorn lets a worker accept connections only once its
        lifespan start-up (model loaded and warmed up) is done: so N distinct values mean N workers
        ready. The service's per-worker ``ready on`` log line would say the same, but it is an info
        line and the benchmark runs the server at ``SLOTFILL_LOG_LEVEL=warning``.
        """
        return self.metrics().get("slotfill_batch_size_created")


def tree_snapshot(pid: int) -> dict[int, bytes]:
    """The descendants of ``pid`` with their command lines (to recognise them after ``pid`` is gone)."""
    snapshot = {}
    for child in process_tree(pid)[1:]:
        try:
            snapshot[child] = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
    return snapshot


def kill_leftovers(snapshot: dict[int, bytes]) -> None:
    """SIGKILL the processes of ``snapshot`` still running the same command (a killed uvicorn master
    leaves its workers orphaned; a pid reused meanwhile runs something else and is left alone)."""
    for pid, cmdline in snapshot.items():
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes() == cmdline:
                os.kill(pid, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue


@contextmanager
def running_server(
    model: Path, device: str, out: Path, name: str, *, workers: int = 1, **settings: str
) -> Iterator[Server]:
    """``python -m slotfill.service MODEL`` on a free port with ``settings`` and ``--workers workers``; yields
    once it is ready: ``/readyz`` says 200 and, with several workers, every one of them answers
    (``/readyz`` is answered by whichever worker is up first, and a load started then would pile
    its connections onto that one)."""
    port = free_port()
    log = out / f"server-{name}.log"
    env = clean_environment(log_level="warning", **settings)
    command = [sys.executable, "-m", "slotfill.service", str(model), "--port", str(port), "--device", device]
    if workers > 1:
        command += ["--workers", str(workers)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    server = Server(process, port, log, Sampler(process.pid), workers)
    seen: set[float] = set()
    try:
        started = time.perf_counter()
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited ({process.returncode}): {log.read_text()[-2000:]}")
            try:
                if workers > 1 and len(seen) < workers:
                    server.identity_polls += 1
                    identity = server.worker_identity()  # a fresh connection each time (urllib)
                    if identity is not None:
                        seen.add(identity)
                elif get(server.url + "/readyz", timeout=1.0)[0] == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() - started > 180:
                raise RuntimeError(
                    f"the server was not ready within 180 s ({len(seen)} of {workers} workers answered); "
                    f"see {log}"
                )
            time.sleep(0.05)
        server.ready_s = time.perf_counter() - started
        logger.info(
            "server %s ready on port %d in %.1f s (%d processes%s)",
            name,
            port,
            server.ready_s,
            len(process_tree(process.pid)),
            f"; every worker answered after {server.identity_polls} /metrics polls" if workers > 1 else "",
        )
        server.sampler.start()
        yield server
    finally:
        if server.sampler._thread.is_alive():
            server.sampler.stop()
        if process.poll() is None:
            leftovers = tree_snapshot(process.pid)
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                kill_leftovers(leftovers)


@contextmanager
def running_stub() -> Iterator[int]:
    port = free_port()
    command = [sys.executable, str(LOAD), "stub", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=clean_environment())
    try:
        deadline = time.perf_counter() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.perf_counter() > deadline:
                    raise RuntimeError("the stub server did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait()


def generate(
    url: str, texts_file: Path, phases: list[str], warmup: float, out: Path, name: str, client: str = "raw"
) -> list[dict[str, Any]]:
    """Run ``serving_load.py`` with ``phases`` in its own process; its per-phase results."""
    result_path = out / f"load-{name}.json"
    command = [
        sys.executable,
        str(LOAD),
        "load",
        "--url",
        url,
        "--texts",
        str(texts_file),
        "--warmup",
        str(warmup),
        "--client",
        client,
        "--json-out",
        str(result_path),
        "--phases",
        *phases,
    ]
    subprocess.run(command, check=True, cwd=ROOT, env=clean_environment())
    phases_out: list[dict[str, Any]] = json.loads(result_path.read_text())["phases"]
    return phases_out


def scenario(
    server: Server, texts_file: Path, out: Path, name: str, phases: list[str], warmup: float
) -> list[dict[str, Any]]:
    """Load ``server`` and add to each phase what the server saw: RSS, CPU, batches, rejections.

    With several workers there are no batch figures (``server`` is None): /metrics answers for
    whichever worker takes the connection, so a before/after difference would mix two processes.
    """
    one_process = server.workers == 1
    before = server.metrics() if one_process else {}
    results = generate(server.url + "/v1/parse", texts_file, phases, warmup, out, name)
    after = server.metrics() if one_process else {}
    time.sleep(2 * server.sampler.interval)  # a sample after the end
    for result in results:
        result.update(server.sampler.between(result["wall_begun"], result["wall_ended"]))
        result["workers"] = server.workers
        result["server_ready_s"] = round(server.ready_s, 1)
        if server.workers > 1:
            result["identity_polls"] = server.identity_polls
    count = after.get("slotfill_batch_size_count", 0) - before.get("slotfill_batch_size_count", 0)
    texts = after.get("slotfill_batch_size_sum", 0) - before.get("slotfill_batch_size_sum", 0)
    rejected = after.get('slotfill_rejected_total{reason="queue_full"}', 0) - before.get(
        'slotfill_rejected_total{reason="queue_full"}', 0
    )
    server_side = {  # over the whole generator run (warm-up and every phase)
        "model_calls": int(count),
        "mean_batch": round(texts / count, 2) if count else 0.0,
        "rejected_queue_full": int(rejected),
    }
    for result in results:
        result["server"] = server_side if one_process else None
    for result in results:
        logger.info(
            "%-16s %6d req  %7.1f req/s  p50 %.2f  p99 %.2f  max %.1f ms  %s  errors %s",
            result["name"],
            result["requests"],
            result["rps"],
            result["p50_ms"],
            result["p99_ms"],
            result["max_ms"],
            result["statuses"],
            result["errors"] or 0,
        )
    return results


# --- the run -------------------------------------------------------------------------------------------


def run(args: argparse.Namespace, plan: Plan) -> dict[str, Any]:
    out: Path = args.out
    if args.build == "default":
        model = ensure_default_model()
    elif args.build == "tiny":
        assert plan.subset is not None
        model = ensure_tiny_model(args.model, plan.subset)
    else:
        model = args.model
    lines = [line.strip() for line in TEXTS.read_text().splitlines() if line.strip()]
    texts_file = out / "texts.txt"
    texts_file.write_text("\n".join(lines) + "\n")
    predictor_file = out / "predictor-texts.txt"
    predictor_file.write_text("\n".join(lines[: plan.predictor_texts]) + "\n")
    results: dict[str, Any] = {
        # Relative to the repository where possible: BENCHMARKS.md must not name this machine's paths.
        "model": os.path.relpath(Path(model).resolve(), ROOT)
        if Path(model).resolve().is_relative_to(ROOT)
        else Path(model).name,
        "device": args.device,
        "quick": args.quick,
        "plan": plan.__dict__,
        "texts": len(lines),
        "machine": machine(),
        "date": f"{datetime.now(UTC):%Y-%m-%d}",
        "settings": {
            "torch_threads": service_settings_default("torch_threads"),
            "batch_max_size": service_settings_default("batch_max_size"),
            "batch_wait_ms": service_settings_default("batch_wait_ms"),
            "queue_limit": service_settings_default("queue_limit"),
            "overload_queue_limit": args.overload_queue_limit,
            "workers": args.workers,
        },
    }

    logger.info("in-process Predictor latency")
    results["predictor"] = measure_predictor(model, predictor_file, args.device, out)

    logger.info("generator ceiling against a canned-answer stub")
    with running_stub() as port:
        results["ceiling"] = generate(
            f"http://127.0.0.1:{port}/v1/parse",
            texts_file,
            [f"stub:{args.concurrency}:{plan.ceiling_seconds}"],
            plan.warmup / 2,
            out,
            "ceiling",
        )[0]

    scenarios: dict[str, dict[str, Any]] = {}
    with running_server(model, args.device, out, "default") as server:
        (scenarios["c1"],) = scenario(server, texts_file, out, "c1", [f"c1:1:{plan.seconds}"], plan.warmup)
        (scenarios["c32_batching"],) = scenario(
            server, texts_file, out, "c32-batching", [f"c32:{args.concurrency}:{plan.seconds}"], plan.warmup
        )
    if args.workers > 1:  # the same load on N processes, each with its own model copy
        with running_server(model, args.device, out, "workers", workers=args.workers) as server:
            (scenarios["c32_workers"],) = scenario(
                server,
                texts_file,
                out,
                "c32-workers",
                [f"c32:{args.concurrency}:{plan.seconds}"],
                plan.warmup,
            )
    with running_server(model, args.device, out, "nobatch", batch_max_size="1") as server:
        (scenarios["c32_no_batching"],) = scenario(
            server, texts_file, out, "c32-nobatch", [f"c32:{args.concurrency}:{plan.seconds}"], plan.warmup
        )
    queue = str(args.overload_queue_limit)
    batch_texts = str(min(args.overload_queue_limit, 64))
    with running_server(
        model, args.device, out, "overload", queue_limit=queue, max_batch_texts=batch_texts
    ) as server:
        time.sleep(0.3)
        idle = server.sampler.samples[-1].rss_mib if server.sampler.samples else 0.0
        warm, overload, recovery = scenario(
            server,
            texts_file,
            out,
            "overload",
            [
                f"warm:{args.concurrency}:{plan.pre_overload_seconds}",
                f"overload:{args.overload_concurrency}:{plan.overload_seconds}",
                f"recovery:1:{plan.recovery_seconds}",
            ],
            plan.warmup,
        )
        overload["rss_idle_mib"] = round(idle, 1)
        overload["rss_before_mib"] = warm.get("rss_end_mib", 0.0)
        results["pre_overload"] = warm
        scenarios["overload"], scenarios["recovery"] = overload, recovery
    results["scenarios"] = scenarios
    results["targets"] = verdicts(results)
    return results


# --- the report -----------------------------------------------------------------------------------------


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One line per target of the service issue: met or not, with the figure."""
    s = results["scenarios"]
    c1, on, off = s["c1"], s["c32_batching"], s["c32_no_batching"]
    overload, recovery = s["overload"], s["recovery"]
    lines = []

    def line(target: str, met: bool | None, figure: str) -> None:
        lines.append({"target": target, "met": met, "figure": figure})

    def failures(r: dict[str, Any]) -> int:
        failed: int = sum(r["errors"].values()) + sum(n for code, n in r["statuses"].items() if code != "200")
        return failed

    line("c=1 p50 <= 5 ms", c1["p50_ms"] <= C1_P50_MS, f"{c1['p50_ms']:.2f} ms")
    line("c=1 p99 <= 20 ms", c1["p99_ms"] <= C1_P99_MS, f"{c1['p99_ms']:.2f} ms")
    line("c=32 >= 1,000 req/s", on["rps"] >= C32_RPS, f"{on['rps']:,.0f} req/s")
    line("c=32 0 errors", failures(on) == 0, f"{failures(on)} failed of {on['requests']:,}")
    line("c=32 p99 <= 100 ms", on["p99_ms"] <= C32_P99_MS, f"{on['p99_ms']:.1f} ms")
    gain = on["rps"] / off["rps"] if off["rps"] else 0.0
    line(
        "micro-batching (c=32, on vs off)",
        None,
        f"{on['rps']:,.0f} vs {off['rps']:,.0f} req/s ({gain:.2f}×), p99 {on['p99_ms']:.1f} vs "
        f"{off['p99_ms']:.1f} ms, mean batch {on['server']['mean_batch']} vs {off['server']['mean_batch']}",
    )
    workers = s.get("c32_workers")
    if workers is not None:
        n = workers["workers"]
        line(
            f"c=32 with {n} workers >= 1,000 req/s", workers["rps"] >= C32_RPS, f"{workers['rps']:,.0f} req/s"
        )
        line(
            f"c=32 with {n} workers p99 <= 100 ms",
            workers["p99_ms"] <= C32_P99_MS,
            f"{workers['p99_ms']:.1f} ms",
        )
        line(
            f"c=32 with {n} workers 0 errors",
            failures(workers) == 0,
            f"{failures(workers)} failed of {workers['requests']:,}",
        )
    codes = set(overload["statuses"])
    only = codes <= {"200", "503"} and not overload["errors"]
    line(
        "overload: only 200s and 503s",
        only,
        ", ".join(f"{n:,}× {code}" for code, n in overload["statuses"].items())
        + (f", errors {overload['errors']}" if overload["errors"] else ", no connection errors"),
    )
    idle, start = overload.get("rss_idle_mib", 0.0), overload.get("rss_before_mib", 0.0)
    peak = overload.get("rss_peak_mib", 0.0)
    after = recovery.get("rss_end_mib", 0.0)
    line(
        "overload: memory flat",
        bool(start) and peak <= start * (1 + MEMORY_GROWTH),
        f"RSS {start:.0f} MiB before (after {results['plan']['pre_overload_seconds']:g} s at c=32; "
        f"{idle:.0f} MiB idle), peak {peak:.0f} MiB during, {after:.0f} MiB after recovery",
    )
    bound = c1["p50_ms"] * RECOVERY_FACTOR + 1.0
    settled = recovery["settled_ms"]
    line(
        "overload: recovers at once",
        recovery["requests"] > 0
        and settled <= RECOVERY_MS
        and recovery["p50_ms"] <= bound
        and not recovery["errors"],
        "c=1 right after the overload: "
        + (f"last non-200 answered {settled:.0f} ms in" if settled else "every answer a 200")
        + f", p50 {recovery['p50_ms']:.2f} ms over {recovery['seconds']:g} s "
        f"(c=1 before: {c1['p50_ms']:.2f} ms), first request {(recovery['first_ms'] or [0.0])[0]:.1f} ms",
    )
    return lines


def fmt_codes(result: dict[str, Any]) -> str:
    codes = ", ".join(f"{code}: {n:,}" for code, n in result["statuses"].items()) or "–"
    errors = sum(result["errors"].values())
    return codes + (f"; errors: {errors}" if errors else "")


def table(results: dict[str, Any]) -> str:
    p = results["predictor"]
    workers = results["settings"]["workers"]
    rows = [
        "| scenario | concurrency | requests | req/s | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | statuses "
        "| server RSS (MiB) start / peak / end | CPU cores server / generator |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    names = {
        "c1": "c=1",
        "c32_batching": "c=32, batching on (default)",
        "c32_workers": f"c=32, {workers} workers (`--workers {workers}`)",
        "c32_no_batching": "c=32, batching off (`BATCH_MAX_SIZE=1`)",
        "overload": f"overload (`QUEUE_LIMIT={results['settings']['overload_queue_limit']}`)",
        "recovery": "recovery: c=1 right after",
    }
    for key, label in names.items():
        if key not in results["scenarios"]:  # c32_workers with --workers 1
            continue
        r = results["scenarios"][key]
        rss = " / ".join(f"{r.get(f'rss_{at}_mib', 0):.0f}" for at in ("start", "peak", "end"))
        cpu = f"{r.get('server_cpu_cores', 0):.2f} / {r['generator_cpu_cores']:.2f}"
        rows.append(
            f"| {label} | {r['concurrency']} | {r['requests']:,} | {r['rps']:,.0f} | {r['p50_ms']:.2f} "
            f"| {r['p90_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.1f} | {fmt_codes(r)} | {rss} | {cpu} |"
        )
    rows.append(
        f"| in-process `Predictor.parse` (no HTTP) | 1 | {p['texts']:,} | {p['single_per_s']:,.0f} "
        f"| {p['p50_ms']:.2f} | – | {p['p99_ms']:.2f} | – | – | – | – |"
    )
    return "\n".join(rows)


def report(results: dict[str, Any], argv: list[str]) -> str:
    p, c1 = results["predictor"], results["scenarios"]["c1"]
    ceiling = results["ceiling"]
    from benchmarks_md import command_line

    on = results["scenarios"]["c32_batching"]
    lines = [
        f"Command: `{command_line('bench/serving.py', argv)}`  ",
        f"Date: {results['date']}; machine: {results['machine']}; device: {results['device']}; "
        f"model: `{results['model']}`  ",
        f"Server: `python -m slotfill.service MODEL` (1 process unless the row says workers, "
        "`SLOTFILL_LOG_LEVEL=warning`, torch threads "
        f"{results['settings']['torch_threads']}, batch max {results['settings']['batch_max_size']}, "
        f"wait {results['settings']['batch_wait_ms']} ms); load: `bench/serving_load.py` in its own process, "
        "closed loop (each of N keep-alive connections sends its next request when the last answer is in), "
        f"`POST /v1/parse` with the {results['texts']} ATIS test utterances cycled; "
        f"{results['plan']['seconds']:g} s per scenario after {results['plan']['warmup']:g} s of warm-up. "
        "Server and generator share the machine's cores (CPU columns: cores each used); the generator "
        f"alone reaches {ceiling['rps']:,.0f} req/s at c={ceiling['concurrency']} against a canned-answer "
        "stub server, so it is not what limits the figures below.",
        "",
        table(results),
        "",
        f"In-process `Predictor` (same texts, torch threads {p['torch_threads']}): `parse` p50 "
        f"{p['p50_ms']:.2f} ms, p99 {p['p99_ms']:.2f} ms; `parse_batch` of {p['batch_size']}: "
        f"{p['batch_p50_ms']:.1f} ms p50, {p['batch_per_s']:,.0f} texts/s. Over HTTP at c=1 the p50 is "
        f"{c1['p50_ms']:.2f} ms: {c1['p50_ms'] - p['p50_ms']:.2f} ms of framework, JSON and loopback on "
        f"top of the model. At c=32 the server made {on['server']['model_calls']:,} model calls "
        f"(mean batch {on['server']['mean_batch']}). {workers_line(results)}{overload_line(results)}",
        "",
        "Targets (service issue):",
        "",
    ]
    for verdict in results["targets"]:
        status = {True: "**met**", False: "**not met**", None: "shown"}[verdict["met"]]
        lines.append(f"- {verdict['target']}: {status} ({verdict['figure']})")
    return "\n".join(lines)


def workers_line(results: dict[str, Any]) -> str:
    """What the multi-worker row is: N processes, N model copies, and where its memory and CPU went."""
    r = results["scenarios"].get("c32_workers")
    if r is None:
        return ""
    roles = {"server": "uvicorn's master"}
    parts = [
        f"{roles.get(process['role'], process['role'])} {process['rss_end_mib']:.0f} MiB, "
        f"{process['cpu_cores']:.2f} cores"
        for process in r.get("per_process", [])
    ]
    return (
        f"With `--workers {r['workers']}` uvicorn's master spawns {r['workers']} worker processes, each "
        "with its own copy of the model (and its own batcher and metrics: /metrics answers for one "
        "worker, so no batch figures there); that row's RSS and CPU sum the whole process tree "
        f"({r.get('processes', 0)} processes at most; at the end: {'; '.join(parts)}). "
    )


def overload_line(results: dict[str, Any]) -> str:
    overload = results["scenarios"]["overload"]
    parts = [
        f"{code}s p50 {figures['p50_ms']:.1f} ms / p99 {figures['p99_ms']:.1f} ms"
        for code, figures in overload["latency_by_status"].items()
    ]
    rejected = overload["server"]["rejected_queue_full"]
    return (
        f"Under overload (c={overload['concurrency']}) the answers took: {'; '.join(parts)}; "
        f"the server counted {rejected:,} texts refused with a full queue over that server's run."
    )


def write_benchmarks(text: str) -> None:
    block = f"{START}\n{text}\n{END}"
    from benchmarks_md import replace_section

    replace_section(BENCHMARKS, START, END, HEADING, block)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="model folder (default: models/default, the bundled default model, built with "
        "`slotfill build-default` if missing or unusable; with --quick runs/service-bench-quick/model, "
        "a tiny ATIS one trained there once)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: tiny model, ~1 s scenarios")
    parser.add_argument("--out", type=Path, help="results and logs (default runs/service-bench[-quick])")
    parser.add_argument(
        "--write",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write BENCHMARKS.md (default: yes, except with --quick)",
    )
    parser.add_argument(
        "--device", default="cpu", help="the server's and the Predictor's device (default cpu)"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="the throughput scenarios' (default 32)")
    parser.add_argument("--overload-concurrency", type=int, default=256)
    parser.add_argument(
        "--overload-queue-limit",
        type=int,
        default=64,
        help="SLOTFILL_QUEUE_LIMIT under overload (default 64)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker processes of the multi-worker c=32 scenario (`--workers N`; default 2, 0 or 1: skip it)",
    )
    parser.add_argument("--seconds", type=float, help="override the seconds of each c1/c32 scenario")
    parser.add_argument("--worker", choices=("predictor",), help=argparse.SUPPRESS)
    parser.add_argument("--texts-file", type=Path, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.worker == "predictor":
        texts = [line for line in args.texts_file.read_text().splitlines() if line]
        return predictor_worker(args.model, texts, args.device, args.out / "predictor.json")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not TEXTS.is_file():
        parser.error(f"ATIS not found at {ATIS}")
    if args.workers < 0:
        parser.error("--workers must be >= 0 (0 or 1: no multi-worker scenario)")
    if args.overload_queue_limit < 32:
        parser.error("--overload-queue-limit must be >= 32 (the service's batch max size)")
    if args.model is not None and not (args.model / "config.json").is_file():
        parser.error(f"no model folder at {args.model} (config.json missing)")
    plan = QUICK if args.quick else FULL
    if args.seconds:
        plan = Plan(**{**plan.__dict__, "seconds": args.seconds})
    default_run = ROOT / "runs" / ("service-bench-quick" if args.quick else "service-bench")
    args.build = None if args.model is not None else "tiny" if args.quick else "default"
    args.model = (args.model or (default_run / "model" if args.quick else DEFAULT_MODEL)).resolve()
    args.out = (args.out or default_run).resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    write = (not args.quick) if args.write is None else args.write
    started = time.perf_counter()
    results = run(args, plan)
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    text = report(results, argv)
    if write:
        write_benchmarks(text)
    print(text)
    logger.info("done in %.0f s; results in %s", results["wall_seconds"], args.out / "results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
