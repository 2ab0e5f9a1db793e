"""``bench/serving.py``: the quick run end to end (real server, real load generator) and its report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ATIS = ROOT.parent / "shared" / "datasets" / "atis"
SCRIPT = ROOT / "bench" / "serving.py"
BENCHMARKS = ROOT / "BENCHMARKS.md"
SCENARIOS = ("c1", "c32_batching", "c32_no_batching", "overload", "recovery")


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


def test_overload_answers_only_200_or_503(results: dict[str, Any]) -> None:
    overload = results["scenarios"]["overload"]
    assert overload["concurrency"] > results["settings"]["overload_queue_limit"]
    assert not overload["errors"], overload["errors"]
    assert set(overload["statuses"]) <= {"200", "503"}, overload["statuses"]
    assert overload["statuses"].get("200", 0) > 0


def test_predictor_and_generator_ceiling_are_reported(results: dict[str, Any]) -> None:
    predictor = results["predictor"]
    assert predictor["torch_threads"] >= 1 and 0 < predictor["p50_ms"] <= predictor["p99_ms"]
    assert predictor["batch_per_s"] > 0
    assert results["ceiling"]["requests"] > 0 and not results["ceiling"]["errors"]


def test_report_names_every_target(quick_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    done, _ = quick_run
    assert "| c=32, batching off (`BATCH_MAX_SIZE=1`) |" in done.stdout
    assert "| in-process `Predictor.parse` (no HTTP) |" in done.stdout
    for target in (
        "c=1 p50 <= 5 ms",
        "c=32 >= 1,000 req/s",
        "overload: memory flat",
        "overload: recovers at once",
    ):
        assert f"- {target}: **" in done.stdout or f"- {target}: shown" in done.stdout, target


def test_section_replaces_only_its_own_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_service", SCRIPT)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_service", bench)  # dataclasses look their module up
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script puts the repository first on sys.path
    monkeypatch.syspath_prepend(str(SCRIPT.parent))  # as when run as a script: bench/ is importable
    spec.loader.exec_module(bench)
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
