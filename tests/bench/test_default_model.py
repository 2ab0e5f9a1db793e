"""``bench/default_model.py`` on the session's default model: the script runs, leaves BENCHMARKS.md
alone without ``--write``, and the model clears the issue's bar on ATIS (a corpus it never saw)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ATIS = ROOT.parent / "shared" / "datasets" / "atis"
SCRIPT = ROOT / "bench" / "default_model.py"

pytestmark = pytest.mark.slow  # trains the default model (a minute and more)


@pytest.fixture(scope="module")
def table(default_model_dir: Path) -> str:
    if not ATIS.is_dir():
        pytest.skip(f"ATIS not found at {ATIS}")
    before = (ROOT / "BENCHMARKS.md").read_bytes()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--model", str(default_model_dir), "--no-write"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (ROOT / "BENCHMARKS.md").read_bytes() == before
    return done.stdout


def _f1(table: str, row: str) -> float:
    line = next(line for line in table.splitlines() if line.startswith(f"| {row}"))
    match = re.search(r"\*\*([\d.]+)\*\*", line) or re.search(r"\| ([\d.]+) \|", line)
    assert match, line
    return float(match.group(1))


def test_the_table_has_every_row(table: str) -> None:
    assert table.startswith("<!-- default:start -->") and table.rstrip().endswith("<!-- default:end -->")
    for row in (
        "ATIS test, 3 slots",
        "ATIS test, adjacent place pieces",
        "generated test",
        "generated, held",
    ):
        assert _f1(table, row) > 0


def test_the_default_model_clears_85_f1_on_atis(table: str) -> None:
    """The issue's aim (>= 85) on ATIS test with labels collapsed to the three slots: a regression
    guard, not a timing. Training is deterministic on one machine, but another machine's kernels
    round differently and train a slightly different model (as another seed would): the guard
    holds while the recipe keeps its margin over the aim (87.47 here, BENCHMARKS.md)."""
    assert _f1(table, "ATIS test, 3 slots") >= 85.0
    assert _f1(table, "ATIS test, adjacent place pieces") >= _f1(table, "ATIS test, 3 slots")
