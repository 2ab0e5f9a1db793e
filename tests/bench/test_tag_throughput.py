"""``bench/tag_throughput.py --quick``: a row per configuration and its section of BENCHMARKS.md."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import tag_throughput

pytestmark = pytest.mark.slow


def test_quick_run_reports_every_local_configuration(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not (tag_throughput.ATIS / "test" / "seq.in").exists():
        pytest.skip("the ATIS dataset is not beside the repository")
    out = tmp_path / "runs.json"
    args = ["--model", str(tiny_model_dir), "--quick", "--no-ray", "--json", str(out)]
    assert tag_throughput.main(args) == 0
    shown = capsys.readouterr().out
    assert shown.startswith(tag_throughput.START) and shown.rstrip().endswith(tag_throughput.END)
    rows = [line for line in shown.splitlines() if line.startswith("| local")]
    assert len(rows) == 3
    assert "two worker processes against one with one thread: " in shown
    assert out.read_text().count('"lines": 2000') == 3
