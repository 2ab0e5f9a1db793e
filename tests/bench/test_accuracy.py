"""``bench/accuracy.py``: a variant runs the same command line and never overwrites the defaults."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import accuracy


def test_a_run_is_the_default_command_unless_train_args_add_options(tmp_path: Path) -> None:
    default = accuracy.train_command("atis", 2, tmp_path / "atis-seed2")
    variant = accuracy.train_command("atis", 2, tmp_path / "atis-seed2", ["--intent-weight", "2"])
    assert default[1:6] == ["-m", "slotfill", "train", "--data", str(accuracy.DATASETS / "atis")]
    assert default[-5:] == ["--out", str(tmp_path / "atis-seed2"), "--seed", "2", "--quiet"]
    assert variant == [*default, "--intent-weight", "2"]


def test_a_variant_must_not_write_the_defaults_table(capsys: pytest.CaptureFixture[str]) -> None:
    before = accuracy.BENCHMARKS.read_text()
    with pytest.raises(SystemExit) as exit_info:
        accuracy.main(["--train-args=--intent-weight 2", "--seeds", "1"])
    assert exit_info.value.code == 2
    assert "--train-args runs a variant: add --no-write" in capsys.readouterr().err
    assert accuracy.BENCHMARKS.read_text() == before


def run(device: str, seed: int) -> dict[str, object]:
    return {
        "dataset": "atis",
        "seed": seed,
        "device": device,
        "wall_seconds": 100.0,
        "best_epoch": 30,
        "dev_slot_f1": 0.97,
        "slot_f1": 0.955 + seed / 1000,
        "intent_accuracy": 0.97,
        "sentence_accuracy": 0.87,
        "model_mb": 12.0,
    }


def test_gpu_runs_fill_their_own_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run on CUDA must not overwrite the CPU table (the issue asks for both, side by side)."""
    benchmarks = tmp_path / "BENCHMARKS.md"
    monkeypatch.setattr(accuracy, "BENCHMARKS", benchmarks)
    accuracy.write_benchmarks([run("cpu", 1)], ["--datasets", "atis"], "sharing")
    cpu_table = benchmarks.read_text()
    accuracy.write_benchmarks([run("cuda", 2)], ["--datasets", "atis", "--device", "cuda"], "sharing")
    text = benchmarks.read_text()
    assert text.startswith(cpu_table.rstrip())
    cpu, gpu = text.split(accuracy.CUDA_START)
    assert "| ATIS | 1 | 95.60 |" in cpu and "--device cuda" not in cpu
    assert "| ATIS | 2 | 95.70 |" in gpu and "`python bench/accuracy.py --datasets atis --device cuda`" in gpu
    accuracy.write_benchmarks([run("cuda", 3)], ["--device", "cuda"], "sharing")
    assert benchmarks.read_text().count(accuracy.CUDA_START) == 1
    assert benchmarks.read_text().startswith(cpu_table.rstrip())


def test_the_table_gives_calibration_errors_in_points_and_a_dash_for_older_results() -> None:
    measured = run("cpu", 1) | {"intent_ece": 0.012, "slot_ece": 0.004}
    older = run("cpu", 2)  # written before the ECE columns existed
    rows = {line.split(" | ")[1]: line.split(" | ") for line in accuracy.table([measured]).splitlines()[2:]}
    assert rows["1"][5:7] == ["1.20", "0.40"]
    assert accuracy.table([measured, older]).splitlines()[2].split(" | ")[5:7] == ["–", "–"]
