"""CRF decoding (Viterbi + marginals) in NumPy against torch, by batch size and tag-set size.

This is where ``model.crf.NUMPY_MAX_WORK`` comes from: a chatbot backend decodes one utterance
at a time, where each step's arrays are tiny and torch's per-call dispatch dominates; batch jobs
decode 128 at a time, where the arithmetic does and torch can spread it over threads. Tag sets
are those of the bundled default model (7 tags), SNIPS (79) and ATIS (159); utterances are 12
tokens, about ATIS's mean. Both decoders get the same random CRF and emissions, with one torch
thread (a server worker's default) and with one per core. The last column times what
``model.crf`` does with each batch (``Tagger.decode``'s call): NumPy for small work, torch for
large, and on tag sets large enough to split (``model.viterbi_bio``) NumPy for every batch, with
the pruned Viterbi. Pruning depends on the scores, so these are drawn as a trained tagger's
look: on the bundled recipe trained on ATIS, a token's best tag scored a median 12.6 above the
mean of the others, which spread with a standard deviation of 3.4, and the transition scores
stayed within [-0.8, 0.5].

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

import numpy as np
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


TRANSITION_SPREAD = 0.3  # standard deviation of the random transition scores
EMISSION_SPREAD, EMISSION_PEAK = 3.4, 12.6  # as measured on a trained tagger (module docstring)


def random_crf(tags: int, seed: int = 0) -> CRF:
    """A CRF over ``tags`` BIO tags (O plus B-/I- pairs) with random transition scores."""
    labels = ["O"] + [f"{prefix}-l{i}" for i in range((tags - 1) // 2) for prefix in "BI"]
    torch.manual_seed(seed)
    crf = CRF(labels)
    with torch.no_grad():
        for table in (crf.transitions, crf.start, crf.end):
            table.normal_(0.0, TRANSITION_SPREAD)
    return crf


def trained_looking_emissions(batch: int, tags: int, seed: int) -> torch.Tensor:
    """Scores spread around 0 with one tag per token standing out, as a trained tagger's do."""
    generator = torch.Generator().manual_seed(seed)
    emissions = torch.randn(batch, TOKENS, tags, generator=generator) * EMISSION_SPREAD
    peaks = torch.randint(tags, (batch, TOKENS, 1), generator=generator)
    return emissions.scatter_add(2, peaks, torch.full((batch, TOKENS, 1), EMISSION_PEAK))


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


Row = tuple[int, str, int, int, float, float, float, str]


def used(crf: CRF, emissions: torch.Tensor) -> str:
    """What ``model.crf`` decodes this batch with."""
    if not crf.decodes_with_numpy(emissions):
        return "torch"
    return "NumPy, split" if crf.bio_split else "NumPy"


def measure(threads: int) -> list[Row]:
    """(threads, tag set, tags, batch, torch, NumPy and model.crf seconds, what it uses) per
    configuration."""
    torch.set_num_threads(threads)
    rows = []
    for name, tags in TAG_SETS.items():
        crf = random_crf(tags)
        for batch in BATCHES:
            emissions = trained_looking_emissions(batch, tags, seed=batch)
            mask = torch.ones(batch, TOKENS, dtype=torch.bool)
            lengths = mask.sum(1).numpy()

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

            def as_the_crf_does(
                crf: CRF = crf,
                emissions: torch.Tensor = emissions,
                mask: torch.Tensor = mask,
                lengths: np.ndarray = lengths,
            ) -> None:
                # Tagger.decode's choice, from float32 scores as the network gives them: one
                # utterance goes to crf_decode.decode_one through best_paths.
                if len(emissions) > 1 and crf.decodes_with_numpy(emissions):
                    crf.best_paths_in_numpy(emissions.to(torch.float64).numpy(), lengths)
                else:
                    crf.best_paths(emissions, mask)

            with torch.inference_mode():
                paths = crf._viterbi_torch(emissions, mask)
                assert paths == crf_decode.viterbi(*crf._numpy_inputs(emissions, mask))
                assert paths == crf.best_paths_in_numpy(emissions.to(torch.float64).numpy(), lengths)[0]
                rows.append(
                    (
                        threads,
                        name,
                        tags,
                        batch,
                        seconds_per_call(with_torch),
                        seconds_per_call(with_numpy),
                        seconds_per_call(as_the_crf_does),
                        used(crf, emissions),
                    )
                )
            logger.info("%s", rows[-1])
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| torch threads | tag set (tags) | batch | torch (ms) | NumPy, every move (ms) | torch / NumPy "
        "| model.crf (ms) | model.crf uses |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for threads, name, tags, batch, with_torch, with_numpy, chosen, choice in rows:
        lines.append(
            f"| {threads} | {name} ({tags}) | {batch} | {with_torch * 1e3:.3f} | {with_numpy * 1e3:.3f} "
            f"| {with_torch / with_numpy:.2f} | {chosen * 1e3:.3f} | {choice} |"
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
                "`model.crf` is the call `Tagger.decode` makes, with what it picks: NumPy up to "
                f"{NUMPY_MAX_WORK:,} utterances x tags x tags, and for every batch on a tag set "
                "large enough to split (`model.viterbi_bio`).",
                "",
                result,
                END,
            ]
        )
        replace_section(BENCHMARKS, START, END, "## CRF decoding (`bench/crf_decode.py`)", block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
