"""Word hashing by letter trigrams: "#taipei#" -> "#ta", "tai", "aip", "ipe", "pei", "ei#".

Words that share spelling share trigrams, so a city never seen in training still lands near
the cities that were. Trigrams are hashed (CRC-32, stable across processes and machines, unlike
Python's ``hash``) into a fixed number of buckets, which bounds the model's size.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

from slotfill.model.tokenize import normalize


def letter_trigrams(word: str) -> list[str]:
    """The letter trigrams of a word with ``#`` marking its boundaries.

    >>> letter_trigrams("Taipei")
    ['#ta', 'tai', 'aip', 'ipe', 'pei', 'ei#']
    >>> letter_trigrams("a")
    ['#a#']
    """
    marked = f"#{normalize(word)}#"
    return [marked[i : i + 3] for i in range(len(marked) - 2)]


@lru_cache(maxsize=65_536)
def trigram_ids(word: str, buckets: int) -> tuple[int, ...]:
    """Bucket ids of a word's trigrams (cached: the same words recur in every request).

    >>> trigram_ids("taipei", 20_000) == trigram_ids("TAIPEI", 20_000)
    True
    """
    return tuple(zlib.crc32(gram.encode("utf-8")) % buckets for gram in letter_trigrams(word))
