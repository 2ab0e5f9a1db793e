"""Choosing settings without test: variants of ``slotfill train`` scored on dev and on held-out train.

Dev has 500 (ATIS) and 700 (SNIPS) utterances, and twice a gain on dev did not carry to test
(BENCHMARKS.md: the intent weight, token votes). So each variant here is also scored on a second
sample that no run sees while training or choosing its epoch: a fixed share of the training set
(``--holdout``, shuffled with ``--fold-seed``) is held out, every run trains on the rest with early
stopping on the usual dev, and the held-out utterances are the run's "test" split. The real test
split is never read. The table (mean and range over seeds) goes into BENCHMARKS.md between the
``ablation-DATASET`` markers.

    python bench/ablation.py --dataset atis --jobs 2                  # the standard variants
    python bench/ablation.py --dataset atis --variants default= gru="--cell gru" --seeds 1
    python bench/ablation.py --dataset snips --variants default= spm="--encoders word,trigram,spm"

A run whose result is already in ``--out`` with the same command is not repeated, so an
interrupted ablation resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from accuracy import DATASETS, ROOT, ece, folder_size, machine, summary, threading, train_command
from benchmarks_md import command_line, replace_section
from threads import pinned_environment, threads_per_job

sys.path.insert(0, str(ROOT))

from slotfill.training.data import Example
from slotfill.training.formats.detect import read_split, write_split

BENCHMARKS = ROOT / "BENCHMARKS.md"
# The options the core issue names as the choices behind the defaults, one change at a time.
VARIANTS = {
    "default": "",
    "word only": "--encoders word",
    "+spm": "--encoders word,trigram,spm",
    "gru": "--cell gru",
    "Elman RNN": "--cell rnn",
    "IRNN": "--cell irnn",
    "2 layers": "--num-layers 2",
    "no CRF": "--no-crf",
    "maxmean pooling": "--intent-pooling maxmean",
    "dropout 0.5": "--dropout 0.5",
    # Size, regularisation and batch: the settings a user tunes first.
    "hidden 300": "--hidden-size 300",
    "word dropout 0.2": "--word-dropout 0.2",
    "batch 16": "--batch-size 16",
    "ema 0.999": "--ema 0.999",
}

_SCORES = ("slot_f1", "intent_accuracy", "sentence_accuracy")  # each on dev and on the held-out share

logger = logging.getLogger("bench.ablation")


@dataclass(frozen=True)
class Variant:
    name: str
    train_args: tuple[str, ...]


def parse_variant(text: str) -> Variant:
    """``NAME=OPTIONS`` -> a variant; an empty OPTIONS is the defaults.

    >>> parse_variant('gru=--cell gru --hidden-size 100')
    Variant(name='gru', train_args=('--cell', 'gru', '--hidden-size', '100'))
    >>> parse_variant('default=')
    Variant(name='default', train_args=())
    """
    name, separator, options = text.partition("=")
    if not separator or not name.strip():
        raise argparse.ArgumentTypeError(f"a variant is NAME=OPTIONS, got {text!r}")
    return Variant(name.strip(), tuple(shlex.split(options)))


def hold_out(examples: Sequence[Example], share: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Split off ``share`` of the examples, drawn with ``seed``; both parts keep the file's order.

    >>> kept, held = hold_out([str(i) for i in range(10)], 0.2, 2026)  # type: ignore[arg-type]
    >>> len(kept), len(held), sorted(kept + held) == sorted(str(i) for i in range(10))
    (8, 2, True)
    """
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    held = set(order[: round(share * len(examples))])
    return (
        [e for i, e in enumerate(examples) if i not in held],
        [e for i, e in enumerate(examples) if i in held],
    )


def run_name(name: str) -> str:
    """A variant's name as part of a folder name: anything but letters, digits, ``.+-`` becomes ``_``.

    >>> run_name("dropout 0.5/b")
    'dropout_0.5_b'
    """
    return re.sub(r"[^A-Za-z0-9.+-]", "_", name)


def make_fold(dataset: Path, out: Path, share: float, seed: int) -> Path:
    """Write train minus the held-out share, the real dev, and the held-out share as ``test``."""
    kept, held = hold_out(read_split(dataset, "train"), share, seed)
    if not kept or not held:
        raise ValueError(f"--holdout {share} leaves nothing to train on or nothing to score")
    for split, examples in (("train", kept), ("dev", read_split(dataset, "dev")), ("test", held)):
        write_split(examples, out, split, "jointbert")
    return out


