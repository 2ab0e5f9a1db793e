"""``slotfill tag MODEL_DIR INPUT -o OUTPUT``: tag a corpus, on this machine or on a Ray cluster.

Only argparse and torch-free modules are imported here, so ``slotfill --help`` stays fast; the
engines import torch (and Ray) when the command runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from slotfill.jobs.options import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_CHARS,
    INPUT_FORMATS,
    WINDOWS_PER_BATCH,
    Options,
)
from slotfill.jobs.source import STDIO, JobError
from slotfill.model.device import DEVICES

logger = logging.getLogger("slotfill.tag")

EXIT_BAD_LINE = 1  # --fail-fast met a bad line
EXIT_INTERRUPTED = 130


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"need at least 1, got {number}")
    return number


def add_parsers(commands: Any) -> None:
    """Add the ``tag`` subcommand to ``slotfill``'s subparsers."""
    tag: argparse.ArgumentParser = commands.add_parser(
        "tag",
        help="tag a corpus (.txt or .jsonl, plain or gzip) into JSONL, locally or on Ray",
        description="Tag every line of INPUT; one output record per input line, in input order. "
        'A line that cannot be tagged gets an error record {"line": n, "error": ...} in its place.',
    )
    tag.add_argument("model", help="model folder written by `slotfill train`")
    tag.add_argument(
        "input", help='a .txt (one text per line) or .jsonl ({"text": ...}) file, maybe .gz; - for stdin'
    )
    tag.add_argument(
        "-o",
        "--output",
        default=STDIO,
        help="JSONL file (- for stdout, the default); "
        "with --format parquet, a folder or URI for Ray to write",
    )
    tag.add_argument(
        "--input-format", choices=INPUT_FORMATS, help="txt or jsonl (default: from the name; stdin: txt)"
    )
    tag.add_argument(
        "--format",
        choices=("jsonl", "parquet"),
        default="jsonl",
        help="output format (parquet: --engine ray only)",
    )
    tag.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this machine; ray: the Ray cluster at RAY_ADDRESS (a local Ray without it)",
    )
    tag.add_argument(
        "--batch-size",
        type=_positive,
        default=DEFAULT_BATCH_SIZE,
        help=f"texts per Predictor.parse_batch call (default {DEFAULT_BATCH_SIZE}); texts are sorted by "
        f"length within windows of {WINDOWS_PER_BATCH} batches",
    )
    tag.add_argument("--device", choices=DEVICES, default="auto")
    tag.add_argument(
        "--threads",
        type=_positive,
        help="torch threads per process (default: all cores; cores / N with --workers N; 1 per Ray actor)",
    )
    tag.add_argument(
        "--workers", type=_positive, default=1, help="local engine: processes, each with a model"
    )
    tag.add_argument("--actors", type=_positive, default=1, help="ray engine: actors, each with a model")
    tag.add_argument(
        "--max-chars",
        type=_positive,
        default=DEFAULT_MAX_CHARS,
        help=f"longer texts get an error record (default {DEFAULT_MAX_CHARS}, as the service)",
    )
    tag.add_argument("--fail-fast", action="store_true", help="stop at the first bad line instead")
    tag.add_argument("--resume", action="store_true", help="continue the output of a stopped job")
    tag.add_argument("--overwrite", action="store_true", help="replace an existing output")
    tag.add_argument("--quiet", action="store_true", help="no progress (the summary line stays)")
    tag.set_defaults(run=run_tag)


def _check(args: argparse.Namespace) -> None:
    if args.format == "parquet" and args.engine != "ray":
        raise JobError("--format parquet is written by Ray: add --engine ray")
    if args.resume and args.overwrite:
        raise JobError("--resume and --overwrite contradict each other")
    if args.engine == "ray" and args.workers != 1:
        raise JobError("--workers is for the local engine; Ray takes --actors")


def run_tag(args: argparse.Namespace) -> int:
    from slotfill.jobs.local import LocalJob, Outcome, run_local
    from slotfill.jobs.source import input_format

    _check(args)
    options = Options(
        input_format(args.input, args.input_format), args.max_chars, args.batch_size, args.fail_fast
    )
    job = LocalJob(
        args.model,
        args.input,
        args.output,
        options,
        args.device,
        args.threads,
        args.workers,
        args.resume,
        args.overwrite,
        args.quiet,
    )
    try:
        if args.engine == "ray":
            from slotfill.jobs.ray_engine import RayJob, run_ray

            outcome: Outcome = run_ray(RayJob(job, args.actors, args.format))
        else:
            outcome = run_local(job)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        print("slotfill: the output was closed before the job ended", file=sys.stderr)
        return EXIT_BAD_LINE
    print(outcome.counts.summary(outcome.stopped), file=sys.stderr)
    if outcome.first_bad is not None:
        bad = outcome.first_bad
        print(f"slotfill: error: {args.input}:{bad.line}: {bad.error}", file=sys.stderr)
        return EXIT_BAD_LINE
    if outcome.stopped == "interrupted":
        done = outcome.counts.skipped + outcome.counts.read
        print(f"slotfill: interrupted after line {done}; --resume continues from there", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0
