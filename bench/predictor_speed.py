"""``Predictor`` speed per device and CRF decoder: one text per call, and a large ``parse_batch``.

A short check for a machine with a GPU: it times the in-process API (no HTTP) on a model folder,
on each device given, with the CRF decoder ``model.crf`` picks (NumPy for small batches) and with
torch's forced, so both come from the same machine in the same run. It prints a line per
configuration and writes nothing.

    python bench/predictor_speed.py models/atis ../shared/datasets/atis/test/seq.in --devices cuda cpu
    python bench/predictor_speed.py models/atis ../shared/datasets/atis/test/seq.in --threads 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from slotfill.model import crf  # noqa: E402
from slotfill.model.predictor import Predictor  # noqa: E402

SINGLES = 400
WARM_UP = 50
BATCH_COPIES = 10


def measure(model: Path, texts: list[str], device: str) -> str:
    predictor = Predictor.load(model, device=device)
    for text in texts[:WARM_UP]:
        predictor.parse(text)
    latencies = []
    for text in texts[:SINGLES]:
        started = time.perf_counter()
        predictor.parse(text)
        latencies.append(time.perf_counter() - started)
    latencies.sort()
    many = texts * BATCH_COPIES
    predictor.parse_batch(many[:1000])
    started = time.perf_counter()
    predictor.parse_batch(many)
    rate = len(many) / (time.perf_counter() - started)
    p50, p95 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.95)]
    return (
        f"torch threads {torch.get_num_threads()}; one text per call p50 {p50 * 1e3:.2f} ms "
        f"p95 {p95 * 1e3:.2f} ms; parse_batch of {len(many)} texts {rate:.0f} texts/s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", type=Path, help="a model folder")
    parser.add_argument("texts", type=Path, help="a file of texts, one per line (e.g. a seq.in)")
    parser.add_argument("--devices", nargs="+", default=["cpu"])
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own, one per core)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    texts = [line for line in args.texts.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(texts) < SINGLES:
        parser.error(f"{args.texts} has {len(texts)} texts; need at least {SINGLES}")
    picks = crf._decode_with_numpy
    try:
        for decoder in ("torch", "default"):
            crf._decode_with_numpy = picks if decoder == "default" else (lambda emissions: False)
            for device in args.devices:
                print(f"{device} ({decoder} decoder): {measure(args.model, texts, device)}", flush=True)
    finally:
        crf._decode_with_numpy = picks
    return 0


if __name__ == "__main__":
    sys.exit(main())
