"""``slotfill tag`` as a data team runs it: whole-process lines/s and peak RSS, local and on Ray.

ATIS test sentences are repeated to ``--lines`` lines (200,000 by default) and each configuration
is one real ``slotfill tag`` process, timed from its start to its exit (Python, torch and model
loading included) with its peak RSS; a ``--rss-lines`` input (2,000,000) checks that memory stays
flat. Ray runs start their own local Ray, as a first job on a laptop would, so their figure holds
Ray's start-up too; the overhead is their time over the local engine's in the same run.

    python bench/tag_throughput.py --write                       # CPU: local, workers, Ray, RSS
    python bench/tag_throughput.py --quick                       # a smoke run (tests/bench)
    python bench/tag_throughput.py --device cuda --batch-sizes 256 1024 4096 16384 --no-ray --rss-lines 0

``--atis-model DIR`` adds the ATIS model of the default recipe (trained into DIR if it is missing).
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from accuracy import machine  # noqa: E402
from benchmarks_md import command_line, replace_section  # noqa: E402

logger = logging.getLogger("bench.tag_throughput")

ATIS = ROOT.parent / "shared" / "datasets" / "atis"
START, END = "<!-- tag-throughput:start -->", "<!-- tag-throughput:end -->"
HEADING = "## Batch tagging jobs (`bench/tag_throughput.py`)"
# Runs `slotfill tag` in this process and reports its peak RSS (KiB) on the last stdout line.
PEAK_RSS = """
import resource, sys
from slotfill.cli import main
status = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(status)
"""


@dataclass(frozen=True)
class Run:
    name: str
    lines: int
    seconds: float
    peak_rss_mib: float

    @property
    def rate(self) -> float:
        return self.lines / self.seconds


def corpus(path: Path, lines: int) -> Path:
    """ATIS test sentences, repeated (and cut) to ``lines`` lines."""
    texts = (ATIS / "test" / "seq.in").read_text().splitlines()
    with path.open("w") as out:
        for start in range(0, lines, len(texts)):
            out.write("\n".join(texts[: min(len(texts), lines - start)]) + "\n")
    return path


def tag(name: str, model: Path, source: Path, lines: int, out: Path, args: Sequence[str]) -> Run:
    command = [sys.executable, "-c", PEAK_RSS, "tag", str(model), str(source), "-o", str(out)]
    command += ["--overwrite", "--quiet", *args]
    started = time.perf_counter()
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    written = sum(1 for _ in out.open("rb"))
    if written != lines:
        raise SystemExit(f"{name}: {written} records for {lines} lines")
    rss = int(done.stderr.strip().splitlines()[-1]) / 1024
    run = Run(name, lines, seconds, rss)
    logger.info("%s: %.0f lines/s, %.1f s, peak RSS %.0f MiB", name, run.rate, seconds, rss)
    return run


def atis_model(folder: Path) -> Path:
    """The default recipe's settings trained on ATIS (so the model meets its own vocabulary),
    exported to ONNX as ``build-default`` exports the bundled model."""
    from slotfill.model.onnx_graph import graph_is_current, write_onnx

    if not (folder / "config.json").exists():
        from slotfill.training.pipeline import load_corpus, train_model
        from slotfill.training.travel.default import MODEL_OPTIONS, TRAINING

        logger.info("training %s with the default recipe on ATIS", folder)
        data = load_corpus(ATIS, seed=TRAINING.seed)
        train_model(data, folder, MODEL_OPTIONS, TRAINING, progress=False)
    if not graph_is_current(folder):
        write_onnx(folder)
    return folder


def table(runs: list[Run], base: Run) -> list[str]:
    rows = [
        "| run | lines | whole process (s) | lines/s | × first row | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        rows.append(
            f"| {run.name} | {run.lines:,} | {run.seconds:.1f} | {run.rate:,.0f} | "
            f"{run.rate / base.rate:.2f} | {run.peak_rss_mib:.0f} |"
        )
    return rows


def measure(args: argparse.Namespace) -> list[Run]:
    """Every configuration asked for, one `slotfill tag` process each, in this order."""
    runs: list[Run] = []
    cuda = args.device.startswith("cuda")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        source = corpus(work / "atis.txt", args.lines)
        out = work / "out.jsonl"
        device = ["--device", args.device]
        threads = [] if args.threads is None else ["--threads", str(args.threads)]
        for size in args.batch_sizes:
            label = f"local, {args.device}, batch {size}"
            if not cuda:
                label += f", torch threads {args.threads or os.cpu_count()}"
            sized = [*device, *threads, "--batch-size", str(size)]
            runs.append(tag(label, args.model, source, args.lines, out, sized))
        if not cuda and not args.rss_only:
            one = ["--threads", "1", *device]
            if args.threads != 1:
                runs.append(
                    tag("local, 1 process, torch threads 1", args.model, source, args.lines, out, one)
                )
            runs.append(
                tag("local, --workers 2, torch threads 1 each", args.model, source, args.lines, out,
                    [*one, "--workers", "2"])
            )  # fmt: skip
        if not args.no_ray and not args.rss_only:
            for actors in (1, 2):
                ray_args = [*device, "--threads", "1", "--engine", "ray", "--actors", str(actors)]
                runs.append(tag(f"ray, {actors} actor(s), torch threads 1 each", args.model, source,
                                args.lines, out, ray_args))  # fmt: skip
        if args.rss_lines:
            big = corpus(work / "big.txt", args.rss_lines)
            runs.append(tag(f"local, {args.device}, {args.rss_lines:,} lines", args.model, big,
                            args.rss_lines, work / "big.jsonl", [*device, *threads]))  # fmt: skip
            big.unlink()
        if args.atis_model:
            model = atis_model(args.atis_model)
            runs.append(tag("ATIS model (default recipe), local", model, source, args.lines, out, device))

    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--rss-lines", type=int, default=2_000_000, help="0: skip the memory run")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--threads", type=int, help="torch threads of the first and the memory runs (default: all cores)"
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256], help="one run each")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--atis-model", type=Path, help="model folder (trained if missing)")
    parser.add_argument("--rss-only", action="store_true", help="only the default run and the memory run")
    parser.add_argument("--quick", action="store_true", help="2,000 lines, no memory run: a smoke test")
    parser.add_argument("--write", action="store_true", help="replace this section of BENCHMARKS.md")
    parser.add_argument("--json", type=Path, help="write the runs here too")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.quick:
        args.lines, args.rss_lines = 2_000, 0
    if not (ATIS / "test" / "seq.in").exists():
        parser.error(f"ATIS not found at {ATIS}")
    if not (args.model / "config.json").exists():
        parser.error(f"{args.model}: no model folder (make run, or slotfill build-default, makes it)")

    runs = measure(args)
    lines = report(runs, args, argv)
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps([run.__dict__ for run in runs], indent=1) + "\n")
    if args.write:
        replace_section(ROOT / "BENCHMARKS.md", START, END, HEADING, "\n".join(lines))
    return 0


def report(runs: list[Run], args: argparse.Namespace, argv: list[str] | None) -> list[str]:
    shown = command_line("bench/tag_throughput.py", list(sys.argv[1:] if argv is None else argv))
    lines = [
        START,
        f"Command: `{shown}`  ",
        f"Date: {datetime.date.today()}; machine: {machine()}  ",
        f"Input: ATIS test sentences repeated to {args.lines:,} lines; model `{args.model.name}`; "
        "every figure is one `slotfill tag` process from start to exit.",
        "",
        *table(runs, runs[0]),
    ]
    by_name = {run.name: run for run in runs}
    notes = []
    local1 = by_name.get("local, 1 process, torch threads 1") or (runs[0] if args.threads == 1 else None)
    workers = by_name.get("local, --workers 2, torch threads 1 each")
    if local1 and workers:
        notes.append(f"- two worker processes against one with one thread: {workers.rate / local1.rate:.2f}×")
    ray1 = by_name.get("ray, 1 actor(s), torch threads 1 each")
    ray2 = by_name.get("ray, 2 actor(s), torch threads 1 each")
    if local1 and ray1:
        notes.append(
            "- Ray overhead, 1 actor against the local engine at one thread: "
            f"{local1.rate / ray1.rate:.2f}× the time"
        )
    if ray1 and ray2:
        notes.append(f"- Ray, 2 actors against 1: {ray2.rate / ray1.rate:.2f}× the lines/s")
    big = next((run for run in runs if run.lines == args.rss_lines and args.rss_lines), None)
    if big:
        notes.append(
            f"- peak RSS, {big.lines:,} lines against {runs[0].lines:,}: "
            f"{big.peak_rss_mib:.0f} against {runs[0].peak_rss_mib:.0f} MiB "
            f"({big.peak_rss_mib / runs[0].peak_rss_mib:.2f}×)"
        )
    return [*lines, "", *notes, END] if notes else [*lines, END]


if __name__ == "__main__":
    sys.exit(main())
