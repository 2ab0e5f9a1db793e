"""What a real ``slotfill tag`` process does when it is killed, resumed, or fed a large input."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slotfill.cli import main
from tests.jobs.corpus import sentences

pytestmark = pytest.mark.slow

SLOTFILL = [sys.executable, "-m", "slotfill", "tag"]
PEAK_RSS = """
import resource, sys
from slotfill.cli import main
status = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux
sys.exit(status)
"""


def corpus(path: Path, count: int, seed: int) -> None:
    """Texts with a bad line now and then, so resumed error records are checked too."""
    lines = [text if n % 97 else "" for n, text in enumerate(sentences(count, seed), start=1)]
    path.write_text("\n".join(lines) + "\n")


def wait_for_bytes(path: Path, size: int, process: subprocess.Popen[bytes]) -> None:
    while process.poll() is None:
        if path.exists() and path.stat().st_size >= size:
            return
        time.sleep(0.005)
    pytest.fail(f"the job ended (status {process.returncode}) before it was to be killed")


@pytest.mark.parametrize(
    ("sig", "workers"),
    [(signal.SIGKILL, "1"), (signal.SIGTERM, "1"), (signal.SIGTERM, "2"), (signal.SIGKILL, "2")],
)
def test_a_killed_then_resumed_job_writes_the_bytes_of_an_uninterrupted_one(
    tiny_model_dir: Path, tmp_path: Path, sig: signal.Signals, workers: str
) -> None:
    rng = random.Random(f"{sig.name}-{workers}")
    corpus(tmp_path / "in.txt", 12_000, seed=rng.randrange(1000))
    common = ["--batch-size", "16", "--threads", "1", "--workers", workers, "--quiet"]
    whole = tmp_path / "whole.jsonl"
    assert main(["tag", str(tiny_model_dir), str(tmp_path / "in.txt"), "-o", str(whole), *common]) == 0
    expected = whole.read_bytes()

    out = tmp_path / "out.jsonl"
    command = [*SLOTFILL, str(tiny_model_dir), str(tmp_path / "in.txt"), "-o", str(out), *common]
    job = subprocess.Popen(command, stderr=subprocess.PIPE)
    wait_for_bytes(out, int(len(expected) * rng.uniform(0.05, 0.5)), job)
    job.send_signal(sig)
    _, err = job.communicate(timeout=60)
    stopped = out.read_bytes()
    assert 0 < len(stopped) < len(expected)
    if sig == signal.SIGTERM:  # stops after the lines in hand: whole lines, and says how to go on
        assert job.returncode == 130, err.decode()
        assert stopped.endswith(b"\n") and expected.startswith(stopped)
        assert b"--resume continues from there" in err
    else:  # killed mid-write, maybe: whatever whole lines are there are right
        assert job.returncode == -signal.SIGKILL
        assert expected.startswith(stopped[: stopped.rfind(b"\n") + 1])

    resumed = subprocess.run([*command, "--resume"], capture_output=True, check=True)
    assert out.read_bytes() == expected
    assert b"lines were already done (resumed)" in resumed.stderr


def peak_rss_kib(model: Path, source: Path, out: Path) -> int:
    command = [str(model), str(source), "-o", str(out), "--batch-size", "64", "--threads", "1", "--quiet"]
    shown = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, "tag", *command], capture_output=True, check=True, text=True
    )
    return int(shown.stdout.split()[-1])


def test_memory_stays_flat_however_long_the_input(tiny_model_dir: Path, tmp_path: Path) -> None:
    """Ten times the lines, the same peak: holding the large run's output alone would add ~50 MB."""
    long_texts = [" ".join([text] * 3)[:120] for text in sentences(40_000, seed=5)]
    (tmp_path / "large.txt").write_text("\n".join(long_texts) + "\n")
    (tmp_path / "small.txt").write_text("\n".join(long_texts[:4000]) + "\n")
    small = peak_rss_kib(tiny_model_dir, tmp_path / "small.txt", tmp_path / "small.jsonl")
    large = peak_rss_kib(tiny_model_dir, tmp_path / "large.txt", tmp_path / "large.jsonl")
    held = (tmp_path / "large.jsonl").stat().st_size // 1024
    assert held > 40_000  # what a job holding its output would add, in KiB
    assert large - small < held // 4, (small, large, held)
