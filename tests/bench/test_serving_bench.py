"""``bench/serving.py``: the quick run end to end (real server, real load generator) and its report."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ATIS = ROOT.parent / "shared" / "datasets" / "atis"
SCRIPT = ROOT / "bench" / "serving.py"
BENCHMARKS = ROOT / "BENCHMARKS.md"
SCENARIOS = ("c1", "c32_batching", "c32_workers", "c32_no_batching", "overload", "recovery")
WORKERS = 2  # the script's default --workers


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    if not ATIS.is_dir():
        pytest.skip(f"ATIS not found at {ATIS}")
    out = tmp_path_factory.mktemp("service-bench")
    before = BENCHMARKS.read_bytes() if BENCHMARKS.exists() else None
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    after = BENCHMARKS.read_bytes() if BENCHMARKS.exists() else None
    assert after == before, "--quick without --write must leave BENCHMARKS.md alone"
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done, out


@pytest.fixture(scope="module")
def results(quick_run: tuple[subprocess.CompletedProcess[str], Path]) -> dict[str, Any]:
    _, out = quick_run
    loaded: dict[str, Any] = json.loads((out / "results.json").read_text())
    return loaded


@pytest.mark.slow
def test_every_scenario_served_requests(results: dict[str, Any]) -> None:
    scenarios = results["scenarios"]
    assert set(scenarios) == set(SCENARIOS)
    for name in SCENARIOS:
        scenario = scenarios[name]
        assert scenario["requests"] > 0, name
        assert scenario["rps"] > 0 and 0 < scenario["p50_ms"] <= scenario["p99_ms"] <= scenario["max_ms"], (
            name
        )
        assert scenario["bad_bodies"] == 0, name  # the 200s carried parses
        assert scenario["rss_peak_mib"] > 0, name  # the server's memory was sampled
    c1 = scenarios["c1"]
    assert not c1["errors"], c1["errors"]
    assert set(c1["statuses"]) == {"200"}
    assert scenarios["c32_batching"]["server"]["mean_batch"] > 1  # batching on batches
    assert scenarios["c32_no_batching"]["server"]["mean_batch"] == 1  # and off does not


@pytest.mark.slow
def test_workers_scenario_counts_every_process(results: dict[str, Any]) -> None:
    assert results["settings"]["workers"] == WORKERS
    workers = results["scenarios"]["c32_workers"]
    assert workers["workers"] == WORKERS and workers["requests"] > 0
    assert not workers["errors"], workers["errors"]
    assert set(workers["statuses"]) == {"200"}, workers["statuses"]
    assert workers["server"] is None  # /metrics answers for one worker: no batch figures
    # uvicorn's master and its workers (plus multiprocessing's resource tracker): all sampled
    assert workers["processes"] >= WORKERS + 1
    roles = [process["role"] for process in workers["per_process"]]
    assert roles[0] == "server" and roles.count("worker") == WORKERS, roles
    total = sum(process["rss_end_mib"] for process in workers["per_process"])
    assert workers["rss_end_mib"] == pytest.approx(total, abs=1)
    # each worker holds a model: more memory than the single-process server's whole tree
    assert workers["rss_end_mib"] > results["scenarios"]["c32_batching"]["rss_end_mib"]
    for name in ("c1", "c32_batching", "c32_no_batching", "overload", "recovery"):
        assert results["scenarios"][name]["processes"] == 1, name  # one worker: uvicorn runs in-process


@pytest.mark.slow
def test_overload_answers_only_200_or_503(results: dict[str, Any]) -> None:
    overload = results["scenarios"]["overload"]
    assert overload["concurrency"] > results["settings"]["overload_queue_limit"]
    assert not overload["errors"], overload["errors"]
    assert set(overload["statuses"]) <= {"200", "503"}, overload["statuses"]
    assert overload["statuses"].get("200", 0) > 0


@pytest.mark.slow
def test_predictor_and_generator_ceiling_are_reported(results: dict[str, Any]) -> None:
    predictor = results["predictor"]
    assert predictor["torch_threads"] >= 1 and 0 < predictor["p50_ms"] <= predictor["p99_ms"]
    assert predictor["batch_per_s"] > 0
    assert results["ceiling"]["requests"] > 0 and not results["ceiling"]["errors"]


@pytest.mark.slow
def test_report_names_every_target(quick_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    done, _ = quick_run
    assert "| c=32, batching off (`BATCH_MAX_SIZE=1`) |" in done.stdout
    assert "| in-process `Predictor.parse` (no HTTP) |" in done.stdout
    assert f"| c=32, {WORKERS} workers (`--workers {WORKERS}`) | 32 |" in done.stdout
    assert "each with its own copy of the model" in done.stdout
    for target in (
        "c=1 p50 <= 5 ms",
        "c=32 >= 1,000 req/s",
        f"c=32 with {WORKERS} workers >= 1,000 req/s",
        f"c=32 with {WORKERS} workers p99 <= 100 ms",
        f"c=32 with {WORKERS} workers 0 errors",
        "overload: memory flat",
        "overload: recovers at once",
    ):
        assert f"- {target}: **" in done.stdout or f"- {target}: shown" in done.stdout, target


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``bench/serving.py`` imported as a module (it is a script: bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_service", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_service", module)  # dataclasses look their module up
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script puts the repository first on sys.path
    monkeypatch.syspath_prepend(str(SCRIPT.parent))  # as when run as a script: bench/ is importable
    spec.loader.exec_module(module)
    return module


# The child: 64 MiB written (so resident) and some CPU work, then "ready" on the stdout it shares with
# its parent, then sleep. The parent: start it, say its pid, sleep.
CHILD = (
    'import time; data = b"x" * (64 << 20); sum(range(2_000_000)); print("ready", flush=True); time.sleep(60)'
)
PARENT = (
    "import subprocess, sys, time; "
    f"child = subprocess.Popen([sys.executable, '-c', {CHILD!r}]); "
    "print(child.pid, flush=True); time.sleep(60)"
)


def own_figures(pid: int) -> tuple[float, float]:
    """RSS (MiB) and CPU seconds of ``pid`` alone, read independently of the sampler."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return rss / 1024, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_sampler_covers_the_process_tree(bench: ModuleType) -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    child = 0
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert parent.stdout.readline().strip() == "ready"  # the child's line, through the same pipe
        assert bench.process_tree(parent.pid) == [parent.pid, child]
        parent_rss, parent_cpu = own_figures(parent.pid)
        child_rss, child_cpu = own_figures(child)
        sampler = bench.Sampler(parent.pid)
        sample = sampler.read()
        assert sample is not None
        assert set(sample.processes) == {parent.pid, child}
        assert child_rss > 64  # the child's 64 MiB: in the total, not in the parent's own figure
        assert sample.rss_mib == pytest.approx(parent_rss + child_rss, abs=4)
        assert sample.cpu_s >= parent_cpu + child_cpu and child_cpu > 0
        assert sampler.role(parent.pid) == "server"

        later = sampler.read()
        assert later is not None
        sampler.samples = [sample, later]
        window = sampler.between(sample.wall, later.wall)
        assert window["processes"] == 2 and len(window["per_process"]) == 2
        assert window["rss_end_mib"] == pytest.approx(later.rss_mib, abs=0.1)

        os.kill(child, signal.SIGKILL)  # a zombie until its parent reaps it: no memory, no error
        for _ in range(500):
            if "\nState:\tZ" in Path(f"/proc/{child}/status").read_text():
                break
            time.sleep(0.01)
        dead = sampler.read()
        assert dead is not None and dead.processes[child][0] == 0
        assert dead.rss_mib < sample.rss_mib - 64
    finally:
        if child:  # reaped or not, never left sleeping behind a failed assertion
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        parent.kill()
        parent.wait()
    assert bench.Sampler(parent.pid).read() is None  # the sampled process itself gone: no sample
    assert bench.process_tree(parent.pid) == [parent.pid]  # and walking a vanished tree does not fail


def test_section_replaces_only_its_own_block(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    benchmarks = tmp_path / "BENCHMARKS.md"
    accuracy = "## Accuracy\n\n<!-- accuracy:start -->\nkept\n<!-- accuracy:end -->\n"
    benchmarks.write_text("# Benchmarks\n\n" + accuracy)
    monkeypatch.setattr(bench, "BENCHMARKS", benchmarks)
    bench.write_benchmarks("first")
    bench.write_benchmarks("second")
    text = benchmarks.read_text()
    assert accuracy in text
    assert text.count(bench.HEADING) == 1 and text.count(bench.START) == 1
    assert "second" in text and "first" not in text
