"""Generated corpora for the batch-tagging tests."""

from __future__ import annotations

import random

WORDS = (
    "arrive",
    "leave",
    "fly",
    "from",
    "to",
    "on",
    "paris",
    "boston",
    "monday",
    "november",
    "2nd",
    "tokyo",
)


def sentences(count: int, seed: int = 0) -> list[str]:
    """Texts of 1 to 20 words, so a window holds many lengths to sort."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(1, 20))) for _ in range(count)]
