"""Accuracy benchmark: ``slotfill train`` with default settings on ATIS and SNIPS, several seeds.

Each run is the real command line in its own process (what a user runs), timed from outside;
test scores come from the model folder's ``metrics.json``. The table (mean and range over seeds)
is written into BENCHMARKS.md between the ``accuracy`` markers, with command, date and machine.

    python bench/accuracy.py                      # ATIS and SNIPS, seeds 1 2 3
    python bench/accuracy.py --datasets atis --seeds 1
    python bench/accuracy.py --jobs 2            # two runs at a time, one thread each
    python bench/accuracy.py --train-args="--intent-weight 2"   # a variant: printed, not written
    python bench/accuracy.py --datasets atis --device cuda      # on a GPU: its own table
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks_md import command_line, replace_section
from threads import pinned_environment, threads_per_job

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
BENCHMARKS = ROOT / "BENCHMARKS.md"
START, END = "<!-- accuracy:start -->", "<!-- accuracy:end -->"
# Runs on a GPU get a table of their own beside the CPU one, so neither overwrites the other.
CUDA_START, CUDA_END = "<!-- accuracy-cuda:start -->", "<!-- accuracy-cuda:end -->"
REFERENCES = {
    "atis": "BiLSTM-CRF + GloVe + chars 95.74; JointBERT 95.9-96.1 / 97.5-98.0 / 88.2-88.6",
    "snips": "BiLSTM-CRF + GloVe + chars 96.31; JointBERT 97.0-97.2 / 98.6-99.1 / 92.8-93.6",
}

logger = logging.getLogger("bench.accuracy")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    gpu = f"GPU: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no GPU"
    python = f"Python {platform.python_version()}, torch {torch.__version__}"
    return f"{os.cpu_count()} cores ({cpu}), {python}, {gpu}"


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def train_command(
    dataset: str, seed: int, folder: Path, train_args: Sequence[str] = (), data: Path | None = None
) -> list[str]:
    """The ``slotfill train`` command line of one run: defaults, unless ``train_args`` adds options.

    ``data`` replaces the dataset's standard folder (``bench/ablation.py`` trains on a fold of it).
    """
    return [
        sys.executable,
        "-m",
        "slotfill",
        "train",
        "--data",
        str(data or DATASETS / dataset),
        "--out",
        str(folder),
        "--seed",
        str(seed),
        "--quiet",
        *train_args,
    ]


def train_once(
    dataset: str, seed: int, out: Path, threads: int | None, train_args: Sequence[str] = ()
) -> dict[str, Any]:
    """One ``slotfill train`` run; returns its test metrics, wall time and model size.

    ``threads`` pins the run's torch threads (None: torch's default, every core).
    """
    folder = out / f"{dataset}-seed{seed}"
    command = train_command(dataset, seed, folder, train_args)
    started = time.perf_counter()
    env = pinned_environment(threads) if threads else None
    subprocess.run(command, check=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - started
    metrics = json.loads((folder / "metrics.json").read_text())
    weights = folder / "model.safetensors"
    config = json.loads((folder / "config.json").read_text())
    return {
        "dataset": dataset,
        "seed": seed,
        "device": config["training"]["device"],
        "wall_seconds": round(wall, 1),
        "train_seconds": metrics["train_seconds"],
        "best_epoch": metrics["best_epoch"],
        "epochs_run": metrics["epochs_run"],
        "dev_slot_f1": metrics["dev"]["slot_f1"],
        "slot_f1": metrics["test"]["slot_f1"],
        "intent_accuracy": metrics["test"]["intent_accuracy"],
        "sentence_accuracy": metrics["test"]["sentence_accuracy"],
        "intent_ece": ece(metrics["test"], "intent"),
        "slot_ece": ece(metrics["test"], "slot"),
        "model_mb": round(folder_size(folder) / 1e6, 2),
        "weights_mb": round(weights.stat().st_size / 1e6, 2),
    }


def ece(scores: dict[str, Any], kind: str) -> float | None:
    """The ``kind`` ("intent" or "slot") calibration error of a metrics.json split; None when not
    measured (no slot predicted, a model without intents, or a model from before calibration)."""
    measured = scores.get(f"{kind}_calibration")
    return measured["ece"] if measured else None


def summary(values: list[float], scale: float = 100.0, digits: int = 2) -> str:
    mean = statistics.fmean(values) * scale
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ({min(values) * scale:.{digits}f}–{max(values) * scale:.{digits}f})"


def table(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| dataset | seeds | test slot F1 | intent acc. | sentence acc. | intent ECE | slot ECE "
        "| dev slot F1 | train time (s) | best epoch | model folder (MB) "
        "| published references (slot F1 / intent / sentence) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for dataset in sorted({r["dataset"] for r in runs}):
        rows = [r for r in runs if r["dataset"] == dataset]

        def cell(key: str, scale: float = 100.0, digits: int = 2, rows: list[dict[str, Any]] = rows) -> str:
            values = [r.get(key) for r in rows]  # results from before a column existed lack it
            return "–" if None in values else summary(values, scale, digits)

        cells = [
            dataset.upper(),
            ", ".join(str(r["seed"]) for r in rows),
            cell("slot_f1"),
            cell("intent_accuracy"),
            cell("sentence_accuracy"),
            cell("intent_ece"),
            cell("slot_ece"),
            cell("dev_slot_f1"),
            cell("wall_seconds", 1, 0),
            cell("best_epoch", 1, 0),
            f"{max(r['model_mb'] for r in rows):.1f}",
            REFERENCES.get(dataset, ""),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def threading(jobs: int, threads: int | None) -> str:
    """How the runs shared the machine, for the table's header.

    With every core to itself a run trains its ensemble's members side by side, one process and
    thread per core; pinned to one thread it trains them one after another (``training.members``).

    >>> threading(1, None)
    'torch threads: default, one run at a time (members side by side, one core each)'
    >>> threading(2, 1)
    'torch threads: 1 per run, 2 runs at a time (members one after another)'
    """
    if threads is None:
        return "torch threads: default, one run at a time (members side by side, one core each)"
    return f"torch threads: {threads} per run, {jobs} runs at a time (members one after another)"


def on_gpu(runs: list[dict[str, Any]]) -> bool:
    """Whether the runs trained on CUDA (``--device auto`` takes it when present), for their table.

    >>> on_gpu([{"device": "cpu"}]), on_gpu([{"device": "cuda"}, {"device": "cuda:1"}])
    (False, True)
    """
    return any(run["device"].startswith("cuda") for run in runs)


def write_benchmarks(runs: list[dict[str, Any]], argv: list[str], sharing: str) -> None:
    start, end = (CUDA_START, CUDA_END) if on_gpu(runs) else (START, END)
    block = "\n".join(
        [
            start,
            f"Command: `{command_line('bench/accuracy.py', argv)}`  ",
            f"Date: {datetime.now(UTC):%Y-%m-%d}; machine: {machine()}; {sharing}  ",
            "Mean over seeds with the range in brackets; test split; train time is the wall time of the "
            "whole `slotfill train` command (data loading, training, calibration, dev and test scoring, "
            "saving); ECE: expected calibration error of the confidences on test, in points (lower is "
            "better).",
            "",
            table(runs),
            end,
        ]
    )
    replace_section(BENCHMARKS, start, end, "## Accuracy (`bench/accuracy.py`)", block)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", default=["atis", "snips"], choices=["atis", "snips"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave BENCHMARKS.md alone")
    parser.add_argument(
        "--train-args",
        default="",
        help="extra 'slotfill train' options for a variant, e.g. '--intent-weight 2'; needs --no-write, "
        "since BENCHMARKS.md's table is the defaults",
    )
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        help="passed to 'slotfill train' (default: its own, auto); runs on CUDA fill their own table",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="runs at a time; with more than 1 each run gets an equal share of the cores as its threads",
    )
    args = parser.parse_args(argv)
    train_args = shlex.split(args.train_args)
    device_args = ["--device", args.device] if args.device else []
    if train_args and not args.no_write:
        parser.error("--train-args runs a variant: add --no-write (BENCHMARKS.md's table is the defaults)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not DATASETS.is_dir():
        parser.error(f"datasets not found at {DATASETS}")
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    threads = threads_per_job(args.jobs)
    args.out.mkdir(parents=True, exist_ok=True)
    plan = [(dataset, seed) for dataset in args.datasets for seed in args.seeds]
    runs: list[dict[str, Any]] = []

    def record(run: dict[str, Any]) -> None:
        # After every run, so an interrupted benchmark still records what it did.
        logger.info("%s", run)
        runs.append(run)
        runs.sort(key=lambda r: plan.index((r["dataset"], r["seed"])))
        (args.out / "results.json").write_text(json.dumps(runs, indent=2))
        if not args.no_write:
            write_benchmarks(runs, argv, threading(args.jobs, threads))

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [
            pool.submit(train_once, dataset, seed, args.out, threads, [*device_args, *train_args])
            for dataset, seed in plan
        ]
        for future in futures:
            record(future.result())
    print(table(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
