"""``bench/attacks.py --quick``: every attack against a real server, and what the results say."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ATIS = ROOT.parent / "shared" / "datasets" / "atis"
BENCHMARKS = ROOT / "BENCHMARKS.md"

pytestmark = pytest.mark.slow  # a live server and about a minute of attacks


def test_the_quick_run_replays_every_attack(tmp_path: Path) -> None:
    if not ATIS.is_dir():
        pytest.skip(f"ATIS not found at {ATIS}")
    before = BENCHMARKS.read_bytes()
    quick = ["--seconds", "2", "--header-senders", "2", "--slow-connections", "12", "--slow-hold-s", "15"]
    quick += ["--costly-senders", "2", "--burst", "8"]
    done = subprocess.run(
        [sys.executable, "bench/attacks.py", "--quick", "--out", str(tmp_path), *quick],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert BENCHMARKS.read_bytes() == before  # --quick never writes
    results = json.loads((tmp_path / "results.json").read_text())
    by_name = {row["scenario"]: row for row in results["scenarios"]}
    assert list(by_name) == [
        "baseline",
        "big headers",
        "slowloris",
        "costly batches",
        "overload",
        "after the burst",
    ]
    assert by_name["baseline"]["legit"]["statuses"] == {"200": by_name["baseline"]["legit"]["requests"]}
    headers = by_name["big headers"]["attack"]
    assert headers["closed_by_server"] == headers["connections"] == 2
    assert headers["most_bytes_sent_mib"] < 100  # cut off long before the 100 MB a sender had
    slow = by_name["slowloris"]["attack"]
    assert slow["closed_by_server"] == slow["connections"] == 12
    # Half its batches are 8 texts of 1,000 "!": refused as too costly (422) once the cost model
    # has seen what such texts take; the others get 200 or 503, never a dropped connection.
    assert set(by_name["overload"]["attack"]["statuses"]) <= {"200", "422", "503", "504"}
    assert by_name["overload"]["attack"]["503_without_retry_after"] == 0
    for check in results["taken_port"].values():
        assert check["exit"] == 1 and len(check["error_lines"]) == 1 and not check["ready_printed"]
    assert "| second server on the port, --workers 2 |" in done.stdout