def run_once(
    dataset: str, variant: Variant, seed: int, fold: Path, out: Path, threads: int | None
) -> dict[str, Any]:
    """One ``slotfill train`` run on the fold; dev and held-out scores come from its metrics.json."""
    folder = out / f"{dataset}-{run_name(variant.name)}-seed{seed}"
    command = train_command(dataset, seed, folder, variant.train_args, data=fold)
    done = folder.parent / f"{folder.name}.json"
    if done.exists():
        previous: dict[str, Any] = json.loads(done.read_text())
        if previous.get("command") == command[1:]:
            logger.info("reusing %s", done)
            return previous
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, env=pinned_environment(threads) if threads else None)
    wall = time.perf_counter() - started
    metrics = json.loads((folder / "metrics.json").read_text())
    result: dict[str, Any] = {
        "variant": variant.name,
        "train_args": " ".join(variant.train_args),
        "seed": seed,
        "command": command[1:],  # without the interpreter, which differs between machines
        "wall_seconds": round(wall, 1),
        "best_epoch": metrics["best_epoch"],
        "model_mb": round(folder_size(folder) / 1e6, 2),
    }
    for name, split in (("dev", "dev"), ("held_out", "test")):
        for key in _SCORES:
            result[f"{name}_{key}"] = metrics[split][key]
    for kind in ("intent", "slot"):
        result[f"held_out_{kind}_ece"] = ece(metrics["test"], kind)
    done.write_text(json.dumps(result, indent=2))
    return result


def table(runs: list[dict[str, Any]], order: Sequence[str]) -> str:
    lines = [
        "| variant | options | seeds | dev slot F1 | dev intent | dev sentence | held-out slot F1 "
        "| held-out intent | held-out sentence | held-out intent ECE | held-out slot ECE "
        "| best epoch | train time (s) | model folder (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in order:
        rows = [r for r in runs if r["variant"] == name]
        if not rows:
            continue

        def cell(key: str, scale: float = 100.0, digits: int = 2, rows: list[dict[str, Any]] = rows) -> str:
            values = [r.get(key) for r in rows]  # results from before a column existed lack it
            return "–" if None in values else summary(values, scale, digits)

        cells = [
            name,
            f"`{rows[0]['train_args']}`" if rows[0]["train_args"] else "(defaults)",
            ", ".join(str(r["seed"]) for r in rows),
            *(cell(f"{part}_{key}") for part in ("dev", "held_out") for key in _SCORES),
            cell("held_out_intent_ece"),
            cell("held_out_slot_ece"),
            cell("best_epoch", 1, 0),
            cell("wall_seconds", 1, 0),
            f"{max(r['model_mb'] for r in rows):.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_benchmarks(
    dataset: str, runs: list[dict[str, Any]], order: Sequence[str], argv: list[str], note: str
) -> None:
    start, end = f"<!-- ablation-{dataset}:start -->", f"<!-- ablation-{dataset}:end -->"
    block = "\n".join(
        [
            start,
            f"Command: `{command_line('bench/ablation.py', argv)}`  ",
            f"Date: {datetime.now(UTC):%Y-%m-%d}; machine: {machine()}; {note}  ",
            "Mean over seeds with the range in brackets. Every run trains on the same fold of "
            f"{dataset.upper()}'s train split; dev is the standard dev split (it picks the epoch), "
            "held-out is the rest of train; test is not read. ECE: expected calibration error of the "
            "confidences, in points (lower is better; `slotfill evaluate` computes it).",
            "",
            table(runs, order),
            end,
        ]
    )
    replace_section(BENCHMARKS, start, end, "## Choosing settings (`bench/ablation.py`)", block)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="atis", choices=["atis", "snips"])
    parser.add_argument(
        "--variants",
        nargs="+",
        type=parse_variant,
        default=[Variant(name, tuple(shlex.split(options))) for name, options in VARIANTS.items()],
        help="NAME=OPTIONS, each a 'slotfill train' variant (default: the standard set)",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--holdout", type=float, default=0.2, help="share of train held out (default 0.2)")
    parser.add_argument("--fold-seed", type=int, default=2026, help="draws the held-out share")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "ablation")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave BENCHMARKS.md alone")
    parser.add_argument(
        "--jobs", type=int, default=1, help="runs at a time, each with an equal share of cores"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not 0.0 < args.holdout < 1.0:
        parser.error(f"--holdout must be between 0 and 1, got {args.holdout}")
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    names = [v.name for v in args.variants]
    if len(set(names)) != len(names):
        parser.error(f"variant names repeat: {names}")
    if not (DATASETS / args.dataset).is_dir():
        parser.error(f"dataset not found at {DATASETS / args.dataset}")
    threads = threads_per_job(args.jobs)
    out = args.out / args.dataset
    fold = make_fold(DATASETS / args.dataset, out / f"fold-{args.fold_seed}", args.holdout, args.fold_seed)
    plan = [(variant, seed) for variant in args.variants for seed in args.seeds]
    runs: list[dict[str, Any]] = []

    def record(run: dict[str, Any]) -> None:
        # After every run, so an interrupted ablation still records what it did.
        logger.info("%s", {k: v for k, v in run.items() if k != "command"})
        runs.append(run)
        runs.sort(key=lambda r: (names.index(r["variant"]), args.seeds.index(r["seed"])))
        if not args.no_write:
            held = f"held out {args.holdout:.0%} of train (--fold-seed {args.fold_seed})"
            note = f"{threading(args.jobs, threads)}; {held}"
            write_benchmarks(args.dataset, runs, names, argv, note)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_once, args.dataset, v, seed, fold, out, threads) for v, seed in plan]
        for future in futures:
            record(future.result())
    print(table(runs, names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
