"""What a tagging job is asked to do, kept free of torch and pydantic so ``slotfill --help`` is quick."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

InputFormat = Literal["txt", "jsonl"]
INPUT_FORMATS: tuple[InputFormat, ...] = ("txt", "jsonl")
DEFAULT_MAX_CHARS = 1000  # the service's default SLOTFILL_MAX_TEXT_CHARS
DEFAULT_BATCH_SIZE = 256
WINDOWS_PER_BATCH = 16  # a window is this many batches: enough to sort by length, small to hold


@dataclass(frozen=True, slots=True)
class Options:
    """How lines are read and tagged; the same for every worker and actor of a job."""

    fmt: InputFormat
    max_chars: int = DEFAULT_MAX_CHARS
    batch_size: int = DEFAULT_BATCH_SIZE
    fail_fast: bool = False
