"""``bench/peers.py``: the quick run end to end (so the script cannot rot) and its BENCHMARKS.md section."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ATIS = ROOT.parent / "shared" / "datasets" / "atis"
SCRIPT = ROOT / "bench" / "peers.py"
SYSTEMS = {"slotfill": "slotfill", "crf": "CRF + TF-IDF LR", "spacy": "spaCy NER + TF-IDF LR"}
GUARDED = (ROOT / "BENCHMARKS.md", ROOT / "bench" / "peers.png")


def _number(cell: str) -> float:
    """``"5,345 (2.89×)"`` -> 5345.0."""
    return float(cell.split(" (", maxsplit=1)[0].replace(",", ""))


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    if not ATIS.is_dir():
        pytest.skip(f"ATIS not found at {ATIS}")
    out = tmp_path_factory.mktemp("peers")
    before = {path: path.read_bytes() if path.exists() else None for path in GUARDED}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--datasets", "atis", "--threads", "1", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    after = {path: path.read_bytes() if path.exists() else None for path in GUARDED}
    assert after == before, "--quick without --write must leave BENCHMARKS.md and bench/peers.png alone"
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done, out


@pytest.mark.slow
def test_quick_run_prints_a_full_row_per_system(
    quick_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, _ = quick_run
    rows = [line.strip("| ").split(" | ") for line in done.stdout.splitlines() if line.startswith("| ATIS")]
    assert [row[1] for row in rows] == list(SYSTEMS.values())
    for row in rows:
        assert len(row) == 11, row
        figures = [_number(cell) for cell in row[2:]]  # every cell a number, none "failed" or "–"
        assert 0 <= figures[0] <= 100 and 0 <= figures[1] <= 100, row
        assert figures[3] > 0, row  # throughput
    for row in rows[1:]:  # peers carry a ratio to slotfill
        assert "×)" in row[5], row


@pytest.mark.slow
def test_quick_run_records_every_figure(quick_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = quick_run
    results: list[dict[str, Any]] = json.loads((out / "results.json").read_text())
    assert [r["system"] for r in results] == list(SYSTEMS)
    for result in results:
        assert "error" not in result, result["error"]
        serve, train = result["serve"], result["train"]
        assert serve["test_utterances"] == 120 and serve["throughput_utterances"] >= 600
        assert serve["intent_accuracy"] is not None  # every system answers intents (peers via TF-IDF LR)
        assert 0 < serve["latency_p50_ms"] <= serve["latency_p99_ms"]
        assert train["model_bytes"] > 0 and train["train_seconds"] > 0
        assert serve["peak_rss_mib"] > 0 and train["peak_rss_mib"] > 0
        assert (out / f"atis-{result['system']}" / "model").is_dir()
    # the classic CRF learns something even from 300 utterances: the harness scores real predictions
    assert results[1]["serve"]["slot_f1"] > 0.5
    assert (out / "peers.png").stat().st_size > 0


@pytest.mark.slow
def test_reuse_trained_serves_again_without_training(
    quick_run: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path
) -> None:
    out = Path(shutil.copytree(quick_run[1], tmp_path / "run"))
    trained = out / "atis-crf" / "train.json"
    recorded, stamp = trained.read_text(), trained.stat().st_mtime_ns
    argv = ["--quick", "--datasets", "atis", "--systems", "crf", "--threads", "1", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *argv, "--reuse-trained"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "reusing the model trained" in done.stderr
    assert trained.stat().st_mtime_ns == stamp
    (row,) = json.loads((out / "results.json").read_text())
    assert row["train"] == json.loads(recorded) and row["serve"]["test_utterances"] == 120


def test_section_replaces_only_its_own_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import peers_report

    benchmarks = tmp_path / "BENCHMARKS.md"
    accuracy = "## Accuracy\n\n<!-- accuracy:start -->\nkept\n<!-- accuracy:end -->\n"
    benchmarks.write_text("# Benchmarks\n\n" + accuracy)
    monkeypatch.setattr(peers_report, "BENCHMARKS", benchmarks)
    row = {
        "dataset": "atis",
        "system": "slotfill",
        "train": {"train_seconds": 10.0, "model_bytes": 2e6, "peak_rss_mib": 300.0},
        "serve": {"slot_f1": 0.95, "intent_accuracy": 0.97, "throughput": 4000.0},
    }
    peer = {**row, "system": "crf", "serve": {**row["serve"], "slot_f1": 0.93, "throughput": 8000.0}}
    for _ in range(2):
        peers_report.write_benchmarks([row, peer], ["--datasets", "atis"], threads=2, quick=False)
    text = benchmarks.read_text()
    assert accuracy in text
    assert text.count(peers_report.HEADING) == 1 and text.count(peers_report.START) == 1
    assert "| ATIS | CRF + TF-IDF LR | 93.00 (0.98×) |" in text
    assert "throughput (utt/s) 8,000 vs 4,000" in text  # the peer's lead is said plainly
