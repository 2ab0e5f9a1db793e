"""CRF decoding (Viterbi + marginals) in NumPy against torch, by batch size and tag-set size.

This is where ``model.crf.NUMPY_MAX_WORK`` comes from: a chatbot backend decodes one utterance
at a time, where each step's arrays are tiny and torch's per-call dispatch dominates; batch jobs
decode 128 at a time, where the arithmetic does and torch can spread it over threads. Tag sets
are those of the bundled default model (7 tags), SNIPS (79) and ATIS (159); utterances are 12
tokens, about ATIS's mean. Both decoders get the same random CRF and emissions, with one torch
thread (a server worker's default) and with one per core.

    python bench/crf_decode.py
    python bench/crf_decode.py --no-write
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accuracy import machine  # noqa: E402
from benchmarks_md import command_line, replace_section  # noqa: E402

from slotfill.model import crf_decode  # noqa: E402
from slotfill.model.crf import CRF, NUMPY_MAX_WORK  # noqa: E402

BENCHMARKS = ROOT / "BENCHMARKS.md"
START, END = "<!-- crf-decode:start -->", "<!-- crf-decode:end -->"
TAG_SETS = {"default model": 7, "SNIPS": 79, "ATIS": 159}
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128)
TOKENS = 12

logger = logging.getLogger("bench.crf_decode")


def random_crf(tags: int, seed: int = 0) -> CRF:
    """A CRF over ``tags`` BIO tags (O plus B-/I- pairs) with random transition scores."""
    labels = ["O"] + [f"{prefix}-l{i}" for i in range((tags - 1) // 2) for prefix in "BI"]
    torch.manual_seed(seed)
    crf = CRF(labels)
    with torch.no_grad():
        for table in (crf.transitions, crf.start, crf.end):
            table.normal_()
    return crf


def seconds_per_call(work: Callable[[], object], repeats: int = 5, budget: float = 0.05) -> float:
    """Median over ``repeats`` of the mean time of as many calls as fit in ``budget`` seconds."""
    work()
    calls = 1
    while True:
        started = time.perf_counter()
        for _ in range(calls):
            work()
        if time.perf_counter() - started >= budget:
            break
        calls *= 2
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            work()
        times.append((time.perf_counter() - started) / calls)
    return statistics.median(times)


Row = tuple[int, str, int, int, float, float]


def measure(threads: int) -> list[Row]:
    """(threads, tag set, tags, batch, torch seconds, numpy seconds) per configuration."""
    torch.set_num_threads(threads)
    rows = []
    for name, tags in TAG_SETS.items():
        crf = random_crf(tags)
        for batch in BATCHES:
            emissions = torch.randn(batch, TOKENS, tags, generator=torch.Generator().manual_seed(batch))
            mask = torch.ones(batch, TOKENS, dtype=torch.bool)

            def with_torch(
                crf: CRF = crf, emissions: torch.Tensor = emissions, mask: torch.Tensor = mask
            ) -> None:
                crf._viterbi_torch(emissions, mask)
                crf._marginals_torch(emissions, mask)

            def with_numpy(
                crf: CRF = crf, emissions: torch.Tensor = emissions, mask: torch.Tensor = mask
            ) -> None:
                inputs = crf._numpy_inputs(emissions, mask)
                crf_decode.viterbi(*inputs)
                crf_decode.marginals(*inputs)

            with torch.inference_mode():
                assert crf._viterbi_torch(emissions, mask) == crf_decode.viterbi(
                    *crf._numpy_inputs(emissions, mask)
                )
                rows.append(
                    (threads, name, tags, batch, seconds_per_call(with_torch), seconds_per_call(with_numpy))
                )
            logger.info("%s", rows[-1])
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| torch threads | tag set (tags) | batch | torch (ms) | NumPy (ms) | torch / NumPy | used |",
        "|---|---|---|---|---|---|---|",
    ]
    for threads, name, tags, batch, with_torch, with_numpy in rows:
        used = "NumPy" if batch * tags * tags <= NUMPY_MAX_WORK else "torch"
        lines.append(
            f"| {threads} | {name} ({tags}) | {batch} | {with_torch * 1e3:.3f} | {with_numpy * 1e3:.3f} "
            f"| {with_torch / with_numpy:.2f} | {used} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-write", action="store_true", help="print the table, leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    counts = sorted({1, os.cpu_count() or 1})
    result = table([row for threads in counts for row in measure(threads)])
    print(result)
    if not args.no_write:
        block = "\n".join(
            [
                START,
                f"Command: `{command_line('bench/crf_decode.py', argv)}`  ",
                f"Date: {datetime.now(UTC):%Y-%m-%d}; machine: {machine()}  ",
                f"Time per call of Viterbi plus marginals on {TOKENS}-token utterances (median of 5); "
                "`used` is what `model.crf` picks (NumPy up to "
                f"{NUMPY_MAX_WORK:,} utterances x tags x tags).",
                "",
                result,
                END,
            ]
        )
        replace_section(BENCHMARKS, START, END, "## CRF decoding (`bench/crf_decode.py`)", block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
