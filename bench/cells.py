"""The recurrent cells compared: each bidirectional, same encoders, budget and seeds, one network.

Accuracy (the default): every cell is trained by ``slotfill train --cell CELL --members 1`` on
ATIS and SNIPS with the same settings and budget; the table gives test slot F1, intent accuracy,
training time (``metrics.json``'s ``train_seconds``: the epochs with their dev scoring) and
tagging speed (utterances a second, one test utterance at a time as a chatbot sends them, one
thread, measured after all training, cells interleaved, best of ``--tag-rounds``). The budget
is explicit: ``--epochs`` and ``--train-size`` (a random subset of train, drawn with
``--subset-seed``; dev and test are the standard splits). The table goes into BENCHMARKS.md
between the ``cells-DATASET`` markers.

Speed (``--speed``): the looped cells' time loop run eagerly, through ``torch.jit.script`` and
through ``torch.compile``, against torch's fused LSTM in the same process: a training step
(forward and backward, batches of 32 of 5-25 tokens) and tagging (one utterance), both
bidirectional, 200 inputs and 200 units a direction, one thread.

    python bench/cells.py --jobs 2 --epochs 3 --train-size 1500          # a budget that fits a laptop
    python bench/cells.py --datasets atis --cells lstm irnn --seeds 1 2 3  # all of train, 40 epochs
    python bench/cells.py --speed --loops eager script compile

A run whose result is already in ``--out`` with the same command is not repeated, so an
interrupted comparison resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import shlex
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from accuracy import DATASETS, ROOT, machine, summary, threading, train_command
from benchmarks_md import command_line, replace_section
from threads import pinned_environment, threads_per_job

sys.path.insert(0, str(ROOT))

import torch

from slotfill.model.cells import clockwork, jordan, peephole, scrn
from slotfill.model.config import CELLS
from slotfill.model.predictor import Predictor
from slotfill.model.recurrent import FUSED_CELLS, RecurrentEncoder
from slotfill.training.formats.detect import read_split, write_split

BENCHMARKS = ROOT / "BENCHMARKS.md"
HEADING = "## Recurrent cells (`bench/cells.py`)"
# The lecture's order: the Elman network and its ReLU variant, Jordan, the gated cells, the rest.
ORDER = ("rnn", "irnn", "jordan", "gru", "lstm", "lstm-peephole", "clockwork", "scrn")
# Each looped cell's time loops, by module and function name (``--speed`` swaps them).
LOOPS = {
    "jordan": (jordan, ("jordan_loop",)),
    "lstm-peephole": (peephole, ("peephole_loop",)),
    "clockwork": (clockwork, ("clockwork_loop",)),
    "scrn": (scrn, ("context_loop", "fast_loop")),
}
LOOP_KINDS = ("eager", "script", "compile")

logger = logging.getLogger("bench.cells")


# --- accuracy -------------------------------------------------------------------------------------


def make_subset(dataset: Path, out: Path, size: int | None, seed: int) -> Path:
    """``size`` training utterances drawn with ``seed`` (all of them with None), in the file's
    order, beside the standard dev and test; written once to ``out``."""
    train = read_split(dataset, "train")
    if size is not None and not 0 < size <= len(train):
        raise ValueError(f"--train-size must lie in 1..{len(train)}, got {size}")
    if size is not None:
        chosen = set(random.Random(seed).sample(range(len(train)), size))
        train = [example for index, example in enumerate(train) if index in chosen]
    for split, examples in (
        ("train", train),
        ("dev", read_split(dataset, "dev")),
        ("test", read_split(dataset, "test")),
    ):
        write_split(examples, out, split, "jointbert")
    return out


def run_once(
    dataset: str,
    cell: str,
    seed: int,
    data: Path,
    out: Path,
    budget: Sequence[str],
    threads: int | None,
    train: bool = True,
) -> dict[str, Any] | None:
    """One ``slotfill train`` run of ``cell``; scores come from its metrics.json. A run already
    done with the same command is reused; without ``train``, a run not done yet is None."""
    folder = out / f"{dataset}-{cell}-seed{seed}"
    arguments = ("--cell", cell, "--bidirectional", "--members", "1", *budget)
    command = train_command(dataset, seed, folder, arguments, data=data)
    done = folder.parent / f"{folder.name}.json"
    if done.exists():
        previous: dict[str, Any] = json.loads(done.read_text())
        if previous.get("command") == command[1:]:
            logger.info("reusing %s", done)
            return previous
    if not train:
        return None
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, env=pinned_environment(threads) if threads else None)
    wall = time.perf_counter() - started
    metrics = json.loads((folder / "metrics.json").read_text())
    result: dict[str, Any] = {
        "dataset": dataset,
        "cell": cell,
        "seed": seed,
        "command": command[1:],  # without the interpreter, which differs between machines
        "folder": folder.name,
        "wall_seconds": round(wall, 1),
        "train_seconds": metrics["train_seconds"],
        "epochs_run": metrics["epochs_run"],
        "best_epoch": metrics["best_epoch"],
        "dev_slot_f1": metrics["dev"]["slot_f1"],
        "slot_f1": metrics["test"]["slot_f1"],
        "intent_accuracy": metrics["test"]["intent_accuracy"],
    }
    done.write_text(json.dumps(result, indent=2))
    return result


def tagging_speed(folders: Sequence[Path], sentences: Sequence[Sequence[str]], rounds: int) -> list[float]:
    """Utterances a second of each model folder, tagging one utterance at a time; the folders
    take turns within each round, so a busy spell on the machine slows them all alike."""
    predictors = [Predictor.load(folder, device="cpu") for folder in folders]
    best = [float("inf")] * len(predictors)
    for _ in range(rounds):
        for index, predictor in enumerate(predictors):
            started = time.perf_counter()
            for tokens in sentences:
                predictor.tag([list(tokens)])
            best[index] = min(best[index], time.perf_counter() - started)
    return [len(sentences) / seconds for seconds in best]


def accuracy_table(runs: list[dict[str, Any]], order: Sequence[str]) -> str:
    """Mean (range) over seeds per cell; times also as a ratio to the LSTM's of the same dataset."""
    lines = [
        "| cell | seeds | test slot F1 | intent acc. | train time (s) | x LSTM | tagging (utt./s) | x LSTM |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lstm = [r for r in runs if r["cell"] == "lstm"]
    lstm_train = statistics.fmean(r["train_seconds"] for r in lstm) if lstm else None
    lstm_tags = (
        statistics.fmean(r["tagging_per_second"] for r in lstm if "tagging_per_second" in r)
        if any("tagging_per_second" in r for r in lstm)
        else None
    )
    for cell in order:
        rows = [r for r in runs if r["cell"] == cell]
        if not rows:
            continue
        train = statistics.fmean(r["train_seconds"] for r in rows)
        speeds = [r["tagging_per_second"] for r in rows if "tagging_per_second" in r]
        tagging = statistics.fmean(speeds) if speeds else None
        intents = [r["intent_accuracy"] for r in rows]
        cells = [
            cell,
            ", ".join(str(r["seed"]) for r in rows),
            summary([r["slot_f1"] for r in rows]),
            "–" if None in intents else summary(intents),
            summary([r["train_seconds"] for r in rows], 1, 0),
            f"{train / lstm_train:.2f}" if lstm_train else "–",
            f"{tagging:.0f}" if tagging else "–",
            f"{lstm_tags / tagging:.2f}" if tagging and lstm_tags else "–",  # slowdown: > 1 is slower
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_accuracy(dataset: str, runs: list[dict[str, Any]], argv: list[str], note: str) -> None:
    start, end = f"<!-- cells-{dataset}:start -->", f"<!-- cells-{dataset}:end -->"
    block = "\n".join(
        [
            start,
            f"**{dataset.upper()}**. Command: `{command_line('bench/cells.py', argv)}`  ",
            f"Date: {datetime.now(UTC):%Y-%m-%d}; machine: {machine()}; {note}  ",
            "Mean over seeds with the range in brackets, test split. Train time: the epochs with their "
            'dev scoring. Tagging: one utterance at a time, one thread. "x LSTM": time relative to '
            "the fused LSTM (above 1 is slower).",
            "",
            accuracy_table(runs, ORDER),
            end,
        ]
    )
    replace_section(BENCHMARKS, start, end, HEADING, block)


# --- speed of the loops --------------------------------------------------------------------------


def use_loops(kind: str) -> None:
    """Run every looped cell's time loop ``kind``: eager (as written), scripted or compiled."""
    for module, names in LOOPS.values():
        for name in names:
            eager = getattr(module, f"_eager_{name}", None) or getattr(module, name)
            setattr(module, f"_eager_{name}", eager)
            if kind == "eager":
                setattr(module, name, eager)
            elif kind == "script":
                with warnings.catch_warnings():  # deprecated in torch 2.13, measured all the same
                    warnings.simplefilter("ignore", DeprecationWarning)
                    setattr(module, name, torch.jit.script(eager))
            else:
                setattr(module, name, torch.compile(eager, dynamic=True))


def _time(run: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def loop_speeds(
    cells: Sequence[str], kinds: Sequence[str], size: int, batches: int, repeats: int
) -> list[dict[str, Any]]:
    """Per loop kind and looped cell (and once per other fused cell, for scale): seconds of the
    first pass (compilation included), then the best pass of training steps and of tagging, each
    divided by the fused LSTM's, timed in turn with it."""
    generator = random.Random(0)
    shapes = [generator.randint(5, 25) for _ in range(batches)]
    inputs = [(torch.randn(32, t, size), torch.randint(1, t + 1, (32,)).clamp(min=t // 2)) for t in shapes]
    single = [torch.randn(1, t, size) for t in shapes]

    def training(encoder: RecurrentEncoder) -> Callable[[], None]:
        def run() -> None:
            for x, lengths in inputs:
                encoder(x, lengths).sum().backward()

        return run

    def tagging(encoder: RecurrentEncoder) -> Callable[[], None]:
        def run() -> None:
            with torch.inference_mode():
                for x in single:
                    encoder(x, torch.tensor([x.shape[1]]))

        return run

    torch.manual_seed(0)
    lstm = RecurrentEncoder("lstm", size, size, 1, True, 0.0)
    results = []
    plan = [("fused", cell) for cell in cells if cell in FUSED_CELLS and cell != "lstm"]
    plan += [(kind, cell) for kind in kinds for cell in cells if cell not in FUSED_CELLS]
    for kind, cell in plan:
        use_loops("eager" if kind == "fused" else kind)
        torch.manual_seed(0)
        encoder = RecurrentEncoder(cell, size, size, 1, True, 0.0)
        first = _time(training(encoder), 1) + _time(tagging(encoder), 1)
        train = lstm_train = tag = lstm_tag = float("inf")
        for _ in range(repeats):  # in turn with the LSTM, so load on the machine hits both
            train, lstm_train = (
                min(train, _time(training(encoder), 1)),
                min(lstm_train, _time(training(lstm), 1)),
            )
            tag, lstm_tag = min(tag, _time(tagging(encoder), 1)), min(lstm_tag, _time(tagging(lstm), 1))
        results.append(
            {
                "loop": kind,
                "cell": cell,
                "first_seconds": first,
                "train_ratio": train / lstm_train,
                "tag_ratio": tag / lstm_tag,
            }
        )
        logger.info("%s", results[-1])
    use_loops("eager")
    return results


def speed_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| loop | cell | first pass (s) | training step, x LSTM | tagging, x LSTM |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        figures = f"{r['first_seconds']:.1f} | {r['train_ratio']:.2f} | {r['tag_ratio']:.2f}"
        lines.append(f"| {r['loop']} | {r['cell']} | {figures} |")
    return "\n".join(lines)


def write_speed(results: list[dict[str, Any]], argv: list[str], note: str) -> None:
    start, end = "<!-- cells-speed:start -->", "<!-- cells-speed:end -->"
    block = "\n".join(
        [
            start,
            f"**The loops' speed.** Command: `{command_line('bench/cells.py', argv)}`  ",
            f"Date: {datetime.now(UTC):%Y-%m-%d}; machine: {machine()}; {note}  ",
            "Time relative to torch's fused LSTM, measured in turn with it in the same process (above 1 "
            "is slower); first pass: the first training pass and tagging pass, with any compilation.",
            "",
            speed_table(results),
            end,
        ]
    )
    replace_section(BENCHMARKS, start, end, HEADING, block)


# --- command line ---------------------------------------------------------------------------------


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", default=["atis", "snips"], choices=["atis", "snips"])
    parser.add_argument("--cells", nargs="+", default=list(ORDER), choices=CELLS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--epochs", type=int, help="epochs per run (default: slotfill train's)")
    parser.add_argument("--train-size", type=int, help="training utterances drawn at random (default: all)")
    parser.add_argument("--subset-seed", type=int, default=2026, help="draws the --train-size subset")
    parser.add_argument(
        "--train-args", default="", help="more 'slotfill train' options, the same for every cell"
    )
    parser.add_argument("--tag-sample", type=int, default=300, help="test utterances timed per model")
    parser.add_argument("--tag-rounds", type=int, default=3)
    parser.add_argument("--data-root", type=Path, default=DATASETS, help="holds atis/ and snips/")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "cells")
    parser.add_argument(
        "--jobs", type=int, default=1, help="runs at a time, each with an equal share of cores"
    )
    parser.add_argument("--note", default="", help="a remark for the table's header (e.g. a loaded machine)")
    parser.add_argument("--no-write", action="store_true", help="print the tables, leave BENCHMARKS.md alone")
    parser.add_argument(
        "--finished",
        action="store_true",
        help="train nothing: the tables of the runs in --out that a run of this command finished",
    )
    parser.add_argument("--speed", action="store_true", help="time the loops instead (no training)")
    parser.add_argument("--loops", nargs="+", default=["eager", "script"], choices=LOOP_KINDS)
    parser.add_argument("--size", type=int, default=200, help="--speed: inputs and units a direction")
    parser.add_argument("--batches", type=int, default=20, help="--speed: batches a pass")
    parser.add_argument("--repeats", type=int, default=3, help="--speed: passes, the best is kept")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = make_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)
    note = f"{args.note}; " if args.note else ""
    if args.speed:
        results = loop_speeds(args.cells, args.loops, args.size, args.batches, args.repeats)
        if not args.no_write:
            write_speed(results, argv, note + "torch threads: 1")
        print(speed_table(results))
        return 0
    if args.jobs < 1 or (args.epochs is not None and args.epochs < 1):
        parser.error("--jobs and --epochs must be >= 1")
    for dataset in args.datasets:
        if not (args.data_root / dataset).is_dir():
            parser.error(f"dataset not found at {args.data_root / dataset}")
    compare(args, argv, note)
    return 0


def compare(args: argparse.Namespace, argv: list[str], note: str) -> None:
    """Train every cell on every dataset and seed, time their tagging, write the tables."""
    budget = [*(["--epochs", str(args.epochs)] if args.epochs else []), *shlex.split(args.train_args)]
    threads = threads_per_job(args.jobs)
    runs: dict[str, list[dict[str, Any]]] = {}
    for dataset in args.datasets:
        source = args.data_root / dataset
        name = f"data-{args.train_size or 'all'}-{args.subset_seed}"
        data = make_subset(source, args.out / dataset / name, args.train_size, args.subset_seed)
        plan = [(cell, seed) for seed in args.seeds for cell in args.cells]
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [
                pool.submit(
                    run_once,
                    dataset,
                    cell,
                    seed,
                    data,
                    args.out / dataset,
                    budget,
                    threads,
                    not args.finished,
                )
                for cell, seed in plan
            ]
            runs[dataset] = [run for future in futures if (run := future.result()) is not None]
        sentences = [e.tokens for e in read_split(data, "test")][: args.tag_sample]
        folders = [args.out / dataset / r["folder"] for r in runs[dataset]]
        for run, speed in zip(runs[dataset], tagging_speed(folders, sentences, args.tag_rounds), strict=True):
            run["tagging_per_second"] = speed
        subset = (
            f"{args.train_size} of train's utterances (--subset-seed {args.subset_seed})"
            if args.train_size
            else "all of train"
        )
        epochs = f"{args.epochs} epochs" if args.epochs else "slotfill train's epochs"
        budget_note = f"{note}budget: {epochs}, {subset}; {threading(args.jobs, threads)}"
        if not args.no_write:
            write_accuracy(dataset, runs[dataset], argv, budget_note)
        print(f"{dataset.upper()} ({budget_note})\n{accuracy_table(runs[dataset], ORDER)}")


if __name__ == "__main__":
    sys.exit(main())
