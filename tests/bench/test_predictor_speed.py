"""``bench/predictor_speed.py``: a line per decoder and device, and the decoder choice put back."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import predictor_speed

from slotfill.model import crf


def test_times_both_decoders_and_restores_the_choice(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = tmp_path / "seq.in"
    texts.write_text("\n".join(["arrive taipei on november 2nd", "leave boston tomorrow"] * 200) + "\n")
    choice = crf._decode_with_numpy
    assert predictor_speed.main([str(tiny_model_dir), str(texts), "--devices", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["cpu (torch decoder)", "cpu (default decoder)"]
    for line in lines:
        p50, p95, rate = (
            float(x) for x in re.findall(r"p50 ([\d.]+) ms p95 ([\d.]+) ms.* ([\d]+) texts/s", line)[0]
        )
        assert 0 < p50 <= p95 and rate > 0
    assert crf._decode_with_numpy is choice


def test_too_few_texts_is_a_clear_error(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = tmp_path / "seq.in"
    texts.write_text("one text\n")
    with pytest.raises(SystemExit) as exit_info:
        predictor_speed.main([str(tiny_model_dir), str(texts)])
    assert exit_info.value.code == 2
    assert "has 1 texts; need at least 400" in capsys.readouterr().err
