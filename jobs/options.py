"""What a tagging job is asked to do, kept free of torch and pydantic so ``slotfill --help`` is quick."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

InputFormat = Literal["txt", "jsonl"]
INPUT_FORMATS: tuple[InputFormat, ...] = ("txt", "jsonl")
DEFAULT_MAX_CHARS = 1000  # the service's default SLOTFILL_MAX_TEXT_CHARS
# Calls of 64 texts were the fastest here (bench/predictor_speed.py: 9,834 texts/s against 7,710
# at 256, one thread; bench/tag_throughput.py: 4,970 against 4,704 lines/s for the whole job).
DEFAULT_BATCH_SIZE = 64
WINDOWS_PER_BATCH = 16  # a window is this many batches: enough to sort by length, small to hold


@dataclass(frozen=True, slots=True)
class Options:
    """How lines are read and tagged; the same for every worker and actor of a job."""

    fmt: InputFormat
    max_chars: int = DEFAULT_MAX_CHARS
    batch_size: int = DEFAULT_BATCH_SIZE
    fail_fast: bool = False
