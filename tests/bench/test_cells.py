"""``bench/cells.py``: the budget's subset, real runs of every asked cell in a tiny quick mode, the
table's ratios to the LSTM, and the loop timings that chose the eager loop."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import cells

from slotfill.model.cells import peephole, scrn
from slotfill.model.config import ModelOptions
from slotfill.training.data import Example
from slotfill.training.formats.detect import read_split, write_split

Data = tuple[list[Example], list[Example]]


def _dataset(folder: Path, data: Data) -> Path:
    train, dev = data
    for split, examples in (("train", train), ("dev", dev), ("test", dev[:4])):
        write_split(examples, folder, split, "jointbert")
    return folder


def test_the_subset_is_drawn_by_its_seed_in_the_files_order(tmp_path: Path, travel_data: Data) -> None:
    source = _dataset(tmp_path / "atis", travel_data)
    subset = cells.make_subset(source, tmp_path / "subset", 10, 2026)
    train = read_split(subset, "train")
    assert len(train) == 10 and set(train) <= set(travel_data[0])
    assert train == [e for e in travel_data[0] if e in set(train)]
    assert read_split(subset, "dev") == travel_data[1] and read_split(subset, "test") == travel_data[1][:4]
    assert read_split(cells.make_subset(source, tmp_path / "again", 10, 2026), "train") == train
    assert read_split(cells.make_subset(source, tmp_path / "other", 10, 7), "train") != train
    assert read_split(cells.make_subset(source, tmp_path / "all", None, 2026), "train") == travel_data[0]
    with pytest.raises(ValueError, match=r"--train-size must lie in 1\.\.32, got 33"):
        cells.make_subset(source, tmp_path / "bad", 33, 2026)


def _run(cell: str, seed: int, slot_f1: float, train_seconds: float, per_second: float) -> dict[str, Any]:
    return {
        "cell": cell,
        "seed": seed,
        "slot_f1": slot_f1,
        "intent_accuracy": 0.9,
        "train_seconds": train_seconds,
        "tagging_per_second": per_second,
    }


def test_the_table_gives_each_cell_in_the_lectures_order_with_ratios_to_the_lstm() -> None:
    runs = [
        _run("scrn", 1, 0.80, 30.0, 100.0),
        _run("lstm", 1, 0.90, 10.0, 200.0),
        _run("lstm", 2, 0.92, 30.0, 200.0),
        _run("irnn", 1, 0.85, 10.0, 400.0),
    ]
    lines = cells.accuracy_table(runs, cells.ORDER).splitlines()
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| irnn", "| lstm", "| scrn"]
    lstm, scrn_row = lines[3].split(" | "), lines[4].split(" | ")
    assert lstm[1:6] == ["1, 2", "91.00 (90.00–92.00)", "90.00 (90.00–90.00)", "20 (10–30)", "1.00"]
    assert scrn_row[5] == "1.50" and scrn_row[6] == "100" and scrn_row[7] == "2.00 |"
    assert lines[2].split(" | ")[7] == "0.50 |"  # tagging twice as fast: half the LSTM's time


@pytest.mark.slow
def test_a_quick_comparison_trains_each_cell_for_real_and_writes_its_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, travel_data: Data, tiny_settings: ModelOptions
) -> None:
    root = tmp_path / "datasets"
    _dataset(root / "atis", travel_data)
    chosen = tiny_settings.model_dump(exclude_unset=True)
    tiny = " ".join(f"--{name.replace('_', '-')}={value}" for name, value in chosen.items())
    benchmarks = tmp_path / "BENCHMARKS.md"
    monkeypatch.setattr(cells, "BENCHMARKS", benchmarks)
    argv = [
        "--datasets", "atis", "--cells", "lstm", "scrn", "--seeds", "1", "--epochs", "2",
        "--train-size", "24", "--train-args", f"{tiny} --batch-size 8", "--data-root", str(root),
        "--out", str(tmp_path / "runs"), "--tag-sample", "3", "--tag-rounds", "1", "--note", "quick",
    ]  # fmt: skip
    assert cells.main(argv) == 0
    for cell in ("lstm", "scrn"):
        folder = tmp_path / "runs" / "atis" / f"atis-{cell}-seed1"
        config = json.loads((folder / "config.json").read_text())
        assert config["model"]["cell"] == cell and config["model"]["bidirectional"] is True
        assert config["model"]["members"] == 1 and config["model"]["hidden_size"] == 16
        assert json.loads((folder / "metrics.json").read_text())["data"]["train"] == 24
    text = benchmarks.read_text()
    assert cells.HEADING in text and "<!-- cells-atis:start -->" in text
    assert "quick; budget: 2 epochs, 24 of train's utterances (--subset-seed 2026)" in text
    rows = [line for line in text.splitlines() if line.startswith(("| lstm |", "| scrn |"))]
    assert len(rows) == 2 and all(float(row.split(" | ")[6]) > 0 for row in rows)

    def no_training(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(subprocess, "run", no_training)
    assert cells.main([*argv, "--no-write"]) == 0  # resumes: every run is reused
    # The tables of what finished: seed 2 never ran, and is not trained now.
    assert cells.main([*argv, "--no-write", "--finished", "--seeds", "1", "2"]) == 0


@pytest.mark.slow
def test_loop_timings_cover_each_loop_kind_and_leave_the_eager_loops_in_place() -> None:
    results = cells.loop_speeds(["rnn", "lstm-peephole", "scrn"], ["eager", "script"], 8, 2, 1)
    assert [(r["loop"], r["cell"]) for r in results] == [
        ("fused", "rnn"),
        ("eager", "lstm-peephole"),
        ("eager", "scrn"),
        ("script", "lstm-peephole"),
        ("script", "scrn"),
    ]
    assert all(r["train_ratio"] > 0 and r["tag_ratio"] > 0 and r["first_seconds"] > 0 for r in results)
    assert not isinstance(peephole.peephole_loop, torch.jit.ScriptFunction)
    assert not isinstance(scrn.fast_loop, torch.jit.ScriptFunction)
    assert cells.speed_table(results).count("\n") == 6
