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
    assert default[1:6] == ["-m", "training.cli", "train", "--data", str(accuracy.DATASETS / "atis")]
    assert default[-5:] == ["--out", str(tmp_path / "atis-seed2"), "--seed", "2", "--quiet"]
    assert variant == [*default, "--intent-weight", "2"]


def test_a_variant_must_not_write_the_defaults_table(capsys: pytest.CaptureFixture[str]) -> None:
    before = accuracy.BENCHMARKS.read_text()
    with pytest.raises(SystemExit) as exit_info:
        accuracy.main(["--train-args=--intent-weight 2", "--seeds", "1"])
    assert exit_info.value.code == 2
    assert "--train-args runs a variant: add --no-write" in capsys.readouterr().err
    assert accuracy.BENCHMARKS.read_text() == before
