"""``bench/ablation.py``: the fold never leaks held-out utterances into training, runs are real and
resumable, and the table says what each variant scored."""

from __future__ import annotations

import argparse
import doctest
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import ablation
import accuracy

from slotfill.model.config import ModelOptions
from slotfill.training.data import Example
from slotfill.training.formats.detect import read_split, write_split

Data = tuple[list[Example], list[Example]]


def test_doctests() -> None:
    assert doctest.testmod(ablation).failed == 0


def test_a_variant_needs_a_name_and_an_equals_sign() -> None:
    assert ablation.parse_variant("spm=--encoders word,trigram,spm").train_args == (
        "--encoders",
        "word,trigram,spm",
    )
    for bad in ("--cell gru", "=--cell gru"):
        with pytest.raises(argparse.ArgumentTypeError, match="NAME=OPTIONS"):
            ablation.parse_variant(bad)


def test_the_held_out_share_is_drawn_by_the_seed_and_disjoint_from_training(travel_data: Data) -> None:
    examples = travel_data[0]
    kept, held = ablation.hold_out(examples, 0.25, 2026)
    assert len(held) == 8 and len(kept) == len(examples) - 8
    assert not set(kept) & set(held)
    assert kept == [e for e in examples if e in set(kept)]  # the file's order is kept
    assert ablation.hold_out(examples, 0.25, 2026) == (kept, held)
    assert ablation.hold_out(examples, 0.25, 7)[1] != held


def _dataset(folder: Path, data: Data) -> Path:
    train, dev = data
    write_split(train, folder, "train", "jointbert")
    write_split(dev, folder, "dev", "jointbert")
    write_split(dev[:1], folder, "test", "jointbert")  # must not reach the fold
    return folder


def test_the_fold_is_train_minus_the_share_the_real_dev_and_the_share_as_test(
    tmp_path: Path, travel_data: Data
) -> None:
    fold = ablation.make_fold(_dataset(tmp_path / "data", travel_data), tmp_path / "fold", 0.25, 2026)
    kept, held = ablation.hold_out(travel_data[0], 0.25, 2026)
    assert read_split(fold, "train") == kept
    assert read_split(fold, "dev") == travel_data[1]
    assert read_split(fold, "test") == held


def test_a_share_that_leaves_nothing_is_refused(tmp_path: Path, travel_data: Data) -> None:
    with pytest.raises(ValueError, match="nothing to score"):
        ablation.make_fold(_dataset(tmp_path / "data", travel_data), tmp_path / "fold", 0.01, 2026)


@pytest.mark.slow
def test_a_run_trains_for_real_reports_dev_and_held_out_and_is_not_repeated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, travel_data: Data, tiny_settings: ModelOptions
) -> None:
    fold = ablation.make_fold(_dataset(tmp_path / "data", travel_data), tmp_path / "fold", 0.25, 2026)
    chosen = tiny_settings.model_dump(exclude_unset=True)
    tiny = [f"--{name.replace('_', '-')}={value}" for name, value in chosen.items()]
    variant = ablation.Variant("tiny gru", ("--cell", "gru", "--epochs", "3", *tiny))
    run = ablation.run_once("atis", variant, 1, fold, tmp_path / "runs", threads=1)
    metrics = json.loads((tmp_path / "runs" / "atis-tiny_gru-seed1" / "metrics.json").read_text())
    assert run["held_out_slot_f1"] == metrics["test"]["slot_f1"]
    assert run["dev_intent_accuracy"] == metrics["dev"]["intent_accuracy"]
    assert run["held_out_intent_ece"] == metrics["test"]["intent_calibration"]["ece"]
    slots = metrics["test"]["slot_calibration"]
    assert run["held_out_slot_ece"] == (slots["ece"] if slots else None)
    assert metrics["data"]["test"] == 8 and run["variant"] == "tiny gru"
    assert (
        json.loads((tmp_path / "runs" / "atis-tiny_gru-seed1" / "config.json").read_text())["model"]["cell"]
        == "gru"
    )

    def no_training(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(subprocess, "run", no_training)
    assert ablation.run_once("atis", variant, 1, fold, tmp_path / "runs", threads=1) == run
    other = ablation.Variant("tiny gru", ("--cell", "gru", "--epochs", "4", *tiny))
    with pytest.raises(AssertionError, match="trained again"):  # another command: not the same run
        ablation.run_once("atis", other, 1, fold, tmp_path / "runs", threads=1)
    with pytest.raises(AssertionError, match="trained again"):  # another seed: not the same run
        ablation.run_once("atis", variant, 2, fold, tmp_path / "runs", threads=1)


def test_runs_of_a_dotted_variant_keep_one_result_per_seed(tmp_path: Path) -> None:
    # "dropout 0.5" once lost the part after the dot, so both seeds wrote one result file.
    fold, variant = tmp_path / "fold", ablation.Variant("dropout 0.5", ("--dropout", "0.5"))
    for seed in (1, 2):
        folder = tmp_path / f"atis-dropout_0.5-seed{seed}"
        command = accuracy.train_command("atis", seed, folder, variant.train_args, data=fold)[1:]
        (tmp_path / f"{folder.name}.json").write_text(json.dumps({"command": command, "seed": seed}))
    assert [ablation.run_once("atis", variant, s, fold, tmp_path, None)["seed"] for s in (1, 2)] == [1, 2]


def _run(variant: str, seed: int, slot_f1: float, intent: float | None) -> dict[str, Any]:
    return {
        "variant": variant,
        "train_args": "" if variant == "default" else "--cell gru",
        "seed": seed,
        "wall_seconds": 300.0 + seed,
        "best_epoch": 30 + seed,
        "model_mb": 12.0,
        "dev_slot_f1": slot_f1,
        "dev_intent_accuracy": intent,
        "dev_sentence_accuracy": 0.9,
        "held_out_slot_f1": slot_f1 - 0.01,
        "held_out_intent_accuracy": intent,
        "held_out_sentence_accuracy": 0.8,
        "held_out_intent_ece": None if intent is None else 0.01 * seed,
        "held_out_slot_ece": 0.02,
    }


def test_the_table_gives_mean_and_range_per_variant_in_the_asked_order() -> None:
    runs = [_run("default", 1, 0.97, 0.98), _run("default", 2, 0.98, 0.99), _run("gru", 1, 0.96, None)]
    lines = ablation.table(runs, ["gru", "default", "absent"]).splitlines()
    assert len(lines) == 4
    gru, default = lines[2].split(" | "), lines[3].split(" | ")
    assert gru[:4] == ["| gru", "`--cell gru`", "1", "96.00"] and gru[4] == "–"
    assert default[:5] == ["| default", "(defaults)", "1, 2", "97.50 (97.00–98.00)", "98.50 (98.00–99.00)"]
    assert default[6] == "96.50 (96.00–97.00)"
    assert default[9:11] == ["1.50 (1.00–2.00)", "2.00 (2.00–2.00)"]  # held-out ECE, in points
    assert gru[9:11] == ["–", "2.00"]


def test_results_from_before_the_ece_columns_show_a_dash() -> None:
    old = _run("default", 1, 0.97, 0.98)
    del old["held_out_intent_ece"], old["held_out_slot_ece"]
    row = ablation.table([old], ["default"]).splitlines()[2].split(" | ")
    assert row[9:11] == ["–", "–"] and len(row) == 14
