"""Side-by-side benchmark: slotfill against a CRF (sklearn-crfsuite) and spaCy NER, same data, same machine.

Every system is trained from scratch on the train split, chooses its settings on dev, writes a model
folder, and is then loaded from that folder and measured on test: slot F1 (the conlleval-exact
scorer of ``training/metrics.py`` for all), intent accuracy, training time, batch throughput (the
test set repeated to at least 20,000 utterances), single-utterance latency (p50/p99, in-process),
model size and peak memory. Each phase runs in its own process with the same thread pinning, so
peak memory belongs to one system and a crash in one leaves the others' rows. The table (each
figure also as a ratio to slotfill) goes into BENCHMARKS.md with command, date and machine, and a
scatter of F1 against throughput into ``bench/peers.png``.

    python bench/peers.py                                   # ATIS and SNIPS, all three systems
    python bench/peers.py --datasets atis --systems crf slotfill
    python bench/peers.py --quick --out runs/peers-quick   # smoke test: subsets, 1 epoch, no write
    python bench/peers.py --datasets atis --reuse-trained  # serving again, on the models of the last run
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peers_base import Budget, System
from threads import pinned_environment

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
SYSTEMS = ("slotfill", "crf", "spacy")

logger = logging.getLogger("bench.peers")


@dataclass(frozen=True)
class Sizes:
    """How much of each split a run reads and how long serving is measured."""

    train: int | None
    dev: int | None
    test: int | None
    throughput_utterances: int  # the test set is repeated to at least this many
    latency_warmup: int


FULL = Sizes(None, None, None, throughput_utterances=20_000, latency_warmup=20)
QUICK = Sizes(300, 60, 120, throughput_utterances=600, latency_warmup=5)


# --- one system, one phase, in its own process -------------------------------------------------------


def make_system(name: str, budget: Budget) -> System:
    """The system called ``name``; imported here so a worker loads only its own libraries."""
    if name == "slotfill":
        from peers_slotfill import SlotfillSystem

        return SlotfillSystem(budget)
    if name == "crf":
        from peers_crf import CrfSystem

        return CrfSystem(budget)
    if name == "spacy":
        from peers_spacy import SpacySystem

        return SpacySystem(budget)
    raise ValueError(f"unknown system {name!r}: expected one of {', '.join(SYSTEMS)}")


def read_data(dataset: str, sizes: Sizes) -> dict[str, list[Any]]:
    from slotfill.training.formats import read_split

    limits = {"train": sizes.train, "dev": sizes.dev, "test": sizes.test}
    return {
        split: read_split(DATASETS / dataset, split, "jointbert")[:limit] for split, limit in limits.items()
    }


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train_phase(system_name: str, dataset: str, folder: Path, budget: Budget, sizes: Sizes) -> dict[str, Any]:
    data = read_data(dataset, sizes)
    system = make_system(system_name, budget)
    if folder.exists():
        shutil.rmtree(folder)
    started = time.perf_counter()
    info = system.fit(data["train"], data["dev"], folder)
    info["wall_seconds"] = time.perf_counter() - started
    info["peak_rss_mib"] = peak_rss_mib()
    info["label"] = system.label
    info["train_utterances"] = len(data["train"])
    return info


def serve_phase(system_name: str, dataset: str, folder: Path, budget: Budget, sizes: Sizes) -> dict[str, Any]:
    from slotfill.training.metrics import score

    test = read_data(dataset, sizes)["test"]
    sentences = [list(e.tokens) for e in test]
    started = time.perf_counter()
    tagger = make_system(system_name, budget).load(folder)
    load_seconds = time.perf_counter() - started

    prediction = tagger.predict(sentences)  # also the warm-up of the batch path
    with_intents = prediction.intents is not None
    scores = score(
        [list(e.tags) for e in test],
        prediction.tags,
        [e.intent or "" for e in test] if with_intents else None,
        prediction.intents,
    )

    repeated = sentences * math.ceil(sizes.throughput_utterances / len(sentences))
    started = time.perf_counter()
    tagger.predict(repeated)
    batch_seconds = time.perf_counter() - started

    for sentence in sentences[: sizes.latency_warmup]:
        tagger.predict([sentence])
    latencies = []
    for sentence in sentences:
        started = time.perf_counter()
        tagger.predict([sentence])
        latencies.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "slot_f1": scores.slot.f1,
        "intent_accuracy": scores.intent_accuracy,
        "sentence_accuracy": scores.sentence_accuracy,
        "test_utterances": len(test),
        "load_seconds": load_seconds,
        "throughput_utterances": len(repeated),
        "throughput": len(repeated) / batch_seconds,
        "latency_p50_ms": cuts[49],
        "latency_p99_ms": cuts[98],
        "latency_samples": len(latencies),
        "peak_rss_mib": peak_rss_mib(),
    }


def worker(args: argparse.Namespace) -> int:
    """Run one phase of one system on one dataset and write its figures as JSON."""
    budget = Budget(quick=args.quick, threads=args.threads)
    sizes = QUICK if args.quick else FULL
    system, dataset = args.systems[0], args.datasets[0]
    folder = run_folder(args.out, dataset, system)
    phase = train_phase if args.worker == "train" else serve_phase
    result = phase(system, dataset, folder / "model", budget, sizes)
    (folder / f"{args.worker}.json").write_text(json.dumps(result, indent=2))
    return 0


# --- the harness ---------------------------------------------------------------------------------------


def run_folder(out: Path, dataset: str, system: str) -> Path:
    return out / f"{dataset}-{system}"


def run_phase(phase: str, system: str, dataset: str, args: argparse.Namespace) -> dict[str, Any]:
    """One phase in a fresh interpreter; its figures, or ``{"error": ...}`` naming the log to read."""
    folder = run_folder(args.out, dataset, system)
    folder.mkdir(parents=True, exist_ok=True)
    result_path = folder / f"{phase}.json"
    result_path.unlink(missing_ok=True)
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        phase,
        "--systems",
        system,
        "--datasets",
        dataset,
        "--out",
        str(args.out),
        "--threads",
        str(args.threads),
        *(["--quick"] if args.quick else []),
    ]
    log_path = folder / f"{phase}.log"
    with log_path.open("w") as log:
        done = subprocess.run(
            command,
            check=False,  # a failed system becomes a "failed" row, not the end of the benchmark
            stdout=log,
            stderr=subprocess.STDOUT,
            env=pinned_environment(args.threads),
            cwd=ROOT,
        )
    if done.returncode != 0 or not result_path.exists():
        tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        return {"error": f"{phase} failed (exit {done.returncode}): {tail[0][:200]}; see {log_path}"}
    result: dict[str, Any] = json.loads(result_path.read_text())
    return result


def benchmark(dataset: str, system: str, args: argparse.Namespace) -> dict[str, Any]:
    row: dict[str, Any] = {"dataset": dataset, "system": system}
    trained = run_folder(args.out, dataset, system) / "train.json"
    if args.reuse_trained and trained.is_file():
        logger.info("%s / %s: reusing the model trained in %s", dataset, system, trained.parent)
        row["train"] = json.loads(trained.read_text())
    else:
        logger.info("%s / %s: training", dataset, system)
        row["train"] = run_phase("train", system, dataset, args)
    if "error" in row["train"]:
        row["error"] = row["train"]["error"]
        return row
    logger.info("%s / %s: serving", dataset, system)
    row["serve"] = run_phase("serve", system, dataset, args)
    if "error" in row["serve"]:
        row["error"] = row["serve"]["error"]
    return row


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", default=["atis", "snips"], choices=["atis", "snips"])
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument("--threads", type=int, default=2, help="threads every system may use (default 2)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: first {QUICK.train}/{QUICK.dev}/{QUICK.test} utterances, 1 epoch, one setting",
    )
    parser.add_argument("--out", type=Path, help="run folder (default runs/peers, or runs/peers-quick)")
    parser.add_argument(
        "--reuse-trained",
        action="store_true",
        help="serve the systems already trained in --out (their train.json and model folder) "
        "instead of training them again: re-measures serving after a change to inference",
    )
    parser.add_argument(
        "--write",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write BENCHMARKS.md and bench/peers.png (default: yes, except with --quick)",
    )
    parser.add_argument("--worker", choices=("train", "serve"), help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if not DATASETS.is_dir():
        parser.error(f"datasets not found at {DATASETS}")
    args.out = (args.out or ROOT / "runs" / ("peers-quick" if args.quick else "peers")).resolve()
    if args.worker:
        return worker(args)

    from peers_report import table, write_benchmarks, write_plot

    write = (not args.quick) if args.write is None else args.write
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for dataset in args.datasets:
        for system in args.systems:
            rows.append(benchmark(dataset, system, args))
            logger.info("%s", json.dumps({k: v for k, v in rows[-1].items() if k != "train"}, default=str))
            (args.out / "results.json").write_text(json.dumps(rows, indent=2))
    write_plot(rows, args.out / "peers.png")
    if write:  # at the end only: a partial table would show ratios against a missing slotfill row
        write_benchmarks(rows, argv, args.threads, args.quick)
        shutil.copyfile(args.out / "peers.png", ROOT / "bench" / "peers.png")
    print(table(rows))
    failed = [row for row in rows if "error" in row]
    for row in failed:
        print(f"{row['dataset']} / {row['system']}: {row['error']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
