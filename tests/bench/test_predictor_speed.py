"""``bench/predictor_speed.py``: a line per backend, a stage breakdown that adds up to ``parse``."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import predictor_speed

from slotfill.model.onnx_graph import write_onnx


@pytest.fixture
def texts(tmp_path: Path) -> Path:
    path = tmp_path / "seq.in"
    path.write_text("\n".join(["arrive taipei on november 2nd", "leave boston, tomorrow!"] * 200) + "\n")
    return path


def test_times_each_backend_and_stage(
    tiny_model_dir: Path, tmp_path: Path, texts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    write_onnx(folder)
    assert predictor_speed.main([str(folder), str(texts), "--stages", "--batch-sizes", "16"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines if not line.startswith(" ")] == ["cpu (torch)", "cpu (onnx)"]
    for line in lines[::2]:
        p50, p95, rate = (
            float(x)
            for x in re.findall(r"p50 ([\d.]+) ms p95 ([\d.]+) ms; batches of 16: (\d+) texts/s", line)[0]
        )
        assert 0 < p50 <= p95 and rate > 0
    torch_stages, onnx_stages = (
        dict(re.findall(r"(\w[\w ()]*?) (\d+)(?:,|;)", line)) for line in lines[1::2]
    )
    assert list(torch_stages) == [
        "tokenize", "featurize", "collate", "embed", "recurrent", "heads", "decode", "spans", "response"
    ]  # fmt: skip
    assert list(onnx_stages) == ["tokenize", "featurize", "network (onnx)", "decode", "spans", "response"]


def test_the_chosen_decoder_agrees_with_torchs(
    tiny_model_dir: Path, texts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(tiny_model_dir), str(texts), "--decoders", "--batch-sizes", "16"]
    assert predictor_speed.main(argv) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    found = re.findall(
        r"decoders: (\d+) texts .* differing from torch's decoder: (\d+); .* ([\d.e+-]+)$", line
    )
    assert found, line
    count, differing, worst = found[0]
    assert (int(count), int(differing)) == (400, 0) and float(worst) < 1e-4


def test_too_few_texts_is_a_clear_error(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = tmp_path / "seq.in"
    texts.write_text("one text\n")
    with pytest.raises(SystemExit) as exit_info:
        predictor_speed.main([str(tiny_model_dir), str(texts)])
    assert exit_info.value.code == 2
    assert "has 1 texts; need at least 400" in capsys.readouterr().err
